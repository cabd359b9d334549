/* Deliberate kernel faults. Each lives in its own non-inlined function so
 * that the panic report's backtrace has a known frame to show. */
#include "test/crash.h"
#include "lib/console.h"
#include "lib/assert.h"
#include "lib/string.h"
#include "arch/x86_64/layout.h"
#include "mm/phys.h"

#define CRASH_FN __attribute__((noinline))

CRASH_FN static void crash_page_fault(void)
{
    volatile uint64_t *p = (volatile uint64_t *)0xdead000ULL; /* no identity map */
    *p = 0x42;
}

CRASH_FN static void crash_general_protection(void)
{
    volatile uint64_t *p = (volatile uint64_t *)0x8000000000000000ULL; /* non-canonical */
    (void)*p;
}

CRASH_FN static void crash_invalid_opcode(void)
{
    __asm__ volatile("ud2");
}

CRASH_FN static void crash_divide_error(void)
{
    /* In assembly: the compiler may turn 1 / x into x == 1 in C. */
    uint64_t lo = 1, hi = 0, zero = 0;
    __asm__ volatile("divq %2" : "+a"(lo), "+d"(hi) : "r"(zero));
}

CRASH_FN static void crash_assertion(void)
{
    volatile int frames = 3;
    KASSERT(frames == 4, "crash test: %d frames, expected 4", frames);
}

/* A stray write to kernel code through the direct map, the other mapping
 * of the image's frames: it must fault like one through the image's own. */
CRASH_FN static void crash_text_alias_write(void)
{
    volatile uint8_t *alias = phys_to_virt(kernel_image_phys((const void *)crash_text_alias_write));
    *alias = 0xcc;
}

void crash_on_purpose(const char *kind)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } kinds[] = {
        {"pf", crash_page_fault},        {"gp", crash_general_protection},
        {"ud", crash_invalid_opcode},    {"de", crash_divide_error},
        {"assert", crash_assertion},     {"textalias", crash_text_alias_write},
    };
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (strcmp(kind, kinds[i].name) == 0) {
            kprintf("crash: faulting on purpose (%s)\n", kind);
            kinds[i].fn();
            return;
        }
    }
    kprintf("crash: warning: unknown kind '%s' (pf, gp, ud, de, assert, textalias)\n", kind);
}

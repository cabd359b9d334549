/* Walking a ring-3 stack for a kill report (user_backtrace.h). */
#include "vm/user_backtrace.h"

#include "arch/x86_64/user_access.h"
#include "lib/console.h"
#include "mm/prot.h"

/* One word of user memory at va, or 0 when it cannot be read. */
static uint64_t user_word(uint64_t va)
{
    uint64_t w;
    if ((va & 7) || !user_range_ok(va, sizeof w) || usercopy_bytes(&w, (const void *)va, sizeof w))
        return 0;
    return w;
}

/* Whether va is in an executable user page of t: a return address. */
static bool user_code(const struct task *t, uint64_t va)
{
    unsigned prot = 0;
    return va && va < MICA_USER_END && vmm_translate(&t->as, va, NULL, &prot) == 0 &&
           (prot & VM_USER) && (prot & VM_EXEC);
}

void user_backtrace_print(const struct task *t, uint64_t rip, uint64_t rsp, uint64_t rbp)
{
    unsigned n = 0;
    kprintf("  #%u 0x%016lx [%s]\n", n++, (unsigned long)rip, t->name);
    /* A function that calls nothing keeps no frame: its caller's return
     * address is then the word at rsp, and the walk below skips it. */
    uint64_t first = user_word(rbp + 8), guess = user_word(rsp);
    if (guess != first && user_code(t, guess))
        kprintf("  #%u ? 0x%016lx [%s]\n", n++, (unsigned long)guess, t->name);
    while (rbp) {
        if (n == USER_BACKTRACE_MAX) {
            kprintf("  (more frames not shown)\n");
            return;
        }
        uint64_t next = user_word(rbp), ret = user_word(rbp + 8);
        if (!ret)
            return;
        kprintf("  #%u 0x%016lx [%s]\n", n++, (unsigned long)ret, t->name);
        if (next <= rbp)
            return;
        rbp = next;
    }
}

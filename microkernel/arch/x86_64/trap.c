/* trap_dispatch(): where every exception and interrupt lands after
 * trap_entry.asm has saved the interrupted registers. */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "kernel/ksyms.h"
#include "lib/assert.h"
#include "lib/format.h"
#include "lib/string.h"

/* The innermost frame being handled. A single variable is enough while
 * there is one CPU; it must become per-CPU data before a second one. */
STATIC_ASSERT(MAX_CPUS == 1, "trap_current_frame is not per-CPU yet");
static const struct trap_frame *current_frame;

const struct trap_frame *trap_current_frame(void)
{
    return current_frame;
}

/* Nobody claimed the vector: a kernel bug (an exception in kernel mode) or a
 * device raising an interrupt the kernel never asked for. Exceptions in user
 * mode will be forwarded to the thread's fault handler once user threads
 * exist; until then they are just as unexpected. */
static __noreturn void trap_unhandled(const struct trap_frame *tf)
{
    unsigned vector = (unsigned)tf->vector;
    const char *mode = trap_from_user(tf) ? "user" : "kernel";
    const char *name = trap_vector_name(vector);
    char what[48];

    if (vector >= VEC_EXCEPTIONS)
        ksnprintf(what, sizeof what, "unexpected interrupt (vector %u)", vector);
    else if (strcmp(name, "reserved") == 0)
        ksnprintf(what, sizeof what, "reserved exception (vector %u)", vector);
    else
        ksnprintf(what, sizeof what, "%s", name);

    uint64_t off = 0;
    const char *sym = ksyms_lookup(tf->rip, &off);
    if (sym)
        panic_trap(tf, "%s in %s mode at rip 0x%016lx <%s+0x%lx>", what, mode, tf->rip, sym, off);
    panic_trap(tf, "%s in %s mode at rip 0x%016lx", what, mode, tf->rip);
}

void trap_dispatch(struct trap_frame *tf)
{
    const struct trap_frame *outer = current_frame;
    current_frame = tf;

    trap_handler_fn fn = idt_get_handler((unsigned)tf->vector);
    if (unlikely(fn == NULL))
        trap_unhandled(tf);
    fn(tf);

    current_frame = outer;
}

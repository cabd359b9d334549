/* trap_dispatch(): where every exception and interrupt lands after
 * trap_entry.asm has saved the interrupted registers, and where it goes
 * from there: interrupts to their handler, faults of the user-copy
 * routines to their fixup, exceptions raised by ring 3 to the task code,
 * everything else to its handler or the panic report. */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "lib/ksyms.h"
#include "arch/x86_64/user_access.h"
#include "arch/x86_64/upcalls.h"
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

/* Nobody claimed the vector: a kernel bug (an exception in kernel mode), a
 * machine event (NMI, machine check) or a device raising an interrupt the
 * kernel never asked for. */
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

static void trap_call_handler(struct trap_frame *tf)
{
    trap_handler_fn fn = idt_get_handler((unsigned)tf->vector);
    if (unlikely(fn == NULL))
        trap_unhandled(tf);
    fn(tf);
}

/* Events that are not caused by the code that was running, wherever it ran. */
static bool trap_is_machine_event(unsigned vector)
{
    return vector == VEC_NMI || vector == VEC_DF || vector == VEC_MC;
}

/* The iretq at the end of trap_exit (trap_entry.asm). */
extern const char trap_iretq[];

/* The iretq back to ring 3 faulted (#GP for a non-canonical rip or a bad
 * selector, #NP, #SS): the CPU reports it in ring 0, at the iretq, but the
 * fault belongs to the user thread. trap_entry.asm has already switched GS
 * for this case; turn the frame into the user context the iretq was
 * loading (it is still on the stack, at tf->rsp), so that the fault is
 * handled, and returned from, as one raised in ring 3. The general
 * registers in tf are already the user's: they were restored before the
 * iretq. */
static bool trap_fault_on_iret(struct trap_frame *tf)
{
    if (tf->rip != (uintptr_t)trap_iretq || trap_is_machine_event((unsigned)tf->vector))
        return false;
    const uint64_t *iret = (const uint64_t *)tf->rsp; /* rip, cs, rflags, rsp, ss */
    if ((iret[1] & 3) == 0)
        return false;
    tf->rip = iret[0];
    tf->cs = iret[1];
    tf->rflags = iret[2];
    tf->rsp = iret[3];
    tf->ss = iret[4];
    return true;
}

/* An exception in kernel mode. The frame is recorded for the panic report
 * while its handler runs; handlers of kernel exceptions do not switch
 * threads, so the nesting below stays intact. */
static void trap_kernel_exception(struct trap_frame *tf)
{
    const struct trap_frame *outer = current_frame;
    current_frame = tf;
    trap_call_handler(tf);
    current_frame = outer;
}

void trap_dispatch(struct trap_frame *tf)
{
    unsigned vector = (unsigned)tf->vector;

    ASSERT_KERNEL_AC_CLEAR("trap_dispatch");

    /* Interrupts, and exceptions from ring 3, may switch to another thread
     * (a timer tick, a killed task) and come back much later or never, so
     * their frames are not recorded as the current one. */
    if (vector >= VEC_EXCEPTIONS) {
        trap_call_handler(tf);
        /* A task killed while it was preempted ends before ring 3 again. */
        if (trap_from_user(tf))
            task_exit_if_killed();
        return;
    }
    if (!trap_from_user(tf)) {
        if (usercopy_fixup(tf))
            return;
        if (!trap_fault_on_iret(tf)) {
            trap_kernel_exception(tf);
            return;
        }
    }
    if (trap_is_machine_event(vector)) {
        trap_call_handler(tf);
        return;
    }
    task_user_exception(tf);
}

/* panic(): the kernel's last words. Prints "panic: <message>", the
 * registers of the trap being handled (if any), a symbolized backtrace, and
 * stops the machine (in test mode QEMU exits with a failure status). */
#include <stdarg.h>

#include "arch/x86_64/trap.h"
#include "lib/backtrace.h"
#include "lib/console.h"
#include "arch/x86_64/machine.h"
#include "lib/assert.h"

/* How many panics have started. A second one means the report itself
 * failed (a fault while printing, a broken assertion in the console): it
 * gets one line; a third stops without trying to print anything. */
static unsigned panic_depth;

static __noreturn void panic_report(const struct trap_frame *tf, uintptr_t rip, uintptr_t rsp,
                                    uintptr_t rbp, const char *fmt, va_list ap)
{
    __asm__ volatile("cli" : : : "memory"); /* nothing may preempt the report */
    unsigned depth = __atomic_add_fetch(&panic_depth, 1, __ATOMIC_SEQ_CST);
    if (depth > 2)
        machine_stop_failure();

    kprintf(depth == 1 ? "panic: " : "panic: (while reporting an earlier panic) ");
    kvprintf(fmt, ap);
    kprintf("\n");
    if (depth == 1) {
        if (tf)
            trap_print_frame(tf);
        kprintf("backtrace:\n");
        backtrace_print(rip, rsp, rbp);
    }
    machine_stop_failure();
}

void panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    /* From our own frame: the first entry is panic()'s caller. A trap being
     * handled shows up further down, through the frame trap_entry.asm
     * links in. */
    panic_report(trap_current_frame(), 0, 0, (uintptr_t)__builtin_frame_address(0), fmt, ap);
}

void panic_trap(const struct trap_frame *tf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    panic_report(tf, tf->rip, tf->rsp, tf->rbp, fmt, ap);
}

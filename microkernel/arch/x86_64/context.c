/* Thread contexts and the ring-3 boundary (arch/x86_64/context.h): the
 * initial stacks of new threads and the syscall MSRs. The code that runs on
 * these stacks is in switch.asm, syscall_entry.asm and trap_entry.asm; the
 * scheduler (object/sched.c) sets the ring-3 entry stack at each switch. */
#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/percpu.h"
#include "lib/assert.h"
#include "lib/string.h"

#define MSR_STAR   0xc0000081u
#define MSR_LSTAR  0xc0000082u
#define MSR_CSTAR  0xc0000083u
#define MSR_FMASK  0xc0000084u
#define EFER_SCE   (1ULL << 0)

#define RFLAGS_USER_INITIAL RFLAGS_USER_SET /* interrupts on, nothing else */

/* switch.asm, syscall_entry.asm */
extern void arch_user_thread_start(void);
extern void arch_kernel_thread_start(void);
extern void syscall_entry(void);

STATIC_ASSERT(offsetof(struct arch_context, rsp) == 0, "switch.asm stores rsp at ctx+0");

struct trap_frame *arch_thread_setup_user(struct arch_context *ctx, uintptr_t kstack_top)
{
    KASSERT(IS_ALIGNED(kstack_top, 16), "arch_thread_setup_user: stack top %#lx not 16-aligned",
            (unsigned long)kstack_top);

    struct trap_frame *tf = (struct trap_frame *)kstack_top - 1;
    memset(tf, 0, sizeof *tf);
    tf->cs = GDT_USER_CS;
    tf->ss = GDT_USER_DS;
    tf->rflags = RFLAGS_USER_INITIAL;

    /* The first arch_switch to the thread "returns" to a stub that jumps
     * into trap_exit with rsp at the frame, as if a trap were ending. */
    struct switch_frame *sf = (struct switch_frame *)tf - 1;
    memset(sf, 0, sizeof *sf);
    sf->rip = (uintptr_t)arch_user_thread_start;
    ctx->rsp = (uintptr_t)sf;
    return tf;
}

void arch_thread_setup_kernel(struct arch_context *ctx, uintptr_t kstack_top,
                              void (*fn)(void *), void *arg)
{
    KASSERT(IS_ALIGNED(kstack_top, 16), "arch_thread_setup_kernel: stack top %#lx not 16-aligned",
            (unsigned long)kstack_top);
    KASSERT(fn != NULL, "arch_thread_setup_kernel: no entry function");

    /* Two zero words at the top (a null return address and frame pointer
     * for backtraces); below them the switch frame, placed so that rsp is
     * 16-aligned when the start stub calls fn. */
    uint64_t *top = (uint64_t *)kstack_top - 2;
    top[0] = top[1] = 0;
    struct switch_frame *sf = (struct switch_frame *)top - 1;
    memset(sf, 0, sizeof *sf);
    sf->r12 = (uintptr_t)fn;
    sf->r13 = (uintptr_t)arg;
    sf->rip = (uintptr_t)arch_kernel_thread_start;
    ctx->rsp = (uintptr_t)sf;
}

void arch_syscall_init(void)
{
    /* SYSCALL loads CS = STAR[47:32] and SS = that + 8; SYSRET (64-bit)
     * loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, both with RPL 3
     * (gdt.h checks the GDT order). */
    uint64_t star = ((uint64_t)(GDT_USER_CS32 | 3) << 48) | ((uint64_t)GDT_KERNEL_CS << 32);

    wrmsr(MSR_STAR, star);
    wrmsr(MSR_LSTAR, (uintptr_t)syscall_entry);
    /* No 32-bit code segment exists for ring 3, so compatibility-mode
     * syscalls cannot happen; a zero CSTAR would make one fault anyway. */
    wrmsr(MSR_CSTAR, 0);
    /* Cleared on entry: interrupts stay off until the exit, string
     * instructions run forwards, single-step and user-access (AC, which
     * would defeat SMAP) do not leak into the kernel, and neither does
     * NT, which ring 3 may set with popfq: an iretq run with NT set raises
     * #GP in 64-bit mode, and the flags pass to whichever thread this one
     * switches to (an interrupt's iretq to ring 3 would fault and kill an
     * innocent thread; one back into a preemption window, panic).
     * Interrupts and exceptions clear NT themselves. */
    wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC | RFLAGS_NT);
    /* The GS base ring 3 sees until it has a use for GS. */
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

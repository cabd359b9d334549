/* Thread contexts and the ring-3 boundary: kernel-stack switching, entering
 * user mode, the syscall entry, and the stacks the CPU uses on entry from
 * ring 3.
 *
 * Every user thread's ring-3 state lives in a struct trap_frame at the top
 * of its kernel stack, whether it entered the kernel by `syscall`, an
 * exception or an interrupt. The syscall entry builds the same frame
 * (vector = TRAP_VECTOR_SYSCALL), so C code reads and writes user registers
 * in one way, and a thread can leave the kernel by sysret or iretq alike. */
#pragma once

#include "lib/types.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"

#define TRAP_VECTOR_SYSCALL 0x100 /* trap_frame.vector of a syscall entry */

/* What arch_switch pops, lowest address first: the callee-saved registers
 * and its return address (switch.asm, whose offsets asm_offsets.c
 * generates from this). */
struct switch_frame {
    uint64_t r15, r14, r13, r12, rbp, rbx;
    uint64_t rip; /* arch_switch's return address */
};

/* Saved kernel context of a thread that is not running: callee-saved
 * registers are on its kernel stack, `rsp` points at them. */
struct arch_context {
    uint64_t rsp;
};

/* Save the current kernel context into *from and resume *to. Returns when
 * another thread switches back to `from`. Interrupts stay as they were. */
void arch_switch(struct arch_context *from, const struct arch_context *to);

/* Like arch_switch, for a thread at the very end of a system call with
 * nothing live on its kernel stack but its trap_frame from_frame: the call
 * chain is dropped, and when *from is resumed the system call returns
 * sched_syscall_resume()'s value. *to must not have been saved that way
 * (arch_saved_at_syscall_end: such a thread leaves by arch_ipc_fast_exit).
 * Does not return. */
__noreturn void arch_switch_from_syscall(struct arch_context *from, const struct arch_context *to,
                                         struct trap_frame *from_frame);

/* switch.asm: where a thread saved by arch_switch_from_syscall or
 * arch_save_at_syscall_end resumes. */
extern void arch_syscall_resume(void);

/* Save the current thread, at the very end of a system call with nothing
 * live on its kernel stack but its trap_frame `frame`, as
 * arch_switch_from_syscall does: when *from is resumed, its system call
 * returns sched_syscall_resume()'s value. The words below `frame` (the
 * current call chain's return address among them) are overwritten: the
 * caller must not return, only leave through arch_ipc_fast_exit. */
static inline void arch_save_at_syscall_end(struct arch_context *from, struct trap_frame *frame)
{
    struct switch_frame *sf = (struct switch_frame *)frame - 1;
    sf->rip = (uintptr_t)arch_syscall_resume;
    from->rsp = (uintptr_t)sf;
}

/* *ctx was saved at the very end of a system call (arch_switch_from_syscall
 * or arch_save_at_syscall_end): nothing on its kernel stack is live but its
 * trap_frame, so it may leave the kernel from that frame at once. */
static inline bool arch_saved_at_syscall_end(const struct arch_context *ctx)
{
    return ((const struct switch_frame *)ctx->rsp)->rip == (uintptr_t)arch_syscall_resume;
}

/* Return to ring 3 in the current thread, which was saved at the very end
 * of a system call (arch_saved_at_syscall_end) and whose kernel stack this
 * CPU's syscall entry now uses, with its system call's result 0 and a
 * message in its registers: rdi = badge, rsi = label, rdx, r10, r8, r9 =
 * w0..w3. Every other register comes from its trap_frame, so nothing of
 * the kernel or of another thread reaches it. The message never passes
 * through memory (syscall_entry.asm). */
__noreturn void arch_ipc_fast_exit(uint64_t badge, uint64_t label, uint64_t w0, uint64_t w1,
                                   uint64_t w2, uint64_t w3);

/* Prepare a new thread whose kernel stack is [kstack, kstack_top): places a
 * zeroed trap_frame at the top (returned; the caller fills rip, rsp, rdi...
 * cs/ss/rflags are set for ring 3 with interrupts on) and makes *ctx such
 * that the first arch_switch to it leaves the kernel through that frame. */
struct trap_frame *arch_thread_setup_user(struct arch_context *ctx, uintptr_t kstack_top);

/* Prepare a kernel thread (the idle thread) that starts at fn(arg) on the
 * given stack with interrupts disabled. fn must not return. */
void arch_thread_setup_kernel(struct arch_context *ctx, uintptr_t kstack_top,
                              void (*fn)(void *), void *arg);

/* Program STAR, LSTAR, FMASK and EFER.SCE for the syscall entry. */
void arch_syscall_init(void);

/* Turn on SMEP and SMAP when the CPU has them (CR4), after the kernel no
 * longer touches user memory outside the copy routines, and turn x87,
 * MMX, SSE and AVX off (CR0.EM, CR4): no task may use them, since no
 * FPU state is kept across switches. */
void arch_user_protection_init(void);

#define CR3_PML4_MASK 0x000ffffffffff000ULL

/* Load the address space whose PML4 is at `pml4` if it is not loaded yet.
 * Inline: every switch between tasks does it. Writing CR3 flushes every
 * non-global TLB entry, so it is skipped between threads of one task. */
static inline void arch_load_address_space(paddr_t pml4)
{
    /* pml4 is a frame address by construction (vmm.c): not re-checked on
     * the hottest path of the kernel. CR3 is compared whole: the kernel
     * never sets its flag bits (no PCID, no PCD/PWT), and if it did the
     * only cost would be a reload. */
    if (read_cr3() != pml4)
        write_cr3(pml4);
}

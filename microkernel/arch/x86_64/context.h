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
#include "arch/x86_64/trap.h"

#define TRAP_VECTOR_SYSCALL 0x100 /* trap_frame.vector of a syscall entry */

/* Saved kernel context of a thread that is not running: callee-saved
 * registers are on its kernel stack, `rsp` points at them. */
struct arch_context {
    uint64_t rsp;
};

/* Save the current kernel context into *from and resume *to. Returns when
 * another thread switches back to `from`. Interrupts stay as they were. */
void arch_switch(struct arch_context *from, const struct arch_context *to);

/* Prepare a new thread whose kernel stack is [kstack, kstack_top): places a
 * zeroed trap_frame at the top (returned; the caller fills rip, rsp, rdi...
 * cs/ss/rflags are set for ring 3 with interrupts on) and makes *ctx such
 * that the first arch_switch to it leaves the kernel through that frame. */
struct trap_frame *arch_thread_setup_user(struct arch_context *ctx, uintptr_t kstack_top);

/* Prepare a kernel thread (the idle thread) that starts at fn(arg) on the
 * given stack with interrupts disabled. fn must not return. */
void arch_thread_setup_kernel(struct arch_context *ctx, uintptr_t kstack_top,
                              void (*fn)(void *), void *arg);

/* Make `top` the stack the CPU switches to on entry from ring 3 (TSS.RSP0
 * and this_cpu()->kernel_rsp for the syscall entry). */
void arch_set_kernel_stack(uintptr_t top);

/* Program STAR, LSTAR, FMASK and EFER.SCE for the syscall entry. */
void arch_syscall_init(void);

/* Turn on SMEP and SMAP when the CPU has them (CR4), after the kernel no
 * longer touches user memory outside the copy routines. */
void arch_user_protection_init(void);

/* Load the address space whose PML4 is at `pml4` if it is not loaded yet. */
void arch_load_address_space(paddr_t pml4);

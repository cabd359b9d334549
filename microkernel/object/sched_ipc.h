/* The scheduler's run queue and the making of a thread the running one
 * (object/sched.c), and on top of them the IPC fast path's switch. They
 * are here, inline, rather than in sched.c so that the IPC fast paths
 * (ipc/ipc.c) switch without a call: a call, a frame and the arguments'
 * moves cost more than half of the switch's own stores. Only sched.c and
 * ipc.c include this header. */
#pragma once

#include "arch/x86_64/context.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/percpu.h"
#include "lib/types.h"
#include "object/task.h"
#include "object/thread.h"

#define SCHED_SLICE_TICKS 2 /* ticks a ring-3 thread runs before others get a turn */

struct runqueue {
    struct thread *head, *tail; /* ready threads, linked through qnext */
    unsigned slice;             /* ticks left for the current thread */
    struct thread *dead;        /* exited, its stack not yet free */
    gdt_rsp0_t *rsp0;           /* this CPU's TSS.RSP0, once looked up */
};

/* Make `next` CPU c's running thread: its kernel stack for entries from
 * ring 3, a fresh time slice. Its address space is the caller's business.
 * c->rq is set (the CPU has switched once: sched_start). */
static inline __attribute__((always_inline)) void sched_enter_stack(struct cpu *c,
                                                                    struct thread *next)
{
    struct runqueue *rq = c->rq; /* one load, not an index into runqueues */
    uintptr_t top = thread_kstack_top(next);
    next->state = THREAD_RUNNING;
    rq->slice = SCHED_SLICE_TICKS;
    *rq->rsp0 = top;     /* interrupts and exceptions from ring 3 */
    c->kernel_rsp = top; /* the syscall entry */
    c->current = next;
}

/* sched_enter_stack for a user thread, whose task's address space is
 * loaded. */
static inline __attribute__((always_inline)) void sched_enter_user(struct cpu *c,
                                                                   struct thread *next)
{
    sched_enter_stack(c, next);
    arch_load_address_space(next->task->as.pml4);
}

/* t blocked at the very end of a system call (the IPC fast paths): nothing
 * but its trap_frame is live on its kernel stack, so sched_switch_ipc can
 * run it. */
static inline bool sched_saved_at_syscall_end(const struct thread *t)
{
    return arch_saved_at_syscall_end(&t->ctx);
}

/* The IPC fast path's switch when sched_saved_at_syscall_end(t): as
 * sched_switch_from_syscall (sched.h), but t's system call returns 0 with
 * the message (badge, label and the four words of cur's trap_frame: rdx,
 * r10, r8, r9) put straight into its registers; t's trap_frame is not
 * written. cur is the running thread at the very end of its system call,
 * its state already set; t a user thread taken from an endpoint queue or a
 * pending call. Does not return. */
static inline __attribute__((always_inline, noreturn)) void
sched_switch_ipc(uint64_t badge, uint64_t label, struct thread *cur, struct thread *t)
{
    sched_enter_user(this_cpu(), t);
    struct trap_frame *tf = cur->utf;
    arch_save_at_syscall_end(&cur->ctx, tf);
    arch_ipc_fast_exit(badge, label, tf->rdx, tf->r10, tf->r8, tf->r9);
}

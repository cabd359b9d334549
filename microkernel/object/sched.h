/* The scheduler: one round-robin run queue per CPU (one CPU today), an
 * idle thread, blocking and waking, and a direct switch for IPC that skips
 * the queue. Interrupts are off in kernel mode except in the idle thread
 * and at preemption points (object/preempt.h), so a tick preempts ring 3 and
 * long kernel operations at those points only. */
#pragma once

#include "arch/x86_64/upcalls.h"
#include "lib/types.h"
#include "object/thread.h"

/* The thread running on this CPU. */
static inline struct thread *sched_current(void);

/* Make `t` runnable (appended to the run queue). */
void sched_ready(struct thread *t);

/* The current thread has set its state to a blocked state: run the next
 * ready thread (or idle). Returns when the thread is woken, with its
 * wake_result. */
int64_t sched_block(void);

/* Wake a blocked thread with `result` (it becomes ready). */
void sched_wake(struct thread *t, int64_t result);

/* Switch straight to `t` (ready to run, not on the run queue) without a
 * pass through the queue: the IPC fast path. The current thread's state
 * must already be set (blocked, or ready and queued). */
void sched_switch_to(struct thread *t);

/* The IPC fast path's switch: as sched_switch_to, for a current thread at
 * the very end of its system call (cur: the running thread, which the
 * caller has at hand), whose kernel call chain is dropped. It
 * returns from the system call with its wake_result when switched back to
 * (by any path). t is a user thread, not sched_saved_at_syscall_end (that
 * one is run by sched_switch_ipc, object/sched_ipc.h). Does not return. */
__noreturn void sched_switch_from_syscall(struct thread *cur, struct thread *t);


/* Take a ready thread off the run queue (task teardown). */
void sched_remove(struct thread *t);


/* Give up the CPU to the next ready thread, if any. */
void sched_yield(void);


/* Leave the kernel's boot context and run the ready threads forever. */
__noreturn void sched_start(void);

/* The current thread is dead: switch away for good. */
__noreturn void sched_exit_current(void);

#include "arch/x86_64/percpu.h"
static inline struct thread *sched_current(void)
{
    return percpu_current();
}

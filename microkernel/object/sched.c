/* The scheduler: a FIFO run queue per CPU, time slices for ring 3, the
 * idle thread when nothing is ready, and the switch itself.
 *
 * Every switch goes through switch_to: it points the CPU's ring-3 entry
 * stack at the new thread's kernel stack, loads the new task's address
 * space (the idle thread keeps whatever is loaded: it never touches user
 * memory) and makes the thread current before arch_switch.
 *
 * An exiting thread cannot free the stack it is running on. It parks itself
 * in runqueue.dead and switches away; whoever runs next frees it
 * (sched_reap) after its own arch_switch returns, or in the start stub of
 * a fresh thread (switch.asm) that never returned through switch_to.
 *
 * Interrupts are off in kernel mode except in the idle thread and in the
 * window of a preemption point (object/preempt.h), where a tick may switch
 * away as it does from ring 3; nothing here runs in such a window, so
 * nothing here needs a lock on one CPU. */
#include "object/swifi.h"
#include "object/sched.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/trap.h"
#include "lib/assert.h"
#include "object/preempt.h"
#include "object/console_input.h"
#include "object/task.h"
#include "object/sched_ipc.h"

/* One run queue per CPU, indexed by this_cpu()->id. */
static struct runqueue runqueues[MAX_CPUS];
static struct arch_context boot_ctx; /* where sched_start leaves kmain's stack */

static inline struct runqueue *this_rq(void)
{
    return &runqueues[this_cpu()->id];
}

static void rq_push(struct runqueue *rq, struct thread *t)
{
    t->qnext = NULL;
    if (rq->tail)
        rq->tail->qnext = t;
    else
        rq->head = t;
    rq->tail = t;
}

static struct thread *rq_pop(struct runqueue *rq)
{
    struct thread *t = rq->head;
    if (t) {
        rq->head = t->qnext;
        if (!rq->head)
            rq->tail = NULL;
        t->qnext = NULL;
    }
    return t;
}

/* The next thread to run: the head of the queue, or idle. */
static struct thread *pick_next(struct runqueue *rq)
{
    struct thread *t = rq_pop(rq);
    return t ? t : this_cpu()->idle;
}

static bool is_blocked(enum thread_state s)
{
    return s == THREAD_BLOCKED_SEND || s == THREAD_BLOCKED_RECV || s == THREAD_BLOCKED_REPLY ||
           s == THREAD_BLOCKED_WAIT || s == THREAD_BLOCKED_INPUT;
}

/* Free the parked dead thread, if any, once it is not the one running.
 * Inline so that every resume point pays one load and one branch. */
static inline void reap_parked(void)
{
    if (unlikely(this_rq()->dead != NULL))
        sched_reap();
}

/* sched_enter_stack (sched_ipc.h) for any thread: the idle thread (no
 * task) keeps whatever address space is loaded. arch_switch follows. */
static inline __attribute__((always_inline)) void enter(struct cpu *c, struct thread *next)
{
    sched_enter_stack(c, next);
    if (next->task)
        arch_load_address_space(next->task->as.pml4);
}

/* Run `next` in place of `prev` (NULL: the boot context) on CPU c. Returns
 * when prev is switched back to. Inline, as enter(): a switch makes no
 * calls but arch_switch and reads this_cpu() once. */
static inline __attribute__((always_inline)) void switch_to(struct cpu *c, struct thread *prev,
                                                            struct thread *next)
{
    enter(c, next);
    arch_switch(prev ? &prev->ctx : &boot_ctx, &next->ctx);
    /* Every thread resumes here (or, the first time, in the start stubs of
     * switch.asm, which reap too): whoever exited before us is freed now. */
    reap_parked();
}

/* switch_to with its invariants checked: the slow paths' entry. */
static void switch_checked(struct thread *prev, struct thread *next)
{
    KASSERT(next != prev, "switch from thread %u to itself", next->id);
    KASSERT(next->state != THREAD_DEAD, "switch to dead thread %u", next->id);
    ASSERT_KERNEL_AC_CLEAR("switch"); /* next inherits RFLAGS */
    struct cpu *c = this_cpu();
    struct runqueue *rq = &runqueues[c->id];
    if (!rq->rsp0) { /* the CPU's first switch (sched_start): every later one uses them */
        rq->rsp0 = gdt_kernel_stack_slot(c->id);
        c->rq = rq;
    }
    switch_to(c, prev, next);
}

void sched_reap(void)
{
    struct runqueue *rq = this_rq();
    struct thread *dead = rq->dead;
    if (dead && dead != this_cpu()->current) {
        rq->dead = NULL;
        thread_destroy(dead);
    }
}

void sched_ready(struct thread *t)
{
    KASSERT(t != this_cpu()->idle, "the idle thread is never queued");
    KASSERT(t->state == THREAD_NEW || is_blocked(t->state),
            "sched_ready of thread %u in state %d", t->id, t->state);
    t->state = THREAD_READY;
    rq_push(this_rq(), t);
}

void sched_remove(struct thread *t)
{
    struct runqueue *rq = this_rq();
    KASSERT(t->state == THREAD_READY, "sched_remove of thread %u in state %d", t->id, t->state);
    struct thread *prev = NULL;
    for (struct thread *q = rq->head; q; prev = q, q = q->qnext) {
        if (q != t)
            continue;
        if (prev)
            prev->qnext = q->qnext;
        else
            rq->head = q->qnext;
        if (rq->tail == q)
            rq->tail = prev;
        t->qnext = NULL;
        return;
    }
    panic("sched_remove: ready thread %u is not on the run queue", t->id);
}

int64_t sched_block(void)
{
    struct thread *cur = sched_current();
    KASSERT(is_blocked(cur->state), "sched_block of thread %u in state %d (not blocked)", cur->id,
            cur->state);
    switch_checked(cur, pick_next(this_rq()));
    return cur->wake_result;
}

void sched_wake(struct thread *t, int64_t result)
{
    KASSERT(is_blocked(t->state), "sched_wake of thread %u in state %d (not blocked)", t->id,
            t->state);
    t->wake_result = result;
    sched_ready(t);
}

void sched_switch_to(struct thread *t)
{
    struct cpu *c = this_cpu();
    struct thread *cur = c->current;
    /* t must be neither queued nor running: READY and RUNNING are the two
     * lowest states (thread.h), so one compare checks both. */
    STATIC_ASSERT(THREAD_READY == 0 && THREAD_RUNNING == 1, "thread state order");
    KASSERT(cur->state != THREAD_RUNNING && t->state > THREAD_RUNNING && t->state != THREAD_DEAD,
            "sched_switch_to: thread %u (state %d) to thread %u (state %d)", cur->id, cur->state,
            t->id, t->state);
    switch_to(c, cur, t);
}

void sched_switch_from_syscall(struct thread *cur, struct thread *t)
{
    /* No state checks: the IPC fast path, the only caller, has just set
     * cur's state and took t, a user thread, from an endpoint queue or a
     * pending call. */
    sched_enter_user(this_cpu(), t);
    arch_switch_from_syscall(&cur->ctx, &t->ctx, cur->utf);
}

int64_t sched_syscall_resume(void)
{
    struct cpu *c = this_cpu();
    if (unlikely(c->rq->dead != NULL))
        sched_reap();
    task_exit_if_killed(); /* woken by a kill: the call ends with the task */
    return c->current->wake_result;
}

void sched_yield(void)
{
    struct runqueue *rq = this_rq();
    struct thread *cur = sched_current();
    if (!rq->head)
        return;
    /* A thread ending its own task is already THREAD_DEAD while it frees
     * the task's memory, and may be preempted there (object/preempt.h): it
     * waits on the queue as READY and is DEAD again when it resumes, so
     * that sched_exit_current finds it as it left it. */
    enum thread_state was = cur->state;
    cur->state = THREAD_READY;
    if (cur != this_cpu()->idle) /* idle runs again when the queue is empty */
        rq_push(rq, cur);
    switch_checked(cur, rq_pop(rq));
    if (was == THREAD_DEAD)
        cur->state = THREAD_DEAD;
}

void sched_tick(struct trap_frame *tf)
{
    struct runqueue *rq = this_rq();
    struct thread *cur = sched_current();
    if (!cur)
        return; /* before sched_start */
    console_input_tick();
    if (cur == this_cpu()->idle) {
        sched_yield();
        return;
    }
    if (INJECT_ANY(INJECT_SWIFI_POINTS) && trap_from_user(tf))
        swifi_tick(cur, tf);
    if (!trap_from_user(tf) && !preempt_at(tf))
        return; /* the kernel only at its preemption points */
    if (rq->slice > 0)
        rq->slice--;
    if (rq->slice == 0)
        sched_yield();
}

__noreturn void sched_start(void)
{
    KASSERT(sched_current() == NULL, "sched_start called twice");
    KASSERT(this_cpu()->idle != NULL, "sched_start before thread_init");
    switch_checked(NULL, pick_next(this_rq()));
    panic("sched_start: the boot context was resumed");
}

__noreturn void sched_exit_current(void)
{
    struct runqueue *rq = this_rq();
    struct thread *cur = sched_current();
    KASSERT(cur->state == THREAD_DEAD, "sched_exit_current of thread %u in state %d", cur->id,
            cur->state);
    sched_reap(); /* at most one parked thread */
    rq->dead = cur;
    switch_checked(cur, pick_next(rq));
    panic("sched_exit_current: dead thread %u was resumed", cur->id);
}

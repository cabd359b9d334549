/* The system calls that act on a task as a whole through a task handle:
 * waiting for its end (MICA_SYS_TASK_WAIT) and ending it
 * (MICA_SYS_TASK_KILL). */
#include <mica/errno.h>

#include "object/handle.h"
#include "vm/syscalls.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/remote_paging.h"

int64_t sys_task_wait(struct trap_frame *tf)
{
    struct thread *cur = sched_current();
    int err = 0;
    struct handle *e = handle_lookup(&cur->task->handles, tf->rdi, HANDLE_TASK,
                                     MICA_RIGHT_WAIT, &err);
    if (!e)
        return err;

    struct task *t = e->object;
    if (t->state == TASK_ZOMBIE)
        return t->exit_status;
    if (t == cur->task)
        return -MICA_EINVAL; /* it would wait for ever */
    cur->state = THREAD_BLOCKED_WAIT;
    cur->qnext = t->waiters;
    t->waiters = cur;
    return sched_block(); /* task_exit wakes us with the status */
}

/* (task h with KILL, or SELF) -> 0. The victim's threads unwind out of
 * whatever they are blocked on and exit (task_kill); a self-kill ends at
 * this call's return. */
int64_t sys_task_kill(struct trap_frame *tf)
{
    struct task *self = sched_current()->task;
    int err = 0;
    struct task *t = task_lookup_handle(tf->rdi, MICA_RIGHT_KILL, &err);
    if (!t)
        return err;
    task_kill_cause(t, MICA_DEATH_KILLED, self->id);
    task_kill(t, "ended by task %s (id %u)", self->name, self->id);
    return 0;
}

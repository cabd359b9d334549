/* Waiting for a task's end through a task handle (MICA_SYS_TASK_WAIT). */
#include <mica/errno.h>

#include "object/handle.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/syscalls.h"

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

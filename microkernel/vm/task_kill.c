/* Ending a task through a task handle (MICA_SYS_TASK_KILL). */
#include <mica/errno.h>

#include "vm/syscalls.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/remote_paging.h"

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

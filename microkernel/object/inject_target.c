/* The one thing the injection points (inject/inject.h) need from the object
 * layer: the name and id of a task, for the task= filter and the report. */
#include "inject/inject.h"
#include "object/sched.h"
#include "object/task.h"
#include "object/thread.h"

bool inject_task_name(const void *task, const char **name, uint32_t *id)
{
    const struct task *t = task;
    if (!t) {
        struct thread *cur = sched_current();
        t = cur ? cur->task : NULL;
    }
    if (!t)
        return false;
    *name = t->name;
    *id = t->id;
    return true;
}

/* Preemption points (object/preempt.h). The window itself is three
 * instructions in arch/x86_64/preempt_window.asm; the timer handler
 * recognises an interrupt taken there by its saved rip (preempt_at), so no
 * per-CPU flag has to be kept right across switches. */
#include "object/preempt.h"

#include <mica/errno.h>

#include "arch/x86_64/trap.h"
#include "object/sched.h"
#include "object/task.h"
#include "object/thread.h"

void preempt_window(void);
extern const char preempt_window_resume[];

/* Preemption points passed since boot (MICA_INFO_PREEMPT_POINTS): a count
 * that depends on the work done, not on time, for tests. One CPU: a plain
 * counter. */
static uint64_t points;

uint64_t preempt_points(void)
{
    return points;
}

int preempt_point(const struct task *target)
{
    points++;
    preempt_window();
    /* Other threads may have run: whatever the caller relies on is
     * checked again. A thread ending its own task has no task any more. */
    const struct thread *cur = sched_current(); /* NULL while booting */
    const struct task *self = cur ? cur->task : NULL;
    if (self && task_killed(self))
        return -MICA_EDEAD;
    if (target && target->state != TASK_LIVE)
        return -MICA_EDEAD;
    return 0;
}

bool preempt_at(const struct trap_frame *tf)
{
    return tf->rip == (uintptr_t)preempt_window_resume && !trap_from_user(tf);
}

/* Preemption points: where a long kernel operation lets other threads run.
 *
 * The kernel runs with interrupts off and is otherwise never preempted. An
 * operation whose work grows with an argument (unmapping or mapping a
 * range, tearing down, forking or loading a large task) counts its work in
 * units of about eight guest instructions and, each time PREEMPT_BUDGET
 * units are spent, calls preempt_point: a pending timer tick is taken
 * there, and if the thread's time slice is used up the scheduler switches
 * away exactly as it preempts ring 3. The operation carries on where it
 * stopped when the thread runs again, after checking that what it relies
 * on still holds (docs/design.md, "Preemption points"). */
#pragma once

#include "lib/types.h"

struct task;
struct trap_frame;

/* Work between two preemption points, and what each step costs. A unit is
 * about eight guest instructions (a table entry looked at costs one, see
 * vmm_next_mapped): PREEMPT_BUDGET units keep the longest time
 * with interrupts off under the 50,000-instruction target, the timer
 * handler's own cost included. */
#define PREEMPT_BUDGET    1024u
#define PREEMPT_COST_PAGE 48u  /* a page unmapped, shared, cloned or released (several walks) */
#define PREEMPT_COST_ZERO 96u  /* a page zeroed (512 rep stosq iterations) and mapped */
#define PREEMPT_COST_COPY 560u /* a page copied from user memory (4096 rep movsb iterations) */

/* Take `cost` units from *budget. True when it is spent: the caller runs
 * a preemption point now (*budget is refilled). */
static inline bool preempt_due(unsigned *budget, unsigned cost)
{
    if (*budget > cost) {
        *budget -= cost;
        return false;
    }
    *budget = PREEMPT_BUDGET;
    return true;
}

/* A preemption point: take a pending interrupt (the thread may be switched
 * out and back), then check that the call may go on. Returns 0, or
 * -MICA_EDEAD when `target` (the task operated on; NULL: none) is no
 * longer TASK_LIVE or the current task was killed; the caller then unwinds
 * through its error path. The caller holds a reference on `target`.
 * Interrupts are off again on return. */
int preempt_point(const struct task *target);

/* Preemption points passed since boot: grows with the work long calls do,
 * whatever the time they take (tests check it deterministically). */
uint64_t preempt_points(void);

/* True when `tf` is an interrupt taken in a preemption point's window,
 * the only kernel code the timer may switch away from. */
bool preempt_at(const struct trap_frame *tf);

/* Kernel resource counters for leak checks: a snapshot of
 * free frames (MICA_INFO_FREE_FRAMES_DRAINED: with the kernel's caches of
 * unused memory given back, so the count is exact), MICA_INFO_SLAB_OBJECTS,
 * _HEAP_BYTES and _TASKS, and a KTAP expectation that all four are back at
 * a baseline. Servers may keep memory of their own (a pager's tables grow
 * once), so take the baseline after a warm-up run. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <mica/ktap.h>
#include <mica/sys.h>

struct usage {
    int64_t frames, slab, heap, tasks;
};

static inline struct usage usage_now(void)
{
    return (struct usage){
        .frames = mica_info(MICA_INFO_FREE_FRAMES_DRAINED),
        .slab = mica_info(MICA_INFO_SLAB_OBJECTS),
        .heap = mica_info(MICA_INFO_HEAP_BYTES),
        .tasks = mica_info(MICA_INFO_TASKS),
    };
}

/* Wait, yielding at most `tries` times, until at most `tasks` tasks live
 * (a killed task ends when it next runs; one whose last handle closed
 * ends the same way). False if it never happened. */
static inline bool tasks_drop_to(int64_t tasks, unsigned tries)
{
    for (unsigned i = 0; i < tries; i++) {
        if (mica_info(MICA_INFO_TASKS) <= tasks)
            return true;
        mica_yield();
    }
    return false;
}

/* Expect every counter back at its baseline value. */
static inline void expect_baseline(const struct usage *base)
{
    struct usage now = usage_now();
    KTAP_EXPECT_EQ(now.frames, base->frames);
    KTAP_EXPECT_EQ(now.slab, base->slab);
    KTAP_EXPECT_EQ(now.heap, base->heap);
    KTAP_EXPECT_EQ(now.tasks, base->tasks);
}

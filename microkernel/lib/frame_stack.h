/* A bounded LIFO stack of page-frame numbers: plain data, no locking, no
 * allocation. The page-frame allocator keeps one per CPU (struct cpu, in
 * arch/x86_64/percpu.h) as its cache of free single frames; the stack is
 * defined here, below both, so that the per-CPU block can embed it without
 * reaching up into mm/. */
#pragma once

#include "lib/types.h"

#define FRAME_STACK_MAX 64  /* frames held at most */

struct frame_stack {
    uint32_t count;                  /* entries in use, pfns[0..count) */
    uint32_t pfns[FRAME_STACK_MAX];  /* top at pfns[count - 1] */
};

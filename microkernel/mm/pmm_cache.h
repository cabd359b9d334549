/* Per-CPU cache of free single frames for the page-frame allocator.
 * Kept in its own header so that struct cpu can embed it. */
#pragma once

#include "lib/types.h"

#define PMM_CPU_CACHE_MAX   64  /* frames held at most */
#define PMM_CPU_CACHE_BATCH 32  /* frames moved to/from the buddy lists at once */

struct pmm_cpu_cache {
    uint32_t count;
    uint32_t pfns[PMM_CPU_CACHE_MAX];
};

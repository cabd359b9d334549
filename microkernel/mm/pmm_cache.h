/* Per-CPU cache of free single frames for the page-frame allocator: a
 * struct frame_stack (lib/frame_stack.h) embedded in struct cpu. */
#pragma once

#include "lib/frame_stack.h"

#define PMM_CPU_CACHE_MAX   FRAME_STACK_MAX  /* frames held at most */
#define PMM_CPU_CACHE_BATCH 32  /* frames moved to/from the buddy lists at once */

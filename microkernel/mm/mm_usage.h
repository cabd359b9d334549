/* One snapshot of what the memory core has handed out, for leak checks
 * (tests compare two snapshots) and MICA_SYS_INFO. */
#pragma once

#include "lib/types.h"

struct mm_usage {
    uint64_t free_frames; /* page-frame allocator's free count */
    uint64_t slab_objs;   /* objects in use over all slab caches */
    uint64_t heap_bytes;  /* kmalloc bytes in use */
};

/* Fill *u with the current counters. O(number of slab caches). */
void mm_usage_get(struct mm_usage *u);

/* Objects in use over all slab caches. */
uint64_t slab_objects_in_use(void);

/* Give every frame the memory core keeps cached but unused back to the
 * page-frame allocator: each slab cache's empty spare slab, the heap's
 * spare empty arena, this CPU's frame cache. Afterwards the free-frame
 * count is exact: equal before and after any sequence of operations that
 * released everything it took. O(number of slab caches). */
void mm_reclaim(void);

/* The kernel's consistency checks on demand (MICA_INFO_SELF_CHECK), so
 * that a fuzzer or a fault-injection workload can ask, every N calls,
 * whether anything it did broke the kernel's own bookkeeping. */
#pragma once

#include "lib/types.h"

/* Check the page-frame allocator's metadata against its lists and counters,
 * the kernel heap's tags and lists, and every slab cache's lists against
 * its counters. Returns the number of slab caches found broken (each
 * reported with a line); a broken frame allocator or heap panics naming
 * the invariant (they cannot be trusted to go on). Cost: one pass over
 * every frame's metadata and the heap, O(RAM). */
uint64_t kernel_self_check(void);

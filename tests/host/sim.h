/* Simulated physical memory for host tests: an anonymous mapping that the
 * kernel's direct map (phys_to_virt) points at, so physical address X is
 * byte X of the buffer. Memory is reserved lazily (MAP_NORESERVE). */
#pragma once

#include <stdint.h>

/* Create `bytes` of simulated physical memory and point the direct map at it. */
void *sim_phys_create(uint64_t bytes);

/* Release it. */
void sim_phys_destroy(void *p, uint64_t bytes);

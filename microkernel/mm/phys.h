/* Access to physical memory through the kernel's direct map.
 * The kernel maps all RAM at DIRECT_MAP_BASE; host tests point it at a
 * simulated physical memory buffer instead. */
#pragma once

#include "lib/types.h"

#ifdef MICA_HOST
extern uintptr_t host_direct_map_base; /* set by the host test harness */
#define DIRECT_MAP_BASE ((uintptr_t)host_direct_map_base)
#else
#define DIRECT_MAP_BASE 0xffff800000000000ULL /* 64 TiB window, see design.md */
#endif

/* Kernel virtual address of physical address `pa` in the direct map. */
static inline void *phys_to_virt(paddr_t pa)
{
    return (void *)(uintptr_t)(DIRECT_MAP_BASE + pa);
}

/* Physical address of a direct-map pointer; `p` must lie in the direct map. */
static inline paddr_t virt_to_phys(const void *p)
{
    return (paddr_t)((uintptr_t)p - DIRECT_MAP_BASE);
}

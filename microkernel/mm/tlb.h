/* TLB invalidation on this CPU: one page with invlpg, or everything.
 *
 * invlpg also drops every paging-structure cache entry (SDM 4.10.4.1), so
 * one invlpg after unlinking page-table pages is enough to stop the CPU from
 * walking through them. Without PCID a CR3 load flushes all non-global
 * entries, so an address space that is not current has nothing cached.
 * There is no cross-CPU shootdown yet: the kernel runs on one CPU.
 *
 * In host builds (MICA_HOST) the operations only count, so that tests can
 * check that invalidations happen exactly where they must; the counters are
 * defined in mm/vmm.c. */
#pragma once

#include "lib/types.h"

/* Above this many pages, flushing everything is cheaper than invlpg each. */
#define TLB_FLUSH_ALL_THRESHOLD 32

#ifdef MICA_HOST

extern uint64_t tlb_host_page_flushes; /* tlb_flush_page calls */
extern uint64_t tlb_host_full_flushes; /* tlb_flush_all calls */
extern vaddr_t tlb_host_last_page;     /* address of the last tlb_flush_page */

static inline void tlb_flush_page(vaddr_t va)
{
    tlb_host_page_flushes++;
    tlb_host_last_page = va;
}

static inline void tlb_flush_all(void)
{
    tlb_host_full_flushes++;
}

#else

#include "arch/x86_64/cpu.h"

/* Invalidate the translation of the page holding `va` (global or not). */
static inline void tlb_flush_page(vaddr_t va)
{
    invlpg(va);
}

/* Invalidate every translation, global ones included: toggling CR4.PGE
 * flushes all; without PGE there are no global entries and a CR3 reload
 * suffices. */
static inline void tlb_flush_all(void)
{
    uint64_t cr4 = read_cr4();
    if (cr4 & CR4_PGE) {
        write_cr4(cr4 & ~CR4_PGE);
        write_cr4(cr4);
    } else {
        write_cr3(read_cr3());
    }
}

#endif

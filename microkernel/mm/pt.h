/* What mm/ keeps in and about x86-64 page tables, on top of the bare entry
 * format (arch/x86_64/pte.h): the leaf bits for a VM_* protection, and the
 * present-entry count that every page-table page carries. Private to the
 * page-table code (vmm.c, kernel_space.c) and its tests. */
#pragma once

#include "arch/x86_64/pte.h"
#include "lib/assert.h"
#include "lib/types.h"
#include "mm/pmm.h"
#include "mm/prot.h"

/* Leaf bits (without PTE_PS or an address) for VM_* protection `prot`. */
static inline uint64_t pte_leaf_bits(unsigned prot)
{
    uint64_t e = PTE_P;
    if (prot & VM_WRITE)
        e |= PTE_W;
    if (prot & VM_USER)
        e |= PTE_U;
    if (prot & VM_GLOBAL)
        e |= PTE_G;
    if (prot & VM_NOCACHE)
        e |= PTE_PCD | PTE_PWT;
    if (!(prot & VM_EXEC))
        e |= pte_nx();
    return e;
}

/* Page-table pages keep their count of present entries in the page-frame
 * allocator's per-frame aux word (pmm_frame_aux), so vmm_unmap finds an
 * empty table in O(1). */

/* Present entries in the page-table page at `table`. */
static inline unsigned pt_count(paddr_t table)
{
    return pmm_frame_aux(table);
}

/* Set the present-entry count of `table` (0 for a new or dying table). */
static inline void pt_count_set(paddr_t table, unsigned n)
{
    pmm_frame_set_aux(table, (uint16_t)n);
}

/* Record one more present entry in `table`. */
static inline void pt_count_inc(paddr_t table)
{
    unsigned n = pmm_frame_aux(table);
    KASSERT(n < PT_ENTRIES, "page table 0x%llx: present count %u overflows",
            (unsigned long long)table, n);
    pmm_frame_set_aux(table, (uint16_t)(n + 1));
}

/* Record one present entry fewer in `table`; returns the new count. */
static inline unsigned pt_count_dec(paddr_t table)
{
    unsigned n = pmm_frame_aux(table);
    KASSERT(n > 0, "page table 0x%llx: present count underflows", (unsigned long long)table);
    pmm_frame_set_aux(table, (uint16_t)(n - 1));
    return n - 1;
}

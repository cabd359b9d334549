/* x86-64 page-table entries: the bits of a 4-level paging entry and index
 * arithmetic. What mm/ keeps on top of them (the translation of VM_*
 * protections into leaf bits, the present-entry count of each page-table
 * page) is in mm/pt.h.
 *
 * Levels are numbered from the leaf up: 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4.
 * A level-2 or level-3 entry with PTE_PS set is a 2 MiB or 1 GiB leaf. */
#pragma once

#include "arch/x86_64/cpu_features.h"
#include "lib/assert.h"
#include "lib/types.h"

#define PTE_P   (1ULL << 0)  /* present */
#define PTE_W   (1ULL << 1)  /* writable */
#define PTE_U   (1ULL << 2)  /* user */
#define PTE_PWT (1ULL << 3)  /* write-through */
#define PTE_PCD (1ULL << 4)  /* cache disable */
#define PTE_A   (1ULL << 5)  /* accessed (set by the CPU) */
#define PTE_D   (1ULL << 6)  /* dirty (set by the CPU; leaves only) */
#define PTE_PS  (1ULL << 7)  /* large page (levels 2 and 3 only) */
#define PTE_G   (1ULL << 8)  /* global (leaves only) */
#define PTE_NX  (1ULL << 63) /* execute disable (needs EFER.NXE) */
/* Bits 9..11 of a leaf are ignored by the CPU and left to software. */
#define PTE_COW (1ULL << 9)  /* copy-on-write share (4 KiB user leaves, never with PTE_W) */

#define PTE_ADDR_MASK  0x000ffffffffff000ULL /* frame address bits 12..51 */
#define PTE_PHYS_LIMIT (1ULL << 52)          /* architectural MAXPHYADDR bound */

#define PT_LEVELS  4
#define PT_ENTRIES 512u
#define PML4_KERNEL_FIRST 256u                  /* first kernel-half PML4 slot */
#define VA_KERNEL_HALF    0xffff800000000000ULL /* lowest canonical upper-half address */

/* Intermediate entries are permissive; the leaf decides the protection. */
#define PTE_TABLE_KERNEL (PTE_P | PTE_W)
#define PTE_TABLE_USER   (PTE_P | PTE_W | PTE_U)

/* log2 of the bytes one entry at `level` maps (12, 21, 30, 39). */
#define PTE_SHIFT(level) (PAGE_SHIFT + 9 * ((level) - 1))
#define PTE_SPAN(level)  (1ULL << PTE_SHIFT(level))

STATIC_ASSERT(PTE_SPAN(2) == 2 * MiB && PTE_SPAN(3) == GiB, "page-table level spans");

/* Slot of `va` in its table at `level`. */
static inline unsigned pte_index(vaddr_t va, int level)
{
    return (unsigned)(va >> PTE_SHIFT(level)) & (PT_ENTRIES - 1);
}

/* Physical address of the table or 4 KiB frame an entry points to. */
static inline paddr_t pte_addr(uint64_t e)
{
    return e & PTE_ADDR_MASK;
}

/* True when bits 63..47 of `va` are all equal (48-bit virtual addresses). */
static inline bool va_canonical(vaddr_t va)
{
    return (vaddr_t)((int64_t)(va << 16) >> 16) == va;
}

/* PTE_NX when the CPU supports it, else 0 (the bit is reserved without NXE). */
static inline uint64_t pte_nx(void)
{
    return cpu_features.nx ? PTE_NX : 0;
}

/* Store an entry with one 64-bit write that the compiler cannot split or
 * reorder, since the CPU's page walker may read it at any time. */
static inline void pte_set(uint64_t *slot, uint64_t e)
{
    *(volatile uint64_t *)slot = e;
}

/* Zero a page-table page (rep stosq: 512 iterations instead of 4096). */
static inline void pt_zero(void *page)
{
#ifdef MICA_HOST
    __builtin_memset(page, 0, PAGE_SIZE);
#else
    void *d = page;
    uint64_t n = PAGE_SIZE / 8;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ULL) : "memory");
#endif
}

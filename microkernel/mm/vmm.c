/* Page tables: the generic 4-level walker behind mm/vmm.h.
 *
 * Table pages come from pmm_alloc_frame, are zeroed, and are reached
 * through the direct map (phys_to_virt). Intermediate entries are P|W (|U in
 * the user half); the leaf alone decides the protection.
 *
 * Present-entry counts: every table page keeps the number of its present
 * entries in the allocator's per-frame aux word (pt_count, arch pte.h). The
 * count makes "is this table empty now?" an O(1) question in vmm_unmap,
 * without scanning 512 entries and without borrowing bits of the entries.
 * The PML4's count includes the kernel-half slots copied into it.
 *
 * The kernel half (PML4 slots 256..511) is shared: vmm_space_create copies
 * the kernel PML4's slots, so every space points at the same PDPTs. Two rules
 * keep those copies identical:
 *  - kernel-half tables are never freed, at any level. Unmapping a kernel
 *    page clears only the leaf, so kernel regions that are reused (device
 *    windows, scratch pages) pay no table allocation, zeroing or freeing,
 *    and no CPU can be left walking a freed kernel table;
 *  - a new kernel-half PDPT (a PML4 slot being filled) may only be created
 *    in the kernel space while no other space exists. kernel_space_init
 *    creates the PDPTs of every kernel region (direct map, image,
 *    KERNEL_DYN_START); using another slot later panics, naming it.
 * User-half tables are freed as soon as they become empty, and all of them
 * by vmm_space_destroy.
 *
 * TLB: mapping a non-present entry needs no invalidation (x86 does not cache
 * non-present entries). Unmap and protect invalidate the page when the space
 * is current or the address is in the kernel half; see mm/tlb.h.
 *
 * Locking: none here. A caller serialises operations on one space; the
 * kernel half needs a global lock once there is more than one CPU. */
#include "mm/vmm.h"

#include <mica/errno.h>

#include "mm/pt.h"
#include "lib/assert.h"
#include "mm/page_zero.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/tlb.h"
#ifndef MICA_HOST
#include "arch/x86_64/cpu.h"
#endif

#ifdef MICA_HOST
uint64_t tlb_host_page_flushes;
uint64_t tlb_host_full_flushes;
vaddr_t tlb_host_last_page;
static paddr_t host_cr3; /* the PML4 "loaded" by vmm_activate */
#endif

static struct vm_space kernel_as;
static unsigned live_spaces;  /* spaces from vmm_space_create not yet destroyed */
static unsigned kernel_slots; /* present kernel-half PML4 slots, fixed while live_spaces > 0 */

/* The path from the PML4 to where a walk stopped. */
struct walk {
    int level;                       /* level of the last entry reached */
    paddr_t table[PT_LEVELS + 1];    /* table[l]: the table page at level l */
    uint64_t *entry[PT_LEVELS + 1];  /* entry[l]: va's slot in table[l] */
};

static inline uint64_t *table_ptr(paddr_t table)
{
    return phys_to_virt(table);
}

static inline bool is_kernel_va(vaddr_t va)
{
    return va >= VA_KERNEL_HALF;
}

static bool is_current(const struct vm_space *as)
{
#ifdef MICA_HOST
    return host_cr3 == as->pml4;
#else
    return pte_addr(read_cr3()) == as->pml4;
#endif
}

/* Descend from the PML4 towards level `stop`, stopping early at an entry
 * that is not present or is a large page. Fills every level it passes. */
static void walk(paddr_t pml4, vaddr_t va, int stop, struct walk *w)
{
    paddr_t t = pml4;
    int l = PT_LEVELS;
    for (;;) {
        uint64_t *e = &table_ptr(t)[pte_index(va, l)];
        w->table[l] = t;
        w->entry[l] = e;
        if (l == stop || !(*e & PTE_P) || (*e & PTE_PS))
            break;
        t = pte_addr(*e);
        l--;
    }
    w->level = l;
}

/* Validate a mapping request: known prot bits, alignment to `size`, and an
 * address in the half that VM_USER names. */
static int check_request(vaddr_t va, unsigned prot, uint64_t size)
{
    if ((prot & ~VM_PROT_MASK) || !IS_ALIGNED(va, size) || !va_canonical(va))
        return -MICA_EINVAL;
    if (prot & VM_USER) {
        if (va >= USER_SPACE_END || (prot & VM_GLOBAL))
            return -MICA_EINVAL;
    } else if (!is_kernel_va(va)) {
        return -MICA_EINVAL;
    }
    return 0;
}

/* Create the missing tables from w->level down to `leaf` (exclusive) and
 * extend the walk through them. All frames are taken before any is linked,
 * so running out of memory leaves the tables as they were. */
static int add_tables(const struct vm_space *as, vaddr_t va, struct walk *w, int leaf)
{
    int top = w->level;
    paddr_t fresh[PT_LEVELS];
    int n = top - leaf;

    if (top == PT_LEVELS && is_kernel_va(va))
        KASSERT(as->pml4 == kernel_as.pml4 && live_spaces == 0,
                "kernel PML4 slot %u has no PDPT: kernel-half slots are filled only "
                "by kernel_space_init, before other address spaces exist",
                pte_index(va, PT_LEVELS));
    for (int i = 0; i < n; i++) {
        if (pmm_alloc_frame(&fresh[i]) < 0) {
            while (i-- > 0)
                pmm_free_frame(fresh[i]);
            return -MICA_ENOMEM;
        }
    }

    uint64_t link = is_kernel_va(va) ? PTE_TABLE_KERNEL : PTE_TABLE_USER;
    for (int l = top, i = 0; l > leaf; l--, i++) {
        paddr_t t = fresh[i];
        pt_zero(table_ptr(t));
        pt_count_set(t, 0);
        pte_set(w->entry[l], t | link);
        pt_count_inc(w->table[l]);
        w->table[l - 1] = t;
        w->entry[l - 1] = &table_ptr(t)[pte_index(va, l - 1)];
    }
    w->level = leaf;
    return 0;
}

/* The 4 KiB leaf slot of va when the three tables above it exist (no large
 * page on the way), else NULL: the common case of map, remap, protect and
 * lookups, unrolled (the loop of walk() costs three times as much). If
 * `upper` is not NULL it gets the AND of the three entries above the leaf
 * with their NX bits ORed in (see prot_of). */
static inline uint64_t *leaf_slot_upper(const struct vm_space *as, vaddr_t va, uint64_t *upper)
{
    uint64_t e4 = table_ptr(as->pml4)[pte_index(va, 4)];
    if (!(e4 & PTE_P))
        return NULL;
    uint64_t e3 = table_ptr(pte_addr(e4))[pte_index(va, 3)];
    if ((e3 & (PTE_P | PTE_PS)) != PTE_P)
        return NULL;
    uint64_t e2 = table_ptr(pte_addr(e3))[pte_index(va, 2)];
    if ((e2 & (PTE_P | PTE_PS)) != PTE_P)
        return NULL;
    if (upper)
        *upper = (e4 & e3 & e2 & ~PTE_NX) | ((e4 | e3 | e2) & PTE_NX);
    return &table_ptr(pte_addr(e2))[pte_index(va, 1)];
}

static inline uint64_t *leaf_slot(const struct vm_space *as, vaddr_t va)
{
    return leaf_slot_upper(as, va, NULL);
}

/* Install `leaf_entry` at level `leaf` for `va`, creating tables as needed. */
static int map_at(struct vm_space *as, vaddr_t va, uint64_t leaf_entry, int leaf)
{
    struct walk w;
    walk(as->pml4, va, leaf, &w);
    if (w.level > leaf) {
        if (*w.entry[w.level] & PTE_P)
            return -MICA_EEXIST; /* inside a larger page */
        int rc = add_tables(as, va, &w, leaf);
        if (rc < 0)
            return rc;
    }
    if (*w.entry[leaf] & PTE_P)
        return -MICA_EEXIST;
    pte_set(w.entry[leaf], leaf_entry);
    pt_count_inc(w.table[leaf]);
    as->changes++;
    return 0;
}

int vmm_map(struct vm_space *as, vaddr_t va, paddr_t pa, unsigned prot)
{
    int rc = check_request(va, prot, PAGE_SIZE);
    if (rc < 0)
        return rc;
    if (!IS_ALIGNED(pa, PAGE_SIZE) || pa >= PTE_PHYS_LIMIT)
        return -MICA_EINVAL;
    /* Here rather than in map_at, whose general walk needs a large frame. */
    uint64_t *slot = leaf_slot(as, va);
    if (slot) {
        if (*slot & PTE_P)
            return -MICA_EEXIST;
        pte_set(slot, pa | pte_leaf_bits(prot));
        pt_count_inc(ALIGN_DOWN(virt_to_phys(slot), PAGE_SIZE));
        as->changes++;
        return 0;
    }
    return map_at(as, va, pa | pte_leaf_bits(prot), 1);
}

int vmm_map_run(struct vm_space *as, vaddr_t va, const paddr_t *pa, unsigned n, unsigned prot,
                unsigned *done)
{
    *done = 0;
    KASSERT(n > 0 && pte_index(va, 1) + n <= PT_ENTRIES,
            "vmm_map_run: %u pages from 0x%llx leave their page table", n,
            (unsigned long long)va);
    /* The first page through vmm_map, which makes any missing table. */
    uint64_t *slot = leaf_slot(as, va);
    if (!slot) {
        int rc = vmm_map(as, va, pa[0], prot);
        if (rc < 0)
            return rc;
        *done = 1;
        slot = leaf_slot(as, va);
        KASSERT(slot, "vmm_map_run: no leaf table at 0x%llx after a map",
                (unsigned long long)va);
    } else if (check_request(va, prot, PAGE_SIZE) < 0) {
        return -MICA_EINVAL;
    }
    paddr_t table = ALIGN_DOWN(virt_to_phys(slot), PAGE_SIZE);
    unsigned count = pt_count(table), first = *done;
    uint64_t bits = pte_leaf_bits(prot);
    int rc = 0;
    for (unsigned i = first; i < n; i++) {
        if (!IS_ALIGNED(pa[i], PAGE_SIZE) || pa[i] >= PTE_PHYS_LIMIT) {
            rc = -MICA_EINVAL;
            break;
        }
        if (slot[i] & PTE_P) {
            rc = -MICA_EEXIST;
            break;
        }
        pte_set(&slot[i], pa[i] | bits);
        *done = i + 1;
    }
    /* The entries counted once for the run, not once per page. */
    KASSERT(count + (*done - first) <= PT_ENTRIES, "page table 0x%llx: present count %u + %u "
            "overflows", (unsigned long long)table, count, *done - first);
    pt_count_set(table, count + (*done - first));
    as->changes++;
    return rc;
}

int vmm_map_2m(struct vm_space *as, vaddr_t va, paddr_t pa, unsigned prot)
{
    int rc = check_request(va, prot, PTE_SPAN(2));
    if (rc < 0)
        return rc;
    if (!IS_ALIGNED(pa, PTE_SPAN(2)) || pa >= PTE_PHYS_LIMIT)
        return -MICA_EINVAL;
    return map_at(as, va, pa | pte_leaf_bits(prot) | PTE_PS, 2);
}

/* Walk to the 4 KiB leaf of `va` for unmap/protect. Returns 0 with the path
 * in *w, -MICA_ENOENT if nothing maps va, -MICA_EINVAL inside a large page. */
static int find_4k(const struct vm_space *as, vaddr_t va, struct walk *w)
{
    if (!IS_ALIGNED(va, PAGE_SIZE) || !va_canonical(va))
        return -MICA_EINVAL;
    walk(as->pml4, va, 1, w);
    if (!(*w->entry[w->level] & PTE_P))
        return -MICA_ENOENT;
    return w->level == 1 ? 0 : -MICA_EINVAL;
}

/* find_4k for callers that need only the leaf's slot: the unrolled walk
 * when it reaches a present leaf, find_4k for everything else (and its
 * error). */
static inline int find_leaf(const struct vm_space *as, vaddr_t va, uint64_t **slot)
{
    if (likely(IS_ALIGNED(va, PAGE_SIZE) && va_canonical(va))) {
        uint64_t *s = leaf_slot(as, va);
        if (likely(s && (*s & PTE_P))) {
            *slot = s;
            return 0;
        }
    }
    struct walk w;
    int rc = find_4k(as, va, &w);
    *slot = rc == 0 ? w.entry[1] : NULL;
    return rc;
}

/* May the table at `level` holding `va` be freed once empty? */
static inline bool table_freeable(int level, vaddr_t va)
{
    return level < PT_LEVELS && !is_kernel_va(va);
}

int vmm_unmap(struct vm_space *as, vaddr_t va, paddr_t *old_pa)
{
    struct walk w;
    int rc = find_4k(as, va, &w);
    if (rc < 0)
        return rc;

    uint64_t old = *w.entry[1];
    pte_set(w.entry[1], 0);
    as->changes++;
    /* Unlink the tables that became empty, bottom up; free them only after
     * the invalidation so the CPU cannot walk a recycled page. */
    paddr_t dead[PT_LEVELS];
    int ndead = 0;
    for (int l = 1; pt_count_dec(w.table[l]) == 0 && table_freeable(l, va); l++) {
        pte_set(w.entry[l + 1], 0);
        dead[ndead++] = w.table[l];
    }
    if (is_kernel_va(va) || is_current(as))
        tlb_flush_page(va);
    while (ndead-- > 0)
        pmm_free_frame(dead[ndead]);
    if (old_pa)
        *old_pa = pte_addr(old);
    return 0;
}

int vmm_protect(struct vm_space *as, vaddr_t va, unsigned prot)
{
    int rc = check_request(va, prot, PAGE_SIZE);
    if (rc < 0)
        return rc;
    uint64_t *slot;
    rc = find_leaf(as, va, &slot);
    if (rc < 0)
        return rc;

    uint64_t old = *slot;
    uint64_t e = (old & (PTE_ADDR_MASK | PTE_A | PTE_D)) | pte_leaf_bits(prot);
    if (e == old)
        return 0;
    pte_set(slot, e);
    as->changes++;
    if (is_kernel_va(va) || is_current(as))
        tlb_flush_page(va);
    return 0;
}

int vmm_mark_cow(struct vm_space *as, vaddr_t va)
{
    struct walk w;
    int rc = find_4k(as, va, &w);
    if (rc < 0)
        return rc;
    uint64_t old = *w.entry[1];
    if (!(old & PTE_U))
        return -MICA_EINVAL; /* kernel pages are never shared */
    uint64_t e = (old & ~PTE_W) | PTE_COW;
    if (e == old)
        return 0;
    pte_set(w.entry[1], e);
    as->changes++;
    if (is_current(as))
        tlb_flush_page(va);
    return 0;
}

bool vmm_is_cow(const struct vm_space *as, vaddr_t va)
{
    uint64_t *slot;
    return find_leaf(as, va, &slot) == 0 && (*slot & PTE_COW);
}

bool vmm_cow_frame(const struct vm_space *as, vaddr_t va, paddr_t *pa, struct vmm_leaf *leaf)
{
    uint64_t *slot;
    if (find_leaf(as, va, &slot) < 0 || !(*slot & PTE_COW))
        return false;
    *pa = pte_addr(*slot);
    *leaf = (struct vmm_leaf){.slot = slot, .changes = as->changes};
    return true;
}

paddr_t vmm_leaf_remap(struct vm_space *as, vaddr_t va, struct vmm_leaf leaf, paddr_t pa,
                       unsigned prot)
{
    KASSERT(leaf.changes == as->changes && (prot & VM_USER) && !(prot & ~VM_PROT_MASK) &&
                IS_ALIGNED(pa, PAGE_SIZE) && pa < PTE_PHYS_LIMIT,
            "remap of 0x%lx: stale leaf (%lu changes since) or bad request (pa 0x%lx, prot 0x%x)",
            (unsigned long)va, (unsigned long)(as->changes - leaf.changes), (unsigned long)pa,
            prot);
    uint64_t old = *leaf.slot;
    /* A new frame starts clean; the same frame keeps its A/D history. */
    uint64_t keep = pte_addr(old) == pa ? (old & (PTE_A | PTE_D)) : 0;
    pte_set(leaf.slot, pa | keep | pte_leaf_bits(prot));
    as->changes++;
    if (is_current(as))
        tlb_flush_page(va);
    return pte_addr(old);
}

int vmm_remap(struct vm_space *as, vaddr_t va, paddr_t pa, unsigned prot, paddr_t *old_pa)
{
    int rc = check_request(va, prot, PAGE_SIZE);
    if (rc < 0)
        return rc;
    if (!IS_ALIGNED(pa, PAGE_SIZE) || pa >= PTE_PHYS_LIMIT)
        return -MICA_EINVAL;
    uint64_t *slot;
    rc = find_leaf(as, va, &slot);
    if (rc < 0)
        return rc;
    uint64_t old = *slot;
    /* A new frame starts clean; the same frame keeps its A/D history. */
    uint64_t keep = pte_addr(old) == pa ? (old & (PTE_A | PTE_D)) : 0;
    pte_set(slot, pa | keep | pte_leaf_bits(prot));
    as->changes++;
    if (is_kernel_va(va) || is_current(as))
        tlb_flush_page(va);
    if (old_pa)
        *old_pa = pte_addr(old);
    return 0;
}

/* Effective protection along the walk: writable/user only if every level
 * allows it, executable unless some level has NX. */
/* The VM_* protection of a leaf whose path has W and U in `all` where every
 * level allows them and NX in `nx` where any level forbids execution. */
static unsigned prot_of(uint64_t all, uint64_t nx, uint64_t leaf)
{
    unsigned prot = 0;
    if (all & PTE_W)
        prot |= VM_WRITE;
    if (all & PTE_U)
        prot |= VM_USER;
    if (!nx)
        prot |= VM_EXEC;
    if (leaf & PTE_G)
        prot |= VM_GLOBAL;
    if (leaf & PTE_PCD)
        prot |= VM_NOCACHE;
    return prot;
}

static unsigned walk_prot(const struct walk *w)
{
    uint64_t all = PTE_W | PTE_U, nx = 0;
    for (int l = PT_LEVELS; l >= w->level; l--) {
        all &= *w->entry[l];
        nx |= *w->entry[l] & PTE_NX;
    }
    return prot_of(all, nx, *w->entry[w->level]);
}

int vmm_translate(const struct vm_space *as, vaddr_t va, paddr_t *pa, unsigned *prot)
{
    if (!va_canonical(va))
        return -MICA_EINVAL;
    uint64_t upper, *slot = leaf_slot_upper(as, va, &upper);
    if (likely(slot && (*slot & PTE_P))) { /* a 4 KiB page: the unrolled walk */
        uint64_t e = *slot;
        if (pa)
            *pa = pte_addr(e) | (va & PAGE_MASK);
        if (prot)
            *prot = prot_of(upper & e & (PTE_W | PTE_U), (upper | e) & PTE_NX, e);
        return 0;
    }
    struct walk w;
    walk(as->pml4, va, 1, &w);
    uint64_t e = *w.entry[w.level];
    if (!(e & PTE_P))
        return -MICA_ENOENT;
    KASSERT(w.level < PT_LEVELS, "PML4 entry 0x%llx for va 0x%llx has PS set",
            (unsigned long long)e, (unsigned long long)va);
    /* For a large page this also drops bit 12 (PAT) from the address. */
    uint64_t offset_mask = PTE_SPAN(w.level) - 1;
    if (pa)
        *pa = (pte_addr(e) & ~offset_mask) | (va & offset_mask);
    if (prot)
        *prot = walk_prot(&w);
    return 0;
}

/* The entry for va at `level` in the table that entry e (or the PML4's
 * address) points to. */
static inline uint64_t next_entry(uint64_t e, vaddr_t va, int level)
{
    return table_ptr(pte_addr(e))[pte_index(va, level)];
}

/* Direct-map pointer to va inside the large page of leaf e at `level`. For
 * a large page pte_addr keeps bit 12 (PAT); the mask drops it. */
static inline void *large_ptr(uint64_t e, vaddr_t va, int level)
{
    uint64_t offset_mask = PTE_SPAN(level) - 1;
    return phys_to_virt((pte_addr(e) & ~offset_mask) | (va & offset_mask));
}

/* Unrolled: the loop of walk() costs twice as much, and this lookup is on
 * every IPC with data. */
void *vmm_user_ptr(const struct vm_space *as, vaddr_t va, bool write)
{
    const uint64_t need = PTE_P | PTE_U | (write ? PTE_W : 0);
    uint64_t e = next_entry(as->pml4, va, 4);
    if ((e & need) != need)
        return NULL;
    e = next_entry(e, va, 3);
    if ((e & need) != need)
        return NULL;
    if (e & PTE_PS)
        return large_ptr(e, va, 3);
    e = next_entry(e, va, 2);
    if ((e & need) != need)
        return NULL;
    if (e & PTE_PS)
        return large_ptr(e, va, 2);
    e = next_entry(e, va, 1);
    if ((e & need) != need)
        return NULL;
    return phys_to_virt(pte_addr(e) | (va & PAGE_MASK));
}

/* Where a table's present entries can be. A user table often holds a few
 * entries at each end (program at the bottom of the user half, stack at the
 * top), so scanning upwards alone would test ~500 empty slots per table.
 * Scanning from both ends at once until the present-entry count is reached
 * leaves a gap [gap_lo, gap_hi) known to be empty; the caller then visits
 * [0, gap_lo) and [gap_hi, end) in ascending order. */
struct span {
    unsigned gap_lo, gap_hi;
};

static struct span present_span(const uint64_t *e, unsigned end, unsigned count)
{
    unsigned lo = 0, hi = end, seen = 0;
    while (seen < count && lo < hi) {
        seen += (e[lo++] & PTE_P) != 0;
        if (seen < count && lo < hi)
            seen += (e[--hi] & PTE_P) != 0;
    }
    return (struct span){.gap_lo = lo, .gap_hi = hi};
}

/* First and next index to look at outside the gap, ascending. */
static inline unsigned span_first(const struct span *s)
{
    return s->gap_lo > 0 ? 0 : s->gap_hi;
}

static inline unsigned span_next(const struct span *s, unsigned i)
{
    return ++i == s->gap_lo ? s->gap_hi : i;
}

/* Visit the leaves under `table` (at `level`, mapping from `base`). */
static int visit_leaves(paddr_t table, int level, vaddr_t base,
                        void (*fn)(vaddr_t va, paddr_t pa, void *arg), void *arg)
{
    const uint64_t *e = table_ptr(table);
    struct span s = present_span(e, PT_ENTRIES, pt_count(table));
    int n = 0;
    for (unsigned i = span_first(&s); i < PT_ENTRIES; i = span_next(&s, i)) {
        if (!(e[i] & PTE_P))
            continue;
        vaddr_t va = base + (vaddr_t)i * PTE_SPAN(level);
        if (level > 1 && !(e[i] & PTE_PS)) {
            n += visit_leaves(pte_addr(e[i]), level - 1, va, fn, arg);
            continue;
        }
        /* Bit 12 of a large leaf is PAT, not address. */
        paddr_t pa = pte_addr(e[i]) & ~(PTE_SPAN(level) - 1);
        for (uint64_t off = 0; off < PTE_SPAN(level); off += PAGE_SIZE, n++)
            fn(va + off, pa + off, arg);
    }
    return n;
}

/* The PML4 count includes the shared kernel slots; the rest are user slots. */
static unsigned user_slots(const struct vm_space *as)
{
    unsigned count = pt_count(as->pml4);
    KASSERT(count >= kernel_slots, "PML4 0x%llx: count %u below %u kernel slots",
            (unsigned long long)as->pml4, count, kernel_slots);
    return count - kernel_slots;
}

int vmm_for_each_user_page(const struct vm_space *as,
                           void (*fn)(vaddr_t va, paddr_t pa, void *arg), void *arg)
{
    KASSERT(as->pml4 != kernel_as.pml4, "vmm_for_each_user_page of the kernel space");
    const uint64_t *pml4 = table_ptr(as->pml4);
    struct span s = present_span(pml4, PML4_KERNEL_FIRST, user_slots(as));
    int n = 0;
    for (unsigned i = span_first(&s); i < PML4_KERNEL_FIRST; i = span_next(&s, i))
        if (pml4[i] & PTE_P)
            n += visit_leaves(pte_addr(pml4[i]), PT_LEVELS - 1,
                              (vaddr_t)i * PTE_SPAN(PT_LEVELS), fn, arg);
    return n;
}

/* Take `cost` units from *budget (down to 0); false, taking nothing, when
 * it was already spent. Any budget above 0 buys one more step, so a walk
 * always makes progress. */
static inline bool spend(unsigned *budget, unsigned cost)
{
    if (*budget == 0)
        return false;
    *budget = *budget > cost ? *budget - cost : 0;
    return true;
}

/* The first index from i on (below `last`) whose entry in t is present,
 * or where *budget ran out, or `last`. Aligned groups of eight entries are
 * tested at once: a user table is mostly empty between a few entries at
 * each end, and an exiting task's teardown crosses those gaps. */
static unsigned skip_absent(const uint64_t *t, unsigned i, unsigned last, unsigned *budget)
{
    while (i < last && !(t[i] & PTE_P)) {
        if ((i & 7) == 0 && i + 8 <= last) {
            uint64_t any = t[i] | t[i + 1] | t[i + 2] | t[i + 3] | t[i + 4] | t[i + 5] |
                           t[i + 6] | t[i + 7];
            if (!(any & PTE_P)) {
                if (!spend(budget, 2))
                    break;
                i += 8;
                continue;
            }
        }
        if (!spend(budget, 1))
            break;
        i++;
    }
    return i;
}

bool vmm_next_mapped(const struct vm_space *as, vaddr_t *va, vaddr_t end, paddr_t *pa,
                     unsigned *budget)
{
    KASSERT(IS_ALIGNED(*va, PAGE_SIZE) && IS_ALIGNED(end, PAGE_SIZE) && end <= USER_SPACE_END,
            "vmm_next_mapped: range 0x%llx..0x%llx is not page aligned in the user half",
            (unsigned long long)*va, (unsigned long long)end);
    vaddr_t v = *va;
    while (v < end && spend(budget, PT_LEVELS)) {
        struct walk w;
        walk(as->pml4, v, 1, &w);
        int l = w.level;
        uint64_t e = *w.entry[l];
        if (e & PTE_P) { /* a leaf: 4 KiB, or a large page (PS) */
            uint64_t span = PTE_SPAN(l);
            *pa = (pte_addr(e) & ~(span - 1)) + (v & (span - 1));
            *va = v;
            return true;
        }
        /* Absent at level l: scan this table for the next present entry;
         * every absent one skips its whole span. */
        const uint64_t *t = table_ptr(w.table[l]);
        unsigned last = l == PT_LEVELS ? PML4_KERNEL_FIRST : PT_ENTRIES;
        vaddr_t base = v & ~(PTE_SPAN(l) * PT_ENTRIES - 1); /* the table's first address */
        unsigned i = skip_absent(t, pte_index(v, l) + 1, last, budget);
        v = base + (vaddr_t)i * PTE_SPAN(l); /* i == last: the next table's span */
    }
    *va = MIN(v, end);
    return false;
}

/* Page-table pages in the tree under `table` (at `level`), itself included. */
static uint64_t count_tables(paddr_t table, int level)
{
    uint64_t n = 1;
    if (level == 1)
        return n;
    const uint64_t *e = table_ptr(table);
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if ((e[i] & PTE_P) && !(e[i] & PTE_PS))
            n += count_tables(pte_addr(e[i]), level - 1);
    return n;
}

uint64_t vmm_table_pages(const struct vm_space *as)
{
    /* A user space holds its user half only; the kernel space holds both. */
    unsigned end = as->pml4 == kernel_as.pml4 ? PT_ENTRIES : PML4_KERNEL_FIRST;
    const uint64_t *pml4 = table_ptr(as->pml4);
    uint64_t n = 1;
    for (unsigned i = 0; i < end; i++)
        if (pml4[i] & PTE_P)
            n += count_tables(pte_addr(pml4[i]), PT_LEVELS - 1);
    return n;
}

int vmm_space_create(struct vm_space *as)
{
    KASSERT(kernel_as.pml4 != 0, "vmm_space_create before the kernel space exists");
    paddr_t pml4;
    if (pmm_alloc_frame(&pml4) < 0)
        return -MICA_ENOMEM;

    const uint64_t *kpml4 = table_ptr(kernel_as.pml4);
    uint64_t *e = table_ptr(pml4);
    if (live_spaces == 0) {
        kernel_slots = 0;
        for (unsigned i = PML4_KERNEL_FIRST; i < PT_ENTRIES; i++)
            kernel_slots += (kpml4[i] & PTE_P) != 0;
    }
    /* Word moves: 512 iterations for the whole PML4 instead of a loop. */
    words_zero(e, PML4_KERNEL_FIRST);
    words_copy(&e[PML4_KERNEL_FIRST], &kpml4[PML4_KERNEL_FIRST],
               PT_ENTRIES - PML4_KERNEL_FIRST);
    pt_count_set(pml4, kernel_slots);
    live_spaces++;
    as->pml4 = pml4;
    as->changes = 0;
    return 0;
}

/* Tables with more present entries than this are cleared without
 * present_span: finding the gap costs a step per present entry, and a
 * teardown that its budget cuts short comes back to the same table (with
 * its first entries cleared) every few dozen pages, so for a full table
 * the gap would be counted again and again. */
#define SPAN_COUNT_MAX 16

/* True when none of the eight entries from e on is present. */
static inline bool group_absent(const uint64_t *e)
{
    return !((e[0] | e[1] | e[2] | e[3] | e[4] | e[5] | e[6] | e[7]) & PTE_P);
}

/* Remove the entries under `table` (at `level`): fn(pa, arg) for each 4 KiB
 * page of a leaf, then the leaf goes; a table emptied goes too. Returns
 * false when *budget ran out first (the table keeps what is left, its
 * count up to date, so a later call carries on). The entries an earlier
 * call cleared are crossed eight at a test, and the table's count is kept
 * in a local and written back once, not read and written per entry. */
static bool clear_table(paddr_t table, int level, void (*fn)(paddr_t pa, void *arg), void *arg,
                        unsigned page_cost, unsigned *budget)
{
    uint64_t *e = table_ptr(table);
    unsigned left = pt_count(table);
    struct span s = left <= SPAN_COUNT_MAX ? present_span(e, PT_ENTRIES, left)
                                           : (struct span){PT_ENTRIES, PT_ENTRIES};
    if (!spend(budget, PT_LEVELS))
        return false;
    bool done = true;
    for (unsigned i = span_first(&s); i < PT_ENTRIES; i = span_next(&s, i)) {
        if (!(e[i] & PTE_P)) {
            if ((i & 7) == 0 && i + 8 <= s.gap_lo && group_absent(&e[i]))
                i += 7; /* span_next steps over the eighth */
            continue;
        }
        KASSERT(left > 0, "page table 0x%llx: present count underflows",
                (unsigned long long)table);
        unsigned cost = PT_LEVELS;
        if (level > 1 && !(e[i] & PTE_PS)) {
            paddr_t child = pte_addr(e[i]);
            if (!clear_table(child, level - 1, fn, arg, page_cost, budget)) {
                done = false;
                break;
            }
            pt_count_set(child, 0);
            pmm_free_frame(child);
        } else {
            paddr_t pa = pte_addr(e[i]) & ~(PTE_SPAN(level) - 1);
            for (uint64_t off = 0; off < PTE_SPAN(level); off += PAGE_SIZE)
                fn(pa + off, arg);
            cost = page_cost * (unsigned)(PTE_SPAN(level) / PAGE_SIZE);
        }
        pte_set(&e[i], 0);
        left--;
        if (!spend(budget, cost)) {
            done = false;
            break;
        }
    }
    pt_count_set(table, left);
    return done;
}

bool vmm_clear_user(struct vm_space *as, void (*fn)(paddr_t pa, void *arg), void *arg,
                    unsigned page_cost, unsigned *budget)
{
    KASSERT(as->pml4 != kernel_as.pml4, "vmm_clear_user of the kernel space");
    KASSERT(!is_current(as), "vmm_clear_user of the current space 0x%llx",
            (unsigned long long)as->pml4);
    uint64_t *e = table_ptr(as->pml4);
    struct span s = present_span(e, PML4_KERNEL_FIRST, user_slots(as));
    as->changes++;
    for (unsigned i = span_first(&s); i < PML4_KERNEL_FIRST; i = span_next(&s, i)) {
        if (!(e[i] & PTE_P))
            continue;
        paddr_t pdpt = pte_addr(e[i]);
        if (!clear_table(pdpt, PT_LEVELS - 1, fn, arg, page_cost, budget))
            return false;
        pt_count_set(pdpt, 0);
        pmm_free_frame(pdpt);
        pte_set(&e[i], 0);
        pt_count_dec(as->pml4);
    }
    return true;
}

/* Free the table at `level` and every table below it; mapped frames stay. */
static void free_tables(paddr_t table, int level)
{
    if (level > 1) {
        const uint64_t *e = table_ptr(table);
        struct span s = present_span(e, PT_ENTRIES, pt_count(table));
        for (unsigned i = span_first(&s); i < PT_ENTRIES; i = span_next(&s, i))
            if ((e[i] & PTE_P) && !(e[i] & PTE_PS))
                free_tables(pte_addr(e[i]), level - 1);
    }
    pt_count_set(table, 0);
    pmm_free_frame(table);
}

void vmm_space_destroy(struct vm_space *as)
{
    KASSERT(as->pml4 != kernel_as.pml4, "vmm_space_destroy of the kernel space");
    KASSERT(!is_current(as), "vmm_space_destroy of the current space 0x%llx",
            (unsigned long long)as->pml4);
    KASSERT(live_spaces > 0, "vmm_space_destroy without a matching vmm_space_create");

    const uint64_t *e = table_ptr(as->pml4);
    struct span s = present_span(e, PML4_KERNEL_FIRST, user_slots(as));
    for (unsigned i = span_first(&s); i < PML4_KERNEL_FIRST; i = span_next(&s, i))
        if (e[i] & PTE_P)
            free_tables(pte_addr(e[i]), PT_LEVELS - 1);
    pt_count_set(as->pml4, 0);
    pmm_free_frame(as->pml4);
    as->pml4 = 0;
    live_spaces--;
}

struct vm_space *vmm_kernel_space(void)
{
    return &kernel_as;
}

void vmm_activate(const struct vm_space *as)
{
    KASSERT(as->pml4 != 0, "vmm_activate of an address space without a PML4");
#ifdef MICA_HOST
    host_cr3 = as->pml4;
#else
    /* Reloading the same CR3 would only flush the TLB for nothing. */
    if (!is_current(as))
        write_cr3(as->pml4);
#endif
}

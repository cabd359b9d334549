/* Page tables: 4-level x86-64 paging (PML4 -> PDPT -> PD -> PT) for any
 * address space, current or not. Page-table pages come from the page-frame
 * allocator and are reached through the direct map; user-half tables are
 * freed when they become empty, kernel-half tables never (see vmm.c). The kernel half (PML4 slots 256..511) is shared by every
 * address space; the user half (0..255) is private.
 *
 * Errors: -MICA_EINVAL (misaligned or non-canonical address, bad flags),
 * -MICA_EEXIST (already mapped), -MICA_ENOENT (not mapped), -MICA_ENOMEM. */
#pragma once

#include "lib/types.h"
#include "mm/prot.h"

#define USER_SPACE_END 0x0000800000000000ULL /* first address above user half */

/* An address space: the physical address of its PML4, and a count of the
 * changes made to its mappings (map, unmap, protect, remap, mark), which a
 * long operation compares across a preemption point to learn whether
 * anyone else changed the space meanwhile. */
struct vm_space {
    paddr_t pml4;
    uint64_t changes;
};

/* Create an address space whose kernel half is the kernel's. Returns 0 or
 * -MICA_ENOMEM. */
int vmm_space_create(struct vm_space *as);

/* Free every page-table page of the user half and the PML4 itself. Mapped
 * frames are not freed (their owner does that). `as` must not be current. */
void vmm_space_destroy(struct vm_space *as);

/* Map the 4 KiB page at `va` to the frame at `pa` with `prot`. */
int vmm_map(struct vm_space *as, vaddr_t va, paddr_t pa, unsigned prot);

/* Map the n 4 KiB pages from `va` to the frames pa[0..n) with `prot`, in
 * order; the pages must lie in one page table (va + n pages does not cross
 * a 2 MiB boundary), which is walked to once. Sets *done to the pages
 * mapped; returns 0 (*done == n), or the error vmm_map gives for page
 * *done (-MICA_EEXIST, -MICA_ENOMEM, -MICA_EINVAL), the pages before it
 * staying mapped. */
int vmm_map_run(struct vm_space *as, vaddr_t va, const paddr_t *pa, unsigned n, unsigned prot,
                unsigned *done);

/* Map a 2 MiB page (va and pa 2 MiB aligned). */
int vmm_map_2m(struct vm_space *as, vaddr_t va, paddr_t pa, unsigned prot);

/* Remove the 4 KiB mapping at `va`; stores the frame it mapped in *old_pa
 * (if not NULL), invalidates the TLB entry when `as` is current, and frees
 * page-table pages that became empty. The frame itself is not freed. */
int vmm_unmap(struct vm_space *as, vaddr_t va, paddr_t *old_pa);

/* Change the protection of the 4 KiB mapping at `va`. */
int vmm_protect(struct vm_space *as, vaddr_t va, unsigned prot);

/* Copy-on-write marks: a software bit in a 4 KiB user leaf, kept apart
 * from the VM_* protections (vmm_map and vmm_protect never set it, and
 * vmm_protect clears it). A marked page is never writable. */

/* Make the mapped 4 KiB page at `va` read-only and mark it copy-on-write;
 * invalidates the TLB entry like vmm_protect. -MICA_ENOENT, -MICA_EINVAL. */
int vmm_mark_cow(struct vm_space *as, vaddr_t va);

/* True when a 4 KiB page is mapped at `va` and carries the mark. */
bool vmm_is_cow(const struct vm_space *as, vaddr_t va);

/* A present 4 KiB user leaf found by vmm_cow_frame, for vmm_leaf_remap: valid
 * while `as` does not change (vm_space.changes, checked). */
struct vmm_leaf {
    uint64_t *slot;
    uint64_t changes;
};

/* vmm_is_cow that also gives the marked page's frame in *pa and its leaf
 * in *leaf (one walk for the look-up and the remap that resolves it): true
 * when the 4 KiB page at va is present with the COW mark. */
bool vmm_cow_frame(const struct vm_space *as, vaddr_t va, paddr_t *pa, struct vmm_leaf *leaf);

/* vmm_remap through a leaf from vmm_cow_frame, with no change to `as` in
 * between (asserted, as are a user `prot` and a page-aligned frame `pa`):
 * points va at pa with prot, the mark cleared, invalidates the TLB entry
 * if `as` is current. Returns the frame mapped before. */
paddr_t vmm_leaf_remap(struct vm_space *as, vaddr_t va, struct vmm_leaf leaf, paddr_t pa,
                       unsigned prot);

/* Point the mapped 4 KiB page at `va` to frame `pa` with `prot` (the mark
 * cleared; pa may be the frame already mapped), storing the previous frame
 * in *old_pa; invalidates the TLB entry like vmm_protect. The frames'
 * references are the caller's business. -MICA_ENOENT, -MICA_EINVAL. */
int vmm_remap(struct vm_space *as, vaddr_t va, paddr_t pa, unsigned prot, paddr_t *old_pa);

/* Look up `va` (any page size): sets *pa to the physical address of va
 * itself (offset included) and *prot (either may be NULL). -MICA_ENOENT if
 * not mapped. */
int vmm_translate(const struct vm_space *as, vaddr_t va, paddr_t *pa, unsigned *prot);

/* Direct-map pointer to user address `va` of `as` (any page size) if its
 * page is present and user-accessible at every level, and writable at every
 * level when `write`; NULL otherwise. One walk and no decoding of the
 * protection: the IPC paths' lookup. The caller has checked that va lies in
 * the user half. */
void *vmm_user_ptr(const struct vm_space *as, vaddr_t va, bool write);

/* Call fn(va, pa, arg) for every page mapped in the user half of `as`, in
 * ascending va order (a 2 MiB leaf is reported as its 512 4 KiB pages). The
 * tables must not change during the walk: fn may release the frames but not
 * unmap them (task teardown frees the frames, then vmm_space_destroy frees
 * the tables). Returns the number of pages visited. */
int vmm_for_each_user_page(const struct vm_space *as,
                           void (*fn)(vaddr_t va, paddr_t pa, void *arg), void *arg);

/* Find the first page mapped in [*va, end) of the user half without
 * visiting the holes page by page: an absent PML4, PDPT or PD entry skips
 * its whole span (512 GiB, 1 GiB, 2 MiB). Each table entry looked at costs
 * one unit of *budget (a descent from the PML4 costs PT_LEVELS). Returns
 * true with *va at that page and *pa its frame (the 4 KiB piece of a large
 * leaf); false with *va = end when there is none, or with *va where to go
 * on when *budget ran out first (*budget is then 0). *va and end must be
 * page aligned and at most USER_SPACE_END. Lets long operations stop at a
 * preemption point and resume from *va. */
bool vmm_next_mapped(const struct vm_space *as, vaddr_t *va, vaddr_t end, paddr_t *pa,
                     unsigned *budget);

/* Empty the user half of `as`, which is not current (a task ending): for
 * each mapped 4 KiB page, fn(pa, arg) (its frame is the caller's business),
 * then the mapping goes, and every table with it. Costs *budget
 * `page_cost` units per 4 KiB page removed (what fn costs included), and
 * about one per table entry looked at. Returns true once the user half is
 * empty, false when *budget ran out first: the space is consistent, and
 * the next call carries on. No TLB invalidation: the space is not loaded
 * anywhere. */
bool vmm_clear_user(struct vm_space *as, void (*fn)(paddr_t pa, void *arg), void *arg,
                    unsigned page_cost, unsigned *budget);

/* Count of page-table pages held by `as` including its PML4 (for tests). */
uint64_t vmm_table_pages(const struct vm_space *as);

/* The kernel's address space (valid after vmm_init_kernel). */
struct vm_space *vmm_kernel_space(void);

/* Make `as` the current address space (load CR3). */
void vmm_activate(const struct vm_space *as);

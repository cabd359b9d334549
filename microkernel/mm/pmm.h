/* The page-frame allocator: 4 KiB frames over all usable RAM, a binary buddy
 * system for 2^k contiguous, naturally aligned blocks, a per-CPU cache of
 * single frames for the fast path, and a reference count on every frame.
 *
 * Metadata: one struct pmm_frame (16 bytes) per frame from 0 up to the
 * highest usable frame, and one byte per 4 MiB unit, in memory the caller
 * provides (see pmm_init). Records are written lazily: at boot only those
 * of units that are partly free; a wholly free unit gets its records when
 * it is first allocated from, a unit with no free frame never (pmm.c).
 * Errors are returned, never a panic, when memory runs out; misuse by kernel
 * code (freeing a free frame, an address out of range) panics, naming it. */
#pragma once

#include "lib/types.h"

#define PMM_MAX_ORDER 10 /* largest block: 2^10 frames = 4 MiB */

/* A physical range [base, end), byte addresses. */
struct pmm_range {
    paddr_t base;
    paddr_t end;
};

struct pmm_stats {
    uint64_t total; /* frames handed to the allocator at init */
    uint64_t free;  /* frames free now (buddy lists + per-CPU caches) */
    uint64_t used;  /* total - free */
};

/* Bytes of metadata needed to manage frames [0, max_pfn). */
size_t pmm_metadata_bytes(pfn_t max_pfn);

/* Initialise the allocator. `meta` (pmm_metadata_bytes(max_pfn) bytes, any
 * alignment >= 8, any contents) holds the per-frame records; every frame
 * starts reserved, then each frame wholly inside one of the `n` `free`
 * ranges becomes free. Costs O(units + frames of partly free units), not
 * O(frames).
 * The caller has already removed the kernel, boot data, the first 1 MiB and
 * `meta` itself from these ranges. Ranges beyond max_pfn are clipped; they
 * may be unsorted and adjacent but must not overlap (panics naming a frame
 * in two ranges). max_pfn is at most 2^32 - 1 (pfns are stored in 32 bits).
 * May be called again to start over (host tests do). */
void pmm_init(void *meta, pfn_t max_pfn, const struct pmm_range *free, size_t n);

/* Allocate one frame with reference count 1. Returns 0 and sets *pa, or
 * -MICA_ENOMEM when no frame is free. The contents are not zeroed.
 * Single frames come from a per-CPU LIFO stack: after pmm_free_frame(pa)
 * drops the last reference, the next pmm_alloc_frame on the same CPU
 * returns pa, unless frames were allocated or freed on that CPU in between. */
int pmm_alloc_frame(paddr_t *pa);

/* Allocate 2^order contiguous frames aligned to 2^order frames, each with
 * reference count 1. Returns 0 and sets *pa, -MICA_ENOMEM if no such block
 * is free, -MICA_EINVAL if order > PMM_MAX_ORDER. */
int pmm_alloc_pages(unsigned order, paddr_t *pa);

/* Drop one reference to the frame at `pa`; the frame is freed when its count
 * reaches 0. Panics on a frame that is free, reserved or out of range. */
void pmm_free_frame(paddr_t pa);

/* Free a block from pmm_alloc_pages(order) whose frames all have count 1.
 * Panics when `pa` is not such a block. The frames of a block with order > 0
 * may be shared with pmm_ref and released with pmm_free_frame, but only
 * pmm_free_pages may drop their last reference. */
void pmm_free_pages(paddr_t pa, unsigned order);

/* Take one more reference to an allocated frame (e.g. a copy-on-write share).
 * Returns the new count. Panics on a free or reserved frame. */
uint32_t pmm_ref(paddr_t pa);

/* Current reference count of the frame at `pa` (0 when free, reserved or
 * beyond the managed range). */
uint32_t pmm_refcount(paddr_t pa);

/* A 16-bit field in each allocated frame's record for the frame's owner
 * (page tables keep their count of present entries there). It is 0 when the
 * frame is allocated and the owner must set it back to 0 before freeing. */
uint16_t pmm_frame_aux(paddr_t pa);
void pmm_frame_set_aux(paddr_t pa, uint16_t v);

/* Fill *s with the current counters. */
void pmm_get_stats(struct pmm_stats *s);

/* Number of free blocks of 2^order frames on the buddy lists (frames held
 * in per-CPU caches are not counted); 0 when order > PMM_MAX_ORDER. */
uint64_t pmm_free_blocks(unsigned order);

/* Return every frame in this CPU's cache to the buddy lists (used by tests
 * and before measuring fragmentation). */
void pmm_drain_cpu_cache(void);

/* Run expensive consistency checks over all metadata (free counts, buddy
 * list membership, no overlaps); panics naming the first broken invariant. */
void pmm_check(void);

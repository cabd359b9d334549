/* The page-frame allocator: a binary buddy system over per-frame records
 * (mm/pmm_frame.h), with a per-CPU stack of single frames in front of it.
 *
 * Buddy lists: one intrusive doubly linked list of free block heads per
 * order, linked by pfn through the frame records, so a buddy is unlinked in
 * O(1) when it coalesces. A block of order k starts at a pfn aligned to 2^k;
 * its buddy is pfn ^ 2^k. Frees coalesce eagerly, so the lists always hold
 * the unique decomposition of the buddy-owned free frames into maximal
 * aligned blocks.
 *
 * Fast path: pmm_alloc_frame pops a pfn from this_cpu()->pmm and
 * pmm_free_frame pushes one; both test and set a frame's state with one
 * 64-bit access. Refills and drains move PMM_CPU_CACHE_BATCH frames at a
 * time in out-of-line cold functions. Frames in a cache count as free; the
 * global counter tracks only buddy-owned frames and is touched only by buddy
 * operations.
 *
 * Frame contents are never poisoned on free: a 4 KiB write per free would
 * dominate the fast path. Dangling references are caught by refcounts
 * (a second free panics) and, in host tests, by the ownership model. */
#include "mm/pmm.h"

#include <mica/errno.h>

#include "arch/x86_64/percpu.h"
#include "mm/pmm_cache.h"
#include "lib/assert.h"
#include "mm/pmm_frame.h"
#include "inject/inject.h"

#define BLOCK(order) ((uint32_t)1 << (order)) /* frames in a block of that order */

/* All global allocator state. There is one CPU so far and no lock. For SMP a
 * spinlock goes here and guards free_head, nr_blocks and buddy_free, i.e.
 * every buddy_* call (the cold paths below mark where it is taken). The
 * per-CPU caches need no lock: only their own CPU touches them, with
 * preemption and interrupts into the allocator excluded. */
struct pmm {
    struct pmm_frame *meta; /* one record per frame in [0, max_pfn) */
    uint8_t *units;         /* per unit of UNIT frames: UNIT_* (below) */
    pfn_t max_pfn;
    uint64_t total;                           /* frames given at init */
    uint64_t buddy_free;                      /* free frames on the lists */
    uint32_t free_head[PMM_MAX_ORDER + 1];    /* first pfn per order, or PMM_NONE */
    uint64_t nr_blocks[PMM_MAX_ORDER + 1];    /* list lengths */
};

static struct pmm pmm_state = {
    .free_head = {[0 ... PMM_MAX_ORDER] = PMM_NONE},
};

static inline struct pmm_frame *frame(uint64_t pfn)
{
    return &pmm_state.meta[pfn];
}

static inline unsigned long long pfn_to_pa(uint64_t pfn)
{
    return (unsigned long long)pfn << PAGE_SHIFT;
}

/* Lazy records. Writing 16 bytes of record for every frame at boot costs
 * about 14 instructions a frame, 33 million at 8 GiB. So memory is looked
 * at in units (UNIT frames, one block of the largest order, naturally
 * aligned), and pmm.units[u] says whether unit u's records are written:
 *   UNIT_WRITTEN     every record is current;
 *   UNIT_LAZY_FREE   the unit lies wholly inside one free range and is one
 *                    block on the order-PMM_MAX_ORDER list: only its head's
 *                    record is written;
 *   UNIT_LAZY_HOLE   no frame of the unit is in a free range (a hole in
 *                    the memory map): every frame is reserved, no record
 *                    written.
 * Unwritten records hold whatever the memory held, and nothing reads them.
 * A lazy free unit becomes written only when buddy_alloc takes its block
 * off the list (unit_materialize); coalescing never looks into another
 * unit (a block's buddy lies in the block's own unit, below the largest
 * order); the readers that take a frame number from outside (frees, refs,
 * refcounts, pmm_check) test the unit first. A hole unit stays as it is. */
#define UNIT BLOCK(PMM_MAX_ORDER)

enum { UNIT_WRITTEN, UNIT_LAZY_FREE, UNIT_LAZY_HOLE };

static inline uint8_t unit_state(uint64_t pfn)
{
    return pmm_state.units[pfn >> PMM_MAX_ORDER];
}

/* Units that start below max_pfn. */
static inline size_t unit_count(pfn_t max_pfn)
{
    return (size_t)(((uint64_t)max_pfn + UNIT - 1) / UNIT);
}

/* Write the records of the unit starting at pfn `unit` from pfn `from` to
 * its end (clipped at max_pfn) as `state`, with no list links, and mark it
 * written. */
static void unit_write(uint64_t unit, uint64_t from, uint64_t state)
{
    uint64_t end = MIN(unit + UNIT, (uint64_t)pmm_state.max_pfn);
    for (uint64_t p = from; p < end; p++) {
        struct pmm_frame *f = frame(p);
        f->next = f->prev = PMM_NONE;
        f->state = state;
    }
    pmm_state.units[unit >> PMM_MAX_ORDER] = UNIT_WRITTEN;
}

/* The lazy free unit headed by `head` was just taken off the order-
 * PMM_MAX_ORDER list (its head now state 0): write its other records as
 * the frames of a block in state 0. */
__attribute__((noinline, cold)) static void unit_materialize(uint32_t head)
{
    unit_write(head, head + 1, 0);
}

/* ------------------------------------------------------------ buddy lists */

/* Make `pfn` the head of a free block of `order` and put it on its list. */
static void list_push(unsigned order, uint32_t pfn)
{
    struct pmm_frame *f = frame(pfn);
    uint32_t head = pmm_state.free_head[order];

    f->next = head;
    f->prev = PMM_NONE;
    f->state = PMM_STATE(0, order, PMM_F_FREE);
    if (head != PMM_NONE)
        frame(head)->prev = pfn;
    pmm_state.free_head[order] = pfn;
    pmm_state.nr_blocks[order]++;
}

/* Unlink the free block head `pfn` from its list; it becomes state 0 (the
 * caller gives it its next state). */
static void list_remove(unsigned order, uint32_t pfn)
{
    struct pmm_frame *f = frame(pfn);

    if (f->prev != PMM_NONE)
        frame(f->prev)->next = f->next;
    else
        pmm_state.free_head[order] = f->next;
    if (f->next != PMM_NONE)
        frame(f->next)->prev = f->prev;
    f->next = f->prev = PMM_NONE;
    f->state = 0;
    pmm_state.nr_blocks[order]--;
}

/* Take a block of 2^order frames from the lists, splitting a larger one if
 * needed. Returns its first pfn (state 0, the rest of the block state 0
 * too), or PMM_NONE. Caller holds the lock. */
static uint32_t buddy_alloc(unsigned order)
{
    unsigned o = order;

    while (o <= PMM_MAX_ORDER && pmm_state.free_head[o] == PMM_NONE)
        o++;
    if (o > PMM_MAX_ORDER)
        return PMM_NONE;

    uint32_t pfn = pmm_state.free_head[o];
    list_remove(o, pfn);
    if (o == PMM_MAX_ORDER && unlikely(unit_state(pfn) == UNIT_LAZY_FREE))
        unit_materialize(pfn);
    /* Keep the lower half, return the upper halves to the lists. */
    while (o > order) {
        o--;
        list_push(o, pfn + BLOCK(o));
    }
    pmm_state.buddy_free -= BLOCK(order);
    return pfn;
}

/* Give the block [pfn, pfn + 2^order) to the lists, coalescing with its
 * buddy while the buddy is a free head of the same order. Every frame of
 * the block must be in state 0. Caller holds the lock. */
static void buddy_free(uint32_t pfn, unsigned order)
{
    pmm_state.buddy_free += BLOCK(order);
    while (order < PMM_MAX_ORDER) {
        uint32_t buddy = pfn ^ BLOCK(order);
        if (buddy >= pmm_state.max_pfn ||
            frame(buddy)->state != PMM_STATE(0, order, PMM_F_FREE))
            break;
        list_remove(order, buddy);
        pfn &= ~BLOCK(order);
        order++;
    }
    list_push(order, pfn);
}

/* --------------------------------------------------------------- init */

/* Free every whole frame of [base, end) below max_pfn, as the largest
 * naturally aligned blocks that fit: O(frames), not O(frames) list ops. */
static void add_range(paddr_t base, paddr_t end)
{
    KASSERT(base <= end, "pmm_init: range [0x%llx, 0x%llx) is inverted",
            (unsigned long long)base, (unsigned long long)end);
    uint64_t lo = (base >> PAGE_SHIFT) + ((base & PAGE_MASK) != 0);
    uint64_t hi = MIN(end >> PAGE_SHIFT, pmm_state.max_pfn);

    while (lo < hi) {
        unsigned order = PMM_MAX_ORDER;
        if (lo != 0)
            order = MIN((unsigned)__builtin_ctzll(lo), PMM_MAX_ORDER);
        while (BLOCK(order) > hi - lo)
            order--;
        if (order == PMM_MAX_ORDER && unit_state(lo) == UNIT_LAZY_FREE) {
            buddy_free((uint32_t)lo, order); /* writes the head only */
            lo += BLOCK(order);
            continue;
        }
        KASSERT(unit_state(lo) == UNIT_WRITTEN, "pmm_init: frame 0x%llx is in two free ranges",
                pfn_to_pa(lo));
        for (uint64_t p = lo; p < lo + BLOCK(order); p++) {
            KASSERT(frame(p)->state == PMM_STATE_RESERVED,
                    "pmm_init: frame 0x%llx is in two free ranges", pfn_to_pa(p));
            frame(p)->state = 0;
        }
        buddy_free((uint32_t)lo, order);
        lo += BLOCK(order);
    }
}

size_t pmm_metadata_bytes(pfn_t max_pfn)
{
    return (size_t)max_pfn * sizeof(struct pmm_frame) + unit_count(max_pfn);
}

/* Classify the units range [base, end) touches (below max_pfn): those
 * wholly inside become lazy free; the others are written, every frame
 * reserved, before add_range frees the range's part of them. A unit
 * claimed by two ranges is an overlap. */
static void classify_units(paddr_t base, paddr_t end)
{
    uint64_t lo = (base >> PAGE_SHIFT) + ((base & PAGE_MASK) != 0);
    uint64_t hi = MIN(end >> PAGE_SHIFT, pmm_state.max_pfn);
    for (uint64_t u = ALIGN_DOWN(lo, UNIT); u < hi; u += UNIT) {
        uint8_t st = unit_state(u);
        if (u >= lo && u + UNIT <= hi) {
            KASSERT(st == UNIT_LAZY_HOLE, "pmm_init: frame 0x%llx is in two free ranges",
                    pfn_to_pa(u));
            pmm_state.units[u >> PMM_MAX_ORDER] = UNIT_LAZY_FREE;
        } else {
            KASSERT(st != UNIT_LAZY_FREE, "pmm_init: frame 0x%llx is in two free ranges",
                    pfn_to_pa(MAX(u, lo)));
            if (st == UNIT_LAZY_HOLE)
                unit_write(u, u, PMM_STATE_RESERVED);
        }
    }
}

void pmm_init(void *meta, pfn_t max_pfn, const struct pmm_range *free, size_t n)
{
    KASSERT(meta != NULL && IS_ALIGNED((uintptr_t)meta, 8),
            "pmm_init: metadata at %p must be 8-byte aligned", meta);
    KASSERT(max_pfn <= PMM_MAX_PFN, "pmm_init: max_pfn 0x%llx needs more than 32-bit pfns",
            (unsigned long long)max_pfn);

    pmm_state.meta = meta;
    pmm_state.max_pfn = max_pfn;
    pmm_state.buddy_free = 0;
    for (unsigned o = 0; o <= PMM_MAX_ORDER; o++) {
        pmm_state.free_head[o] = PMM_NONE;
        pmm_state.nr_blocks[o] = 0;
    }
    pmm_state.units = (uint8_t *)meta + (size_t)max_pfn * sizeof(struct pmm_frame);
    for (size_t u = 0; u < unit_count(max_pfn); u++)
        pmm_state.units[u] = UNIT_LAZY_HOLE;
    for (size_t i = 0; i < n; i++)
        if (free[i].base <= free[i].end) /* add_range reports an inverted one */
            classify_units(free[i].base, free[i].end);
    this_cpu()->pmm.count = 0;

    for (size_t i = 0; i < n; i++)
        add_range(free[i].base, free[i].end);
    pmm_state.total = pmm_state.buddy_free;
}

/* ---------------------------------------------------- per-CPU cache paths */

/* Move the `k` oldest (bottom) frames of cache `c` to the buddy lists, so
 * the most recently freed, cache-hot frames stay. Returns the new count. */
__attribute__((noinline, cold)) static uint32_t cache_drain(struct frame_stack *c,
                                                            uint32_t k)
{
    uint32_t n = c->count;

    k = MIN(k, n);
    /* SMP: take the buddy lock here. */
    for (uint32_t i = 0; i < k; i++) {
        uint32_t pfn = c->pfns[i];
        struct pmm_frame *f = frame(pfn);
        KASSERT(f->state == PMM_STATE_IN_CACHE,
                "pmm: cached frame 0x%llx has state 0x%llx", pfn_to_pa(pfn),
                (unsigned long long)f->state);
        f->state = 0;
        buddy_free(pfn, 0);
    }
    for (uint32_t i = k; i < n; i++)
        c->pfns[i - k] = c->pfns[i];
    c->count = n - k;
    return n - k;
}

/* The full-cache free path: make room by draining a batch, then push `pfn`.
 * A separate function (rather than a call in the middle of pmm_free_frame)
 * keeps the fast path free of saved registers. */
__attribute__((noinline, cold)) static void cache_drain_push(struct frame_stack *c,
                                                             uint32_t pfn)
{
    uint32_t n = cache_drain(c, PMM_CPU_CACHE_BATCH);

    c->pfns[n] = pfn;
    c->count = n + 1;
    frame(pfn)->state = PMM_STATE_IN_CACHE;
}

/* The empty-cache allocation path: refill up to a batch from the buddy lists,
 * then pop one. The batch is stacked so that frames come out in the order
 * the buddy lists gave them (ascending within a split block). */
__attribute__((noinline, cold)) static int cache_refill_alloc(struct frame_stack *c,
                                                              paddr_t *pa)
{
    uint32_t got = 0;

    /* SMP: take the buddy lock here. Frame by frame, buddy_alloc(0) takes
     * the smallest free block and then every piece its split leaves, in
     * ascending order, before any other block: so a smallest block that
     * fits in the room left is taken whole, the same frames in the same
     * order without a split and a list push and pop per frame. */
    while (got < PMM_CPU_CACHE_BATCH) {
        unsigned o = 0;
        while (o <= PMM_MAX_ORDER && pmm_state.free_head[o] == PMM_NONE)
            o++;
        uint32_t pfn, n = 1;
        if (o <= PMM_MAX_ORDER && BLOCK(o) <= PMM_CPU_CACHE_BATCH - got) {
            pfn = pmm_state.free_head[o];
            list_remove(o, pfn);
            pmm_state.buddy_free -= BLOCK(o);
            n = BLOCK(o);
        } else if ((pfn = buddy_alloc(0)) == PMM_NONE) {
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            frame(pfn + i)->state = PMM_STATE_IN_CACHE;
            c->pfns[got++] = pfn + i;
        }
    }
    if (got == 0)
        return -MICA_ENOMEM;
    for (uint32_t i = 0; i < got / 2; i++) {
        uint32_t t = c->pfns[i];
        c->pfns[i] = c->pfns[got - 1 - i];
        c->pfns[got - 1 - i] = t;
    }

    uint32_t pfn = c->pfns[got - 1];
    c->count = got - 1;
    frame(pfn)->state = PMM_STATE_SINGLE;
    *pa = pfn_to_pa(pfn);
    return 0;
}

__attribute__((noinline, cold)) static void cache_corrupt(uint32_t pfn)
{
    panic("pmm: frame 0x%llx on the per-CPU cache has state 0x%llx, not in-cache",
          pfn_to_pa(pfn), (unsigned long long)frame(pfn)->state);
}

/* The pmm_alloc point (inject.h), out of the fast path: refuse this frame,
 * or carry on as the fast path would. */
__attribute__((noinline, cold)) static int alloc_frame_injected(struct frame_stack *c,
                                                                paddr_t *pa)
{
    if (INJECT(INJECT_PMM_ALLOC, NULL)) {
        inject_report(INJECT_PMM_ALLOC, "frame refused (-ENOMEM)");
        return -MICA_ENOMEM;
    }
    if (c->count == 0)
        return cache_refill_alloc(c, pa);
    uint32_t pfn = c->pfns[--c->count];
    if (frame(pfn)->state != PMM_STATE_IN_CACHE)
        cache_corrupt(pfn);
    frame(pfn)->state = PMM_STATE_SINGLE;
    *pa = (paddr_t)pfn << PAGE_SHIFT;
    return 0;
}

int pmm_alloc_frame(paddr_t *pa)
{
    struct frame_stack *c = &this_cpu()->pmm;
    uint32_t n = c->count;

    if (unlikely(n == 0))
        return cache_refill_alloc(c, pa);
    if (INJECT_ANY(INJECT_BIT(INJECT_PMM_ALLOC)))
        return alloc_frame_injected(c, pa);
    uint32_t pfn = c->pfns[n - 1];
    struct pmm_frame *f = frame(pfn);
    if (unlikely(f->state != PMM_STATE_IN_CACHE))
        cache_corrupt(pfn);
    c->count = n - 1;
    f->state = PMM_STATE_SINGLE;
    *pa = (paddr_t)pfn << PAGE_SHIFT;
    return 0;
}

/* ------------------------------------------------- misuse and slow frees */

/* Panic unless `pa` is a page-aligned address of a managed frame. */
static struct pmm_frame *checked_frame(paddr_t pa, const char *op)
{
    if (pa & PAGE_MASK)
        panic("pmm: %s of misaligned address 0x%llx", op, (unsigned long long)pa);
    if ((pa >> PAGE_SHIFT) >= pmm_state.max_pfn)
        panic("pmm: %s of frame 0x%llx beyond the managed range (max_pfn 0x%llx)", op,
              (unsigned long long)pa, (unsigned long long)pmm_state.max_pfn);
    uint8_t st = unit_state(pa >> PAGE_SHIFT);
    if (st == UNIT_LAZY_FREE) /* the messages of unowned_frame */
        panic(op[0] == 'f' ? "pmm: double free of frame 0x%llx" : "pmm: ref of free frame 0x%llx",
              (unsigned long long)pa);
    if (st == UNIT_LAZY_HOLE)
        panic("pmm: %s of reserved frame 0x%llx", op, (unsigned long long)pa);
    return frame(pa >> PAGE_SHIFT);
}

/* Panic for a free (or a ref, when !freeing) of a frame that holds no
 * reference: it is reserved or already free. */
static __noreturn void unowned_frame(const struct pmm_frame *f, paddr_t pa, bool freeing)
{
    if (f->flags & PMM_F_RESERVED)
        panic("pmm: %s of reserved frame 0x%llx", freeing ? "free" : "ref",
              (unsigned long long)pa);
    if (freeing)
        panic("pmm: double free of frame 0x%llx", (unsigned long long)pa);
    panic("pmm: ref of free frame 0x%llx", (unsigned long long)pa);
}

/* Everything pmm_free_frame's fast path does not handle: bad addresses,
 * shared frames, frames of multi-frame blocks, and misuse. */
__attribute__((noinline, cold)) static void free_frame_slow(paddr_t pa)
{
    struct pmm_frame *f = checked_frame(pa, "free");

    if (f->refcount == 0)
        unowned_frame(f, pa, true);
    if (f->refcount > 1) {
        f->refcount--;
        return;
    }
    if (f->flags & (PMM_F_HEAD | PMM_F_TAIL))
        panic("pmm: frame 0x%llx is part of an order-%u block; release it with pmm_free_pages",
              (unsigned long long)pa, f->order);
    panic("pmm: frame 0x%llx has corrupt state 0x%llx", (unsigned long long)pa,
          (unsigned long long)f->state);
}

void pmm_free_frame(paddr_t pa)
{
    pfn_t pfn = pa >> PAGE_SHIFT;

    if (unlikely((pa & PAGE_MASK) || pfn >= pmm_state.max_pfn)) {
        free_frame_slow(pa);
        return;
    }
    struct pmm_frame *f = frame(pfn);
    if (unlikely(f->state != PMM_STATE_SINGLE || unit_state(pfn) != UNIT_WRITTEN)) {
        /* One of several references to a frame (a copy-on-write share
         * dropped): the count goes down, as in free_frame_slow. A lazy
         * record may hold anything, even SINGLE: that is the slow path's. */
        if (f->refcount > 1 && unit_state(pfn) == UNIT_WRITTEN) {
            f->refcount--;
            return;
        }
        free_frame_slow(pa);
        return;
    }
    struct frame_stack *c = &this_cpu()->pmm;
    uint32_t n = c->count;
    if (unlikely(n == PMM_CPU_CACHE_MAX)) {
        cache_drain_push(c, (uint32_t)pfn);
        return;
    }
    c->pfns[n] = (uint32_t)pfn;
    c->count = n + 1;
    f->state = PMM_STATE_IN_CACHE;
}

/* -------------------------------------------------------- multi-frame */

int pmm_alloc_pages(unsigned order, paddr_t *pa)
{
    if (order > PMM_MAX_ORDER)
        return -MICA_EINVAL;
    if (order == 0)
        return pmm_alloc_frame(pa);
    if (INJECT(INJECT_PMM_ALLOC, NULL)) {
        inject_report(INJECT_PMM_ALLOC, "%u-frame block refused (-ENOMEM)", 1u << order);
        return -MICA_ENOMEM;
    }

    /* SMP: take the buddy lock here. */
    uint32_t pfn = buddy_alloc(order);
    if (pfn == PMM_NONE && this_cpu()->pmm.count != 0) {
        /* Cached single frames may be what keeps a block from coalescing. */
        cache_drain(&this_cpu()->pmm, PMM_CPU_CACHE_MAX);
        pfn = buddy_alloc(order);
    }
    if (pfn == PMM_NONE)
        return -MICA_ENOMEM;

    frame(pfn)->state = PMM_STATE(1, order, PMM_F_HEAD);
    for (uint32_t p = pfn + 1; p < pfn + BLOCK(order); p++)
        frame(p)->state = PMM_STATE(1, order, PMM_F_TAIL);
    *pa = pfn_to_pa(pfn);
    return 0;
}

void pmm_free_pages(paddr_t pa, unsigned order)
{
    KASSERT(order <= PMM_MAX_ORDER, "pmm: free_pages(0x%llx) of order %u > %u",
            (unsigned long long)pa, order, PMM_MAX_ORDER);
    struct pmm_frame *f = checked_frame(pa, "free_pages");
    uint64_t pfn = pa >> PAGE_SHIFT;

    if (f->refcount == 0)
        unowned_frame(f, pa, true);
    if (f->state != PMM_STATE(1, order, order ? PMM_F_HEAD : 0))
        panic("pmm: free_pages(0x%llx, %u): not an order-%u block with refcount 1 "
              "(refcount %u, order %u, flags 0x%x)",
              (unsigned long long)pa, order, order, f->refcount, f->order, f->flags);
    if (order == 0) {
        pmm_free_frame(pa);
        return;
    }
    for (uint64_t p = pfn + 1; p < pfn + BLOCK(order); p++)
        if (frame(p)->state != PMM_STATE(1, order, PMM_F_TAIL))
            panic("pmm: free_pages(0x%llx, %u): frame 0x%llx has refcount %u, "
                  "order %u, flags 0x%x",
                  (unsigned long long)pa, order, pfn_to_pa(p), frame(p)->refcount,
                  frame(p)->order, frame(p)->flags);

    for (uint64_t p = pfn; p < pfn + BLOCK(order); p++)
        frame(p)->state = 0;
    /* SMP: take the buddy lock here. */
    buddy_free((uint32_t)pfn, order);
}

/* ------------------------------------------------------------ queries */

uint32_t pmm_ref(paddr_t pa)
{
    struct pmm_frame *f = checked_frame(pa, "ref");

    if (f->refcount == 0)
        unowned_frame(f, pa, false);
    KASSERT(f->refcount != UINT32_MAX, "pmm: refcount overflow on frame 0x%llx",
            (unsigned long long)pa);
    return ++f->refcount;
}

uint32_t pmm_refcount(paddr_t pa)
{
    if ((pa >> PAGE_SHIFT) >= pmm_state.max_pfn || unit_state(pa >> PAGE_SHIFT) != UNIT_WRITTEN)
        return 0;
    return frame(pa >> PAGE_SHIFT)->refcount;
}

void pmm_get_stats(struct pmm_stats *s)
{
    /* SMP: sum every CPU's cache count here. */
    s->total = pmm_state.total;
    s->free = pmm_state.buddy_free + this_cpu()->pmm.count;
    s->used = s->total - s->free;
}

uint16_t pmm_frame_aux(paddr_t pa)
{
    return frame(pa >> PAGE_SHIFT)->aux;
}

void pmm_frame_set_aux(paddr_t pa, uint16_t v)
{
    frame(pa >> PAGE_SHIFT)->aux = v;
}

uint64_t pmm_free_blocks(unsigned order)
{
    return order <= PMM_MAX_ORDER ? pmm_state.nr_blocks[order] : 0;
}

void pmm_drain_cpu_cache(void)
{
    struct frame_stack *c = &this_cpu()->pmm;
    cache_drain(c, c->count);
}

/* ---------------------------------------------------------- consistency */

/* Walk the order-`o` list: links consistent, each entry a correctly aligned
 * free head whose buddy is not also a free head of that order. Marks every
 * head so that a frame reached twice (or a loop) is caught. Returns the
 * number of blocks. */
static uint64_t check_list(unsigned o)
{
    uint32_t prev = PMM_NONE;
    uint64_t n = 0;

    for (uint32_t pfn = pmm_state.free_head[o]; pfn != PMM_NONE; pfn = frame(pfn)->next) {
        KASSERT(pfn < pmm_state.max_pfn, "pmm_check: order-%u list links to pfn 0x%x "
                "beyond max_pfn", o, pfn);
        struct pmm_frame *f = frame(pfn);
        KASSERT(!(f->flags & PMM_F_MARK), "pmm_check: frame 0x%llx reached twice on the "
                "free lists (order %u)", pfn_to_pa(pfn), o);
        KASSERT(f->prev == prev, "pmm_check: frame 0x%llx on the order-%u list has prev "
                "0x%x, expected 0x%x", pfn_to_pa(pfn), o, f->prev, prev);
        KASSERT(f->state == PMM_STATE(0, o, PMM_F_FREE), "pmm_check: frame 0x%llx on the "
                "order-%u list has state 0x%llx", pfn_to_pa(pfn), o,
                (unsigned long long)f->state);
        KASSERT(IS_ALIGNED(pfn, BLOCK(o)), "pmm_check: free block 0x%llx misaligned for "
                "order %u", pfn_to_pa(pfn), o);
        KASSERT(pfn + (uint64_t)BLOCK(o) <= pmm_state.max_pfn, "pmm_check: free block "
                "0x%llx of order %u runs past max_pfn", pfn_to_pa(pfn), o);
        uint32_t buddy = pfn ^ BLOCK(o);
        KASSERT(o == PMM_MAX_ORDER || buddy >= pmm_state.max_pfn ||
                    (frame(buddy)->state & ~PMM_STATE_MARK) != PMM_STATE(0, o, PMM_F_FREE),
                "pmm_check: buddies 0x%llx and 0x%llx of order %u are both free",
                pfn_to_pa(pfn), pfn_to_pa(buddy), o);
        f->flags |= PMM_F_MARK;
        prev = pfn;
        n++;
    }
    return n;
}

/* Check this CPU's cache entries and mark them. */
static void check_cache(const struct frame_stack *c)
{
    KASSERT(c->count <= PMM_CPU_CACHE_MAX, "pmm_check: cache holds %u > %u frames",
            c->count, PMM_CPU_CACHE_MAX);
    for (uint32_t i = 0; i < c->count; i++) {
        uint32_t pfn = c->pfns[i];
        KASSERT(pfn < pmm_state.max_pfn, "pmm_check: cache entry %u is pfn 0x%x beyond "
                "max_pfn", i, pfn);
        struct pmm_frame *f = frame(pfn);
        KASSERT(!(f->flags & PMM_F_MARK), "pmm_check: cached frame 0x%llx is also cached "
                "or listed elsewhere", pfn_to_pa(pfn));
        KASSERT(f->state == PMM_STATE_IN_CACHE, "pmm_check: cached frame 0x%llx has state "
                "0x%llx", pfn_to_pa(pfn), (unsigned long long)f->state);
        f->flags |= PMM_F_MARK;
    }
}

/* Scan every record in pfn order, checking its state against the lists and
 * cache (marked by the walks above, marks cleared here) and the block it
 * lies in. Returns the number of allocated frames; *free_out gets the free
 * frames seen (listed blocks plus cached frames). */
static uint64_t check_records(uint64_t *free_out)
{
    uint64_t in_free = 0, in_alloc = 0; /* frames left of the current block */
    uint64_t allocated = 0, free = 0;
    unsigned alloc_order = 0;

    for (uint64_t pfn = 0; pfn < pmm_state.max_pfn; pfn++) {
        struct pmm_frame *f = frame(pfn);
        unsigned long long pa = pfn_to_pa(pfn);
        uint8_t unit = unit_state(pfn);

        if (unit == UNIT_LAZY_HOLE) { /* reserved, no record written */
            KASSERT(!in_free && !in_alloc && IS_ALIGNED(pfn, UNIT),
                    "pmm_check: a block runs into the hole unit at 0x%llx", pa);
            pfn += UNIT - 1;
            continue;
        }
        bool marked = f->flags & PMM_F_MARK;
        f->flags &= ~PMM_F_MARK;
        uint64_t s = f->state & ~PMM_STATE_AUX_MASK; /* aux belongs to the owner */
        if (unit == UNIT_LAZY_FREE) {
            /* Only its head's record is written: the whole unit is free. */
            KASSERT(!in_free && !in_alloc && marked && IS_ALIGNED(pfn, UNIT) &&
                        s == PMM_STATE(0, PMM_MAX_ORDER, PMM_F_FREE) &&
                        pfn + UNIT <= pmm_state.max_pfn,
                    "pmm_check: untouched unit at 0x%llx is not a listed free block of "
                    "order %u (state 0x%llx)", pa, PMM_MAX_ORDER, (unsigned long long)s);
            free += UNIT;
            pfn += UNIT - 1;
            continue;
        }

        KASSERT((f->flags & PMM_F_FREE) || (f->next == PMM_NONE && f->prev == PMM_NONE),
                "pmm_check: frame 0x%llx is not a free head but has list links", pa);
        if (in_free) {
            KASSERT(s == 0 && !marked, "pmm_check: frame 0x%llx inside a free block has "
                    "state 0x%llx%s", pa, (unsigned long long)s, marked ? " and is listed" : "");
            in_free--;
            free++;
        } else if (in_alloc) {
            KASSERT(s == (s & 0xffffffffu) + PMM_STATE(0, alloc_order, PMM_F_TAIL) &&
                        f->refcount != 0,
                    "pmm_check: frame 0x%llx in an order-%u block has state 0x%llx", pa,
                    alloc_order, (unsigned long long)s);
            in_alloc--;
            allocated++;
        } else if (f->flags & PMM_F_FREE) {
            KASSERT(marked, "pmm_check: free head 0x%llx of order %u is on no list", pa,
                    f->order);
            in_free = BLOCK(f->order) - 1;
            free++;
        } else if (f->flags & PMM_F_IN_CACHE) {
            KASSERT(marked, "pmm_check: frame 0x%llx is marked cached but is in no cache", pa);
            free++;
        } else if (f->flags & PMM_F_HEAD) {
            alloc_order = f->order;
            KASSERT(s == f->refcount + PMM_STATE(0, alloc_order, PMM_F_HEAD) &&
                        f->refcount != 0 && alloc_order != 0 &&
                        alloc_order <= PMM_MAX_ORDER && IS_ALIGNED(pfn, BLOCK(alloc_order)) &&
                        pfn + BLOCK(alloc_order) <= pmm_state.max_pfn,
                    "pmm_check: block head 0x%llx has state 0x%llx", pa,
                    (unsigned long long)s);
            in_alloc = BLOCK(alloc_order) - 1;
            allocated++;
        } else if (s != PMM_STATE_RESERVED) {
            KASSERT(s == f->refcount && f->refcount != 0, "pmm_check: frame 0x%llx has state "
                    "0x%llx (free in no block, a stray tail, or corrupt)", pa,
                    (unsigned long long)s);
            allocated++;
        }
    }
    *free_out = free;
    return allocated;
}

void pmm_check(void)
{
    const struct frame_stack *c = &this_cpu()->pmm;
    uint64_t listed = 0, free;

    for (unsigned o = 0; o <= PMM_MAX_ORDER; o++) {
        uint64_t blocks = check_list(o);
        KASSERT(blocks == pmm_state.nr_blocks[o], "pmm_check: order-%u list has %llu blocks, "
                "counter says %llu", o, (unsigned long long)blocks,
                (unsigned long long)pmm_state.nr_blocks[o]);
        listed += blocks << o;
    }
    KASSERT(listed == pmm_state.buddy_free, "pmm_check: lists hold %llu frames, buddy free "
            "counter says %llu", (unsigned long long)listed,
            (unsigned long long)pmm_state.buddy_free);
    check_cache(c);
    uint64_t allocated = check_records(&free);
    KASSERT(free == listed + c->count, "pmm_check: %llu free frames in the records, lists and "
            "cache hold %llu", (unsigned long long)free,
            (unsigned long long)(listed + c->count));
    KASSERT(free + allocated == pmm_state.total, "pmm_check: %llu free + %llu allocated "
            "frames != %llu total", (unsigned long long)free, (unsigned long long)allocated,
            (unsigned long long)pmm_state.total);
}

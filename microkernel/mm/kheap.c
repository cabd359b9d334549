/* The kernel heap (kmalloc): boundary-tag blocks in arenas of frames, eight
 * segregated free lists, and exact-size quick lists for small blocks.
 *
 * Blocks. Every block starts with a 16-byte header: the block size (a
 * multiple of 16, header included) with four flag bits (IN_USE, PREV_IN_USE,
 * QUICK, FENCE), and a canary, KHEAP_MAGIC ^ address ^ size. A header whose
 * canary does not match is corrupt. The payload follows the header, so it is
 * 16-byte aligned. A free block also holds its list links after the header
 * and its size in its last 8 bytes (the footer), so that the block after it
 * can find it when coalescing; PREV_IN_USE says whether that footer exists.
 * The smallest block is 48 bytes (32 usable).
 *
 * Size classes. Requests of 1..2048 bytes are rounded up to a power of two
 * of at least 32 (classes 32, 64, ..., 2048); larger ones to a multiple of
 * 16. Free list k (k < 7) holds free blocks of 32<<k .. (64<<k)-1 usable
 * bytes and list 7 those of 4 KiB or more, so every block on the list of a
 * small class fits a request of that class and the head is taken; larger
 * requests use first fit. Leftovers of at least 48 bytes are split off;
 * freed blocks are merged with free neighbours at once.
 *
 * Quick lists (deferred coalescing, like dlmalloc's fastbins). A freed block
 * whose size is exactly that of a small class is not merged: it keeps its
 * IN_USE bit, gains QUICK, and is pushed on its class's quick list, from
 * which kmalloc of that class pops it again. This makes kmalloc+kfree of a
 * small size a few dozen instructions. QUICK still marks the block free for
 * double-free detection. Quick lists are flushed into the coalescing lists
 * (each block freed properly) when an allocation finds no fitting free
 * block, before a new arena is taken, and when one list would hold more
 * than QUICK_CLASS_LIMIT bytes, so cached blocks cannot pin much memory.
 *
 * Quick slots. The lists live in heap.quick, one 32-byte slot per block
 * size in 16-byte steps up to the largest class, so both ends find a slot
 * from a block size without computing a class: the slot of a block of s
 * bytes is at byte offset 2*s. Only the seven class sizes are used. Each
 * slot holds the expected canary and header of its cached blocks, so the
 * checks are a load and an xor each; the slot of a size that is no class
 * expects a canary no block of that size has (bit 0 flipped), so kfree's
 * canary test also sends every block that cannot be cached to the slow
 * path. A slot's counter word holds, in its low 16 bits, how many more
 * blocks the list may take (kfree decrements it and flushes below zero)
 * and above them how many blocks kmalloc took off the list: one add in
 * kmalloc, one decrement in kfree, and allocs and frees derived from them
 * (a block pushed was taken again, is still listed, or was flushed).
 *
 * Arenas. The heap grows by 2^order frames from pmm_alloc_pages (64 KiB
 * normally, falling back to smaller blocks when memory is fragmented, up
 * to PMM_MAX_ORDER for large requests), reached through the direct map. An arena
 * begins with a 16-byte in-use fence block and ends with a 48-byte in-use
 * fence block whose payload is the arena descriptor, so coalescing never
 * leaves the arena. An arena that becomes wholly free is cached if no other
 * free arena is (the larger of two is kept), else returned to the PMM; so
 * an alloc/free loop of a large block does not hit the PMM every time.
 *
 * Counters. Only allocs, frees, failures and the free-list byte counts are
 * kept; bytes_in_use (usable payload bytes of allocated blocks) is derived:
 * every arena byte is fence, free block, or an in-use block of header plus
 * payload, and allocs - frees is the number of in-use blocks. bytes_free
 * counts whole blocks on the free lists and the quick lists. kmalloc(0) is
 * not counted as a failure. kheap_check verifies all of it.
 *
 * SMP: all state is in `heap`; one spinlock around every entry point will
 * protect it (or per-CPU quick lists in front of a locked core). */
#include "mm/kheap.h"

#include "lib/assert.h"
#include "lib/string.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "inject/inject.h"

#define HDR_SIZE       16u
#define MIN_BLOCK      48u          /* header + links + footer */
#define SMALL_MAX      2048u        /* largest request of a small class */
#define NQUICK         7u           /* small classes 32..2048 */
#define NLISTS         8u
#define MAX_REQUEST    (1ULL << 30) /* larger requests are refused */
#define QUICK_CLASS_LIMIT (16 * KiB) /* bytes held on one quick list at most */
#define QUICK_MAX_BLOCK 2064u       /* block size of the largest small class */
#define QUICK_SLOTS    (QUICK_MAX_BLOCK / 16 + 1)
#define ARENA_MIN_ORDER 4u          /* 64 KiB */
#define START_FENCE    16u
#define END_FENCE      48u          /* header + struct kheap_arena */
#define ARENA_OVERHEAD (START_FENCE + END_FENCE)

#define F_IN_USE      0x1ULL
#define F_PREV_IN_USE 0x2ULL
#define F_QUICK       0x4ULL
#define F_FENCE       0x8ULL
#define F_MASK        0xfULL

#define KHEAP_MAGIC 0x4b48454150c0ffeeULL
#define ARENA_MAGIC 0x4152454eu

struct kblock {
    uint64_t size_flags;
    uint64_t canary;
    struct kblock *next; /* free or quick blocks only (payload otherwise) */
    struct kblock *prev; /* free blocks only */
};

struct kheap_arena {
    uint32_t magic;
    uint32_t order;
    uint64_t bytes;
    struct kheap_arena *next, *prev;
};
STATIC_ASSERT(sizeof(struct kheap_arena) == END_FENCE - HDR_SIZE, "arena descriptor fills the end fence");

/* The counter word of a quick slot: room in the low 16 bits (signed: -1
 * for the instant between the push that overflows and the flush), blocks
 * taken above them. */
union quick_count {
    uint64_t word;
    int16_t room;
};
#define QUICK_TAKEN (1ULL << 16) /* one more block taken off the list */
#define QUICK_POP   (QUICK_TAKEN + 1) /* ... and one more of room */

struct quick_slot {
    struct kblock *head;
    union quick_count count;
    uint64_t tag; /* KHEAP_MAGIC ^ size (^ 1 for a size that is no class) */
    uint64_t sf;  /* size | IN_USE | QUICK: a cached block's header, PREV_IN_USE aside */
};
STATIC_ASSERT(sizeof(struct quick_slot) == 32, "quick slot of a block of s bytes at offset 2*s");

static struct {
    struct quick_slot quick[QUICK_SLOTS];
    uint64_t allocs, frees, failures; /* quick-list pops and pushes are in the slots */
    struct kblock *lists[NLISTS];
    uint32_t nonempty;            /* bit k: lists[k] != NULL */
    uint64_t list_bytes;          /* block bytes on the free lists */
    uint64_t arena_bytes;
    uint64_t narenas;
    struct kheap_arena *arenas;
    struct kheap_arena *empty_arena; /* the one wholly free arena kept */
} heap;

/* Block size of each small class, indexed by quick list. */
static const uint64_t quick_size[NQUICK] = {48, 80, 144, 272, 528, 1040, 2064};

/* Offset in heap.quick of the slot for a request of 16i+1..16i+16 bytes
 * (twice its class's block size). */
static const uint16_t quick_offset_of[SMALL_MAX / 16] = {
    [0 ... 1] = 2 * 48,     [2 ... 3] = 2 * 80,     [4 ... 7] = 2 * 144,
    [8 ... 15] = 2 * 272,   [16 ... 31] = 2 * 528,  [32 ... 63] = 2 * 1040,
    [64 ... 127] = 2 * 2064,
};

static inline struct quick_slot *quick_at(uint64_t offset)
{
    return (struct quick_slot *)((char *)heap.quick + offset);
}

/* The quick slot of blocks of `bsize` bytes (bsize <= QUICK_MAX_BLOCK). */
static inline struct quick_slot *quick_slot(uint64_t bsize)
{
    return quick_at(2 * bsize);
}

/* One block more on q's list: true when it has no room left for it. One
 * decrement of memory whose sign is tested (compilers load, subtract,
 * store and test a 16-bit field otherwise). */
static inline bool quick_room_taken(struct quick_slot *q)
{
    bool below_zero;
    __asm__("subw $1, %0" : "+m"(q->count.room), "=@ccs"(below_zero));
    return below_zero;
}

/* Most blocks quick list k may hold. */
static inline int16_t quick_limit(unsigned k)
{
    return (int16_t)(QUICK_CLASS_LIMIT / quick_size[k]);
}

/* Blocks on quick list k now. */
static inline uint64_t quick_listed(unsigned k)
{
    return (uint64_t)(quick_limit(k) - quick_slot(quick_size[k])->count.room);
}

/* Blocks ever taken off quick list k by kmalloc. */
static inline uint64_t quick_taken(unsigned k)
{
    return quick_slot(quick_size[k])->count.word >> 16;
}

/* Bytes of the blocks on all quick lists. */
static uint64_t quick_bytes(void)
{
    uint64_t bytes = 0;
    for (unsigned k = 0; k < NQUICK; k++)
        bytes += quick_listed(k) * quick_size[k];
    return bytes;
}

/* ------------------------------------------------------------ block tags -- */

static inline uint64_t tag_of(const struct kblock *b, uint64_t size)
{
    return KHEAP_MAGIC ^ (uintptr_t)b ^ size;
}

static inline uint64_t blk_size(const struct kblock *b)
{
    return b->size_flags & ~F_MASK;
}

static inline struct kblock *blk_at(const void *base, uint64_t off)
{
    return (struct kblock *)((uintptr_t)base + off);
}

static inline void *payload(struct kblock *b)
{
    return (char *)b + HDR_SIZE;
}

static inline bool tag_ok(const struct kblock *b)
{
    return b->canary == tag_of(b, blk_size(b));
}

static inline void blk_set(struct kblock *b, uint64_t size, uint64_t flags)
{
    b->size_flags = size | flags;
    b->canary = tag_of(b, size);
}

static inline uint64_t *footer_of(struct kblock *b, uint64_t size)
{
    return (uint64_t *)((uintptr_t)b + size - sizeof(uint64_t));
}

/* A free block: header without IN_USE (its predecessor is always in use,
 * since free neighbours are merged) plus footer. */
static inline void blk_set_free(struct kblock *b, uint64_t size)
{
    blk_set(b, size, F_PREV_IN_USE);
    *footer_of(b, size) = size;
}

/* Request size -> block size (header included, class rounding applied). */
static inline uint64_t request_block_size(size_t size)
{
    if (size <= SMALL_MAX)
        return quick_size[63 - __builtin_clzll((size - 1) | 31) - 4];
    return ALIGN_UP((uint64_t)size, 16) + HDR_SIZE;
}

/* Free list holding blocks of `size` bytes: by usable size, 32<<k.. */
static inline unsigned list_of(uint64_t size)
{
    unsigned k = (unsigned)(63 - __builtin_clzll(size - HDR_SIZE)) - 5;
    return k < NLISTS ? k : NLISTS - 1;
}

/* Smallest block size on list k. */
static inline uint64_t list_min(unsigned k)
{
    return (32ULL << k) + HDR_SIZE;
}

static __noreturn __attribute__((noinline)) void bad_header(struct kblock *b)
{
    panic("kheap: corrupted header at %p (size_flags %#lx, canary %#lx, expected %#lx)",
          (void *)b, (unsigned long)b->size_flags, (unsigned long)b->canary,
          (unsigned long)tag_of(b, blk_size(b)));
}

/* ------------------------------------------------------------ free lists -- */

static void list_insert(struct kblock *b)
{
    unsigned k = list_of(blk_size(b));
    b->prev = NULL;
    b->next = heap.lists[k];
    if (b->next)
        b->next->prev = b;
    heap.lists[k] = b;
    heap.nonempty |= 1u << k;
    heap.list_bytes += blk_size(b);
}

static void list_remove(struct kblock *b)
{
    unsigned k = list_of(blk_size(b));
    if (b->prev)
        b->prev->next = b->next;
    else
        heap.lists[k] = b->next;
    if (b->next)
        b->next->prev = b->prev;
    if (!heap.lists[k])
        heap.nonempty &= ~(1u << k);
    heap.list_bytes -= blk_size(b);
}

/* ---------------------------------------------------------------- arenas -- */

static inline char *arena_base(struct kheap_arena *a)
{
    return (char *)a + sizeof(*a) - a->bytes;
}

static inline struct kblock *arena_first(struct kheap_arena *a)
{
    return blk_at(arena_base(a), START_FENCE);
}

/* The arena whose end fence is `fence` (a validated FENCE block). */
static struct kheap_arena *arena_of_end_fence(struct kblock *fence)
{
    struct kheap_arena *a = (struct kheap_arena *)payload(fence);
    KASSERT(blk_size(fence) == END_FENCE && a->magic == ARENA_MAGIC,
            "kheap: bad end fence at %p", (void *)fence);
    return a;
}

/* Lay out a fresh arena of 2^order frames; returns its single free block,
 * not yet on any list. */
static struct kblock *arena_init(char *base, unsigned order)
{
    uint64_t bytes = PAGE_SIZE << order;
    blk_set(blk_at(base, 0), START_FENCE, F_IN_USE | F_PREV_IN_USE | F_FENCE);
    struct kblock *first = blk_at(base, START_FENCE);
    blk_set_free(first, bytes - ARENA_OVERHEAD);
    blk_set(blk_at(base, bytes - END_FENCE), END_FENCE, F_IN_USE | F_FENCE);
    struct kheap_arena *a = (struct kheap_arena *)(base + bytes - sizeof(*a));
    a->magic = ARENA_MAGIC;
    a->order = order;
    a->bytes = bytes;
    a->prev = NULL;
    a->next = heap.arenas;
    if (a->next)
        a->next->prev = a;
    heap.arenas = a;
    heap.arena_bytes += bytes;
    heap.narenas++;
    return first;
}

static void arena_release(struct kheap_arena *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        heap.arenas = a->next;
    if (a->next)
        a->next->prev = a->prev;
    heap.arena_bytes -= a->bytes;
    heap.narenas--;
    a->magic = 0; /* a stale pointer into it must not look valid */
    pmm_free_pages(virt_to_phys(arena_base(a)), a->order);
}

/* Get a new arena big enough for a block of `bsize` bytes; returns its free
 * block (off-list) or NULL. Falls back to smaller orders when the PMM has no
 * 64 KiB block but a smaller one still fits the request. */
static struct kblock *arena_grow(uint64_t bsize)
{
    uint64_t need = bsize + ARENA_OVERHEAD;
    if (need > (PAGE_SIZE << PMM_MAX_ORDER))
        return NULL;
    unsigned min_order = 0;
    while ((PAGE_SIZE << min_order) < need)
        min_order++;
    unsigned order = MAX(min_order, ARENA_MIN_ORDER);
    paddr_t pa;
    while (pmm_alloc_pages(order, &pa) != 0) {
        if (order == min_order)
            return NULL;
        order--;
    }
    return arena_init(phys_to_virt(pa), order);
}

/* `b` (off-list, free) spans all of arena `a`: keep at most one such arena. */
static void arena_now_empty(struct kheap_arena *a, struct kblock *b)
{
    struct kheap_arena *kept = heap.empty_arena;
    if (kept && kept->bytes >= a->bytes) {
        arena_release(a);
        return;
    }
    if (kept) {
        list_remove(arena_first(kept));
        arena_release(kept);
    }
    heap.empty_arena = a;
    list_insert(b);
}

/* ------------------------------------------------------- free and split -- */

/* Free block `b` (header validated, IN_USE, not QUICK): merge it with free
 * neighbours, then list it or retire its arena. Counters are the caller's. */
static void release_block(struct kblock *b)
{
    uint64_t size = blk_size(b);
    b->size_flags &= ~F_IN_USE; /* a stale pointer to b must read as free */
    if (!(b->size_flags & F_PREV_IN_USE)) {
        uint64_t psize = *(uint64_t *)((uintptr_t)b - sizeof(uint64_t));
        struct kblock *prev = blk_at(b, -psize);
        if (!tag_ok(prev) || blk_size(prev) != psize || (prev->size_flags & F_IN_USE))
            panic("kheap: corrupted free block before %p (footer %#lx)", (void *)b,
                  (unsigned long)psize);
        list_remove(prev);
        b = prev;
        size += psize;
    }
    struct kblock *next = blk_at(b, size);
    if (!tag_ok(next))
        bad_header(next);
    if (!(next->size_flags & F_IN_USE)) {
        list_remove(next);
        size += blk_size(next);
        next = blk_at(b, size);
        if (!tag_ok(next))
            bad_header(next);
    }
    blk_set_free(b, size);
    next->size_flags &= ~F_PREV_IN_USE;
    if (next->size_flags & F_FENCE) {
        struct kheap_arena *a = arena_of_end_fence(next);
        if (b == arena_first(a)) {
            arena_now_empty(a, b);
            return;
        }
    }
    list_insert(b);
}

/* Make the `size` bytes at `b` (an off-list free block, or an in-use block
 * plus the free block after it) an in-use block of `bsize` bytes, returning
 * a leftover of at least MIN_BLOCK bytes to the free lists. */
static void occupy(struct kblock *b, uint64_t size, uint64_t bsize)
{
    uint64_t prev_flag = b->size_flags & F_PREV_IN_USE;
    if (size - bsize >= MIN_BLOCK) {
        blk_set(b, bsize, F_IN_USE | prev_flag);
        struct kblock *rest = blk_at(b, bsize);
        blk_set_free(rest, size - bsize);
        list_insert(rest);
    } else {
        blk_set(b, size, F_IN_USE | prev_flag);
        blk_at(b, size)->size_flags |= F_PREV_IN_USE;
    }
}

/* Find, unlink and return a free block of at least `bsize` bytes, or NULL. */
static struct kblock *take_fit(uint64_t bsize)
{
    uint32_t mask = heap.nonempty & (~0u << list_of(bsize));
    while (mask) {
        unsigned k = (unsigned)__builtin_ctz(mask);
        struct kblock *b = heap.lists[k];
        if (list_min(k) < bsize)
            while (b && blk_size(b) < bsize)
                b = b->next;
        if (b) {
            list_remove(b);
            if (heap.empty_arena && b == arena_first(heap.empty_arena))
                heap.empty_arena = NULL;
            return b;
        }
        mask &= mask - 1;
    }
    return NULL;
}

/* Free every block cached on the quick lists, merging as usual. A block on
 * the slot of a size that is no class got there with a forged canary. */
static __attribute__((noinline)) void quick_flush(void)
{
    for (unsigned s = 0; s < QUICK_SLOTS; s++)
        if (heap.quick[s].head && (heap.quick[s].tag ^ KHEAP_MAGIC) != s * 16)
            bad_header(heap.quick[s].head);
    for (unsigned k = 0; k < NQUICK; k++) {
        struct quick_slot *q = quick_slot(quick_size[k]);
        uint64_t n = 0;
        while (q->head) {
            struct kblock *b = q->head;
            if (!tag_ok(b) || blk_size(b) != quick_size[k])
                bad_header(b);
            q->head = b->next;
            b->size_flags &= ~F_QUICK;
            release_block(b);
            n++;
        }
        KASSERT(n == quick_listed(k), "kheap: quick list %u held %lu blocks, its counter says %lu",
                k, (unsigned long)n, (unsigned long)quick_listed(k));
        heap.frees += n; /* they were counted as listed; now as flushed */
        q->count.room = quick_limit(k);
    }
}

/* ------------------------------------------------------------ public API -- */

void kheap_init(void)
{
    memset(&heap, 0, sizeof(heap));
    for (unsigned s = 0; s < QUICK_SLOTS; s++)
        heap.quick[s].tag = KHEAP_MAGIC ^ (s * 16) ^ 1; /* no class: no canary matches */
    for (unsigned k = 0; k < NQUICK; k++) {
        struct quick_slot *q = quick_slot(quick_size[k]);
        q->tag = KHEAP_MAGIC ^ quick_size[k];
        q->sf = quick_size[k] | F_IN_USE | F_QUICK;
        q->count.room = quick_limit(k);
    }
}

static __attribute__((noinline)) void *kmalloc_slow(size_t size)
{
    if (size == 0)
        return NULL; /* not counted as a failure: nothing was asked for */
    if (size > MAX_REQUEST) {
        heap.failures++;
        return NULL;
    }
    uint64_t bsize = request_block_size(size);
    struct kblock *b = take_fit(bsize);
    if (!b && quick_bytes()) {
        quick_flush();
        b = take_fit(bsize);
    }
    if (!b)
        b = arena_grow(bsize);
    if (!b) {
        heap.failures++;
        return NULL;
    }
    occupy(b, blk_size(b), bsize);
    heap.allocs++;
    return payload(b);
}

static __noreturn __attribute__((noinline)) void quick_corrupt(struct kblock *b)
{
    panic("kheap: quick list holds a bad block %p (size_flags %#lx, canary %#lx)", (void *)b,
          (unsigned long)b->size_flags, (unsigned long)b->canary);
}

/* The kmalloc point (inject.h), out of the fast path. */
static __attribute__((noinline, cold)) void *kmalloc_injected(size_t size)
{
    if (INJECT(INJECT_KMALLOC, NULL)) {
        inject_report(INJECT_KMALLOC, "%lu bytes refused (NULL)", (unsigned long)size);
        return NULL;
    }
    return kmalloc_slow(size);
}

void *kmalloc(size_t size)
{
    if (INJECT_ANY(INJECT_BIT(INJECT_KMALLOC)))
        return kmalloc_injected(size);
    if (likely(size - 1 < SMALL_MAX)) {
        struct quick_slot *q = quick_at(quick_offset_of[(size - 1) >> 4]);
        struct kblock *b = q->head;
        if (likely(b != NULL)) {
            /* One test for canary and flags: a single cold call keeps
             * the compilers from setting up a frame on the fast path. */
            uint64_t bad = (b->canary ^ (uintptr_t)b ^ q->tag) |
                           ((b->size_flags ^ q->sf) & ~F_PREV_IN_USE);
            if (unlikely(bad != 0))
                quick_corrupt(b);
            q->head = b->next;
            b->size_flags &= ~F_QUICK;
            q->count.word += QUICK_POP;
            return payload(b);
        }
    }
    return kmalloc_slow(size);
}

/* Header of allocated block `p`, checked; `op` names the caller. */
static struct kblock *checked_block(const void *p, const char *op)
{
    if (!IS_ALIGNED((uintptr_t)p, KHEAP_ALIGN))
        panic("kheap: %s of misaligned pointer %p", op, p);
    struct kblock *b = blk_at(p, -(uint64_t)HDR_SIZE);
    if (!tag_ok(b))
        bad_header(b);
    if (b->size_flags & F_FENCE)
        panic("kheap: %s of %p, an arena fence", op, p);
    if ((b->size_flags & (F_IN_USE | F_QUICK)) != F_IN_USE)
        panic("kheap: %s of free block %p", op, p);
    return b;
}

static __attribute__((noinline)) void kfree_slow(void *p)
{
    if (p == NULL)
        return;
    struct kblock *b = blk_at(p, -(uint64_t)HDR_SIZE);
    if (IS_ALIGNED((uintptr_t)p, KHEAP_ALIGN) && tag_ok(b) && !(b->size_flags & F_FENCE) &&
        (b->size_flags & (F_IN_USE | F_QUICK)) != F_IN_USE)
        panic("kheap: double free of %p", p);
    b = checked_block(p, "kfree");
    heap.frees++;
    release_block(b);
}

void kfree(void *p)
{
    if (unlikely(p == NULL || !IS_ALIGNED((uintptr_t)p, KHEAP_ALIGN)))
        goto slow;
    struct kblock *b = blk_at(p, -(uint64_t)HDR_SIZE);
    uint64_t sf = b->size_flags;
    uint64_t bsize = sf & ~F_MASK;
    /* Separate tests (not ||) keep the compilers from materialising flags. */
    if (unlikely(bsize > QUICK_MAX_BLOCK))
        goto slow;
    struct quick_slot *q = quick_slot(bsize);
    /* The canary, against the slot's: fails too for a size that is no class. */
    if (unlikely((b->canary ^ (uintptr_t)b) != q->tag))
        goto slow;
    /* Flags IN_USE and maybe PREV_IN_USE, nothing else: only then does
     * subtracting 1 leave IN_USE, QUICK and FENCE all clear. */
    if (unlikely(((sf - 1) & (F_IN_USE | F_QUICK | F_FENCE)) != 0))
        goto slow;
    b->size_flags = sf | F_QUICK;
    b->next = q->head;
    q->head = b;
    if (unlikely(quick_room_taken(q)))
        quick_flush();
    return;
slow:
    kfree_slow(p);
}

void *kcalloc(size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        heap.failures++;
        return NULL;
    }
    void *p = kmalloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* Shrink in-use block `b` to `bsize` bytes if that frees at least MIN_BLOCK. */
static void shrink_in_place(struct kblock *b, uint64_t bsize)
{
    uint64_t size = blk_size(b);
    if (size - bsize < MIN_BLOCK)
        return;
    blk_set(b, bsize, F_IN_USE | (b->size_flags & F_PREV_IN_USE));
    struct kblock *tail = blk_at(b, bsize);
    blk_set(tail, size - bsize, F_IN_USE | F_PREV_IN_USE);
    release_block(tail);
}

/* Grow in-use block `b` to `bsize` bytes by taking the free block after it. */
static bool grow_in_place(struct kblock *b, uint64_t bsize)
{
    uint64_t size = blk_size(b);
    struct kblock *next = blk_at(b, size);
    if (!tag_ok(next))
        bad_header(next);
    if ((next->size_flags & F_IN_USE) || size + blk_size(next) < bsize)
        return false;
    list_remove(next);
    occupy(b, size + blk_size(next), bsize);
    return true;
}

void *krealloc(void *p, size_t size)
{
    if (p == NULL)
        return kmalloc(size);
    if (size == 0) {
        kfree(p);
        return NULL;
    }
    struct kblock *b = checked_block(p, "krealloc");
    if (size > MAX_REQUEST) {
        heap.failures++;
        return NULL;
    }
    uint64_t bsize = request_block_size(size);
    if (bsize <= blk_size(b)) {
        shrink_in_place(b, bsize);
        return p;
    }
    if (grow_in_place(b, bsize))
        return p;
    void *q = kmalloc(size);
    if (q == NULL)
        return NULL;
    memcpy(q, p, blk_size(b) - HDR_SIZE);
    kfree(p);
    return q;
}

size_t kmalloc_usable_size(const void *p)
{
    if (p == NULL)
        return 0;
    return blk_size(checked_block(p, "kmalloc_usable_size")) - HDR_SIZE;
}

uint64_t kheap_reclaim(void)
{
    if (quick_bytes())
        quick_flush(); /* cached blocks may be all that keeps an arena */
    struct kheap_arena *a = heap.empty_arena;
    if (!a)
        return 0;
    uint64_t frames = 1ull << a->order;
    heap.empty_arena = NULL;
    list_remove(arena_first(a));
    arena_release(a);
    return frames;
}

/* Successful kmalloc and kfree calls: the slow paths' counts plus each quick
 * list's pops, and its pushes (taken again, still listed, or flushed, the
 * last counted in heap.frees). */
static uint64_t heap_allocs(void)
{
    uint64_t n = heap.allocs;
    for (unsigned k = 0; k < NQUICK; k++)
        n += quick_taken(k);
    return n;
}

static uint64_t heap_frees(void)
{
    uint64_t n = heap.frees;
    for (unsigned k = 0; k < NQUICK; k++)
        n += quick_taken(k) + quick_listed(k);
    return n;
}

void kheap_get_stats(struct kheap_stats *s)
{
    s->bytes_free = heap.list_bytes + quick_bytes();
    s->bytes_arena = heap.arena_bytes;
    s->allocs = heap_allocs();
    s->frees = heap_frees();
    s->bytes_in_use = heap.arena_bytes - heap.narenas * ARENA_OVERHEAD - s->bytes_free -
                      (s->allocs - s->frees) * HDR_SIZE;
    s->failures = heap.failures;
}

/* ----------------------------------------------------------- consistency -- */

struct walk_totals {
    uint64_t free_blocks, free_bytes;
    uint64_t quick_blocks, quick_bytes;
    uint64_t used_blocks, used_payload;
};

/* Check every block of arena `a`, adding to *t. */
static void check_arena(struct kheap_arena *a, struct walk_totals *t)
{
    KASSERT(a->magic == ARENA_MAGIC && a->bytes == PAGE_SIZE << a->order,
            "kheap: arena %p descriptor is corrupt", (void *)a);
    char *base = arena_base(a);
    struct kblock *fence = blk_at(base, 0);
    KASSERT(tag_ok(fence) && fence->size_flags == (START_FENCE | F_IN_USE | F_PREV_IN_USE | F_FENCE),
            "kheap: arena %p start fence is corrupt", (void *)base);
    struct kblock *end = blk_at(base, a->bytes - END_FENCE);
    bool prev_in_use = true, whole_free = false;
    struct kblock *b = arena_first(a);
    while (b != end) {
        KASSERT((char *)b < (char *)end, "kheap: block %p runs past its arena's end", (void *)b);
        uint64_t size = blk_size(b), sf = b->size_flags;
        KASSERT(tag_ok(b), "kheap: block %p has a bad canary", (void *)b);
        KASSERT(size >= MIN_BLOCK && IS_ALIGNED(size, 16) && !(sf & F_FENCE),
                "kheap: block %p has bad size/flags %#lx", (void *)b, (unsigned long)sf);
        KASSERT(!!(sf & F_PREV_IN_USE) == prev_in_use, "kheap: block %p PREV_IN_USE is stale", (void *)b);
        if (sf & F_IN_USE) {
            if (sf & F_QUICK) {
                t->quick_blocks++;
                t->quick_bytes += size;
            } else {
                t->used_blocks++;
                t->used_payload += size - HDR_SIZE;
            }
        } else {
            KASSERT(prev_in_use, "kheap: free blocks before %p were not merged", (void *)b);
            KASSERT(!(sf & F_QUICK), "kheap: free block %p is marked QUICK", (void *)b);
            KASSERT(*footer_of(b, size) == size, "kheap: free block %p has a bad footer", (void *)b);
            whole_free = b == arena_first(a) && blk_at(b, size) == end;
            t->free_blocks++;
            t->free_bytes += size;
        }
        prev_in_use = sf & F_IN_USE;
        b = blk_at(b, size);
    }
    KASSERT(tag_ok(end) && (end->size_flags & ~F_PREV_IN_USE) == (END_FENCE | F_IN_USE | F_FENCE),
            "kheap: arena %p end fence is corrupt", (void *)base);
    KASSERT(!!(end->size_flags & F_PREV_IN_USE) == prev_in_use, "kheap: arena %p end fence PREV_IN_USE is stale", (void *)base);
    KASSERT(whole_free == (a == heap.empty_arena),
            "kheap: arena %p is %s free but the cached empty arena is %p", (void *)base,
            whole_free ? "wholly" : "not wholly", (void *)heap.empty_arena);
}

/* Is `b` a block header address inside some arena? */
static bool in_some_arena(const struct kblock *b)
{
    for (struct kheap_arena *a = heap.arenas; a; a = a->next)
        if ((char *)b >= arena_base(a) + START_FENCE && (char *)b < (char *)a - HDR_SIZE)
            return true;
    return false;
}

static void check_lists(const struct walk_totals *t)
{
    uint64_t n = 0, bytes = 0;
    for (unsigned k = 0; k < NLISTS; k++) {
        KASSERT(!!heap.lists[k] == !!(heap.nonempty & (1u << k)), "kheap: nonempty bit %u is stale", k);
        struct kblock *prev = NULL;
        for (struct kblock *b = heap.lists[k]; b; prev = b, b = b->next) {
            KASSERT(++n <= t->free_blocks, "kheap: free lists hold more blocks than the arenas");
            KASSERT(in_some_arena(b) && tag_ok(b) && !(b->size_flags & F_IN_USE),
                    "kheap: free list %u holds a bad block %p", k, (void *)b);
            KASSERT(list_of(blk_size(b)) == k, "kheap: block %p of %lu bytes is on list %u", (void *)b,
                    (unsigned long)blk_size(b), k);
            KASSERT(b->prev == prev, "kheap: free list %u back link broken at %p", k, (void *)b);
            bytes += blk_size(b);
        }
    }
    KASSERT(n == t->free_blocks && bytes == t->free_bytes && bytes == heap.list_bytes,
            "kheap: free lists hold %lu blocks/%lu bytes, arenas %lu/%lu, counter %lu",
            (unsigned long)n, (unsigned long)bytes, (unsigned long)t->free_blocks,
            (unsigned long)t->free_bytes, (unsigned long)heap.list_bytes);
    n = bytes = 0;
    for (unsigned s = 0; s < QUICK_SLOTS; s++)
        KASSERT(heap.quick[s].head == NULL || (heap.quick[s].tag ^ KHEAP_MAGIC) == s * 16,
                "kheap: quick slot of %u-byte blocks, no class, holds %p", s * 16,
                (void *)heap.quick[s].head);
    for (unsigned k = 0; k < NQUICK; k++) {
        uint64_t listed = 0;
        for (struct kblock *b = quick_slot(quick_size[k])->head; b; b = b->next) {
            KASSERT(++n <= t->quick_blocks, "kheap: quick lists hold more blocks than the arenas");
            KASSERT(in_some_arena(b) && tag_ok(b) && blk_size(b) == quick_size[k] &&
                        (b->size_flags & (F_IN_USE | F_QUICK)) == (F_IN_USE | F_QUICK),
                    "kheap: quick list %u holds a bad block %p", k, (void *)b);
            bytes += blk_size(b);
            listed++;
        }
        KASSERT(listed == quick_listed(k) && quick_listed(k) <= (uint64_t)quick_limit(k),
                "kheap: quick list %u holds %lu blocks, its counter says %lu", k,
                (unsigned long)listed, (unsigned long)quick_listed(k));
    }
    KASSERT(n == t->quick_blocks && bytes == quick_bytes(),
            "kheap: quick lists hold %lu blocks/%lu bytes, arenas %lu, counter %lu",
            (unsigned long)n, (unsigned long)bytes, (unsigned long)t->quick_blocks,
            (unsigned long)quick_bytes());
}

void kheap_check(void)
{
    struct walk_totals t = {0};
    uint64_t narenas = 0, bytes = 0;
    for (struct kheap_arena *a = heap.arenas; a; a = a->next) {
        KASSERT(a->prev == NULL || a->prev->next == a, "kheap: arena list broken at %p", (void *)a);
        KASSERT(++narenas <= heap.narenas, "kheap: arena list longer than the count %lu",
                (unsigned long)heap.narenas);
        check_arena(a, &t);
        bytes += a->bytes;
    }
    KASSERT(narenas == heap.narenas && bytes == heap.arena_bytes,
            "kheap: %lu arenas of %lu bytes, counters say %lu/%lu", (unsigned long)narenas,
            (unsigned long)bytes, (unsigned long)heap.narenas, (unsigned long)heap.arena_bytes);
    KASSERT(heap.empty_arena == NULL || heap.empty_arena->magic == ARENA_MAGIC,
            "kheap: cached empty arena %p is not an arena", (void *)heap.empty_arena);
    check_lists(&t);
    KASSERT(t.used_blocks == heap_allocs() - heap_frees(),
            "kheap: %lu blocks in use but allocs - frees = %lu", (unsigned long)t.used_blocks,
            (unsigned long)(heap_allocs() - heap_frees()));
    struct kheap_stats s;
    kheap_get_stats(&s);
    KASSERT(s.bytes_in_use == t.used_payload, "kheap: %lu payload bytes in use, stats say %lu",
            (unsigned long)t.used_payload, (unsigned long)s.bytes_in_use);
}

/* First-fit boundary-tag heap (see heap.h and mica/malloc.h).
 *
 * Block: a 16-byte header { size | flags, magic } then the payload. The
 * size counts the header and is a multiple of 16. A free block keeps
 * free-list links at the start of its payload and a copy of its size in
 * its last 8 bytes (the footer), so the next block can find it. The magic
 * is a constant (live or free) xor the header's address, which catches
 * double frees, foreign pointers and most overwrites. The range ends with
 * an epilogue header of size 0 marked in use. */
#include "heap.h"

#include <mica/string.h>

#define F_IN_USE      0x1ull
#define F_PREV_IN_USE 0x2ull
#define F_MASK        0xfull
#define MAGIC_LIVE    0x4d6963614c697665ull /* "MicaLive" */
#define MAGIC_FREE    0x4d69636146726565ull /* "MicaFree" */

struct heap_block {
    uint64_t size_flags;
    uint64_t magic;
    struct heap_block *next, *prev; /* free blocks only */
};

static inline size_t bsize(const struct heap_block *b) { return b->size_flags & ~F_MASK; }
static inline int in_use(const struct heap_block *b) { return (b->size_flags & F_IN_USE) != 0; }
static inline int prev_in_use(const struct heap_block *b)
{
    return (b->size_flags & F_PREV_IN_USE) != 0;
}
static inline struct heap_block *at(uintptr_t a) { return (struct heap_block *)a; }
static inline struct heap_block *next_block(struct heap_block *b)
{
    return at((uintptr_t)b + bsize(b));
}
static inline uint64_t magic_for(const struct heap_block *b, uint64_t kind)
{
    return kind ^ (uint64_t)(uintptr_t)b;
}
static inline uint64_t *footer(struct heap_block *b)
{
    return (uint64_t *)((uintptr_t)b + bsize(b) - 8);
}

static void set_header(struct heap_block *b, size_t size, uint64_t flags)
{
    b->size_flags = size | flags;
    b->magic = magic_for(b, (flags & F_IN_USE) ? MAGIC_LIVE : MAGIC_FREE);
}

static void list_push(struct heap *h, struct heap_block *b)
{
    b->prev = NULL;
    b->next = h->free_list;
    if (b->next)
        b->next->prev = b;
    h->free_list = b;
    h->free_blocks++;
}

static void list_remove(struct heap *h, struct heap_block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        h->free_list = b->next;
    if (b->next)
        b->next->prev = b->prev;
    h->free_blocks--;
}

/* Turn b (not on the list, neighbours already merged) into a free block
 * of `size` and tell the following block. */
static void make_free(struct heap *h, struct heap_block *b, size_t size, uint64_t prev_flag)
{
    set_header(b, size, prev_flag);
    *footer(b) = size;
    next_block(b)->size_flags &= ~F_PREV_IN_USE;
    list_push(h, b);
}

/* Free the block b of `size` (its header may be stale), merging it with
 * free neighbours. */
static void release(struct heap *h, struct heap_block *b, size_t size, uint64_t prev_flag)
{
    struct heap_block *n = at((uintptr_t)b + size);
    if (!in_use(n)) {
        list_remove(h, n);
        size += bsize(n);
    }
    if (!prev_flag) {
        struct heap_block *p = at((uintptr_t)b - *(uint64_t *)((uintptr_t)b - 8));
        list_remove(h, p);
        size += bsize(p);
        prev_flag = p->size_flags & F_PREV_IN_USE;
        b = p;
    }
    make_free(h, b, size, prev_flag);
}

void heap_init(struct heap *h, uintptr_t base, uintptr_t limit, size_t grow_min,
               int (*grow)(void *, uintptr_t, size_t),
               void (*fail)(void *, const char *, const void *), void *ctx)
{
    memset(h, 0, sizeof(*h));
    h->base = h->end = base;
    h->limit = limit;
    h->grow_min = grow_min;
    h->grow = grow;
    h->fail = fail;
    h->ctx = ctx;
}

/* Extend the range so that a free block of at least `need` bytes ends it. */
static int extend(struct heap *h, size_t need)
{
    size_t len = need + HEAP_HDR > h->grow_min ? need + HEAP_HDR : h->grow_min;
    len = (len + 4095) & ~(size_t)4095;
    if (len > h->limit - h->end || h->grow(h->ctx, h->end, len) < 0)
        return -1;
    h->mapped += len;
    /* The new free block starts at the old epilogue (or at base the first
     * time) and ends at the new epilogue in the last 16 bytes. */
    struct heap_block *b = at(h->end == h->base ? h->base : h->end - HEAP_HDR);
    uint64_t prev_flag = h->end == h->base ? F_PREV_IN_USE : b->size_flags & F_PREV_IN_USE;
    h->end += len;
    struct heap_block *epi = at(h->end - HEAP_HDR);
    set_header(epi, 0, F_IN_USE);
    release(h, b, (uintptr_t)epi - (uintptr_t)b, prev_flag);
    return 0;
}

static size_t block_size_for(size_t n)
{
    size_t s = (n + HEAP_HDR + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1);
    return s < HEAP_MIN_BLOCK ? HEAP_MIN_BLOCK : s;
}

/* Mark free block b (on the list) live with `need` bytes, splitting off
 * the rest when it can hold a block. */
static void take(struct heap *h, struct heap_block *b, size_t need)
{
    size_t size = bsize(b);
    uint64_t prev_flag = b->size_flags & F_PREV_IN_USE;
    list_remove(h, b);
    if (size - need >= HEAP_MIN_BLOCK) {
        make_free(h, at((uintptr_t)b + need), size - need, F_PREV_IN_USE);
        size = need;
    } else {
        next_block(b)->size_flags |= F_PREV_IN_USE;
    }
    set_header(b, size, F_IN_USE | prev_flag);
    h->in_use += size;
    h->live_blocks++;
}

void *heap_alloc(struct heap *h, size_t n)
{
    if (n > h->limit - h->base)
        return NULL;
    size_t need = block_size_for(n);
    for (int attempt = 0; attempt < 2; attempt++) {
        for (struct heap_block *b = h->free_list; b; b = b->next) {
            if (bsize(b) >= need) {
                take(h, b, need);
                return (char *)b + HEAP_HDR;
            }
        }
        if (extend(h, need) < 0)
            return NULL;
    }
    return NULL;
}

/* The header of live block p, or NULL after reporting what is wrong. */
static struct heap_block *live_header(const struct heap *h, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a % HEAP_ALIGN || a < h->base + HEAP_HDR || a >= h->end) {
        h->fail(h->ctx, "pointer not from this heap", p);
        return NULL;
    }
    struct heap_block *b = at(a - HEAP_HDR);
    if (b->magic == magic_for(b, MAGIC_FREE) && !in_use(b)) {
        h->fail(h->ctx, "double free", p);
        return NULL;
    }
    if (b->magic != magic_for(b, MAGIC_LIVE) || !in_use(b) || bsize(b) < HEAP_MIN_BLOCK ||
        bsize(b) > h->end - (uintptr_t)b - HEAP_HDR) {
        h->fail(h->ctx, "not a live block (corrupt header or bad pointer)", p);
        return NULL;
    }
    return b;
}

void heap_free(struct heap *h, void *p)
{
    if (!p)
        return;
    struct heap_block *b = live_header(h, p);
    if (!b)
        return;
    size_t size = bsize(b);
    h->in_use -= size;
    h->live_blocks--;
    b->magic = 0; /* a stale pointer to a merged block must not look live */
    release(h, b, size, b->size_flags & F_PREV_IN_USE);
}

size_t heap_usable(const struct heap *h, const void *p)
{
    (void)h;
    return bsize(at((uintptr_t)p - HEAP_HDR)) - HEAP_HDR;
}

/* Shrink live block b to `need` bytes if the tail can form a block. */
static void trim(struct heap *h, struct heap_block *b, size_t need)
{
    size_t size = bsize(b);
    if (size - need < HEAP_MIN_BLOCK)
        return;
    b->size_flags = need | (b->size_flags & F_MASK);
    h->in_use -= size - need;
    release(h, at((uintptr_t)b + need), size - need, F_PREV_IN_USE);
}

void *heap_realloc(struct heap *h, void *p, size_t n)
{
    if (!p)
        return heap_alloc(h, n);
    struct heap_block *b = live_header(h, p);
    if (!b || n > h->limit - h->base)
        return NULL;
    size_t need = block_size_for(n), size = bsize(b);
    if (need <= size) {
        trim(h, b, need);
        return p;
    }
    struct heap_block *nb = next_block(b);
    if (!in_use(nb) && size + bsize(nb) >= need) {
        list_remove(h, nb);
        size_t total = size + bsize(nb);
        b->size_flags = total | (b->size_flags & F_MASK);
        next_block(b)->size_flags |= F_PREV_IN_USE;
        h->in_use += total - size;
        trim(h, b, need);
        return p;
    }
    void *q = heap_alloc(h, n);
    if (q) {
        memcpy(q, p, size - HEAP_HDR);
        heap_free(h, p);
    }
    return q;
}

/* Check the blocks in address order; counts what it saw. */
static const char *check_blocks(const struct heap *h, uint64_t *live, uint64_t *nfree,
                                uint64_t *bytes)
{
    uintptr_t a = h->base;
    int prev_used = 1;
    while (a < h->end - HEAP_HDR) {
        struct heap_block *b = at(a);
        size_t s = bsize(b);
        if (b->magic != magic_for(b, in_use(b) ? MAGIC_LIVE : MAGIC_FREE))
            return "bad magic";
        if (s < HEAP_MIN_BLOCK || s % HEAP_ALIGN || s > h->end - HEAP_HDR - a)
            return "bad block size";
        if (prev_in_use(b) != prev_used)
            return "PREV_IN_USE flag disagrees with the previous block";
        if (!in_use(b) && !prev_used)
            return "two adjacent free blocks";
        if (!in_use(b) && *footer(b) != s)
            return "free block footer disagrees with its header";
        if (in_use(b)) {
            ++*live;
            *bytes += s;
        } else {
            ++*nfree;
        }
        prev_used = in_use(b);
        a += s;
    }
    if (h->end != h->base) {
        struct heap_block *epi = at(a);
        if (a != h->end - HEAP_HDR || bsize(epi) != 0 || !in_use(epi) ||
            prev_in_use(epi) != prev_used)
            return "bad epilogue";
    }
    return NULL;
}

const char *heap_check(const struct heap *h)
{
    uint64_t live = 0, nfree = 0, bytes = 0, listed = 0;
    const char *err = check_blocks(h, &live, &nfree, &bytes);
    if (err)
        return err;
    for (struct heap_block *b = h->free_list; b; b = b->next) {
        if ((uintptr_t)b < h->base || (uintptr_t)b >= h->end || in_use(b) ||
            b->magic != magic_for(b, MAGIC_FREE))
            return "free list holds a block that is not free";
        if (b->next && b->next->prev != b)
            return "free list links broken";
        if (++listed > nfree)
            return "free list longer than the free blocks (cycle or stray)";
    }
    if (listed != nfree || nfree != h->free_blocks)
        return "free block count mismatch";
    if (live != h->live_blocks || bytes != h->in_use)
        return "live block counters mismatch";
    return NULL;
}

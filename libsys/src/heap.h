/* The allocator behind malloc (see mica/malloc.h for the design): a
 * first-fit, boundary-tag heap over one contiguous address range that
 * grows upward through a callback. Separate from malloc.c so that it can
 * be tested on the host over ordinary memory. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HEAP_ALIGN     16u
#define HEAP_HDR       16u  /* header bytes before every payload */
#define HEAP_MIN_BLOCK 48u  /* header + two free-list links + footer */

struct heap_block;

struct heap {
    uintptr_t base, end, limit; /* [base, end) is mapped; end may grow to limit */
    size_t grow_min;            /* smallest growth step, a multiple of 4096 */
    /* Make [at, at + len) usable (page-aligned). Returns 0 or < 0. */
    int (*grow)(void *ctx, uintptr_t at, size_t len);
    /* Reports a misuse or corruption (message, offending pointer); the
     * heap is not touched afterwards, whether or not it returns. */
    void (*fail)(void *ctx, const char *what, const void *p);
    void *ctx;
    struct heap_block *free_list;
    uint64_t mapped, in_use, live_blocks, free_blocks;
};

/* Set up an empty heap over [base, limit) (both 4096-aligned). No memory
 * is requested until the first allocation. */
void heap_init(struct heap *h, uintptr_t base, uintptr_t limit, size_t grow_min,
               int (*grow)(void *, uintptr_t, size_t),
               void (*fail)(void *, const char *, const void *), void *ctx);

/* Allocate n bytes, HEAP_ALIGN-aligned. NULL if the heap cannot grow. */
void *heap_alloc(struct heap *h, size_t n);

/* Free p (NULL ignored). A pointer that is not a live block calls fail. */
void heap_free(struct heap *h, void *p);

/* Resize as ISO realloc; NULL on failure with p untouched. */
void *heap_realloc(struct heap *h, void *p, size_t n);

/* Usable bytes of the live block p (>= the size requested). */
size_t heap_usable(const struct heap *h, const void *p);

/* Verify every block and the free list against the counters. Returns NULL
 * or a description of the first inconsistency. */
const char *heap_check(const struct heap *h);

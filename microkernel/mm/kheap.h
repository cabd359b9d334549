/* The kernel heap: kmalloc and friends over segregated free lists in eight
 * size classes (<=32, 64, 128, 256, 512, 1 KiB, 2 KiB, larger), with block
 * splitting and boundary-tag coalescing of free neighbours. The heap grows
 * by blocks of frames from the page-frame allocator, addressed through the
 * direct map. Double free and corrupted headers panic with a clear message. */
#pragma once

#include "lib/types.h"

#define KHEAP_ALIGN 16 /* every returned pointer is 16-byte aligned */

struct kheap_stats {
    uint64_t bytes_in_use;   /* payload bytes currently allocated */
    uint64_t bytes_free;     /* bytes on the free lists */
    uint64_t bytes_arena;    /* bytes obtained from the page-frame allocator */
    uint64_t allocs, frees;  /* calls that succeeded */
    uint64_t failures;       /* kmalloc calls that returned NULL */
};

/* Prepare the heap (no memory is taken until the first allocation). */
void kheap_init(void);

/* Allocate `size` bytes, 16-byte aligned. Returns NULL when memory runs out
 * or size is 0 or absurdly large. */
void *kmalloc(size_t size);

/* Allocate n*size zeroed bytes; NULL on overflow or exhaustion. */
void *kcalloc(size_t n, size_t size);

/* Resize to `size` bytes keeping the contents; krealloc(NULL, n) is
 * kmalloc(n), krealloc(p, 0) frees p and returns NULL. On failure returns
 * NULL and leaves p untouched. */
void *krealloc(void *p, size_t size);

/* Free a block from kmalloc; kfree(NULL) does nothing. Panics on a double
 * free or a corrupted block header. */
void kfree(void *p);

/* Usable size of an allocated block (>= the size asked for). */
size_t kmalloc_usable_size(const void *p);

/* Flush the quick lists, then give every wholly free arena (the heap keeps
 * one for the next growth) back to the page-frame allocator, so that the
 * free-frame count is exact for leak checks. Returns the frames freed. */
uint64_t kheap_reclaim(void);

/* Fill *s with the current counters. */
void kheap_get_stats(struct kheap_stats *s);

/* Walk the whole heap checking every tag and list; panics on the first
 * inconsistency, naming it. */
void kheap_check(void);

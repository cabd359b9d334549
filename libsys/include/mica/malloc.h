/* The user-space heap: malloc and friends over pages obtained with
 * mica_mem_map from a reserved area of the address space
 * ([MICA_HEAP_BASE, MICA_HEAP_BASE + MICA_HEAP_MAX)).
 *
 * Design and costs: a first-fit allocator with boundary tags. Every block
 * has a 16-byte header (size, flags, magic) and free blocks a footer, so
 * neighbours coalesce in O(1) on free; the free list is address-unordered
 * (LIFO), so malloc is O(free blocks) and free is O(1). Payloads are
 * 16-byte aligned; the overhead is 16 bytes per block and the minimum
 * block is 48 bytes (header, two free-list links, footer). The heap grows
 * in steps of at least MICA_HEAP_GROW bytes and never shrinks. A free of a pointer that is not
 * a live block (double free, foreign pointer) or a corrupted header prints
 * "malloc: ..." and ends the task with MICA_EXIT_KILLED. Not thread-safe
 * (one thread per task). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MICA_HEAP_BASE 0x0000200000000000ull
#define MICA_HEAP_MAX  (1ull << 32)            /* 4 GiB of address space */
#define MICA_HEAP_GROW (64ull * 1024)

/* Allocate n bytes, 16-byte aligned, uninitialised; malloc(0) returns a
 * unique minimum block. NULL when the kernel refuses more pages or the
 * heap area is exhausted. */
void *malloc(size_t n);

/* Release p (NULL is ignored). p must come from malloc/calloc/realloc and
 * not be freed already: otherwise the task is ended (see above). */
void free(void *p);

/* Allocate n * size zeroed bytes; NULL on overflow or exhaustion. */
void *calloc(size_t n, size_t size);

/* Resize p to n bytes, keeping the contents up to min(old, n); grows in
 * place when the next block is free. realloc(NULL, n) = malloc(n); on
 * failure returns NULL and p is untouched. */
void *realloc(void *p, size_t n);

struct mica_heap_stats {
    uint64_t mapped;      /* bytes obtained from the kernel */
    uint64_t in_use;      /* bytes in live blocks, headers included */
    uint64_t live_blocks; /* blocks allocated and not freed */
    uint64_t free_blocks; /* blocks on the free list */
};

/* Fill *st with the current heap counters. */
void mica_heap_stats(struct mica_heap_stats *st);

/* Walk the whole heap checking every header, footer, magic and the free
 * list against the counters. Returns 0, or -1 after printing the first
 * inconsistency. For tests. */
int mica_heap_check(void);

/* The slab allocator: caches of fixed-size objects carved out of single
 * frames. Generic caches serve 32..2048-byte objects; named caches serve
 * kernel objects (threads, address spaces, endpoints). Empty slabs go back
 * to the page-frame allocator. Double free and corruption panic loudly. */
#pragma once

#include "lib/types.h"

struct slab_cache; /* opaque; see slab.c */

struct slab_stats {
    const char *name;
    size_t obj_size;       /* bytes per object, after alignment */
    uint64_t objs_in_use;  /* objects allocated now */
    uint64_t objs_free;    /* free objects inside slabs held by the cache */
    uint64_t slabs;        /* slabs (frames) held by the cache */
    uint64_t allocs, frees;
};

/* Set up the generic caches. Call once after pmm_init. */
void slab_init(void);

/* Create a named cache of objects of `size` bytes aligned to `align` (sizes
 * round up to a multiple of 32 and alignment is at least 32). Returns NULL if
 * size is 0 or too large for a one-frame slab, if align is not a power of
 * two or exceeds 2048, or when
 * memory runs out. `name` must outlive the cache. */
struct slab_cache *slab_cache_create(const char *name, size_t size, size_t align);

/* Destroy an empty cache. Panics if objects are still allocated. */
void slab_cache_destroy(struct slab_cache *c);

/* Allocate one object (uninitialised). NULL when memory runs out. */
void *slab_alloc(struct slab_cache *c);

/* Return `obj` to its cache `c`. Panics on a double free, on an object that
 * is not from `c`, or on a pointer that is not an object boundary. */
void slab_free(struct slab_cache *c, void *obj);

/* Allocate from the smallest generic cache (32..2048) that fits `size`.
 * NULL if size is 0 or > 2048, or memory runs out. */
void *slab_alloc_size(size_t size);

/* Free an object from slab_alloc_size; finds its cache from the slab header. */
void slab_free_size(void *obj);

/* Counters of one cache. */
void slab_get_stats(const struct slab_cache *c, struct slab_stats *s);

/* Give each cache's empty spare slab (the one empty slab a cache keeps,
 * see slab.c) back to the page-frame allocator, so that the free-frame
 * count is exact for leak checks. Returns the frames freed. O(caches). */
uint64_t slab_reclaim(void);

/* Check every cache's lists against its counters (slab headers intact,
 * slabs counted, objects in use = allocs - frees, full slabs full). Prints
 * one line per broken cache and returns how many broke; 0 when sound. */
uint64_t slab_check(void);

/* Call fn for every cache (generic and named), for reports and leak tests. */
void slab_for_each_cache(void (*fn)(const struct slab_cache *c, void *arg), void *arg);

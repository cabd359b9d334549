/* The slab allocator: fixed-size objects carved out of single 4 KiB frames.
 *
 * Slabs. A slab is one frame from pmm_alloc_frame, reached through the
 * direct map, with a 64-byte header at its start: a magic number, the
 * owning cache, the count of allocated objects, the head of the list of
 * free objects (linked through their first word), the links of the cache
 * list it is on, and a 128-bit bitmap of allocated objects. The slab of an
 * object is found by masking its address down to 4 KiB.
 *
 * Objects are multiples of 32 bytes and start on 32-byte boundaries, so
 * each starts in its own 32-byte granule of the frame and the bitmap has
 * one bit per granule (4096 / 32 = 128; 32-byte objects give 126 per slab).
 * Only granules where an object starts ever get a bit, so slab_free needs
 * no division: a pointer is a live object exactly when it is 32-byte
 * aligned and its granule's bit is set. That catches every double free and
 * every pointer into the middle of an object; the magic and the cache
 * pointer in the header catch foreign pointers. The price is rounding
 * object sizes up to a multiple of 32 (a 200-byte object takes 224).
 *
 * Caches. Each cache keeps a list of partial slabs (allocation takes the
 * first) and a list of full slabs. A slab whose last free object is taken
 * stays at the head of the partial list until the next allocation finds it
 * without free objects and moves it to the full list, which keeps list
 * moves out of the allocation fast path.
 *
 * Empty slabs. At most one empty slab is kept per cache: the cache's
 * "spare", which stays on the partial list where it is. A slab that
 * becomes empty turns into the spare unless the spare is itself empty, in
 * which case its frame goes back to the PMM at once. So a burst of frees
 * returns all frames but one, while an alloc/free loop (the spare going
 * between 0 and 1 objects) never leaves the fast paths and never calls the
 * PMM. Once the spare holds objects again, the next slab to become empty
 * takes its place; a spare that fills up is no longer the spare.
 *
 * Built-in caches: the generic caches "slab-32" .. "slab-2048" (powers of
 * two, 32-byte aligned) behind slab_alloc_size, and "slab_cache", which
 * supplies the struct slab_cache of every named cache. Their own structs
 * are static, so nothing needs an allocator before slab_init. Note that a
 * one-frame slab holds 3 objects of 1 KiB and 1 of 2 KiB; kmalloc suits
 * such sizes better.
 *
 * Counters: allocs and frees per cache; objects in use and free are derived.
 *
 * SMP: a spinlock per cache (taken by slab_alloc/slab_free) plus one for
 * the list of caches will protect this state; nothing here is per-CPU yet. */
#include "mm/slab.h"

#include "lib/assert.h"
#include "lib/console.h"
#include "lib/string.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "inject/inject.h"

#define SLAB_MAGIC     0x534c4142u /* "SLAB" */
#define SLAB_HDR       64u
#define GRANULE_SHIFT  5u
#define GRANULE        (1u << GRANULE_SHIFT) /* object size and alignment unit */
#define GENERIC_ALIGN  16u
#define NGENERIC       7u          /* 32 .. 2048 */
#define GENERIC_MAX    2048u

#define CACHE_BUILTIN 0x1u /* static struct, never destroyed */

struct slab {
    uint32_t magic;
    uint16_t in_use;
    bool on_full;              /* on the full list, else on the partial list */
    struct slab_cache *cache;
    void *free;                /* first free object */
    struct slab *next, *prev;  /* partial or full list of the cache */
    uint64_t bitmap[2];        /* bit g: the object starting in granule g is allocated */
};
STATIC_ASSERT(sizeof(struct slab) <= SLAB_HDR, "slab header fits its reserved space");
STATIC_ASSERT(PAGE_SIZE / GRANULE == 128, "one bitmap bit per granule of the frame");

struct slab_cache {
    struct slab *partial;      /* hot fields first */
    uint32_t obj_size;
    uint32_t first;            /* offset of object 0 in the slab */
    uint32_t capacity;         /* objects per slab */
    uint32_t flags;
    uint64_t allocs, frees;
    struct slab *full;
    struct slab *spare;        /* the one partial slab allowed to be empty */
    uint64_t nslabs;
    const char *name;
    struct slab_cache *next, *prev; /* every cache, for slab_for_each_cache */
};

static struct {
    bool ready;
    struct slab_cache *caches;
    struct slab_cache generic[NGENERIC];
    struct slab_cache cache_cache;
} slab;

static const char *const generic_names[NGENERIC] = {
    "slab-32", "slab-64", "slab-128", "slab-256", "slab-512", "slab-1024", "slab-2048",
};

static inline struct slab *slab_of(const void *obj)
{
    return (struct slab *)ALIGN_DOWN((uintptr_t)obj, PAGE_SIZE);
}

/* ---------------------------------------------------- list operations -- */

static void slab_push(struct slab **head, struct slab *s)
{
    s->prev = NULL;
    s->next = *head;
    if (s->next)
        s->next->prev = s;
    *head = s;
}

static void slab_unlink(struct slab **head, struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

/* ------------------------------------------------------- slab lifetime -- */

/* Take a frame and lay out a slab of cache `c`: every object free. */
static struct slab *slab_create(struct slab_cache *c)
{
    paddr_t pa;
    if (pmm_alloc_frame(&pa) != 0)
        return NULL;
    struct slab *s = phys_to_virt(pa);
    s->magic = SLAB_MAGIC;
    s->in_use = 0;
    s->on_full = false;
    s->cache = c;
    memset(s->bitmap, 0, sizeof(s->bitmap));
    char *obj = (char *)s + c->first;
    s->free = obj;
    for (uint32_t i = 1; i < c->capacity; i++, obj += c->obj_size)
        *(void **)obj = obj + c->obj_size;
    *(void **)obj = NULL;
    c->nslabs++;
    return s;
}

static void slab_destroy(struct slab_cache *c, struct slab *s)
{
    s->magic = 0; /* a stale pointer into the frame must not pass as an object */
    c->nslabs--;
    pmm_free_frame(virt_to_phys(s));
}

/* ------------------------------------------------------------ fast path -- */

/* The bitmap is one 128-bit string, bit g for the 32-byte granule g of the
 * frame where an object starts (bits 5..11 of its address). bts and btr
 * with a register operand address a bit string in memory directly, one
 * instruction where word, shift and mask take five: this is on every
 * allocation and free. */
static inline uint64_t granule_of(const void *obj)
{
    return ((uintptr_t)obj >> GRANULE_SHIFT) & (PAGE_SIZE / GRANULE - 1);
}

/* Mark the object starting at obj allocated. */
static inline void granule_set(struct slab *s, const void *obj)
{
    __asm__("btsq %1, %0" : "+m"(s->bitmap) : "r"(granule_of(obj)) : "cc");
}

/* Mark it free; returns whether it was marked allocated. */
static inline bool granule_clear(struct slab *s, const void *obj)
{
    bool was;
    __asm__("btrq %2, %0" : "+m"(s->bitmap), "=@ccc"(was) : "r"(granule_of(obj)));
    return was;
}

/* The fast path refused `obj`: find out why and say so. */
static __noreturn __attribute__((noinline)) void slab_bad_free(struct slab_cache *c, void *obj)
{
    struct slab *s = slab_of(obj);
    if (s->magic != SLAB_MAGIC)
        panic("slab: %p is not in a slab (magic %#x at %p), freed to cache %s", obj,
              s->magic, (void *)s, c->name);
    if (s->cache != c)
        panic("slab: %p belongs to cache %s, not %s", obj, s->cache->name, c->name);
    uint32_t off = (uint32_t)((uintptr_t)obj - (uintptr_t)s) - c->first;
    if (off >= c->capacity * c->obj_size || off % c->obj_size != 0)
        panic("slab: %p is not an object boundary in cache %s", obj, c->name);
    panic("slab: double free of %p in cache %s", obj, c->name);
}

static __noreturn __attribute__((noinline)) void slab_corrupt(struct slab *s, void *obj)
{
    panic("slab: free list of slab %p in cache %s is corrupt (object %p, in use %u)", (void *)s,
          s->cache->name, obj, s->in_use);
}

static __attribute__((noinline)) void *slab_alloc_slow(struct slab_cache *c);

/* Take obj, the first free object of partial slab s of c. */
static inline void *slab_pop(struct slab_cache *c, struct slab *s, void *obj)
{
    /* A write to a freed object's first word shows up here as a link out
     * of the slab (a full check is left to slab_free's bitmap test). */
    if (unlikely(slab_of(obj) != s))
        slab_corrupt(s, obj);
    granule_set(s, obj);
    s->free = *(void **)obj;
    s->in_use++;
    c->allocs++;
    return obj;
}

void *slab_alloc(struct slab_cache *c)
{
    struct slab *s = c->partial;
    if (unlikely(s == NULL) || INJECT_ANY(INJECT_BIT(INJECT_SLAB_ALLOC)))
        return slab_alloc_slow(c);
    void *obj = s->free;
    if (unlikely(obj == NULL))
        return slab_alloc_slow(c);
    return slab_pop(c, s, obj);
}

/* No free object at the head of the partial list: retire full slabs to
 * the full list, then take a new slab if none is left. */
static __attribute__((noinline)) void *slab_alloc_slow(struct slab_cache *c)
{
    if (INJECT(INJECT_SLAB_ALLOC, NULL)) {
        inject_report(INJECT_SLAB_ALLOC, "object of cache %s refused (NULL)", c->name);
        return NULL;
    }
    struct slab *s;
    while ((s = c->partial) != NULL && s->free == NULL) {
        slab_unlink(&c->partial, s);
        slab_push(&c->full, s);
        s->on_full = true;
        if (c->spare == s)
            c->spare = NULL; /* only partial slabs may be the spare */
    }
    if (s == NULL) {
        s = slab_create(c);
        if (s == NULL)
            return NULL;
        slab_push(&c->partial, s);
    }
    return slab_pop(c, s, s->free);
}

/* An object of slab `s` of `c` has just been freed and `s` is now empty
 * (and not the spare) or was full. */
static __attribute__((noinline)) void slab_free_moved(struct slab_cache *c, struct slab *s)
{
    if (s->on_full) {
        slab_unlink(&c->full, s);
        slab_push(&c->partial, s);
        s->on_full = false;
    }
    if (s->in_use != 0)
        return;
    if (c->spare && c->spare->in_use == 0) {
        slab_unlink(&c->partial, s);
        slab_destroy(c, s);
    } else {
        c->spare = s;
    }
}

/* Free `obj` of slab `s` (magic and cache already checked). An object
 * starts at a 32-byte boundary in a granule whose bit is set, and only
 * object starts ever get bits, so anything else is refused. */
static inline void free_obj(struct slab_cache *c, struct slab *s, void *obj)
{
    if (unlikely((uintptr_t)obj & (GRANULE - 1)))
        slab_bad_free(c, obj);
    if (unlikely(!granule_clear(s, obj)))
        slab_bad_free(c, obj);
    void *head = s->free;
    *(void **)obj = head;
    s->free = obj;
    c->frees++;
    if (unlikely(--s->in_use == 0)) {
        if (s != c->spare)
            slab_free_moved(c, s);
    } else if (unlikely(head == NULL)) {
        slab_free_moved(c, s);
    }
}

void slab_free(struct slab_cache *c, void *obj)
{
    if (unlikely(obj == NULL))
        return;
    struct slab *s = slab_of(obj);
    if (unlikely(s->magic != SLAB_MAGIC))
        slab_bad_free(c, obj);
    if (unlikely(s->cache != c))
        slab_bad_free(c, obj);
    free_obj(c, s, obj);
}

/* ---------------------------------------------------------------- caches -- */

/* Fill in the geometry of cache `c`; false if an object cannot fit a slab. */
static bool cache_setup(struct slab_cache *c, const char *name, size_t size, size_t align,
                        uint32_t flags)
{
    if (size == 0 || size > PAGE_SIZE || align > PAGE_SIZE / 2 || (align & (align - 1)))
        return false;
    align = MAX(align, GRANULE);
    uint32_t obj = (uint32_t)ALIGN_UP(size, align);
    uint32_t first = (uint32_t)ALIGN_UP((size_t)SLAB_HDR, align);
    if (obj > PAGE_SIZE - first)
        return false;
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->obj_size = obj;
    c->first = first;
    c->capacity = (uint32_t)(PAGE_SIZE - first) / obj;
    c->flags = flags;
    c->next = slab.caches;
    if (c->next)
        c->next->prev = c;
    slab.caches = c;
    return true;
}

void slab_init(void)
{
    memset(&slab, 0, sizeof(slab));
    for (unsigned i = 0; i < NGENERIC; i++)
        cache_setup(&slab.generic[i], generic_names[i], 32u << i, GENERIC_ALIGN, CACHE_BUILTIN);
    cache_setup(&slab.cache_cache, "slab_cache", sizeof(struct slab_cache), 0, CACHE_BUILTIN);
    slab.ready = true;
}

struct slab_cache *slab_cache_create(const char *name, size_t size, size_t align)
{
    KASSERT(slab.ready, "slab: cache %s created before slab_init", name);
    struct slab_cache *c = slab_alloc(&slab.cache_cache);
    if (c == NULL)
        return NULL;
    if (!cache_setup(c, name, size, align, 0)) {
        slab_free(&slab.cache_cache, c);
        return NULL;
    }
    return c;
}

void slab_cache_destroy(struct slab_cache *c)
{
    if (c->flags & CACHE_BUILTIN)
        panic("slab: cannot destroy built-in cache %s", c->name);
    if (c->allocs != c->frees)
        panic("slab: destroying cache %s with %lu objects in use", c->name,
              (unsigned long)(c->allocs - c->frees));
    KASSERT(c->full == NULL, "slab: cache %s has no objects but full slabs", c->name);
    while (c->partial) {
        struct slab *s = c->partial;
        KASSERT(s->in_use == 0, "slab: cache %s has no objects but slab %p holds %u", c->name,
                (void *)s, s->in_use);
        slab_unlink(&c->partial, s);
        slab_destroy(c, s);
    }
    KASSERT(c->nslabs == 0, "slab: cache %s lost track of %lu slabs", c->name,
            (unsigned long)c->nslabs);
    if (c->prev)
        c->prev->next = c->next;
    else
        slab.caches = c->next;
    if (c->next)
        c->next->prev = c->prev;
    slab_free(&slab.cache_cache, c);
}

void *slab_alloc_size(size_t size)
{
    if (unlikely(size - 1 >= GENERIC_MAX))
        return NULL;
    unsigned k = (unsigned)(63 - __builtin_clzll((size - 1) | 31)) - 4;
    return slab_alloc(&slab.generic[k]);
}

void slab_free_size(void *obj)
{
    if (unlikely(obj == NULL))
        return;
    struct slab *s = slab_of(obj);
    if (unlikely(s->magic != SLAB_MAGIC))
        panic("slab: slab_free_size of %p, which is not in a slab (magic %#x)", obj, s->magic);
    struct slab_cache *c = s->cache;
    if (unlikely((uintptr_t)c - (uintptr_t)slab.generic >= sizeof(slab.generic)))
        panic("slab: slab_free_size of %p from cache %s, not a generic cache", obj, c->name);
    free_obj(c, s, obj);
}

void slab_get_stats(const struct slab_cache *c, struct slab_stats *st)
{
    st->name = c->name;
    st->obj_size = c->obj_size;
    st->objs_in_use = c->allocs - c->frees;
    st->objs_free = c->nslabs * c->capacity - st->objs_in_use;
    st->slabs = c->nslabs;
    st->allocs = c->allocs;
    st->frees = c->frees;
}

/* Walk one list of cache c; adds its slabs and objects. Returns 0, or 1
 * (printed) when a header does not belong on it. */
static uint64_t check_list(const struct slab_cache *c, const struct slab *head, bool full,
                           uint64_t *slabs, uint64_t *objs)
{
    for (const struct slab *s = head; s; s = s->next) {
        if (s->magic != SLAB_MAGIC || s->cache != c || s->on_full != full ||
            s->in_use > c->capacity || (full && s->in_use != c->capacity)) {
            kprintf("slab_check: %s: %s slab %p has magic 0x%x, %u of %u objects in use\n",
                    c->name, full ? "full" : "partial", (const void *)s, s->magic, s->in_use,
                    c->capacity);
            return 1;
        }
        if (++*slabs > c->nslabs) { /* a cycle, or a counter too low */
            kprintf("slab_check: %s: more slabs on the lists than the %llu counted\n", c->name,
                    (unsigned long long)c->nslabs);
            return 1;
        }
        *objs += s->in_use;
    }
    return 0;
}

uint64_t slab_check(void)
{
    uint64_t broken = 0;
    for (struct slab_cache *c = slab.caches; c; c = c->next) {
        uint64_t slabs = 0, objs = 0;
        if (check_list(c, c->partial, false, &slabs, &objs) ||
            check_list(c, c->full, true, &slabs, &objs)) {
            broken++;
            continue;
        }
        if (slabs != c->nslabs || objs != c->allocs - c->frees) {
            kprintf("slab_check: %s: lists hold %llu slabs and %llu objects, counters say "
                    "%llu and %llu\n", c->name, (unsigned long long)slabs,
                    (unsigned long long)objs, (unsigned long long)c->nslabs,
                    (unsigned long long)(c->allocs - c->frees));
            broken++;
        }
    }
    return broken;
}

uint64_t slab_reclaim(void)
{
    uint64_t freed = 0;
    for (struct slab_cache *c = slab.caches; c; c = c->next) {
        struct slab *s = c->spare;
        if (s && s->in_use == 0) {
            c->spare = NULL;
            slab_unlink(&c->partial, s);
            slab_destroy(c, s);
            freed++;
        }
    }
    return freed;
}

void slab_for_each_cache(void (*fn)(const struct slab_cache *c, void *arg), void *arg)
{
    for (struct slab_cache *c = slab.caches, *next; c; c = next) {
        next = c->next; /* fn may destroy c */
        fn(c, arg);
    }
}

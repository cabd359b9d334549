/* Host tests of the slab allocator (microkernel/mm/slab.c) over the stub
 * page-frame allocator: randomised alloc/free sequences checked against a
 * model, frames returned to the PMM, named caches, and the panics for
 * double free, foreign, misaligned and stale pointers. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/slab.h"

/* Controls of tests/host/pmm_stub.c. */
void pmm_stub_init(uint64_t bytes);
void pmm_stub_destroy(void);
uint64_t pmm_stub_blocks_out(void);
extern int pmm_stub_fail_after;

#define SIM_BYTES (32ULL << 20)
#define NBUILTIN  8 /* slab-32 .. slab-2048 and slab_cache */

#include "rng.h"

static void setup(void)
{
    rng_state = 0x2545f4914f6cdd1dULL;
    pmm_stub_init(SIM_BYTES);
    slab_init();
}

static void teardown(void)
{
    pmm_stub_destroy();
}

static struct slab_stats stats_of(const struct slab_cache *c)
{
    struct slab_stats s;
    slab_get_stats(c, &s);
    return s;
}

/* Sum of slabs over all caches, and the number of caches. */
struct totals {
    uint64_t slabs, caches, in_use;
};

static void add_cache(const struct slab_cache *c, void *arg)
{
    struct totals *t = arg;
    struct slab_stats s = stats_of(c);
    t->slabs += s.slabs;
    t->caches++;
    t->in_use += s.objs_in_use;
}

static struct totals totals(void)
{
    struct totals t = {0};
    slab_for_each_cache(add_cache, &t);
    return t;
}

/* Every frame the stub handed out is a slab of some cache. */
static void check_frames(void)
{
    CHECK_EQ(pmm_stub_blocks_out(), totals().slabs);
}

/* Find a cache by name. */
struct find {
    const char *name;
    const struct slab_cache *found;
};

static void find_cb(const struct slab_cache *c, void *arg)
{
    struct find *f = arg;
    if (strcmp(stats_of(c).name, f->name) == 0)
        f->found = c;
}

static const struct slab_cache *find_cache(const char *name)
{
    struct find f = {name, NULL};
    slab_for_each_cache(find_cb, &f);
    return f.found;
}

static void fill(void *p, size_t n, uint64_t seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 167 + i * 13);
}

static bool verify(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (uint8_t)(seed * 167 + i * 13))
            return false;
    return true;
}

/* ----------------------------------------------------------------- tests -- */

static void test_generic_sizes(void)
{
    setup();
    CHECK(slab_alloc_size(0) == NULL);
    CHECK(slab_alloc_size(2049) == NULL);
    CHECK(slab_alloc_size(SIZE_MAX) == NULL);
    static void *p[2049];
    for (size_t n = 1; n <= 2048; n++) {
        p[n] = slab_alloc_size(n);
        CHECK(p[n] != NULL);
        CHECK(((uintptr_t)p[n] & 15) == 0);
        fill(p[n], n, n);
    }
    /* Each size went to the smallest generic cache that fits. */
    static const char *const names[] = {"slab-32", "slab-64", "slab-128", "slab-256",
                                        "slab-512", "slab-1024", "slab-2048"};
    for (unsigned k = 0; k < 7; k++) {
        const struct slab_cache *c = find_cache(names[k]);
        CHECK(c != NULL);
        if (!c)
            continue;
        struct slab_stats s = stats_of(c);
        CHECK_EQ(s.obj_size, 32u << k);
        CHECK_EQ(s.objs_in_use, k == 0 ? 32 : (16u << k));
    }
    check_frames();
    for (size_t n = 1; n <= 2048; n++) {
        CHECK(verify(p[n], n, n));
        slab_free_size(p[n]);
    }
    slab_free_size(NULL);
    struct totals t = totals();
    CHECK_EQ(t.in_use, 0);
    CHECK_EQ(t.caches, NBUILTIN);
    CHECK(t.slabs <= 7); /* at most one empty slab kept per generic cache */
    check_frames();
    teardown();
}

#define NCACHES 6
#define SLOTS   600

static void test_random_model(void)
{
    setup();
    static const struct { const char *name; size_t size, align; } spec[NCACHES] = {
        {"t-24", 24, 0}, {"t-200", 200, 0}, {"t-64a64", 64, 64},
        {"t-1000", 1000, 8}, {"t-3000", 3000, 0}, {"t-100a256", 100, 256},
    };
    struct slab_cache *cache[NCACHES + 1];
    for (int i = 0; i < NCACHES; i++) {
        cache[i] = slab_cache_create(spec[i].name, spec[i].size, spec[i].align);
        CHECK(cache[i] != NULL);
    }
    cache[NCACHES] = NULL; /* the generic caches via slab_alloc_size */
    static struct { uint8_t *p; int cache; size_t size; uint64_t seed; } live[SLOTS];
    uint64_t count[NCACHES + 1] = {0};
    memset(live, 0, sizeof(live));
    for (uint64_t op = 1; op <= 60000; op++) {
        int i = (int)(rng() % SLOTS);
        if (live[i].p) {
            CHECK(verify(live[i].p, live[i].size, live[i].seed));
            if (live[i].cache == NCACHES)
                slab_free_size(live[i].p);
            else
                slab_free(cache[live[i].cache], live[i].p);
            count[live[i].cache]--;
            live[i].p = NULL;
            continue;
        }
        int k = (int)(rng() % (NCACHES + 1));
        size_t size = k == NCACHES ? 1 + rng() % 2048 : spec[k].size;
        uint8_t *p = k == NCACHES ? slab_alloc_size(size) : slab_alloc(cache[k]);
        CHECK(p != NULL);
        if (!p)
            continue;
        size_t align = k == NCACHES ? 16 : (spec[k].align ? spec[k].align : 8);
        CHECK(((uintptr_t)p & (align - 1)) == 0);
        CHECK((uintptr_t)p - ALIGN_DOWN((uintptr_t)p, PAGE_SIZE) >= 64);   /* past the header */
        CHECK((uintptr_t)p - ALIGN_DOWN((uintptr_t)p, PAGE_SIZE) + size <= PAGE_SIZE);
        for (int j = 0; j < SLOTS; j++)
            if (live[j].p && live[j].p < p + size && p < live[j].p + live[j].size) {
                printf("# object %p+%zu overlaps %p+%zu\n", (void *)p, size, (void *)live[j].p,
                       live[j].size);
                tap_failures++;
            }
        live[i].p = p;
        live[i].cache = k;
        live[i].size = size;
        live[i].seed = op;
        fill(p, size, op);
        count[k]++;
        if (op % 5000 == 0) {
            for (int c = 0; c < NCACHES; c++)
                CHECK_EQ(stats_of(cache[c]).objs_in_use, count[c]);
            check_frames();
        }
    }
    for (int i = 0; i < SLOTS; i++)
        if (live[i].p) {
            CHECK(verify(live[i].p, live[i].size, live[i].seed));
            if (live[i].cache == NCACHES)
                slab_free_size(live[i].p);
            else
                slab_free(cache[live[i].cache], live[i].p);
        }
    for (int c = 0; c < NCACHES; c++) {
        struct slab_stats s = stats_of(cache[c]);
        CHECK_EQ(s.objs_in_use, 0);
        CHECK(s.slabs <= 1);
        slab_cache_destroy(cache[c]);
    }
    CHECK_EQ(totals().in_use, 0);
    CHECK_EQ(totals().caches, NBUILTIN);
    check_frames();
    teardown();
}

static void test_empty_slabs_returned(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("test-obj", 200, 0);
    CHECK(c != NULL);
    struct pmm_stats p0;
    pmm_get_stats(&p0);
    uint64_t base = pmm_stub_blocks_out();
    static void *obj[2000];
    for (int i = 0; i < 2000; i++)
        obj[i] = slab_alloc(c);
    struct slab_stats s = stats_of(c);
    CHECK_EQ(s.obj_size, 224);
    CHECK_EQ(s.objs_in_use, 2000);
    CHECK_EQ(s.slabs, (2000 + 17) / 18); /* 18 objects of 224 bytes per slab */
    CHECK_EQ(pmm_stub_blocks_out(), base + s.slabs);
    /* Free in a scattered order so slabs go full -> partial -> empty. */
    for (int i = 0; i < 2000; i += 2)
        slab_free(c, obj[i]);
    CHECK_EQ(stats_of(c).slabs, s.slabs);
    for (int i = 1; i < 2000; i += 2)
        slab_free(c, obj[i]);
    s = stats_of(c);
    CHECK_EQ(s.objs_in_use, 0);
    CHECK_EQ(s.slabs, 1); /* one empty slab is kept */
    CHECK_EQ(s.objs_free, 18);
    CHECK_EQ(pmm_stub_blocks_out(), base + 1);
    slab_cache_destroy(c);
    struct pmm_stats p1;
    pmm_get_stats(&p1);
    /* The cache struct went back to "slab_cache"; its slab is kept empty. */
    CHECK_EQ(p1.free, p0.free);
    CHECK_EQ(stats_of(find_cache("slab_cache")).objs_in_use, 0);
    check_frames();
    teardown();
}

static void test_alloc_free_loop_keeps_one_slab(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("loop", 512, 0);
    CHECK(c != NULL);
    void *full[7];
    for (int i = 0; i < 7; i++) /* (4096 - 512) / 512 = 7 objects fill one slab */
        full[i] = slab_alloc(c);
    CHECK_EQ(stats_of(c).slabs, 1);
    uint64_t base = pmm_stub_blocks_out();
    void *first = slab_alloc(c);
    for (int i = 0; i < 1000; i++) {
        void *p = i ? slab_alloc(c) : first;
        CHECK(p == first);
        slab_free(c, p);
        CHECK_EQ(pmm_stub_blocks_out(), base + 1);
    }
    CHECK_EQ(stats_of(c).slabs, 2);
    for (int i = 0; i < 7; i++)
        slab_free(c, full[i]);
    CHECK_EQ(stats_of(c).slabs, 1);
    CHECK_EQ(pmm_stub_blocks_out(), base);
    slab_cache_destroy(c);
    check_frames();
    teardown();
}

static void test_full_slab_reused_after_free(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("refill", 1000, 0); /* 3 per slab */
    void *a[3], *b0;
    for (int i = 0; i < 3; i++)
        a[i] = slab_alloc(c);
    b0 = slab_alloc(c); /* the first slab is full: a second one is taken */
    CHECK_EQ(stats_of(c).slabs, 2);
    CHECK(ALIGN_DOWN((uintptr_t)b0, PAGE_SIZE) != ALIGN_DOWN((uintptr_t)a[0], PAGE_SIZE));
    /* Freeing into the full slab makes it the first partial slab again. */
    slab_free(c, a[1]);
    CHECK(slab_alloc(c) == a[1]);
    slab_free(c, a[2]);
    slab_free(c, b0);
    CHECK(slab_alloc(c) == a[2]);
    CHECK_EQ(stats_of(c).slabs, 2); /* the emptied second slab is kept */
    CHECK_EQ(pmm_stub_blocks_out(), totals().slabs);
    for (int i = 0; i < 3; i++)
        slab_free(c, a[i]);
    CHECK_EQ(stats_of(c).slabs, 1);
    slab_cache_destroy(c);
    check_frames();
    teardown();
}

static void test_spare_slab_policy(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("spare", 1000, 0); /* 3 per slab */
    void *a[3], *b[3];
    for (int i = 0; i < 3; i++)
        a[i] = slab_alloc(c);
    for (int i = 0; i < 3; i++)
        b[i] = slab_alloc(c);
    for (int i = 0; i < 3; i++)
        slab_free(c, b[i]); /* b's slab is empty: kept as the spare */
    CHECK_EQ(stats_of(c).slabs, 2);
    void *x = slab_alloc(c); /* the spare holds an object again */
    CHECK(x == b[2]);
    for (int i = 0; i < 3; i++)
        slab_free(c, a[i]); /* a's slab empties while the spare is in use: kept */
    CHECK_EQ(stats_of(c).slabs, 2);
    slab_free(c, x); /* now two would be empty: one goes back */
    CHECK_EQ(stats_of(c).slabs, 1);
    check_frames();
    slab_cache_destroy(c);
    check_frames();
    teardown();
}

/* slab_reclaim gives back exactly the empty spares, in every cache. */
static void test_reclaim_frees_empty_spares(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("reclaim", 1000, 0); /* 3 per slab */
    struct slab_cache *d = slab_cache_create("busy", 1000, 0);
    void *a[6], *live = slab_alloc(d);
    for (int i = 0; i < 6; i++)
        a[i] = slab_alloc(c);
    for (int i = 0; i < 6; i++)
        slab_free(c, a[i]); /* one slab freed at once, one kept as the spare */
    CHECK_EQ(stats_of(c).slabs, 1);
    uint64_t out = pmm_stub_blocks_out();
    uint64_t freed = slab_reclaim();
    CHECK(freed >= 1);
    CHECK_EQ(stats_of(c).slabs, 0);
    CHECK_EQ(stats_of(d).slabs, 1); /* a slab holding an object stays */
    CHECK_EQ(pmm_stub_blocks_out(), out - freed);
    void *again = slab_alloc(c); /* the cache grows again as usual */
    CHECK(again != NULL);
    CHECK_EQ(stats_of(c).slabs, 1);
    slab_free(c, again);
    slab_free(d, live);
    check_frames();
    slab_cache_destroy(c);
    slab_cache_destroy(d);
    check_frames();
    teardown();
}

static void test_exhaustion(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("exhaust", 992, 0);
    CHECK(c != NULL);
    static void *obj[100];
    pmm_stub_fail_after = 3; /* three more slabs, then nothing */
    int n = 0;
    while (n < 100 && (obj[n] = slab_alloc(c)) != NULL)
        n++;
    CHECK_EQ(n, 3 * 4); /* 4 objects of 992 bytes per slab */
    CHECK(slab_alloc(c) == NULL);
    CHECK(slab_alloc_size(100) == NULL);
    /* The cache struct fits the existing "slab_cache" slab; objects do not. */
    struct slab_cache *nm = slab_cache_create("nomem", 64, 0);
    CHECK(nm != NULL);
    CHECK(slab_alloc(nm) == NULL);
    slab_cache_destroy(nm);
    struct slab_stats s = stats_of(c);
    CHECK_EQ(s.objs_in_use, 12);
    CHECK_EQ(s.objs_free, 0);
    for (int i = 0; i < n; i++)
        memset(obj[i], i, 992);
    for (int i = 0; i < n; i++) {
        CHECK(((uint8_t *)obj[i])[991] == i);
        slab_free(c, obj[i]);
    }
    pmm_stub_fail_after = -1;
    void *p = slab_alloc(c);
    CHECK(p != NULL);
    slab_free(c, p);
    slab_cache_destroy(c);
    check_frames();
    teardown();
}

static void test_cache_create_limits(void)
{
    setup();
    CHECK(slab_cache_create("zero", 0, 0) == NULL);
    CHECK(slab_cache_create("huge", 4097, 0) == NULL);
    CHECK(slab_cache_create("too-big", 4033, 0) == NULL);
    CHECK(slab_cache_create("bad-align", 64, 3) == NULL);
    CHECK(slab_cache_create("huge-align", 64, 4096) == NULL);
    CHECK_EQ(stats_of(find_cache("slab_cache")).objs_in_use, 0);
    struct slab_cache *max = slab_cache_create("max", 4032, 0);
    CHECK(max != NULL);
    struct slab_cache *a2k = slab_cache_create("align-2k", 100, 2048);
    CHECK(a2k != NULL);
    struct slab_cache *tiny = slab_cache_create("tiny", 1, 0);
    CHECK(tiny != NULL);
    CHECK_EQ(stats_of(tiny).obj_size, 32);
    void *m = slab_alloc(max), *a = slab_alloc(a2k), *b = slab_alloc(a2k), *t = slab_alloc(tiny);
    CHECK(m && a && b && t);
    CHECK(((uintptr_t)a & 2047) == 0 && ((uintptr_t)b & 2047) == 0);
    CHECK(ALIGN_DOWN((uintptr_t)a, PAGE_SIZE) != ALIGN_DOWN((uintptr_t)b, PAGE_SIZE));
    memset(m, 0xee, 4032);
    CHECK_EQ(stats_of(max).slabs, 1);
    CHECK(find_cache("max") == max && find_cache("align-2k") == a2k);
    CHECK_EQ(totals().caches, NBUILTIN + 3);
    slab_free(max, m);
    slab_free(a2k, a);
    slab_free(a2k, b);
    slab_free(tiny, t);
    slab_cache_destroy(max);
    slab_cache_destroy(a2k);
    slab_cache_destroy(tiny);
    CHECK(find_cache("max") == NULL);
    CHECK_EQ(totals().caches, NBUILTIN);
    check_frames();
    teardown();
}

static void test_destroy_panics(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("busy", 64, 0);
    void *p = slab_alloc(c);
    EXPECT_PANIC(slab_cache_destroy(c));
    CHECK(strstr(tap_last_panic, "busy") && strstr(tap_last_panic, "1 objects in use"));
    slab_free(c, p);
    slab_cache_destroy(c);
    EXPECT_PANIC(slab_cache_destroy((struct slab_cache *)(uintptr_t)find_cache("slab-64")));
    CHECK(strstr(tap_last_panic, "built-in") != NULL);
    teardown();
}

static void test_double_free_panics(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("dbl", 48, 0);
    void *a = slab_alloc(c), *b = slab_alloc(c);
    slab_free(c, a);
    EXPECT_PANIC(slab_free(c, a));
    CHECK(strstr(tap_last_panic, "slab: double free of") && strstr(tap_last_panic, "in cache dbl"));
    void *g = slab_alloc_size(100);
    slab_free_size(g);
    EXPECT_PANIC(slab_free_size(g));
    CHECK(strstr(tap_last_panic, "slab: double free of") &&
          strstr(tap_last_panic, "in cache slab-128"));
    /* Freeing the last object makes the slab the cached empty one; a second
     * free is still caught by the bitmap. */
    slab_free(c, b);
    EXPECT_PANIC(slab_free(c, b));
    CHECK(strstr(tap_last_panic, "double free") != NULL);
    CHECK_EQ(stats_of(c).objs_in_use, 0);
    teardown();
}

static void test_foreign_pointer_panics(void)
{
    setup();
    struct slab_cache *x = slab_cache_create("cache-x", 64, 0);
    struct slab_cache *y = slab_cache_create("cache-y", 64, 0);
    void *px = slab_alloc(x);
    void *py = slab_alloc(y);
    EXPECT_PANIC(slab_free(y, px));
    CHECK(strstr(tap_last_panic, "belongs to cache cache-x, not cache-y") != NULL);
    /* A frame that is not a slab. */
    paddr_t pa;
    CHECK_EQ(pmm_alloc_frame(&pa), 0);
    uint8_t *frame = phys_to_virt(pa);
    memset(frame, 0, PAGE_SIZE);
    EXPECT_PANIC(slab_free(x, frame + 128));
    CHECK(strstr(tap_last_panic, "is not in a slab") != NULL);
    EXPECT_PANIC(slab_free_size(frame + 128));
    CHECK(strstr(tap_last_panic, "not in a slab") != NULL);
    /* A named cache's object handed to slab_free_size. */
    EXPECT_PANIC(slab_free_size(px));
    CHECK(strstr(tap_last_panic, "not a generic cache") != NULL);
    /* A slab whose magic was overwritten. */
    uint32_t *magic = (uint32_t *)ALIGN_DOWN((uintptr_t)py, PAGE_SIZE);
    uint32_t saved = *magic;
    *magic = 0xdeadbeef;
    EXPECT_PANIC(slab_free(y, py));
    CHECK(strstr(tap_last_panic, "is not in a slab (magic 0xdeadbeef") != NULL);
    *magic = saved;
    /* A stale pointer into a slab whose frame went back to the PMM. */
    static void *objs[200];
    static int n;
    while (n < 200 && stats_of(y).slabs < 3)
        objs[n++] = slab_alloc(y);
    for (int i = n - 1; i >= 0; i--)
        slab_free(y, objs[i]);
    /* The last object was alone in the third slab, now the cached empty
     * one; the second slab was given back. */
    CHECK_EQ(stats_of(y).slabs, 2);
    EXPECT_PANIC(slab_free(y, objs[n - 2]));
    CHECK(strstr(tap_last_panic, "not in a slab") != NULL);
    slab_free(x, px);
    slab_free(y, py);
    teardown();
}

static void test_misaligned_pointer_panics(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("mis", 64, 0);
    uint8_t *p = slab_alloc(c);
    uint8_t *base = (uint8_t *)ALIGN_DOWN((uintptr_t)p, PAGE_SIZE);
    EXPECT_PANIC(slab_free(c, p + 1));
    CHECK(strstr(tap_last_panic, "is not an object boundary in cache mis") != NULL);
    EXPECT_PANIC(slab_free(c, p + 32)); /* 32-byte aligned, inside the object */
    CHECK(strstr(tap_last_panic, "not an object boundary") != NULL);
    EXPECT_PANIC(slab_free(c, base + 32)); /* inside the slab header */
    CHECK(strstr(tap_last_panic, "not an object boundary") != NULL);
    struct slab_cache *d = slab_cache_create("slack", 1000, 0); /* 3 objects of 1024 */
    uint8_t *q = slab_alloc(d);
    uint8_t *dbase = (uint8_t *)ALIGN_DOWN((uintptr_t)q, PAGE_SIZE);
    EXPECT_PANIC(slab_free(d, dbase + 64 + 3 * 1024)); /* past the last object */
    CHECK(strstr(tap_last_panic, "not an object boundary") != NULL);
    CHECK_EQ(stats_of(c).objs_in_use, 1);
    slab_free(c, p);
    slab_free(d, q);
    teardown();
}

static void test_free_list_corruption_detected(void)
{
    setup();
    struct slab_cache *c = slab_cache_create("uaf", 64, 0);
    void *a = slab_alloc(c);
    (void)slab_alloc(c);
    slab_free(c, a);
    static uint8_t elsewhere[64];
    *(void **)a = elsewhere; /* a write after free into the link */
    CHECK(slab_alloc(c) == a);
    EXPECT_PANIC(slab_alloc(c));
    CHECK(strstr(tap_last_panic, "free list of slab") && strstr(tap_last_panic, "corrupt"));
    teardown();
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_generic_sizes),
        TAP(test_random_model),
        TAP(test_empty_slabs_returned),
        TAP(test_alloc_free_loop_keeps_one_slab),
        TAP(test_full_slab_reused_after_free),
        TAP(test_spare_slab_policy),
        TAP(test_reclaim_frees_empty_spares),
        TAP(test_exhaustion),
        TAP(test_cache_create_limits),
        TAP(test_destroy_panics),
        TAP(test_double_free_panics),
        TAP(test_foreign_pointer_panics),
        TAP(test_misaligned_pointer_panics),
        TAP(test_free_list_corruption_detected),
    };
    return tap_run(tests, (int)ARRAY_SIZE(tests));
}

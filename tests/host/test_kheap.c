/* Host tests of the kernel heap (microkernel/mm/kheap.c) over the stub
 * page-frame allocator: randomised operation sequences checked against a
 * model of live blocks, coalescing, arena return, exhaustion, and the
 * panics for double free and corrupted headers. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "mm/kheap.h"
#include "mm/pmm.h"

/* Controls of tests/host/pmm_stub.c. */
void pmm_stub_init(uint64_t bytes);
void pmm_stub_destroy(void);
uint64_t pmm_stub_blocks_out(void);
extern int pmm_stub_fail_after;

#define SIM_BYTES      (64ULL << 20)
#define ARENA_OVERHEAD 64   /* start fence + end fence with descriptor */
#define HDR            16

#include "rng.h"

static void setup(void)
{
    rng_state = 0x9e3779b97f4a7c15ULL;
    pmm_stub_init(SIM_BYTES);
    kheap_init();
}

static void teardown(void)
{
    pmm_stub_destroy();
}

static struct kheap_stats stats(void)
{
    struct kheap_stats s;
    kheap_get_stats(&s);
    return s;
}

/* A deterministic pattern per (seed, offset), written a word at a time so
 * that multi-megabyte blocks stay cheap to fill and verify. */
static uint64_t pat_word(uint32_t seed, size_t w)
{
    return (seed + 1) * 0x9e3779b97f4a7c15ULL + w * 0xbf58476d1ce4e5b9ULL;
}

static void fill(void *p, size_t n, uint32_t seed)
{
    uint64_t *w = p;
    size_t i;
    for (i = 0; i < n / 8; i++)
        w[i] = pat_word(seed, i);
    uint64_t last = pat_word(seed, i);
    memcpy((uint8_t *)p + i * 8, &last, n % 8);
}

static bool verify(const void *p, size_t n, uint32_t seed)
{
    const uint64_t *w = p;
    size_t i;
    for (i = 0; i < n / 8; i++)
        if (w[i] != pat_word(seed, i))
            return false;
    uint64_t last = pat_word(seed, i);
    return memcmp((const uint8_t *)p + i * 8, &last, n % 8) == 0;
}

/* A random request size: mostly small, some medium, a few multi-page. */
static size_t random_size(void)
{
    uint64_t r = rng() % 100;
    if (r < 60)
        return 1 + rng() % 2048;
    if (r < 90)
        return 2049 + rng() % 30000;
    if (r < 99)
        return 32768 + rng() % 200000;
    return 262144 + rng() % (2u << 20);
}

/* ------------------------------------------------------------- the model -- */

#define SLOTS 384

struct live {
    uint8_t *p;
    size_t size;  /* bytes requested (and patterned) */
    uint32_t seed;
};

static struct live model[SLOTS];

static void model_reset(void)
{
    memset(model, 0, sizeof(model));
}

/* Check a new block against the model: alignment, usable size, no overlap. */
static void model_check_new(int slot, void *p, size_t size)
{
    CHECK(((uintptr_t)p & (KHEAP_ALIGN - 1)) == 0);
    size_t usable = kmalloc_usable_size(p);
    CHECK(usable >= size);
    uint8_t *a = p;
    for (int i = 0; i < SLOTS; i++) {
        if (i == slot || !model[i].p)
            continue;
        uint8_t *b = model[i].p;
        size_t bu = kmalloc_usable_size(b);
        if (a < b + bu + HDR && b < a + usable + HDR) {
            printf("# block %p+%zu overlaps %p+%zu\n", (void *)a, usable, (void *)b, bu);
            tap_failures++;
        }
    }
}

static void model_check_stats(void)
{
    struct kheap_stats s = stats();
    uint64_t n = 0, payload = 0;
    for (int i = 0; i < SLOTS; i++)
        if (model[i].p) {
            n++;
            payload += kmalloc_usable_size(model[i].p);
        }
    CHECK_EQ(s.allocs - s.frees, n);
    CHECK_EQ(s.bytes_in_use, payload);
    CHECK(s.bytes_in_use + s.bytes_free <= s.bytes_arena);
}

static void model_free(int i)
{
    if (!verify(model[i].p, model[i].size, model[i].seed)) {
        printf("# contents of %p (%zu bytes) changed while live\n", (void *)model[i].p, model[i].size);
        tap_failures++;
    }
    kfree(model[i].p);
    model[i].p = NULL;
}

static void model_op(uint32_t op_seed)
{
    int i = (int)(rng() % SLOTS);
    struct live *m = &model[i];
    uint64_t op = rng() % 10;
    if (!m->p) {
        size_t size = random_size();
        void *p;
        if (op < 2) {
            size_t cnt = 1 + rng() % 4, elem = (size + cnt - 1) / cnt;
            p = kcalloc(cnt, elem);
            for (size_t j = 0; p && j < cnt * elem; j++)
                if (((uint8_t *)p)[j] != 0) {
                    CHECK(!"kcalloc returned dirty memory");
                    break;
                }
        } else {
            p = kmalloc(size);
        }
        CHECK(p != NULL);
        if (!p)
            return;
        model_check_new(i, p, size);
        m->p = p;
        m->size = size;
        m->seed = op_seed;
        fill(p, size, op_seed);
    } else if (op < 6) {
        model_free(i);
    } else {
        size_t size = random_size();
        uint8_t *q = krealloc(m->p, size);
        CHECK(q != NULL);
        if (!q)
            return;
        size_t keep = size < m->size ? size : m->size;
        CHECK(verify(q, keep, m->seed));
        m->p = NULL;
        model_check_new(i, q, size);
        m->p = q;
        m->size = size;
        m->seed = op_seed;
        fill(q, size, op_seed);
    }
}

static void model_free_all(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (model[i].p)
            model_free(i);
}

/* After everything is freed: one arena is left, and it is one block. */
static void check_all_merged(void)
{
    /* A request larger than every cached block flushes the quick lists. */
    void *big = kmalloc(8u << 20);
    CHECK(big == NULL);
    kheap_check();
    struct kheap_stats s = stats();
    CHECK_EQ(s.allocs, s.frees);
    CHECK_EQ(s.bytes_in_use, 0);
    CHECK_EQ(pmm_stub_blocks_out(), 1);
    CHECK_EQ(s.bytes_free, s.bytes_arena - ARENA_OVERHEAD * pmm_stub_blocks_out());
    /* The whole arena is one free block: its full size is allocatable
     * without taking another block from the PMM. */
    size_t whole = s.bytes_arena - ARENA_OVERHEAD - HDR;
    void *p = kmalloc(whole);
    CHECK(p != NULL);
    CHECK_EQ(pmm_stub_blocks_out(), 1);
    CHECK_EQ(stats().bytes_free, 0);
    kfree(p);
    kheap_check();
}

/* ----------------------------------------------------------------- tests -- */

static void test_zero_and_absurd_sizes(void)
{
    setup();
    CHECK(kmalloc(0) == NULL);
    CHECK(kmalloc((1ULL << 30) + 1) == NULL);
    CHECK(kmalloc(SIZE_MAX) == NULL);
    CHECK(kmalloc(SIZE_MAX - 8) == NULL);
    CHECK(kcalloc(SIZE_MAX / 2, 3) == NULL);
    CHECK(kcalloc(1ULL << 32, 1ULL << 32) == NULL);
    CHECK(kcalloc(0, 16) == NULL);
    CHECK_EQ(stats().failures, 5);
    CHECK_EQ(pmm_stub_blocks_out(), 0);
    kfree(NULL);
    CHECK_EQ(kmalloc_usable_size(NULL), 0);
    void *p = krealloc(NULL, 100);
    CHECK(p != NULL);
    CHECK(krealloc(p, SIZE_MAX) == NULL); /* p is untouched */
    CHECK(kmalloc_usable_size(p) >= 100);
    CHECK(krealloc(p, 0) == NULL);       /* frees p */
    struct kheap_stats s = stats();
    CHECK_EQ(s.allocs, 1);
    CHECK_EQ(s.frees, 1);
    kheap_check();
    teardown();
}

static void test_classes_and_alignment(void)
{
    setup();
    static const size_t sizes[] = {1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 128, 129, 255,
                                   256, 257, 511, 512, 513, 1000, 1023, 1024, 1025, 2047, 2048,
                                   2049, 2064, 3000, 4080, 4096, 4097, 8192, 65536, 100000,
                                   1u << 20, (4u << 20) - 4096};
    void *ptrs[ARRAY_SIZE(sizes)];
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        ptrs[i] = kmalloc(sizes[i]);
        CHECK(ptrs[i] != NULL);
        CHECK(((uintptr_t)ptrs[i] & 15) == 0);
        size_t u = kmalloc_usable_size(ptrs[i]);
        CHECK(u >= sizes[i]);
        if (sizes[i] <= 2048) {
            /* Small requests get a power-of-two class of at least 32. */
            size_t cls = 32;
            while (cls < sizes[i])
                cls <<= 1;
            CHECK_EQ(u, cls);
        } else {
            CHECK(u < sizes[i] + 16 + 48);
        }
        fill(ptrs[i], u, (uint32_t)i);
    }
    kheap_check();
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        CHECK(verify(ptrs[i], kmalloc_usable_size(ptrs[i]), (uint32_t)i));
        kfree(ptrs[i]);
    }
    kheap_check();
    CHECK(kmalloc(4u << 20) == NULL); /* beyond the largest arena */
    check_all_merged();
    teardown();
}

static void test_random_model(void)
{
    setup();
    model_reset();
    for (uint32_t n = 1; n <= 30000; n++) {
        model_op(n);
        if (n % 1000 == 0) {
            kheap_check();
            model_check_stats();
        }
    }
    model_free_all();
    kheap_check();
    model_check_stats();
    check_all_merged();
    teardown();
}

/* Small blocks only: exercises the quick lists and their flushing. */
static void test_random_small_churn(void)
{
    setup();
    static void *ptr[4096];
    static uint32_t seed[4096];
    static size_t size[4096];
    for (uint32_t n = 1; n <= 200000; n++) {
        int i = (int)(rng() % 4096);
        if (ptr[i]) {
            CHECK(verify(ptr[i], size[i], seed[i]));
            kfree(ptr[i]);
            ptr[i] = NULL;
        } else {
            size[i] = 1 + rng() % 2048;
            ptr[i] = kmalloc(size[i]);
            CHECK(ptr[i] != NULL);
            seed[i] = n;
            fill(ptr[i], size[i], n);
        }
        if (n % 20000 == 0)
            kheap_check();
    }
    for (int i = 0; i < 4096; i++)
        if (ptr[i]) {
            CHECK(verify(ptr[i], size[i], seed[i]));
            kfree(ptr[i]);
            ptr[i] = NULL;
        }
    check_all_merged();
    teardown();
}

static void test_coalesce_neighbours(void)
{
    setup();
    /* 3000-byte requests are not quick sizes: freed blocks merge at once. */
    uint8_t *a = kmalloc(3000), *b = kmalloc(3000), *c = kmalloc(3000), *d = kmalloc(3000);
    size_t step = kmalloc_usable_size(a) + HDR;
    CHECK(b == a + step && c == b + step && d == c + step);
    struct kheap_stats before = stats();
    kfree(a);
    kfree(c);
    CHECK_EQ(stats().bytes_free, before.bytes_free + 2 * step);
    kfree(b); /* merges with a before and c after */
    kheap_check();
    CHECK_EQ(stats().bytes_free, before.bytes_free + 3 * step);
    /* The merged block is reused in place for a request that needs all of it. */
    void *abc = kmalloc(3 * step - HDR);
    CHECK(abc == a);
    kfree(abc);
    kfree(d);
    check_all_merged();
    teardown();
}

static void test_realloc_in_place(void)
{
    setup();
    uint8_t *a = kmalloc(3000), *b = kmalloc(3000), *c = kmalloc(3000);
    fill(a, 3000, 1);
    kfree(b);
    /* Grow into the free block after it. */
    uint8_t *a2 = krealloc(a, 5000);
    CHECK(a2 == a);
    CHECK(verify(a2, 3000, 1));
    kheap_check();
    /* Shrink: the tail goes back to the free lists and merges. */
    struct kheap_stats s0 = stats();
    uint8_t *a3 = krealloc(a2, 100);
    CHECK(a3 == a);
    CHECK(verify(a3, 100, 1));
    CHECK_EQ(kmalloc_usable_size(a3), 128);
    CHECK(stats().bytes_free > s0.bytes_free);
    kheap_check();
    /* Grow where the next block is in use: moves, keeping the contents. */
    uint8_t *x = kmalloc(200);
    fill(x, 200, 9);
    uint8_t *y = kmalloc(200);
    uint8_t *x2 = krealloc(x, 20000);
    CHECK(x2 != NULL && x2 != x);
    CHECK(verify(x2, 200, 9));
    /* A shrink that would leave less than a block stays as it is. */
    CHECK(krealloc(x2, 19990) == x2);
    kfree(x2);
    kfree(y);
    kfree(a3);
    kfree(c);
    kheap_check();
    check_all_merged();
    teardown();
}

static void test_kcalloc_zeroes(void)
{
    setup();
    for (size_t n = 1; n < 6000; n = n * 3 + 1) {
        uint8_t *p = kmalloc(n * 4);
        memset(p, 0xa5, n * 4);
        kfree(p);
        uint8_t *q = kcalloc(n, 4);
        CHECK(q != NULL);
        for (size_t i = 0; i < n * 4; i++)
            if (q[i]) {
                CHECK(!"kcalloc memory not zero");
                break;
            }
        kfree(q);
    }
    kheap_check();
    teardown();
}

static void test_exhaustion(void)
{
    setup();
    static void *ptr[20000];
    int n = 0;
    pmm_stub_fail_after = 5;
    uint64_t fails_before = stats().failures;
    for (;;) {
        size_t size = (n % 3 == 0) ? 5000 : (size_t)(1 + n % 2000);
        void *p = kmalloc(size);
        if (!p)
            break;
        CHECK(n < 20000);
        if (n >= 20000)
            break;
        memset(p, n & 0xff, size);
        ptr[n++] = p;
    }
    CHECK(n > 100);
    CHECK_EQ(pmm_stub_blocks_out(), 5);
    CHECK_EQ(stats().failures, fails_before + 1);
    kheap_check();
    /* Nothing was damaged: every block still holds its byte. */
    for (int i = 0; i < n; i++) {
        size_t size = (i % 3 == 0) ? 5000 : (size_t)(1 + i % 2000);
        uint8_t *b = ptr[i];
        CHECK(b[0] == (i & 0xff) && b[size - 1] == (i & 0xff));
    }
    /* Free half, allocation works again from the freed space. */
    for (int i = 0; i < n; i += 2)
        kfree(ptr[i]);
    void *p = kmalloc(1000);
    CHECK(p != NULL);
    kfree(p);
    CHECK(kmalloc(1u << 20) == NULL); /* still no new arena */
    pmm_stub_fail_after = -1;
    p = kmalloc(1u << 20);
    CHECK(p != NULL);
    kfree(p);
    for (int i = 1; i < n; i += 2)
        kfree(ptr[i]);
    kheap_check();
    check_all_merged();
    teardown();
}

static void test_small_pmm_blocks_only(void)
{
    rng_state = 1;
    pmm_stub_init(1ULL << 20);
    kheap_init();
    /* Take every frame, then give back two scattered ones: no 64 KiB block
     * is left, but a one-frame arena fits a small request. */
    static paddr_t frames[256];
    int n = 0;
    while (n < 256 && pmm_alloc_frame(&frames[n]) == 0)
        n++;
    CHECK(n > 200);
    pmm_free_frame(frames[10]);
    pmm_free_frame(frames[100]);
    void *p = kmalloc(100), *q = kmalloc(100);
    CHECK(p != NULL && q != NULL);
    CHECK_EQ(stats().bytes_arena, PAGE_SIZE);
    CHECK(kmalloc(5000) == NULL); /* needs two contiguous frames */
    kheap_check();
    kfree(p);
    kfree(q);
    kheap_check();
    teardown();
}

static void test_arenas_returned(void)
{
    setup();
    struct pmm_stats ps0;
    pmm_get_stats(&ps0);
    static void *ptr[6000];
    /* Many arenas' worth of quick-sized blocks, freed again. */
    for (int i = 0; i < 6000; i++)
        ptr[i] = kmalloc(1024);
    CHECK(pmm_stub_blocks_out() > 50);
    for (int i = 0; i < 6000; i++)
        kfree(ptr[i]);
    kheap_check();
    /* The quick lists were flushed as they grew: little is still held. */
    CHECK(pmm_stub_blocks_out() <= 4);
    check_all_merged();
    /* A large block allocated and freed in a loop reuses the cached arena. */
    for (int i = 0; i < 100; i++) {
        void *big = kmalloc(1u << 20);
        CHECK(big != NULL);
        kfree(big);
    }
    CHECK(pmm_stub_blocks_out() <= 2);
    struct pmm_stats ps;
    pmm_get_stats(&ps);
    CHECK_EQ(ps0.free - ps.free, stats().bytes_arena / PAGE_SIZE);
    kheap_check();
    teardown();
}

/* kheap_reclaim leaves nothing behind once every block is freed: quick
 * lists flushed, the kept empty arena returned; live blocks stay valid. */
static void test_reclaim_returns_every_free_arena(void)
{
    setup();
    uint64_t out0 = pmm_stub_blocks_out();
    static void *ptr[200];
    for (int i = 0; i < 200; i++)
        ptr[i] = kmalloc(i % 2 ? 64 : 3000); /* quick and coalescing sizes */
    void *keep = kmalloc(100);
    CHECK(keep != NULL);
    memset(keep, 0x5a, 100);
    for (int i = 0; i < 200; i++)
        kfree(ptr[i]);
    CHECK(pmm_stub_blocks_out() > out0 + 1); /* quick lists and the spare hold some */
    CHECK(kheap_reclaim() > 0);
    kheap_check();
    CHECK_EQ(pmm_stub_blocks_out(), out0 + 1); /* only the arena of `keep` */
    CHECK_EQ(((unsigned char *)keep)[99], 0x5a);
    CHECK_EQ(kheap_reclaim(), 0); /* nothing left to give */
    kfree(keep);
    kheap_reclaim();
    CHECK_EQ(pmm_stub_blocks_out(), out0);
    CHECK_EQ(stats().bytes_arena, 0);
    kheap_check();
    teardown();
}

static void test_double_free_panics(void)
{
    setup();
    void *small = kmalloc(64);  /* quick size */
    void *large = kmalloc(5000);
    void *guard = kmalloc(5000);
    kfree(small);
    EXPECT_PANIC(kfree(small));
    CHECK(strstr(tap_last_panic, "kheap: double free of") != NULL);
    kfree(large);
    EXPECT_PANIC(kfree(large));
    CHECK(strstr(tap_last_panic, "kheap: double free of") != NULL);
    /* Freed and merged into its free neighbour: still detected. */
    kfree(guard);
    EXPECT_PANIC(kfree(guard));
    CHECK(strstr(tap_last_panic, "kheap: double free of") != NULL);
    EXPECT_PANIC(krealloc(large, 10));
    CHECK(strstr(tap_last_panic, "free block") != NULL);
    EXPECT_PANIC(kmalloc_usable_size(small));
    kheap_check();
    teardown();
}

static void test_corrupted_header_panics(void)
{
    setup();
    uint8_t *a = kmalloc(100);
    uint8_t *b = kmalloc(3000);
    memset(a - HDR, 0x41, 8); /* scribble over the size word */
    EXPECT_PANIC(kfree(a));
    CHECK(strstr(tap_last_panic, "kheap: corrupted header at") != NULL);
    uint64_t *canary = (uint64_t *)(b - 8);
    *canary ^= 1;
    EXPECT_PANIC(kfree(b));
    CHECK(strstr(tap_last_panic, "kheap: corrupted header at") != NULL);
    EXPECT_PANIC(kheap_check());
    *canary ^= 1;
    teardown();

    /* An overrun into the next block's header is found when the block
     * before it is freed (its neighbour is read for coalescing). */
    setup();
    uint8_t *c = kmalloc(3000), *d = kmalloc(3000);
    memset(c + kmalloc_usable_size(c), 0, 24); /* overruns into d's header */
    EXPECT_PANIC(kfree(c));
    CHECK(strstr(tap_last_panic, "kheap: corrupted header at") != NULL);
    CHECK(strstr(tap_last_panic, "0x") != NULL);
    (void)d;
    teardown();

    setup();
    uint8_t *e = kmalloc(48);
    EXPECT_PANIC(kfree(e + 8));
    CHECK(strstr(tap_last_panic, "misaligned") != NULL);
    teardown();
}

static void test_check_finds_bad_footer(void)
{
    setup();
    uint8_t *a = kmalloc(3000), *b = kmalloc(3000);
    (void)kmalloc(3000);
    kfree(b);
    kheap_check();
    /* b's footer is the last word before the third block's header. */
    uint64_t *footer = (uint64_t *)(b + kmalloc_usable_size(a) - 8);
    *footer = 12345;
    EXPECT_PANIC(kheap_check());
    CHECK(strstr(tap_last_panic, "footer") != NULL);
    teardown();
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_zero_and_absurd_sizes),
        TAP(test_classes_and_alignment),
        TAP(test_random_model),
        TAP(test_random_small_churn),
        TAP(test_coalesce_neighbours),
        TAP(test_realloc_in_place),
        TAP(test_kcalloc_zeroes),
        TAP(test_exhaustion),
        TAP(test_small_pmm_blocks_only),
        TAP(test_arenas_returned),
        TAP(test_reclaim_returns_every_free_arena),
        TAP(test_double_free_panics),
        TAP(test_corrupted_header_panics),
        TAP(test_check_finds_bad_footer),
    };
    return tap_run(tests, (int)ARRAY_SIZE(tests));
}

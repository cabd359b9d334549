/* Host tests for the page-frame allocator (mm/pmm.c) over simulated physical
 * memory. Every allocation is checked against a model that owns each frame:
 * no frame is handed out twice, every block is aligned and inside a free
 * range, counters match, ENOMEM happens exactly when the model has no free
 * aligned block of that size, and after draining the per-CPU cache the buddy
 * lists hold exactly the canonical (fully coalesced) decomposition of the
 * free frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mica/errno.h>

#include "arch/x86_64/percpu.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/pmm_cache.h"
#include "mm/pmm_frame.h"
#include "sim.h"
#include "tap.h"

/* ------------------------------------------------------------------ PRNG */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
    rng_state = s ? s : 0x9e3779b97f4a7c15ull;
}

static uint64_t rnd(void) /* xorshift64 */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t rnd_below(uint64_t n)
{
    return rnd() % n;
}

/* ----------------------------------------------------- memory and model */

/* A live allocation in the model. */
struct mblock {
    uint64_t pfn;
    unsigned order;
    bool pages; /* from pmm_alloc_pages (else pmm_alloc_frame) */
};

static struct {
    void *sim;
    uint64_t sim_bytes;
    void *meta;
    pfn_t max_pfn;
    uint8_t *usable;       /* per frame: wholly inside a free range */
    uint64_t usable_count;
    uint32_t *refs;        /* per frame: expected refcount (0 = not allocated) */
    uint64_t free;         /* usable frames with refs 0 */
    struct mblock *blocks; /* live allocations, unordered */
    size_t nblocks, cap;
    uint64_t init_blocks[PMM_MAX_ORDER + 1]; /* buddy blocks right after init */
} M;

/* The 64 MiB map most tests use: holes at 0-1 MiB, around 10 MiB, at
 * 31-32 MiB, 48 MiB and near the top; unaligned ends; two adjacent ranges
 * given out of order; one range reaching past max_pfn. */
static const struct pmm_range std_ranges[] = {
    {1 * MiB, 10 * MiB + 3 * KiB},
    {10 * MiB + 20 * KiB + 123, 31 * MiB},
    {40 * MiB + 12 * KiB, 48 * MiB},
    {32 * MiB, 40 * MiB + 12 * KiB},
    {48 * MiB + 4 * KiB, 64 * MiB - 8 * KiB},
    {64 * MiB - 4 * KiB, 80 * MiB},
};
#define STD_MAX_PFN ((64 * MiB) >> PAGE_SHIFT)

static void canonical_blocks(uint64_t out[PMM_MAX_ORDER + 1]);

/* Create simulated memory covering max_pfn frames, initialise the allocator
 * over `r` and the model over the same ranges. */
static void setup(const struct pmm_range *r, size_t n, pfn_t max_pfn)
{
    memset(&M, 0, sizeof M);
    M.max_pfn = max_pfn;
    M.sim_bytes = max_pfn * PAGE_SIZE;
    M.sim = sim_phys_create(M.sim_bytes);
    M.meta = malloc(pmm_metadata_bytes(max_pfn));
    M.usable = calloc(max_pfn, 1);
    M.refs = calloc(max_pfn, sizeof *M.refs);
    if (!M.meta || !M.usable || !M.refs) {
        perror("setup");
        exit(2);
    }
    /* The allocator writes records lazily (pmm.c): fill them with frames
     * that look allocated once, so that any read of a record it never
     * wrote goes wrong in every test. */
    for (uint64_t p = 0; p < max_pfn; p++)
        ((struct pmm_frame *)M.meta)[p] = (struct pmm_frame){.next = 7, .prev = 7,
                                                             .state = PMM_STATE_SINGLE};
    for (size_t i = 0; i < n; i++)
        for (uint64_t p = 0; p < max_pfn; p++)
            if (r[i].base <= p * PAGE_SIZE && (p + 1) * PAGE_SIZE <= r[i].end)
                M.usable[p] = 1;
    for (uint64_t p = 0; p < max_pfn; p++)
        M.usable_count += M.usable[p];
    M.free = M.usable_count;

    pmm_init(M.meta, max_pfn, r, n);
    canonical_blocks(M.init_blocks);
}

static void setup_std(void)
{
    setup(std_ranges, ARRAY_SIZE(std_ranges), STD_MAX_PFN);
}

static void teardown(void)
{
    sim_phys_destroy(M.sim, M.sim_bytes);
    free(M.meta);
    free(M.usable);
    free(M.refs);
    free(M.blocks);
    memset(&M, 0, sizeof M);
}

static bool model_free(uint64_t p)
{
    return M.usable[p] && M.refs[p] == 0;
}

/* Record a block the allocator returned; checks it is aligned, inside free
 * ranges and owned by nobody. */
static void model_take(paddr_t pa, unsigned order, bool pages)
{
    uint64_t pfn = pa >> PAGE_SHIFT, n = 1ull << order;

    CHECK((pa & ((PAGE_SIZE << order) - 1)) == 0);
    CHECK(pfn + n <= M.max_pfn);
    if (pfn + n > M.max_pfn)
        return;
    for (uint64_t p = pfn; p < pfn + n; p++) {
        if (!model_free(p)) {
            printf("# frame 0x%llx handed out but %s\n", (unsigned long long)p << PAGE_SHIFT,
                   M.usable[p] ? "already owned" : "outside the free ranges");
            tap_failures++;
        }
        M.refs[p] = 1;
    }
    M.free -= n;
    if (M.nblocks == M.cap) {
        M.cap = M.cap ? 2 * M.cap : 256;
        M.blocks = realloc(M.blocks, M.cap * sizeof *M.blocks);
    }
    M.blocks[M.nblocks++] = (struct mblock){pfn, order, pages};
}

/* Forget live block `i` (its frames are free again). */
static void model_release(size_t i)
{
    struct mblock b = M.blocks[i];
    for (uint64_t p = b.pfn; p < b.pfn + (1ull << b.order); p++)
        M.refs[p] = 0;
    M.free += 1ull << b.order;
    M.blocks[i] = M.blocks[--M.nblocks];
}

/* Does the model have a free, naturally aligned block of 2^order frames? */
static bool model_has_block(unsigned order)
{
    uint64_t n = 1ull << order;
    for (uint64_t p = 0; p + n <= M.max_pfn; p += n) {
        uint64_t q = p;
        while (q < p + n && model_free(q))
            q++;
        if (q == p + n)
            return true;
    }
    return false;
}

/* The fully coalesced buddy decomposition of the model's free frames: a block
 * of order k at p exists iff its aligned window is free and (k is the top
 * order or) the parent window is not wholly free and inside max_pfn. */
static void canonical_blocks(uint64_t out[PMM_MAX_ORDER + 1])
{
    uint8_t *lv[PMM_MAX_ORDER + 2];
    uint64_t len[PMM_MAX_ORDER + 2];

    for (unsigned k = 0; k <= PMM_MAX_ORDER + 1; k++) {
        len[k] = M.max_pfn >> k;
        lv[k] = calloc(len[k] + 1, 1);
        for (uint64_t i = 0; i < len[k]; i++)
            lv[k][i] = k == 0 ? model_free(i) : (lv[k - 1][2 * i] && lv[k - 1][2 * i + 1]);
    }
    for (unsigned k = 0; k <= PMM_MAX_ORDER; k++) {
        out[k] = 0;
        for (uint64_t i = 0; i < len[k]; i++)
            if (lv[k][i] && (k == PMM_MAX_ORDER || i / 2 >= len[k + 1] || !lv[k + 1][i / 2]))
                out[k]++;
    }
    for (unsigned k = 0; k <= PMM_MAX_ORDER + 1; k++)
        free(lv[k]);
}

/* Drain the cache, then the buddy lists must be exactly the canonical
 * decomposition of the model's free frames. */
static void check_canonical(void)
{
    uint64_t want[PMM_MAX_ORDER + 1];

    pmm_drain_cpu_cache();
    canonical_blocks(want);
    for (unsigned k = 0; k <= PMM_MAX_ORDER; k++) {
        if (pmm_free_blocks(k) != want[k]) {
            printf("# order %u: %llu free blocks, canonical %llu\n", k,
                   (unsigned long long)pmm_free_blocks(k), (unsigned long long)want[k]);
            tap_failures++;
        }
    }
}

/* Counters and a sample of refcounts agree with the model; metadata is
 * consistent. */
static void check_all(void)
{
    struct pmm_stats s;

    pmm_check();
    pmm_get_stats(&s);
    CHECK_EQ(s.total, M.usable_count);
    CHECK_EQ(s.free, M.free);
    CHECK_EQ(s.used, M.usable_count - M.free);
    for (int i = 0; i < 32; i++) {
        uint64_t p = rnd_below(M.max_pfn);
        CHECK_EQ(pmm_refcount(p << PAGE_SHIFT), M.refs[p]);
    }
}

/* Free every live block in the model, dropping extra references first. */
static void release_all(void)
{
    while (M.nblocks) {
        struct mblock b = M.blocks[M.nblocks - 1];
        for (uint64_t p = b.pfn; p < b.pfn + (1ull << b.order); p++)
            for (; M.refs[p] > 1; M.refs[p]--)
                pmm_free_frame(p << PAGE_SHIFT);
        if (b.pages)
            pmm_free_pages(b.pfn << PAGE_SHIFT, b.order);
        else
            pmm_free_frame(b.pfn << PAGE_SHIFT);
        model_release(M.nblocks - 1);
    }
}

/* Panic message check: the last panic mentioned `want`. */
static void check_panic_says(const char *want)
{
    if (!strstr(tap_last_panic, want)) {
        printf("# panic message \"%s\" lacks \"%s\"\n", tap_last_panic, want);
        tap_failures++;
    }
}

/* ------------------------------------------------------------ the tests */

static void test_init_accounting(void)
{
    struct pmm_stats s;

    setup_std();
    pmm_get_stats(&s);
    CHECK(M.usable_count > 10000);
    CHECK_EQ(s.total, M.usable_count);
    CHECK_EQ(s.free, s.total);
    CHECK_EQ(s.used, 0);
    pmm_check();
    /* Frames outside the ranges are reserved: refcount 0 and never handed out
     * (model_take checks the latter below). */
    CHECK_EQ(pmm_refcount(0), 0);
    CHECK_EQ(pmm_refcount(31 * MiB), 0);
    CHECK_EQ(pmm_refcount(STD_MAX_PFN << PAGE_SHIFT), 0);
    paddr_t pa;
    uint64_t n = 0;
    while (pmm_alloc_frame(&pa) == 0) {
        model_take(pa, 0, false);
        n++;
    }
    CHECK_EQ(n, M.usable_count);
    release_all();
    teardown();
}

static void test_init_builds_canonical_blocks(void)
{
    setup_std();
    /* Adjacent ranges given out of order coalesce: 32-48 MiB is four 4 MiB
     * blocks, 1-10 MiB two, and so on; the model derives it independently. */
    CHECK(M.init_blocks[PMM_MAX_ORDER] >= 6);
    for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
        CHECK_EQ(pmm_free_blocks(k), M.init_blocks[k]);
    CHECK_EQ(pmm_free_blocks(PMM_MAX_ORDER + 1), 0);
    teardown();
}

static void test_exhaustion_then_restore(void)
{
    struct pmm_stats s;
    paddr_t pa;

    setup_std();
    for (uint64_t i = 0; i < M.usable_count; i++) {
        int r = pmm_alloc_frame(&pa);
        CHECK_EQ(r, 0);
        if (r)
            break;
        model_take(pa, 0, false);
    }
    pa = 0xdead000;
    CHECK_EQ(pmm_alloc_frame(&pa), -MICA_ENOMEM);
    CHECK_EQ(pa, 0xdead000); /* untouched on failure */
    CHECK_EQ(pmm_alloc_pages(0, &pa), -MICA_ENOMEM);
    CHECK_EQ(pmm_alloc_pages(3, &pa), -MICA_ENOMEM);
    pmm_get_stats(&s);
    CHECK_EQ(s.free, 0);
    CHECK_EQ(s.used, M.usable_count);
    check_all();

    release_all();
    pmm_get_stats(&s);
    CHECK_EQ(s.free, s.total);
    check_all();
    check_canonical();
    teardown();
}

static void test_alloc_pages_alignment_every_order(void)
{
    setup_std();
    for (unsigned order = 0; order <= PMM_MAX_ORDER; order++) {
        for (int i = 0; i < 3; i++) {
            paddr_t pa;
            CHECK_EQ(pmm_alloc_pages(order, &pa), 0);
            model_take(pa, order, true);
            for (uint64_t p = 0; p < (1ull << order); p++)
                CHECK_EQ(pmm_refcount(pa + p * PAGE_SIZE), 1);
        }
        check_all();
    }
    paddr_t pa = 1;
    CHECK_EQ(pmm_alloc_pages(PMM_MAX_ORDER + 1, &pa), -MICA_EINVAL);
    CHECK_EQ(pmm_alloc_pages(~0u, &pa), -MICA_EINVAL);
    CHECK_EQ(pa, 1);
    release_all();
    check_all();
    check_canonical();
    teardown();
}

/* One random operation against the model; `alloc_pct` biases towards
 * allocation (high: memory runs out; low: memory drains back). */
static void random_op(unsigned alloc_pct)
{
    unsigned r = rnd_below(100);
    paddr_t pa;

    if (r < alloc_pct) {
        bool pages = rnd_below(3) == 0;
        unsigned order = !pages ? 0
                         : rnd_below(4) == 0 ? rnd_below(PMM_MAX_ORDER + 1)
                                             : rnd_below(4);
        int rc = pages ? pmm_alloc_pages(order, &pa) : pmm_alloc_frame(&pa);
        if (rc == 0) {
            model_take(pa, order, pages);
        } else {
            CHECK_EQ(rc, -MICA_ENOMEM);
            if (model_has_block(order)) {
                printf("# ENOMEM for order %u but the model has a free block\n", order);
                tap_failures++;
            }
        }
        return;
    }
    if (M.nblocks == 0)
        return;
    size_t i = rnd_below(M.nblocks);
    struct mblock b = M.blocks[i];
    uint64_t p = b.pfn + rnd_below(1ull << b.order);
    if (r < alloc_pct + 10) {
        CHECK_EQ(pmm_ref(p << PAGE_SHIFT), M.refs[p] + 1);
        M.refs[p]++;
    } else if (M.refs[p] > 1) {
        pmm_free_frame(p << PAGE_SHIFT);
        M.refs[p]--;
        CHECK_EQ(pmm_refcount(p << PAGE_SHIFT), M.refs[p]);
    } else {
        for (p = b.pfn; p < b.pfn + (1ull << b.order); p++)
            for (; M.refs[p] > 1; M.refs[p]--)
                pmm_free_frame(p << PAGE_SHIFT);
        if (b.pages && (b.order > 0 || rnd_below(2)))
            pmm_free_pages(b.pfn << PAGE_SHIFT, b.order);
        else
            pmm_free_frame(b.pfn << PAGE_SHIFT);
        model_release(i);
        CHECK_EQ(pmm_refcount(b.pfn << PAGE_SHIFT), 0);
    }
}

static void test_random_ops_against_model(void)
{
    static const unsigned phase_bias[] = {70, 30, 85, 20, 60, 10, 90, 40};

    rng_seed(0x5eed0001);
    setup_std();
    unsigned n = 0;
    for (size_t ph = 0; ph < ARRAY_SIZE(phase_bias); ph++) {
        for (int i = 0; i < 4000; i++) {
            random_op(phase_bias[ph]);
            if (++n % 256 == 0)
                check_all();
            if (rnd_below(700) == 0)
                check_canonical();
        }
        check_all();
        check_canonical();
    }
    release_all();
    check_all();
    check_canonical();
    for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
        CHECK_EQ(pmm_free_blocks(k), M.init_blocks[k]);
    teardown();
}

static void test_coalesce_fully(void)
{
    paddr_t pa;

    rng_seed(0xc0a1e5ce);
    setup_std();
    /* Fill memory with a mix of sizes, then free in random order. */
    for (;;) {
        unsigned order = rnd_below(4) ? 0 : rnd_below(PMM_MAX_ORDER + 1);
        if (pmm_alloc_pages(order, &pa) == 0)
            model_take(pa, order, true);
        else if (pmm_alloc_frame(&pa) == 0)
            model_take(pa, 0, false);
        else
            break;
    }
    CHECK_EQ(M.free, 0);
    while (M.nblocks) {
        size_t i = rnd_below(M.nblocks);
        struct mblock b = M.blocks[i];
        if (b.pages)
            pmm_free_pages(b.pfn << PAGE_SHIFT, b.order);
        else
            pmm_free_frame(b.pfn << PAGE_SHIFT);
        model_release(i);
    }
    pmm_drain_cpu_cache();
    for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
        CHECK_EQ(pmm_free_blocks(k), M.init_blocks[k]);
    check_all();
    teardown();
}

static void test_lifo_reuse(void)
{
    paddr_t a, b, c;

    setup_std();
    /* The seed property: the per-CPU cache is a LIFO stack, so the frame just
     * freed is the next one allocated on this CPU. */
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    CHECK_EQ(pmm_alloc_frame(&b), 0);
    CHECK(a != b);
    pmm_free_frame(a);
    CHECK_EQ(pmm_alloc_frame(&c), 0);
    CHECK_EQ(c, a);
    pmm_free_frame(b);
    pmm_free_frame(c);

    /* It holds at every cache fill level, including a full cache (the free
     * drains a batch first) and an empty one. */
    paddr_t pool[PMM_CPU_CACHE_MAX];
    for (unsigned level = 0; level <= PMM_CPU_CACHE_MAX; level++) {
        CHECK_EQ(pmm_alloc_frame(&a), 0);
        for (unsigned i = 0; i < level; i++)
            CHECK_EQ(pmm_alloc_frame(&pool[i]), 0);
        pmm_drain_cpu_cache();
        for (unsigned i = 0; i < level; i++)
            pmm_free_frame(pool[i]);
        CHECK_EQ(host_cpu0.pmm.count, level);
        pmm_free_frame(a);
        CHECK_EQ(pmm_alloc_frame(&c), 0);
        CHECK_EQ(c, a);
        pmm_free_frame(c);
    }
    check_all();
    teardown();
}

static void test_cache_batches(void)
{
    paddr_t pa[PMM_CPU_CACHE_MAX + 1];
    struct pmm_stats s;

    setup_std();
    CHECK_EQ(host_cpu0.pmm.count, 0);
    CHECK_EQ(pmm_alloc_frame(&pa[0]), 0);
    CHECK_EQ(host_cpu0.pmm.count, PMM_CPU_CACHE_BATCH - 1); /* refilled one batch */
    for (int i = 1; i <= PMM_CPU_CACHE_MAX; i++)
        CHECK_EQ(pmm_alloc_frame(&pa[i]), 0);
    pmm_drain_cpu_cache();
    CHECK_EQ(host_cpu0.pmm.count, 0);
    for (int i = 0; i < PMM_CPU_CACHE_MAX; i++)
        pmm_free_frame(pa[i]);
    CHECK_EQ(host_cpu0.pmm.count, PMM_CPU_CACHE_MAX);
    /* Frames in the cache count as free, but not as buddy blocks. */
    pmm_get_stats(&s);
    CHECK_EQ(s.free, s.total - 1);
    pmm_check();
    pmm_free_frame(pa[PMM_CPU_CACHE_MAX]); /* full: drains a batch first */
    CHECK_EQ(host_cpu0.pmm.count, PMM_CPU_CACHE_MAX - PMM_CPU_CACHE_BATCH + 1);
    pmm_get_stats(&s);
    CHECK_EQ(s.free, s.total);
    pmm_check();
    teardown();
}

static void test_alloc_pages_drains_cache(void)
{
    /* 32 frames, one order-5 block: once a refill has moved them all into
     * the cache, only draining it makes an order-1 block possible. */
    static const struct pmm_range r[] = {{128 * KiB, 256 * KiB}};
    paddr_t a, b;

    setup(r, 1, 128);
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    CHECK_EQ(pmm_free_blocks(5), 0);
    CHECK_EQ(host_cpu0.pmm.count, 31);
    CHECK_EQ(pmm_alloc_pages(1, &b), 0);
    CHECK(IS_ALIGNED(b, 2 * PAGE_SIZE));
    CHECK(b != a && b + PAGE_SIZE != a);
    CHECK_EQ(host_cpu0.pmm.count, 0);
    pmm_check();
    pmm_free_pages(b, 1);
    pmm_free_frame(a);
    pmm_drain_cpu_cache();
    CHECK_EQ(pmm_free_blocks(5), 1);
    pmm_check();
    teardown();
}

static void test_refcount_semantics(void)
{
    struct pmm_stats s;
    paddr_t a;
    char want[64];

    setup_std();
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    CHECK_EQ(pmm_refcount(a), 1);
    CHECK_EQ(pmm_ref(a), 2);
    CHECK_EQ(pmm_refcount(a), 2);
    pmm_free_frame(a); /* drops the shared reference only */
    CHECK_EQ(pmm_refcount(a), 1);
    pmm_get_stats(&s);
    CHECK_EQ(s.used, 1);
    pmm_free_frame(a); /* last reference: freed */
    CHECK_EQ(pmm_refcount(a), 0);
    pmm_get_stats(&s);
    CHECK_EQ(s.used, 0);
    EXPECT_PANIC(pmm_free_frame(a));
    snprintf(want, sizeof want, "pmm: double free of frame 0x%llx", (unsigned long long)a);
    check_panic_says(want);
    pmm_check();
    teardown();
}

static void test_block_frames_shared(void)
{
    paddr_t pa;
    char want[96];

    setup_std();
    CHECK_EQ(pmm_alloc_pages(2, &pa), 0);
    /* A frame of a block can be shared and released down to one reference. */
    CHECK_EQ(pmm_ref(pa + 2 * PAGE_SIZE), 2);
    EXPECT_PANIC(pmm_free_pages(pa, 2)); /* a frame still shared */
    check_panic_says("has refcount 2");
    pmm_free_frame(pa + 2 * PAGE_SIZE);
    /* ... but its last reference goes only with the whole block. */
    EXPECT_PANIC(pmm_free_frame(pa + 2 * PAGE_SIZE));
    snprintf(want, sizeof want, "frame 0x%llx is part of an order-2 block",
             (unsigned long long)(pa + 2 * PAGE_SIZE));
    check_panic_says(want);
    EXPECT_PANIC(pmm_free_frame(pa));
    check_panic_says("part of an order-2 block");
    pmm_check();
    pmm_free_pages(pa, 2);
    pmm_check();
    teardown();
}

static void test_double_free_panics(void)
{
    paddr_t a, b;
    char want[64];

    setup_std();
    /* While the frame sits in the per-CPU cache ... */
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    pmm_free_frame(a);
    EXPECT_PANIC(pmm_free_frame(a));
    snprintf(want, sizeof want, "pmm: double free of frame 0x%llx", (unsigned long long)a);
    check_panic_says(want);
    /* ... and once it is back in a buddy block (head or interior). */
    pmm_drain_cpu_cache();
    EXPECT_PANIC(pmm_free_frame(a));
    check_panic_says(want);
    EXPECT_PANIC(pmm_free_frame(32 * MiB + 5 * PAGE_SIZE)); /* inside a free block */
    check_panic_says("pmm: double free of frame 0x2005000");
    EXPECT_PANIC(pmm_free_pages(a, 0));
    check_panic_says(want);
    /* Block frees too. */
    CHECK_EQ(pmm_alloc_pages(3, &b), 0);
    pmm_free_pages(b, 3);
    EXPECT_PANIC(pmm_free_pages(b, 3));
    snprintf(want, sizeof want, "pmm: double free of frame 0x%llx", (unsigned long long)b);
    check_panic_says(want);
    pmm_check();
    teardown();
}

static void test_bad_free_panics(void)
{
    paddr_t a;
    char want[96];

    setup_std();
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    EXPECT_PANIC(pmm_free_frame(0));
    check_panic_says("pmm: free of reserved frame 0x0");
    EXPECT_PANIC(pmm_free_frame(31 * MiB + 8 * KiB)); /* a hole */
    check_panic_says("pmm: free of reserved frame 0x1f02000");
    EXPECT_PANIC(pmm_free_frame(STD_MAX_PFN << PAGE_SHIFT));
    snprintf(want, sizeof want, "pmm: free of frame 0x%llx beyond the managed range",
             (unsigned long long)(STD_MAX_PFN << PAGE_SHIFT));
    check_panic_says(want);
    EXPECT_PANIC(pmm_free_frame(~0ull & ~PAGE_MASK));
    check_panic_says("beyond the managed range");
    EXPECT_PANIC(pmm_free_frame(a + 8));
    check_panic_says("misaligned");
    EXPECT_PANIC(pmm_free_pages(a, 1)); /* a single frame is no order-1 block */
    check_panic_says("not an order-1 block");
    EXPECT_PANIC(pmm_free_pages(a, PMM_MAX_ORDER + 1));
    EXPECT_PANIC(pmm_free_pages(0, 0));
    check_panic_says("reserved frame 0x0");
    CHECK_EQ(pmm_refcount(a), 1); /* none of the above touched it */
    pmm_check();
    pmm_free_frame(a);
    pmm_check();
    teardown();
}

static void test_free_pages_wrong_order_panics(void)
{
    paddr_t pa;

    setup_std();
    CHECK_EQ(pmm_alloc_pages(3, &pa), 0);
    EXPECT_PANIC(pmm_free_pages(pa, 2));
    check_panic_says("not an order-2 block");
    EXPECT_PANIC(pmm_free_pages(pa, 4));
    EXPECT_PANIC(pmm_free_pages(pa, 0));
    EXPECT_PANIC(pmm_free_pages(pa + 4 * PAGE_SIZE, 2)); /* its upper half */
    EXPECT_PANIC(pmm_free_pages(pa + PAGE_SIZE, 3));
    pmm_check();
    pmm_free_pages(pa, 3);
    check_all();
    teardown();
}

static void test_ref_misuse_panics(void)
{
    paddr_t a;

    setup_std();
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    pmm_free_frame(a);
    EXPECT_PANIC(pmm_ref(a));
    check_panic_says("pmm: ref of free frame");
    EXPECT_PANIC(pmm_ref(0));
    check_panic_says("pmm: ref of reserved frame 0x0");
    EXPECT_PANIC(pmm_ref(STD_MAX_PFN << PAGE_SHIFT));
    check_panic_says("beyond the managed range");
    CHECK_EQ(pmm_refcount(a), 0);
    CHECK_EQ(pmm_refcount(~0ull), 0);
    pmm_check();
    teardown();
}

static void test_odd_ranges(void)
{
    /* Unaligned edges, sub-page and empty ranges, a single frame, frame 0,
     * odd-sized runs that force every block order, and clipping. */
    static const struct pmm_range r[] = {
        {0, PAGE_SIZE},                                   /* frame 0 alone */
        {3 * PAGE_SIZE + 1, 4 * PAGE_SIZE + 100},         /* no whole frame */
        {5 * PAGE_SIZE, 5 * PAGE_SIZE},                   /* empty */
        {7 * PAGE_SIZE - 1, 8 * PAGE_SIZE - 1},           /* no whole frame */
        {9 * PAGE_SIZE, 10 * PAGE_SIZE},                  /* one frame */
        {13 * PAGE_SIZE + 17, 2048 * PAGE_SIZE + 99},     /* 14 .. 2047 */
        {2049 * PAGE_SIZE, 3071 * PAGE_SIZE},             /* 1022 frames */
        {4095 * PAGE_SIZE, 4096 * PAGE_SIZE + 5},         /* last frame + beyond */
    };
    paddr_t pa;

    setup(r, ARRAY_SIZE(r), 4096);
    CHECK_EQ(M.usable_count, 1 + 1 + (2048 - 14) + 1022 + 1);
    check_all();
    check_canonical();
    for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
        CHECK_EQ(pmm_free_blocks(k), M.init_blocks[k]);
    CHECK_EQ(pmm_free_blocks(PMM_MAX_ORDER), 1); /* 1024 .. 2047 */
    /* Everything comes out, exactly once, from inside the ranges. */
    while (pmm_alloc_frame(&pa) == 0)
        model_take(pa, 0, false);
    CHECK_EQ(M.free, 0);
    CHECK_EQ(M.refs[0], 1); /* frame 0 is an ordinary frame here */
    release_all();
    check_all();
    check_canonical();
    teardown();
}

static void test_odd_max_pfn(void)
{
    /* max_pfn = 4099: the last blocks' buddies lie at or past max_pfn and
     * must never be looked at (metadata ends exactly there). */
    static const struct pmm_range r[] = {{0, 5000 * PAGE_SIZE}};
    paddr_t pa;

    setup(r, 1, 4099);
    CHECK_EQ(M.usable_count, 4099);
    CHECK_EQ(pmm_free_blocks(PMM_MAX_ORDER), 4);
    CHECK_EQ(pmm_free_blocks(1), 1);
    CHECK_EQ(pmm_free_blocks(0), 1);
    check_all();
    while (pmm_alloc_frame(&pa) == 0)
        model_take(pa, 0, false);
    CHECK_EQ(M.free, 0);
    release_all();
    check_all();
    check_canonical();
    for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
        CHECK_EQ(pmm_free_blocks(k), M.init_blocks[k]);
    teardown();
}

static void test_overlapping_ranges_panic(void)
{
    static const struct pmm_range r[] = {{1 * MiB, 2 * MiB}, {2 * MiB - 8 * KiB, 3 * MiB}};

    memset(&M, 0, sizeof M);
    M.max_pfn = 1024;
    M.sim_bytes = M.max_pfn * PAGE_SIZE;
    M.sim = sim_phys_create(M.sim_bytes);
    M.meta = malloc(pmm_metadata_bytes(M.max_pfn));
    EXPECT_PANIC(pmm_init(M.meta, M.max_pfn, r, 2));
    check_panic_says("pmm_init: frame 0x1fe000 is in two free ranges");
    /* max_pfn beyond 32-bit pfns is refused before anything is touched. */
    EXPECT_PANIC(pmm_init(M.meta, 1ull << 32, r, 1));
    check_panic_says("32-bit pfns");
    EXPECT_PANIC(pmm_init(M.meta, M.max_pfn, (struct pmm_range[]){{2 * MiB, MiB}}, 1));
    check_panic_says("inverted");
    pmm_init(M.meta, M.max_pfn, r, 1);
    pmm_check();
    teardown();
}

static void test_high_memory_sparse(void)
{
    /* 8 GiB + 64 MiB of address space with four small ranges, one across the
     * 4 GiB line and one clipped at max_pfn; 33 MiB of metadata. Only the
     * metadata and the frames handed out are ever touched. */
    static const struct pmm_range r[] = {
        {1 * MiB, 2 * MiB},
        {4 * GiB - 40 * KiB + 7, 4 * GiB + 4 * MiB + 12 * KiB},
        {6 * GiB + 5 * PAGE_SIZE, 6 * GiB + 8 * MiB - 4 * KiB},
        {8 * GiB + 60 * MiB, 9 * GiB},
    };
    const pfn_t max_pfn = (8 * GiB + 64 * MiB) >> PAGE_SHIFT;
    paddr_t pa;
    uint64_t above4g = 0;

    setup(r, ARRAY_SIZE(r), max_pfn);
    CHECK_EQ(M.usable_count, 256 + 9 + 1027 + 2042 + 1024);
    check_all();
    /* Singles: write each frame's address into it; read all back at the end
     * to prove the frames are distinct and really backed. */
    while (pmm_alloc_frame(&pa) == 0) {
        model_take(pa, 0, false);
        *(volatile paddr_t *)phys_to_virt(pa) = pa;
        above4g += pa >= 4 * GiB;
    }
    CHECK_EQ(M.free, 0);
    CHECK_EQ(above4g, M.usable_count - 256 - 9);
    for (size_t i = 0; i < M.nblocks; i++) {
        paddr_t b = M.blocks[i].pfn << PAGE_SHIFT;
        CHECK_EQ(*(volatile paddr_t *)phys_to_virt(b), b);
    }
    release_all();
    check_all();
    check_canonical();
    /* 4 MiB blocks: exactly the canonical count, all above 4 GiB. */
    uint64_t big = 0;
    while (pmm_alloc_pages(PMM_MAX_ORDER, &pa) == 0) {
        model_take(pa, PMM_MAX_ORDER, true);
        CHECK(pa >= 4 * GiB);
        big++;
    }
    CHECK_EQ(big, M.init_blocks[PMM_MAX_ORDER]);
    CHECK(big >= 2);
    release_all();
    check_all();
    check_canonical();
    teardown();
}

/* Corrupt one record at a time and check that pmm_check names it. The
 * allocator is re-initialised after each (a failed check leaves marks). */
static uint64_t find_frame(uint64_t state_mask, uint64_t state, uint64_t from)
{
    struct pmm_frame *meta = M.meta;
    for (uint64_t p = from; p < M.max_pfn; p++)
        if ((meta[p].state & state_mask) == state)
            return p;
    printf("# no frame with state 0x%llx\n", (unsigned long long)state);
    tap_failures++;
    return 0;
}

static void test_check_detects_corruption(void)
{
    const uint64_t flags_mask = PMM_STATE(0, 0, 0xff);
    struct pmm_frame *meta;
    paddr_t a;
    uint64_t p;

    setup_std();
    meta = M.meta;
    p = find_frame(flags_mask, PMM_STATE(0, 0, PMM_F_FREE), 0);
    meta[p].refcount = 1; /* a free head claims a reference */
    EXPECT_PANIC(pmm_check());
    check_panic_says("list has state");
    teardown();

    setup_std();
    meta = M.meta;
    /* A largest block is written once it has been allocated (pmm.c). */
    CHECK_EQ(pmm_alloc_pages(PMM_MAX_ORDER, &a), 0);
    pmm_free_pages(a, PMM_MAX_ORDER);
    p = a >> PAGE_SHIFT;
    CHECK_EQ(meta[p].state, PMM_STATE(0, PMM_MAX_ORDER, PMM_F_FREE));
    meta[p + 5].state = PMM_STATE_SINGLE; /* an interior frame looks allocated */
    EXPECT_PANIC(pmm_check());
    check_panic_says("inside a free block");
    teardown();

    setup_std();
    meta = M.meta;
    p = find_frame(flags_mask, PMM_STATE(0, 0, PMM_F_FREE), 0);
    while (p != 0 && meta[p].next == PMM_NONE)
        p = find_frame(flags_mask, PMM_STATE(0, 0, PMM_F_FREE), p + 1);
    meta[p].next = (uint32_t)p; /* a list that loops */
    EXPECT_PANIC(pmm_check());
    check_panic_says("reached twice");
    teardown();

    setup_std();
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    host_cpu0.pmm.pfns[host_cpu0.pmm.count] = host_cpu0.pmm.pfns[0]; /* cached twice */
    host_cpu0.pmm.count++;
    EXPECT_PANIC(pmm_check());
    check_panic_says("also cached");
    teardown();

    setup_std();
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    ((struct pmm_frame *)M.meta)[a >> PAGE_SHIFT].refcount = 0; /* leaked */
    EXPECT_PANIC(pmm_check());
    check_panic_says("free in no block");
    teardown();

    setup_std();
    meta = M.meta;
    meta[0].state = PMM_STATE_SINGLE; /* reserved frame claims to be allocated */
    EXPECT_PANIC(pmm_check());
    check_panic_says("free + ");
    teardown();

    setup_std();
    CHECK_EQ(pmm_alloc_pages(2, &a), 0);
    ((struct pmm_frame *)M.meta)[(a >> PAGE_SHIFT) + 3].flags = 0; /* torn block */
    EXPECT_PANIC(pmm_check());
    check_panic_says("in an order-2 block");
    teardown();

    /* Two order-0 buddies both on the free list: splice an allocated order-1
     * block into the order-0 list after an existing order-0 head. */
    setup_std();
    meta = M.meta;
    CHECK_EQ(pmm_alloc_pages(1, &a), 0);
    uint64_t h = find_frame(~0ull, PMM_STATE(0, 0, PMM_F_FREE), 0);
    uint64_t q = a >> PAGE_SHIFT;
    uint32_t old = meta[h].next;
    meta[q].state = meta[q + 1].state = PMM_STATE(0, 0, PMM_F_FREE);
    meta[h].next = (uint32_t)q;
    meta[q].prev = (uint32_t)h;
    meta[q].next = (uint32_t)(q + 1);
    meta[q + 1].prev = (uint32_t)q;
    meta[q + 1].next = old;
    if (old != PMM_NONE)
        meta[old].prev = (uint32_t)(q + 1);
    EXPECT_PANIC(pmm_check());
    check_panic_says("are both free");
    teardown();

    /* A broken back link. */
    setup_std();
    meta = M.meta;
    p = find_frame(flags_mask, PMM_STATE(0, 0, PMM_F_FREE), 0);
    while (p != 0 && meta[p].next == PMM_NONE)
        p = find_frame(flags_mask, PMM_STATE(0, 0, PMM_F_FREE), p + 1);
    meta[meta[p].next].prev = PMM_NONE;
    EXPECT_PANIC(pmm_check());
    check_panic_says("has prev");
    teardown();

    /* A frame that claims to head a free block no list holds. */
    setup_std();
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    ((struct pmm_frame *)M.meta)[a >> PAGE_SHIFT].state = PMM_STATE(0, 0, PMM_F_FREE);
    EXPECT_PANIC(pmm_check());
    check_panic_says("is on no list");
    teardown();

    /* The allocation fast path refuses a cached frame whose record changed. */
    setup_std();
    CHECK_EQ(pmm_alloc_frame(&a), 0);
    p = host_cpu0.pmm.pfns[host_cpu0.pmm.count - 1];
    ((struct pmm_frame *)M.meta)[p].refcount = 3;
    EXPECT_PANIC(pmm_alloc_frame(&a));
    check_panic_says("on the per-CPU cache has state");
    teardown();
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_init_accounting),
        TAP(test_init_builds_canonical_blocks),
        TAP(test_exhaustion_then_restore),
        TAP(test_alloc_pages_alignment_every_order),
        TAP(test_random_ops_against_model),
        TAP(test_coalesce_fully),
        TAP(test_lifo_reuse),
        TAP(test_cache_batches),
        TAP(test_alloc_pages_drains_cache),
        TAP(test_refcount_semantics),
        TAP(test_block_frames_shared),
        TAP(test_double_free_panics),
        TAP(test_bad_free_panics),
        TAP(test_free_pages_wrong_order_panics),
        TAP(test_ref_misuse_panics),
        TAP(test_odd_ranges),
        TAP(test_odd_max_pfn),
        TAP(test_overlapping_ranges_panic),
        TAP(test_high_memory_sparse),
        TAP(test_check_detects_corruption),
    };
    rng_seed(1);
    return tap_run(tests, ARRAY_SIZE(tests));
}

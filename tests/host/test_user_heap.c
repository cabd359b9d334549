/* Host tests of the user-space heap (libsys/src/heap.c, behind malloc)
 * over an ordinary buffer: randomised operation sequences checked against
 * a model of live blocks, coalescing, in-place realloc, growth, exhaustion
 * and the misuse reports (double free, foreign pointer, corruption). */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../libsys/src/heap.h"

#define AREA  (8u << 20)
#define GROW  (64u << 10)

static unsigned char *area;
static struct heap h;
static uintptr_t grown_to;   /* end of the memory handed out by grow_cb */
static int grow_calls, grow_refuse;
static jmp_buf *fail_jmp;
static char fail_what[128];

#include "rng.h"

/* Growth must be page-aligned and contiguous with what came before. */
static int grow_cb(void *ctx, uintptr_t at, size_t len)
{
    (void)ctx;
    CHECK_EQ(at, grown_to);
    CHECK_EQ(at % 4096, 0);
    CHECK_EQ(len % 4096, 0);
    if (grow_refuse)
        return -1;
    grow_calls++;
    grown_to = at + len;
    memset((void *)at, 0xcd, len); /* the heap must not rely on zeroed pages */
    return 0;
}

static void fail_cb(void *ctx, const char *what, const void *p)
{
    (void)ctx;
    (void)p;
    snprintf(fail_what, sizeof fail_what, "%s", what);
    if (fail_jmp)
        longjmp(*fail_jmp, 1);
    printf("# unexpected heap failure: %s\n", what);
    tap_failures++;
}

/* Run stmt and expect the heap to report a misuse containing `what`. */
#define EXPECT_FAIL(stmt, what)                                                  \
    do {                                                                         \
        jmp_buf jb_;                                                             \
        fail_jmp = &jb_;                                                         \
        fail_what[0] = 0;                                                        \
        if (setjmp(jb_) == 0) {                                                  \
            stmt;                                                                \
            printf("# %s:%d: expected a heap failure from %s\n", __FILE__, __LINE__, #stmt); \
            tap_failures++;                                                      \
        } else if (!strstr(fail_what, what)) {                                   \
            printf("# %s:%d: failure '%s', expected '%s'\n", __FILE__, __LINE__, fail_what, what); \
            tap_failures++;                                                      \
        }                                                                        \
        fail_jmp = NULL;                                                         \
    } while (0)

static void setup_limit(size_t limit)
{
    if (!area)
        area = aligned_alloc(4096, AREA);
    rng_state = 0x2545f4914f6cdd1dULL;
    grown_to = (uintptr_t)area;
    grow_calls = grow_refuse = 0;
    heap_init(&h, (uintptr_t)area, (uintptr_t)area + limit, GROW, grow_cb, fail_cb, NULL);
}

static void setup(void)
{
    setup_limit(AREA);
}

static void check_heap(void)
{
    const char *err = heap_check(&h);
    if (err) {
        printf("# heap_check: %s\n", err);
        tap_failures++;
    }
}

static void test_alignment_and_sizes(void)
{
    setup();
    void *ps[200];
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)i * 7;
        ps[i] = heap_alloc(&h, n);
        CHECK(ps[i] != NULL);
        CHECK_EQ((uintptr_t)ps[i] % 16, 0);
        CHECK(heap_usable(&h, ps[i]) >= n);
        memset(ps[i], i, n);
    }
    for (int i = 0; i < 200; i++)
        for (size_t k = 0; k < (size_t)i * 7; k++)
            if (((unsigned char *)ps[i])[k] != (unsigned char)i) {
                CHECK(!"block contents overwritten");
                break;
            }
    CHECK_EQ(h.live_blocks, 200);
    check_heap();
    for (int i = 0; i < 200; i++)
        heap_free(&h, ps[i]);
    CHECK_EQ(h.live_blocks, 0);
    CHECK_EQ(h.in_use, 0);
    CHECK_EQ(h.free_blocks, 1);
    check_heap();
}

struct live {
    unsigned char *p;
    size_t n;
    unsigned char pat;
};

static int verify(const struct live *l)
{
    for (size_t k = 0; k < l->n; k++)
        if (l->p[k] != l->pat)
            return 0;
    return 1;
}

static void check_no_overlap(const struct live *ls, int nlive, const struct live *nw)
{
    for (int i = 0; i < nlive; i++) {
        uintptr_t a = (uintptr_t)ls[i].p, b = (uintptr_t)nw->p;
        size_t an = heap_usable(&h, ls[i].p), bn = heap_usable(&h, nw->p);
        if (a < b + bn && b < a + an) {
            printf("# overlap %p+%zu and %p+%zu\n", ls[i].p, an, nw->p, bn);
            tap_failures++;
        }
    }
}

static size_t random_size(void)
{
    switch (rng() % 4) {
    case 0: return rng() % 64;
    case 1: return rng() % 512;
    case 2: return rng() % 4096;
    default: return rng() % 40000;
    }
}

/* Random malloc/free/realloc against a model of live blocks whose bytes
 * carry a per-block pattern. */
static void test_random_against_model(void)
{
    setup();
    static struct live ls[400];
    int nlive = 0;
    for (int op = 0; op < 20000; op++) {
        unsigned r = (unsigned)(rng() % 10);
        if (nlive < 400 && (r < 5 || nlive == 0)) {
            struct live l = { NULL, random_size(), (unsigned char)rng() };
            l.p = heap_alloc(&h, l.n);
            CHECK(l.p != NULL);
            if (!l.p)
                break;
            CHECK_EQ((uintptr_t)l.p % 16, 0);
            check_no_overlap(ls, nlive, &l);
            memset(l.p, l.pat, l.n);
            ls[nlive++] = l;
        } else if (r < 8) {
            int i = (int)(rng() % (unsigned)nlive);
            CHECK(verify(&ls[i]));
            heap_free(&h, ls[i].p);
            ls[i] = ls[--nlive];
        } else {
            int i = (int)(rng() % (unsigned)nlive);
            CHECK(verify(&ls[i]));
            size_t n = random_size();
            unsigned char *q = heap_realloc(&h, ls[i].p, n);
            CHECK(q != NULL);
            if (!q)
                break;
            ls[i].p = q;
            ls[i].n = n < ls[i].n ? n : ls[i].n;
            CHECK(verify(&ls[i]));
            ls[i].n = n;
            memset(q, ls[i].pat, n);
            struct live tmp = ls[i];
            ls[i] = ls[--nlive];
            check_no_overlap(ls, nlive, &tmp);
            ls[nlive++] = tmp;
        }
        if (op % 250 == 0)
            check_heap();
    }
    check_heap();
    CHECK_EQ(h.live_blocks, (uint64_t)nlive);
    while (nlive) {
        CHECK(verify(&ls[nlive - 1]));
        heap_free(&h, ls[--nlive].p);
    }
    CHECK_EQ(h.in_use, 0);
    CHECK_EQ(h.free_blocks, 1);
    CHECK_EQ(h.mapped, grown_to - (uintptr_t)area);
    check_heap();
}

/* Freeing the middle block last merges all three into one. */
static void test_coalescing(void)
{
    setup();
    void *a = heap_alloc(&h, 100), *b = heap_alloc(&h, 100), *c = heap_alloc(&h, 100);
    void *guard = heap_alloc(&h, 100);
    CHECK_EQ(h.free_blocks, 1);
    heap_free(&h, a);
    heap_free(&h, c);
    CHECK_EQ(h.free_blocks, 3);
    heap_free(&h, b);
    CHECK_EQ(h.free_blocks, 2); /* a+b+c, and the tail after guard */
    check_heap();
    void *big = heap_alloc(&h, 3 * 112 - 16);
    CHECK(big == a);
    heap_free(&h, big);
    heap_free(&h, guard);
    CHECK_EQ(h.free_blocks, 1);
    check_heap();
}

static void test_realloc_in_place(void)
{
    setup();
    unsigned char *a = heap_alloc(&h, 64);
    unsigned char *b = heap_alloc(&h, 1000);
    unsigned char *c = heap_alloc(&h, 64);
    memset(a, 0x11, 64);
    heap_free(&h, b);
    unsigned char *a2 = heap_realloc(&h, a, 900); /* absorbs b */
    CHECK(a2 == a);
    for (int i = 0; i < 64; i++)
        CHECK_EQ(a2[i], 0x11);
    check_heap();
    unsigned char *a3 = heap_realloc(&h, a2, 32); /* shrinks in place */
    CHECK(a3 == a);
    check_heap();
    unsigned char *d = heap_alloc(&h, 500); /* fits in the freed tail */
    CHECK(d > a && d < c);
    unsigned char *a4 = heap_realloc(&h, a3, 5000); /* must move */
    CHECK(a4 != a);
    for (int i = 0; i < 32; i++)
        CHECK_EQ(a4[i], 0x11);
    CHECK(heap_realloc(&h, NULL, 10) != NULL);
    check_heap();
}

static void test_growth(void)
{
    setup();
    CHECK_EQ(h.mapped, 0);
    void *a = heap_alloc(&h, 1);
    CHECK_EQ(grow_calls, 1);
    CHECK_EQ(h.mapped, GROW);
    void *big = heap_alloc(&h, 3 * GROW);
    CHECK(big != NULL);
    CHECK_EQ(grow_calls, 2);
    CHECK(h.mapped >= 4 * GROW);
    CHECK_EQ(h.mapped, grown_to - (uintptr_t)area);
    heap_free(&h, big);
    heap_free(&h, a);
    CHECK_EQ(h.free_blocks, 1); /* growth merged with the free tail */
    check_heap();
}

static void test_exhaustion(void)
{
    setup_limit(256u << 10);
    CHECK(heap_alloc(&h, 300u << 10) == NULL);
    CHECK(heap_alloc(&h, SIZE_MAX) == NULL);
    CHECK(heap_alloc(&h, SIZE_MAX - 8) == NULL);
    int n = 0;
    while (heap_alloc(&h, 1000))
        n++;
    CHECK(n > 200 && n < 262);
    check_heap();
    setup();
    grow_refuse = 1;
    CHECK(heap_alloc(&h, 10) == NULL);
    grow_refuse = 0;
    void *p = heap_alloc(&h, 10);
    CHECK(p != NULL);
    grow_refuse = 1;
    CHECK(heap_alloc(&h, 1u << 20) == NULL);
    CHECK(heap_realloc(&h, p, 1u << 20) == NULL);
    CHECK_EQ(h.live_blocks, 1);
    check_heap();
}

static void test_misuse_reports(void)
{
    setup();
    unsigned char *a = heap_alloc(&h, 40), *b = heap_alloc(&h, 40);
    heap_free(&h, a);
    EXPECT_FAIL(heap_free(&h, a), "double free");
    EXPECT_FAIL(heap_free(&h, b + 8), "");
    int local;
    EXPECT_FAIL(heap_free(&h, &local), "not from this heap");
    b[-16] ^= 0x40; /* corrupt b's size */
    EXPECT_FAIL(heap_free(&h, b), "not a live block");
    b[-16] ^= 0x40;
    ((uint64_t *)b)[-1] = 0; /* corrupt b's magic */
    EXPECT_FAIL(heap_free(&h, b), "not a live block");
    EXPECT_FAIL(heap_realloc(&h, b, 10), "not a live block");
    heap_free(&h, NULL);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_alignment_and_sizes), TAP(test_random_against_model), TAP(test_coalescing),
        TAP(test_realloc_in_place),    TAP(test_growth),               TAP(test_exhaustion),
        TAP(test_misuse_reports),
    };
    int rc = tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
    free(area);
    return rc;
}

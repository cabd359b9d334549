/* Copy-on-write clones through servers/pager: after vm_fork the parent and
 * the child see the same data in the same frames; a write by either makes
 * one private copy of one page, invisible to the other; the last mapping
 * of a frame takes it over without a copy; and every frame comes back when
 * the child is gone. Frame counts (MICA_INFO_FREE_FRAMES) are the proof:
 * fork itself costs page tables and kernel objects, never copies of data
 * pages. init starts it with "pager:pager" (the grant "pager"). The children are
 * forked (forked.h) and report through their exit status. */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"

#define PAGE   4096u
#define NPAGES 256u /* the shared region: 1 MiB, well above what a fork may cost */
#define NWRITE 64u  /* pages the child writes in the per-page count */
#define WORDS  (PAGE / sizeof(uint64_t))
#define RW     (MICA_PROT_READ | MICA_PROT_WRITE)

/* The region every test shares with its child, and the endpoint the
 * parent uses to say "go" once it has written its side. */
struct shared {
    volatile uint64_t *p;
    uint64_t npages;
    uint64_t ep;
};

static uint64_t pattern(uint64_t page, uint64_t word, uint64_t round)
{
    return (page << 40) ^ (word << 20) ^ (round * 0x9e3779b97f4a7c15ull) ^ 0x5a5a;
}

/* Three words per page: first, middle, last. */
static void fill(volatile uint64_t *p, uint64_t first, uint64_t n, uint64_t round)
{
    for (uint64_t i = first; i < first + n; i++)
        for (uint64_t w = 0; w < WORDS; w += WORDS / 2 - 1)
            p[i * WORDS + w] = pattern(i, w, round);
}

static bool holds(volatile uint64_t *p, uint64_t first, uint64_t n, uint64_t round)
{
    bool ok = true;
    for (uint64_t i = first; i < first + n; i++)
        for (uint64_t w = 0; w < WORDS; w += WORDS / 2 - 1)
            ok &= p[i * WORDS + w] == pattern(i, w, round);
    return ok;
}

static bool setup(struct shared *s, uint64_t npages)
{
    s->npages = npages;
    s->p = vm_alloc(npages * PAGE, RW);
    if (!s->p)
        return false;
    fill(s->p, 0, npages, 1);
    long ep = mica_endpoint_create();
    s->ep = (uint64_t)ep;
    return ep >= 0;
}

static void teardown(struct shared *s)
{
    KTAP_EXPECT_EQ(vm_free((void *)s->p, s->npages * PAGE), 0);
    mica_handle_close(s->ep);
}

/* Child side of "go": block until the parent has written its side. */
static void wait_go(const struct shared *s)
{
    struct mica_msg m;
    mica_ipc_recv(s->ep, &m, MICA_IPC_BLOCK);
}

static void send_go(const struct shared *s)
{
    struct mica_msg m = {.label = 1};
    KTAP_EXPECT_EQ(forked_send(s->ep, &m), 0);
}

static int64_t child_exits(void *arg)
{
    (void)arg;
    return 0;
}

static int64_t child_waits_then_reads(void *arg)
{
    struct shared *s = arg;
    wait_go(s);
    return holds(s->p, 0, s->npages, 1) ? 0 : FORKED_BAD_DATA;
}

static int64_t child_reads(void *arg)
{
    struct shared *s = arg;
    return holds(s->p, 0, s->npages, 1) ? 0 : FORKED_BAD_DATA;
}

/* Sees round 1 on the first half (the parent rewrote it: not visible
 * here), writes round 3 on the second half and reads its own data back. */
static int64_t child_writes_second_half(void *arg)
{
    struct shared *s = arg;
    uint64_t half = s->npages / 2;
    wait_go(s);
    if (!holds(s->p, 0, half, 1))
        return FORKED_BAD_DATA;
    fill(s->p, half, half, 3);
    return holds(s->p, half, half, 3) && holds(s->p, 0, half, 1) ? 0 : FORKED_BAD_DATA;
}

/* Writes one word in each of NWRITE pages; its status is the frames that
 * took (with its stack already copied by the calls before the count). */
static int64_t child_counts_copies(void *arg)
{
    struct shared *s = arg;
    int64_t before = mica_info(MICA_INFO_FREE_FRAMES);
    for (uint64_t i = 0; i < NWRITE; i++)
        s->p[i * WORDS + 7] = i;
    int64_t after = mica_info(MICA_INFO_FREE_FRAMES);
    for (uint64_t i = 0; i < NWRITE; i++)
        if (s->p[i * WORDS + 7] != i)
            return FORKED_BAD_DATA;
    return before - after;
}

/* One fork and collect first, so that kernel caches which grow once (slab
 * pages for tasks, threads, handles) are grown before any count. */
static void warm_up(void)
{
    KTAP_EXPECT_EQ(forked_run(child_exits, NULL), 0);
}

static void cow_clone_shares_frames(void)
{
    warm_up();
    struct shared s;
    KTAP_REQUIRE(setup(&s, NPAGES));
    int64_t before = mica_info(MICA_INFO_FREE_FRAMES);
    long child = forked_start(child_waits_then_reads, &s);
    KTAP_REQUIRE(child > 0);
    int64_t after = mica_info(MICA_INFO_FREE_FRAMES);
    printf("# fork of a task with %u data pages took %lld frames\n", NPAGES,
           (long long)(before - after));
    /* Page tables, a kernel stack, the stack pages either side wrote
     * since: a few dozen at most; a copy of the region would be NPAGES. */
    KTAP_EXPECT(before - after < (int64_t)NPAGES / 4);
    send_go(&s);
    KTAP_EXPECT_EQ(forked_collect(child), 0);
    teardown(&s);
}

static void cow_parent_and_child_read_same_data(void)
{
    struct shared s;
    KTAP_REQUIRE(setup(&s, NPAGES));
    KTAP_EXPECT_EQ(forked_run(child_reads, &s), 0);
    KTAP_EXPECT(holds(s.p, 0, NPAGES, 1));
    teardown(&s);
}

/* The parent rewrites the first half after the fork, the child the second
 * half; neither sees the other's writes. */
static void cow_writes_are_private(void)
{
    struct shared s;
    KTAP_REQUIRE(setup(&s, NPAGES));
    long child = forked_start(child_writes_second_half, &s);
    KTAP_REQUIRE(child > 0);
    fill(s.p, 0, NPAGES / 2, 2);
    send_go(&s);
    KTAP_EXPECT_EQ(forked_collect(child), 0); /* saw round 1, not our round 2 */
    KTAP_EXPECT(holds(s.p, 0, NPAGES / 2, 2));
    KTAP_EXPECT(holds(s.p, NPAGES / 2, NPAGES / 2, 1)); /* not the child's round 3 */
    teardown(&s);
}

static void cow_one_copy_per_written_page(void)
{
    struct shared s;
    KTAP_REQUIRE(setup(&s, NWRITE));
    KTAP_EXPECT_EQ(forked_run(child_counts_copies, &s), NWRITE);
    teardown(&s);
}

/* Once the child is gone the parent holds the only mapping of each frame:
 * its first write takes the frame over (remapped writable, no copy). */
static void cow_last_mapping_takes_frame_over(void)
{
    struct shared s;
    KTAP_REQUIRE(setup(&s, NPAGES));
    KTAP_EXPECT_EQ(forked_run(child_reads, &s), 0);
    int64_t before = mica_info(MICA_INFO_FREE_FRAMES);
    fill(s.p, 0, NPAGES, 4);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), before);
    KTAP_EXPECT(holds(s.p, 0, NPAGES, 4));
    teardown(&s);
}

/* A region made after the fork, shared with the child by vm_share_cow:
 * the child sees the data at the same address without a copy, and its
 * writes stay its own. */
static int64_t child_uses_later_region(void *arg)
{
    struct shared *s = arg;
    struct mica_msg m; /* the region's address and pages, once shared */
    mica_ipc_recv(s->ep, &m, MICA_IPC_BLOCK);
    volatile uint64_t *p = (volatile uint64_t *)m.w[0];
    uint64_t n = m.w[1];
    if (!holds(p, 0, n, 5))
        return FORKED_BAD_DATA;
    fill(p, 0, n, 6);
    return holds(p, 0, n, 6) ? 0 : FORKED_BAD_DATA;
}

static void cow_share_region_with_child(void)
{
    struct shared s;
    KTAP_REQUIRE(setup(&s, 1));
    long child = forked_start(child_uses_later_region, &s);
    KTAP_REQUIRE(child > 0);
    volatile uint64_t *p = vm_alloc(NPAGES * PAGE, RW);
    KTAP_EXPECT(p != NULL);
    if (p)
        fill(p, 0, NPAGES, 5);
    int64_t before = mica_info(MICA_INFO_FREE_FRAMES);
    long shared = p ? vm_share_cow((void *)p, NPAGES * PAGE, (uint64_t)child) : -1;
    KTAP_EXPECT_EQ(shared, NPAGES);
    printf("# sharing %u present pages took %lld frames\n", NPAGES,
           (long long)(before - mica_info(MICA_INFO_FREE_FRAMES)));
    KTAP_EXPECT(before - mica_info(MICA_INFO_FREE_FRAMES) < (int64_t)NPAGES / 4);
    struct mica_msg m = {.label = 2, .w = {(uint64_t)(uintptr_t)p, shared == NPAGES ? NPAGES : 0}};
    KTAP_EXPECT_EQ(forked_send(s.ep, &m), 0);
    KTAP_EXPECT_EQ(forked_collect(child), 0);
    if (p) {
        KTAP_EXPECT(holds(p, 0, NPAGES, 5)); /* not the child's round 6 */
        KTAP_EXPECT_EQ(vm_free((void *)p, NPAGES * PAGE), 0);
    }
    teardown(&s);
}

/* A full round (region, fork, writes on both sides, child gone, region
 * freed) leaves the free-frame count where it started. */
static void cow_frames_back_at_baseline(void)
{
    warm_up();
    int64_t base = mica_info(MICA_INFO_FREE_FRAMES);
    struct shared s;
    KTAP_REQUIRE(setup(&s, NPAGES));
    long child = forked_start(child_writes_second_half, &s);
    KTAP_REQUIRE(child > 0);
    fill(s.p, 0, NPAGES / 2, 2);
    send_go(&s);
    KTAP_EXPECT_EQ(forked_collect(child), 0);
    teardown(&s);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), base);
}

static const struct ktap_case tests[] = {
    {"cow_clone_shares_frames", cow_clone_shares_frames},
    {"cow_parent_and_child_read_same_data", cow_parent_and_child_read_same_data},
    {"cow_writes_are_private", cow_writes_are_private},
    {"cow_one_copy_per_written_page", cow_one_copy_per_written_page},
    {"cow_last_mapping_takes_frame_over", cow_last_mapping_takes_frame_over},
    {"cow_share_region_with_child", cow_share_region_with_child},
    {"cow_frames_back_at_baseline", cow_frames_back_at_baseline},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

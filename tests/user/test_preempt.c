/* Long system calls must not stop the machine: the kernel runs them with
 * interrupts off, so each one that does work in proportion to an
 * argument stops at preemption points (docs/design.md §14), where a
 * pending timer interrupt is taken and the thread may be switched out.
 * Run by init with "pager:pager" (vm_fork needs a pager).
 *
 * What is checked does not depend on time: the kernel counts the
 * preemption points it passes (MICA_INFO_PREEMPT_POINTS), and each
 * hostile call of hostile.h must pass at least one per PAGES_PER_POINT
 * pages it works on. The work between two points is bounded by
 * construction (PREEMPT_BUDGET), so this is the bound on the time the
 * timer waits, in work rather than in host time; make bench checks the
 * figure in guest instructions (bench_irq, under -icount). Before
 * preemption points the counter did not exist and one unmap of the empty
 * user half visited 2^35 pages with interrupts off. The longest wait this
 * run saw, in host time, is printed for information only. */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "hostile.h"

/* At least one preemption point per this many pages of work: a page
 * zeroed or released costs the kernel 96 or 48 units of its budget of
 * 1 024, so it passes one every 11 to 22 pages; 64 leaves room. */
#define PAGES_PER_POINT 64u
#define MiB             (1ull << 20)

/* The largest map this guest can take: 1 GiB, or less with less memory. */
static uint64_t big_map_bytes(void)
{
    uint64_t free_bytes = (uint64_t)mica_info(MICA_INFO_FREE_FRAMES) * HOSTILE_PAGE;
    uint64_t bytes = 1024 * MiB;
    while (bytes > free_bytes / 2)
        bytes /= 2;
    return bytes;
}

static int64_t points(void)
{
    return mica_info(MICA_INFO_PREEMPT_POINTS);
}

/* The call that just ran worked on `bytes` of pages: it must have passed
 * a preemption point every PAGES_PER_POINT of them. */
static void expect_points(const char *what, int64_t before, uint64_t bytes)
{
    int64_t passed = points() - before;
    int64_t want = (int64_t)(bytes / HOSTILE_PAGE / PAGES_PER_POINT);
    if (before < 0 || passed < want)
        printf("# %s of %llu KiB: %lld preemption points, at least %lld expected\n", what,
               (unsigned long long)(bytes >> 10), (long long)passed, (long long)want);
    KTAP_EXPECT(before >= 0 && passed >= want);
}

static void note_latency(const char *what)
{
    printf("# %s: longest timer interrupt wait %lld ns of host time (not checked)\n", what,
           (long long)mica_info(MICA_INFO_IRQ_LATENCY_MAX));
}

/* UNMAP of a child's whole user half, MEM_UNMAP of 80 TiB of holes: holes
 * are skipped a table at a time, so both return at once. */
static void unmap_of_the_user_half_returns(void)
{
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_IRQ_LATENCY_RESET), 0);
    KTAP_EXPECT(points() >= 0);
    KTAP_EXPECT_EQ(hostile_unmap_user_half(), 0);
    note_latency("unmap of the user half");
}

/* MEM_MAP and MEM_UNMAP of the largest range memory allows, then a child
 * with it mapped exits; every frame comes back. */
static void map_unmap_and_teardown_are_preemptible(void)
{
    uint64_t bytes = big_map_bytes();
    hostile_map_unmap(HOSTILE_PAGE); /* warm up the page tables' caches */
    int64_t frames = mica_info(MICA_INFO_FREE_FRAMES);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_IRQ_LATENCY_RESET), 0);
    int64_t p0 = points();
    KTAP_EXPECT_EQ(hostile_map_unmap(bytes), 0);
    expect_points("map and unmap", p0, 2 * bytes);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), frames);
    p0 = points();
    KTAP_EXPECT_EQ(hostile_exit_mapped(bytes), 0);
    expect_points("map into a child and its exit", p0, 2 * bytes);
    note_latency("map, unmap and teardown");
}

/* vm_fork with a quarter of that mapped, spawn of a 16 MiB image (less
 * in a small guest: the image and the child's copy must both fit). */
static void fork_and_spawn_are_preemptible(void)
{
    uint64_t bytes = big_map_bytes();
    unsigned image_mb = (unsigned)(bytes >> 21);
    image_mb = image_mb < 1 ? 1 : image_mb > HOSTILE_IMAGE_MB ? HOSTILE_IMAGE_MB : image_mb;
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_IRQ_LATENCY_RESET), 0);
    int64_t p0 = points();
    KTAP_EXPECT_EQ(hostile_fork_mapped(bytes / 4), 0);
    /* map, fork (clone, the child's teardown), unmap */
    expect_points("fork", p0, 4 * (bytes / 4));
    p0 = points();
    KTAP_EXPECT_EQ(hostile_spawn_big(image_mb), 0);
    /* the image mapped here, mapped and copied in the child */
    expect_points("spawn", p0, 3 * ((uint64_t)image_mb << 20));
    note_latency("fork and spawn");
}

/* One range check for every paging call, with one bound: the whole user
 * half (MAP_SHARE once refused more than 4 GiB). Holes are skipped. */
static void every_paging_call_takes_the_user_half(void)
{
    uint64_t n = 1ull << 21; /* 8 GiB of holes */
    KTAP_EXPECT_EQ(mica_map_share(MICA_HANDLE_SELF, HOSTILE_VA, MICA_HANDLE_SELF,
                                  2 * HOSTILE_VA, n, MICA_PROT_READ), 0);
    KTAP_EXPECT_EQ(mica_unmap(MICA_HANDLE_SELF, HOSTILE_VA, n), 0);
    uint64_t all = MICA_USER_END / HOSTILE_PAGE - 1;
    KTAP_EXPECT_EQ(mica_unmap(MICA_HANDLE_SELF, HOSTILE_PAGE, all + 1), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_map_share(MICA_HANDLE_SELF, HOSTILE_VA, MICA_HANDLE_SELF,
                                  2 * HOSTILE_VA, all, MICA_PROT_READ), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_protect(MICA_HANDLE_SELF, HOSTILE_VA, n, MICA_PROT_READ), -MICA_ENOENT);
}

static const struct ktap_case tests[] = {
    {"unmap_of_the_user_half_returns", unmap_of_the_user_half_returns},
    {"map_unmap_and_teardown_are_preemptible", map_unmap_and_teardown_are_preemptible},
    {"fork_and_spawn_are_preemptible", fork_and_spawn_are_preemptible},
    {"every_paging_call_takes_the_user_half", every_paging_call_takes_the_user_half},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

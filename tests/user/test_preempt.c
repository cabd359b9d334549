/* Long system calls must not stop the machine: the kernel runs them with
 * interrupts off, so each one that does work in proportion to an
 * argument stops at preemption points (docs/design.md, "Preemption
 * points"). Run by init with "pager:pager" (vm_fork needs a pager).
 *
 * The figure checked is the kernel's own record of how long a timer
 * interrupt waited pending (MICA_INFO_IRQ_LATENCY_MAX), in timer periods:
 * before preemption points, one unmap of the empty user half kept the
 * timer waiting for minutes (2^35 page visits); now the wait is a few
 * tens of microseconds. The bound, MAX_PERIODS periods, is far above any
 * host hiccup and far below the old behaviour, so the result does not
 * depend on the host's speed. make bench checks the exact figure in guest
 * instructions (bench_irq). */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "hostile.h"

#define PERIOD_NS   10000000ll /* one tick at 100 Hz */
#define MAX_PERIODS 20         /* the longest wait allowed, in ticks */
#define MiB         (1ull << 20)

/* The largest map this guest can take: 1 GiB, or less with less memory. */
static uint64_t big_map_bytes(void)
{
    uint64_t free_bytes = (uint64_t)mica_info(MICA_INFO_FREE_FRAMES) * HOSTILE_PAGE;
    uint64_t bytes = 1024 * MiB;
    while (bytes > free_bytes / 2)
        bytes /= 2;
    return bytes;
}

static void expect_timer_kept_running(const char *what)
{
    int64_t max = mica_info(MICA_INFO_IRQ_LATENCY_MAX);
    if (max < 0 || max > MAX_PERIODS * PERIOD_NS)
        printf("# %s: a timer interrupt waited %lld ns (bound %lld)\n", what, (long long)max,
               (long long)(MAX_PERIODS * PERIOD_NS));
    KTAP_EXPECT(max >= 0 && max <= MAX_PERIODS * PERIOD_NS);
}

/* UNMAP of a child's whole user half, MEM_UNMAP of 80 TiB of holes. */
static void unmap_of_the_user_half_keeps_the_timer(void)
{
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_IRQ_LATENCY_RESET), 0);
    int64_t t0 = mica_info(MICA_INFO_TICKS);
    KTAP_EXPECT_EQ(hostile_unmap_user_half(), 0);
    KTAP_EXPECT(mica_info(MICA_INFO_TICKS) >= t0);
    expect_timer_kept_running("unmap of the user half");
}

/* MEM_MAP and MEM_UNMAP of the largest range memory allows, then a child
 * with it mapped exits; every frame comes back. */
static void map_unmap_and_teardown_keep_the_timer(void)
{
    uint64_t bytes = big_map_bytes();
    hostile_map_unmap(HOSTILE_PAGE); /* warm up the page tables' caches */
    int64_t frames = mica_info(MICA_INFO_FREE_FRAMES);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_IRQ_LATENCY_RESET), 0);
    KTAP_EXPECT_EQ(hostile_map_unmap(bytes), 0);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), frames);
    KTAP_EXPECT_EQ(hostile_exit_mapped(bytes), 0);
    expect_timer_kept_running("map, unmap and teardown");
}

/* vm_fork with a quarter of that mapped, spawn of a 16 MiB image (less
 * in a small guest: the image and the child's copy must both fit). */
static void fork_and_spawn_keep_the_timer(void)
{
    uint64_t bytes = big_map_bytes();
    unsigned image_mb = (unsigned)(bytes >> 21);
    image_mb = image_mb < 1 ? 1 : image_mb > HOSTILE_IMAGE_MB ? HOSTILE_IMAGE_MB : image_mb;
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_IRQ_LATENCY_RESET), 0);
    KTAP_EXPECT_EQ(hostile_fork_mapped(bytes / 4), 0);
    KTAP_EXPECT_EQ(hostile_spawn_big(image_mb), 0);
    expect_timer_kept_running("fork and spawn");
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
    {"unmap_of_the_user_half_keeps_the_timer", unmap_of_the_user_half_keeps_the_timer},
    {"map_unmap_and_teardown_keep_the_timer", map_unmap_and_teardown_keep_the_timer},
    {"fork_and_spawn_keep_the_timer", fork_and_spawn_keep_the_timer},
    {"every_paging_call_takes_the_user_half", every_paging_call_takes_the_user_half},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

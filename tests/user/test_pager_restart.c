/* test_pager_restart: the pager survives its own crash (boot.cfg: `server
 * pager recv:pager send:init restart=...`; servers/pager/checkpoint.h).
 * This program kills the pager (grant pager_task=task:pager, with KILL) in
 * the middle of a run of page faults and copy-on-write forks: its fault
 * right after the kill waits on the pager's endpoint, which init keeps, and
 * is served by the restarted pager, which took its clients back from the
 * checkpoint; the run goes on and every byte written before and after the
 * kill reads back (checksums), in this program and in forked children,
 * one of them forked before the kill and writing its copies after it,
 * and a spawned child introduced before the kill allocating after it.
 * Free frames, slab objects, heap bytes and
 * live tasks end at their baseline. The guest instructions from the kill
 * to the first fault served by the new instance are printed (exact under
 * -icount; not checked). */
#include <mica/grant.h>
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"
#include "spawned.h"
#include "usage.h"

#define PAGE   4096u
#define NPAGES 64u
#define WORDS  (PAGE / sizeof(uint64_t))
#define RW     (MICA_PROT_READ | MICA_PROT_WRITE)

static volatile uint64_t *region;
static long pager_task;
static struct usage base;

static uint64_t pattern(uint64_t page, uint64_t word, uint64_t round)
{
    return (page << 40) ^ (word << 20) ^ (round * 0x9e3779b97f4a7c15ull) ^ 0xa5a5;
}

/* Write pages [first, first+n) with round's pattern: one fault a page
 * (or a cluster) on pages not yet touched, a COW fault on shared ones. */
static void fill(uint64_t first, uint64_t n, uint64_t round)
{
    for (uint64_t i = first; i < first + n; i++)
        for (uint64_t w = 0; w < WORDS; w += 61)
            region[i * WORDS + w] = pattern(i, w, round);
}

/* A checksum of what pages [first, first+n) hold, against round's. */
static bool holds(uint64_t first, uint64_t n, uint64_t round)
{
    uint64_t got = 0, want = 0;
    for (uint64_t i = first; i < first + n; i++)
        for (uint64_t w = 0; w < WORDS; w += 61) {
            got = got * 31 + region[i * WORDS + w];
            want = want * 31 + pattern(i, w, round);
        }
    return got == want;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n rdtsc\n lfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* A child: reads the parent's data, writes its own copy of every page
 * (copy-on-write faults) and reads that back. */
static int64_t cow_child(void *arg)
{
    uint64_t round = (uint64_t)arg;
    if (!holds(0, NPAGES, round))
        return FORKED_BAD_DATA;
    fill(0, NPAGES, round + 100);
    return holds(0, NPAGES, round + 100) ? 0 : FORKED_BAD_DATA;
}

/* A child alive across the kill: it says it is ready on ep (its stack is
 * its own by then), waits for "go", then checks the data it shares with
 * its parent from before the kill and writes its own copy of every page:
 * copy-on-write faults only a pager that took it back can serve. */
static int64_t survivor_child(void *arg)
{
    struct mica_msg m = {.label = 1};
    mica_ipc_send((uint64_t)arg, &m, MICA_IPC_BLOCK);
    mica_ipc_recv((uint64_t)arg, &m, MICA_IPC_BLOCK);
    if (!holds(0, NPAGES, 2))
        return FORKED_BAD_DATA;
    fill(0, NPAGES, 50);
    return holds(0, NPAGES, 50) ? 0 : FORKED_BAD_DATA;
}

/* A child that allocates through its own pager handle and writes; the
 * address, or its exit status. */
static int64_t run_alloc_child(void)
{
    long child = spawned_start(mb_alloc_touch_start, mb_alloc_touch_end, "spawned", 0, 0);
    if (child < 0)
        return child;
    int64_t va = mica_task_wait((uint64_t)child);
    mica_handle_close((uint64_t)child);
    return va;
}

/* Before the kill: every page written, a fork and its copies, every page
 * written again (the frames taken over), then the baseline. */
static void the_pager_serves_before_the_kill(void)
{
    region = vm_alloc(NPAGES * PAGE, RW);
    KTAP_REQUIRE(region != NULL);
    fill(0, NPAGES, 1);
    KTAP_EXPECT_EQ(forked_run(cow_child, (void *)1), 0);
    KTAP_EXPECT(holds(0, NPAGES, 1));
    fill(0, NPAGES, 2);
    KTAP_EXPECT(holds(0, NPAGES, 2));
    /* A spawned child, its own client (the loader's buffers in our bss
     * touched before the baseline). */
    KTAP_EXPECT(run_alloc_child() >= 0x300000000000ll);
    base = usage_now();
}

static long survivor = -1;
static long go = -1;
static long spawned = -1, spawned_go = -1;

/* The kill, half-way through a run of copy-on-write faults (the survivor
 * shares every page): the next fault waits for the new instance. */
static void a_run_of_faults_goes_on_across_the_kill(void)
{
    go = mica_endpoint_create();
    KTAP_REQUIRE(go >= 0);
    survivor = forked_start(survivor_child, (void *)go);
    KTAP_REQUIRE(survivor > 0);
    struct mica_msg ready;
    KTAP_EXPECT_EQ(forked_recv((uint64_t)go, &ready), 0);
    /* A spawned child, its own client, waits across the kill too. */
    spawned_go = mica_endpoint_create();
    KTAP_REQUIRE(spawned_go >= 0);
    uint64_t h = (uint64_t)spawned_go;
    spawned = spawned_start(mb_recv_alloc_touch_start, mb_recv_alloc_touch_end, "spawned", &h, 1);
    KTAP_REQUIRE(spawned >= 0);
    fill(0, NPAGES / 2, 3);
    uint64_t t0 = rdtsc();
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)pager_task), 0);
    fill(NPAGES / 2, 1, 3);
    uint64_t t1 = rdtsc();
    printf("# recovery: %llu guest instructions from the kill to the first fault served by "
           "the restarted pager (exact under -icount)\n", (unsigned long long)(t1 - t0));
    fill(NPAGES / 2 + 1, NPAGES / 2 - 1, 3);
    KTAP_EXPECT(holds(0, NPAGES, 3));
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)pager_task), MICA_EXIT_KILLED);
    mica_handle_close((uint64_t)pager_task); /* the dead instance goes */
}

/* The child forked before the kill was taken back too (its task handle
 * was deposited with init): its copy-on-write faults are served and its
 * data holds; so does ours. */
static void a_child_forked_before_the_kill_goes_on(void)
{
    KTAP_REQUIRE(survivor > 0 && go >= 0);
    struct mica_msg m = {.label = 1};
    KTAP_EXPECT_EQ(forked_send((uint64_t)go, &m), 0);
    KTAP_EXPECT_EQ(forked_collect(survivor), 0);
    KTAP_EXPECT(holds(0, NPAGES, 3));
    mica_handle_close((uint64_t)go);
}

/* So was the child spawned before the kill (deposited with init when it
 * was introduced): its allocation and its faults are served after it. */
static void a_child_spawned_before_the_kill_goes_on(void)
{
    KTAP_REQUIRE(spawned >= 0 && spawned_go >= 0);
    struct mica_msg m = {.label = 1}, r;
    long rc = -MICA_EAGAIN;
    for (unsigned i = 0; i < FORKED_TRIES && rc == -MICA_EAGAIN; i++) {
        rc = mica_ipc_call((uint64_t)spawned_go, &m, &r, MICA_IPC_NONBLOCK);
        if (rc == -MICA_EAGAIN)
            mica_yield();
    }
    KTAP_EXPECT_EQ(rc, 0);
    KTAP_EXPECT_EQ(r.w[0], 42);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)spawned), 0);
    mica_handle_close((uint64_t)spawned);
    mica_handle_close((uint64_t)spawned_go);
}

/* After the restart: forks, copies, new regions, spawns, all served. */
static void the_restarted_pager_serves_forks_and_new_regions(void)
{
    KTAP_EXPECT_EQ(forked_run(cow_child, (void *)3), 0);
    KTAP_EXPECT(holds(0, NPAGES, 3));
    fill(0, NPAGES, 4);
    KTAP_EXPECT(holds(0, NPAGES, 4));
    volatile uint64_t *more = vm_alloc(16 * PAGE, RW);
    KTAP_REQUIRE(more != NULL);
    for (unsigned i = 0; i < 16; i++)
        more[i * WORDS] = i + 1;
    uint64_t sum = 0;
    for (unsigned i = 0; i < 16; i++)
        sum += more[i * WORDS];
    KTAP_EXPECT_EQ(sum, 16 * 17 / 2);
    KTAP_EXPECT_EQ(vm_free((void *)more, 16 * PAGE), 0);
    KTAP_EXPECT(run_alloc_child() >= 0x300000000000ll); /* spawns too */
}

/* The new pager holds what the old one held, and nothing else is left:
 * free frames, slab objects, heap bytes and live tasks at the baseline. */
static void counts_are_back_at_the_baseline(void)
{
    KTAP_EXPECT(tasks_drop_to(base.tasks, 1000));
    expect_baseline(&base);
}

static const struct ktap_case tests[] = {
    {"the_pager_serves_before_the_kill", the_pager_serves_before_the_kill},
    {"a_run_of_faults_goes_on_across_the_kill", a_run_of_faults_goes_on_across_the_kill},
    {"a_child_forked_before_the_kill_goes_on", a_child_forked_before_the_kill_goes_on},
    {"a_child_spawned_before_the_kill_goes_on", a_child_spawned_before_the_kill_goes_on},
    {"the_restarted_pager_serves_forks_and_new_regions",
     the_restarted_pager_serves_forks_and_new_regions},
    {"counts_are_back_at_the_baseline", counts_are_back_at_the_baseline},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    pager_task = mica_grant("pager_task");
    if (pager_task < 0)
        return 1;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

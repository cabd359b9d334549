/* The pager under load: 8 forked children (forked.h) each take 10,000
 * demand-zero faults in random orders, in rounds of a 250-page region
 * allocated, touched page by page (reads first or writes first), checked
 * and freed, so that at most 8 x 250 pages are live at once (the 32 MiB
 * guest has room); every page holds a pattern derived from its address and
 * round, checked after the round. Then exhaustion: a child touching more
 * pages than it may have is killed (with the pager's "no memory" report)
 * while a bystander child and this program carry on; once with the pager's
 * frame quota as the limit, which works at every memory size, and once
 * with all of RAM, where touching every free page is quick enough. Each
 * ends with the free-frame count back at its baseline. init starts it with
 * "pager:pager pager_task=task:pager" (the grants "pager", the pager's
 * endpoint, and "pager_task", the pager's task, whose frame quota the
 * quota case sets). */
#include <mica/grant.h>
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"

#define PAGE       4096u
#define WORDS      (PAGE / sizeof(uint64_t))
#define RW         (MICA_PROT_READ | MICA_PROT_WRITE)
#define CHILDREN   8u
#define FAULTS     10000u /* per child */
#define ROUND_PAGES 250u  /* FAULTS / ROUND_PAGES rounds */
/* Touching every free page takes about a second per 100 MiB under TCG:
 * above this the whole-RAM exhaustion is skipped (the big-memory guests);
 * the quota exhaustion runs everywhere. */
#define EXHAUST_MAX_FRAMES (160u * 1024 * 1024 / PAGE)
static uint64_t pager_task; /* boot.cfg: pager_task=task:pager */
#define QUOTA_FRAMES_MAX   4096u /* 16 MiB: quick to exhaust under TCG */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t pattern(volatile uint64_t *word, uint64_t round)
{
    return (uint64_t)(uintptr_t)word * 0x9e3779b97f4a7c15ull + round;
}

/* One child's load, arg = child index | rounds << 8: the pages of each
 * round in a random permutation, each page's first access a read (must see
 * zeros) or a write; then everything checked. Returns 0 or FORKED_*. */
static int64_t child_faults(void *arg)
{
    static uint16_t order[ROUND_PAGES];
    uint64_t rounds = (uint64_t)(uintptr_t)arg >> 8;
    uint64_t seed = 0x2545f4914f6cdd1dull * (((uint64_t)(uintptr_t)arg & 0xff) + 1);
    for (uint64_t round = 0; round < rounds; round++) {
        volatile uint64_t *p = vm_alloc(ROUND_PAGES * PAGE, RW);
        if (!p)
            return FORKED_NO_MEM;
        for (unsigned i = 0; i < ROUND_PAGES; i++)
            order[i] = (uint16_t)i;
        for (unsigned i = ROUND_PAGES - 1; i > 0; i--) {
            unsigned j = (unsigned)(rng_next(&seed) % (i + 1));
            uint16_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (unsigned i = 0; i < ROUND_PAGES; i++) {
            volatile uint64_t *pg = p + (uint64_t)order[i] * WORDS;
            unsigned w = (unsigned)(rng_next(&seed) % WORDS);
            if ((rng_next(&seed) & 1) && (pg[w] != 0 || pg[WORDS - 1 - w] != 0))
                return FORKED_BAD_DATA;
            pg[w] = pattern(&pg[w], round);
            pg[0] = pattern(&pg[0], round);
        }
        for (unsigned i = 0; i < ROUND_PAGES; i++) {
            volatile uint64_t *pg = p + (uint64_t)i * WORDS;
            if (pg[0] != pattern(&pg[0], round))
                return FORKED_BAD_DATA;
            for (unsigned w = 1; w < WORDS; w++)
                if (pg[w] != 0 && pg[w] != pattern(&pg[w], round))
                    return FORKED_BAD_DATA;
        }
        if (vm_free((void *)p, ROUND_PAGES * PAGE) != 0)
            return FORKED_BAD_DATA;
    }
    return 0;
}

#define CHILD_ARG(index, rounds) ((void *)(uintptr_t)((index) | (rounds) << 8))

/* One short child first, so that kernel caches which grow once are grown
 * before the baselines. */
static void warm_up(void)
{
    KTAP_EXPECT_EQ(forked_run(child_faults, CHILD_ARG(0, 1)), 0);
}

static void eight_tasks_ten_thousand_faults_each(void)
{
    int64_t base = mica_info(MICA_INFO_FREE_FRAMES);
    long child[CHILDREN];
    for (unsigned i = 0; i < CHILDREN; i++) {
        child[i] = forked_start(child_faults, CHILD_ARG(i, FAULTS / ROUND_PAGES));
        KTAP_EXPECT(child[i] > 0);
    }
    for (unsigned i = 0; i < CHILDREN; i++)
        if (child[i] > 0)
            KTAP_EXPECT_EQ(forked_collect(child[i]), 0);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), base);
}

/* Touch one word in each of n pages of a fresh region: should not return. */
static int64_t child_touches_too_much(void *arg)
{
    uint64_t n = (uint64_t)(uintptr_t)arg;
    volatile uint8_t *p = vm_alloc(n * PAGE, RW);
    if (!p)
        return FORKED_NO_MEM;
    for (uint64_t i = 0; i < n; i++)
        p[i * PAGE] = 1;
    return FORKED_ALIVE;
}

/* Touches its few pages first, says so, then waits for "go" and checks
 * them: it needs no frame while the other child exhausts memory. */
static uint64_t bystander_ep;
static int64_t child_bystander(void *arg)
{
    (void)arg;
    volatile uint64_t *p = vm_alloc(4 * PAGE, RW);
    if (!p)
        return FORKED_NO_MEM;
    for (unsigned i = 0; i < 4; i++)
        p[i * WORDS] = pattern(&p[i * WORDS], 9);
    struct mica_msg m = {.label = 1};
    mica_ipc_send(bystander_ep, &m, MICA_IPC_BLOCK); /* ready */
    mica_ipc_recv(bystander_ep, &m, MICA_IPC_BLOCK); /* go */
    for (unsigned i = 0; i < 4; i++)
        if (p[i * WORDS] != pattern(&p[i * WORDS], 9))
            return FORKED_BAD_DATA;
    return 0;
}

/* A bystander child holds a few pages; a greedy child touches n pages and
 * must be killed for want of memory; then the bystander checks its pages,
 * this program's pager still serves it, and no frame is lost. `limit`
 * runs between the bystander's start and the greedy child: it returns n,
 * or 0 to stop (after reporting why). */
static void exhaustion_case(uint64_t (*limit)(void), void (*unlimit)(void))
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    bystander_ep = (uint64_t)ep;
    int64_t base = mica_info(MICA_INFO_FREE_FRAMES);
    long bystander = forked_start(child_bystander, NULL);
    KTAP_REQUIRE(bystander > 0);
    struct mica_msg ready;
    KTAP_EXPECT_EQ(forked_recv(bystander_ep, &ready), 0);
    uint64_t n = limit();
    if (n)
        KTAP_EXPECT_EQ(forked_run(child_touches_too_much, (void *)(uintptr_t)n),
                       MICA_EXIT_KILLED);
    if (unlimit)
        unlimit();
    struct mica_msg go = {.label = 1};
    KTAP_EXPECT_EQ(forked_send(bystander_ep, &go), 0);
    KTAP_EXPECT_EQ(forked_collect(bystander), 0);
    /* This program's pager still serves it. */
    volatile uint64_t *p = vm_alloc(8 * PAGE, RW);
    KTAP_REQUIRE(p != NULL);
    p[3 * WORDS] = 3;
    KTAP_EXPECT_EQ(p[3 * WORDS], 3);
    KTAP_EXPECT_EQ(vm_free((void *)p, 8 * PAGE), 0);
    mica_handle_close(bystander_ep);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), base);
}

/* Whole RAM: more pages than are free. */
static uint64_t limit_ram(void)
{
    return (uint64_t)mica_info(MICA_INFO_FREE_FRAMES) + 1024;
}

static void exhaustion_kills_only_the_greedy_task(void)
{
    exhaustion_case(limit_ram, NULL);
}

/* The pager's frame quota, set well below the free frames: the greedy
 * child touches 1024 pages more than the quota allows but 1024 fewer than
 * are free, so only the quota can stop it. The pager's other charges (the
 * bystander's pages, this program's) are a few frames and count against
 * the same quota. */
static uint64_t limit_quota(void)
{
    uint64_t free = (uint64_t)mica_info(MICA_INFO_FREE_FRAMES);
    if (!KTAP_EXPECT(free > 4096))
        return 0;
    uint64_t quota = (free - 2048) / 2 < QUOTA_FRAMES_MAX ? (free - 2048) / 2 : QUOTA_FRAMES_MAX;
    if (!KTAP_EXPECT_EQ(mica_set_frame_quota(pager_task, quota), 0))
        return 0;
    return quota + 1024;
}

static void unlimit_quota(void)
{
    KTAP_EXPECT_EQ(mica_set_frame_quota(pager_task, 0), 0);
}

static void quota_exhaustion_kills_only_the_greedy_task(void)
{
    exhaustion_case(limit_quota, unlimit_quota);
}

int main(const struct mica_start_info *si)
{
    (void)si;
    long task = mica_grant("pager_task");
    if (task < 0)
        return 1;
    pager_task = (uint64_t)task;
    ktap_begin(3);
    warm_up();
    ktap_run("eight_tasks_ten_thousand_faults_each", eight_tasks_ten_thousand_faults_each);
    ktap_run("quota_exhaustion_kills_only_the_greedy_task",
             quota_exhaustion_kills_only_the_greedy_task);
    if (mica_info(MICA_INFO_FREE_FRAMES) > (int64_t)EXHAUST_MAX_FRAMES)
        ktap_skip("exhaustion_kills_only_the_greedy_task",
                  "all of RAM is too much to exhaust quickly under TCG (the quota case ran)");
    else
        ktap_run("exhaustion_kills_only_the_greedy_task", exhaustion_kills_only_the_greedy_task);
    return ktap_end();
}

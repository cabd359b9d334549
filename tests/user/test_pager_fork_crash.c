/* test_pager_fork_crash: the pager dies in the middle of a vm_fork, after
 * the kernel made the child and init took its task handle (INIT_DEPOSIT),
 * before the parent had its answer. The instant is made exact with
 * fault injection: init's answer to that deposit is withheld
 * (reply_withhold on init), which holds the pager in its call to init;
 * a helper task sees the point fire and kills the pager (grant
 * pager_task=task:pager). The parent's vm_fork must still return the
 * child (the restarted pager took it back from its checkpoint), the child
 * must run and be collected, and no kernel object may be left behind: a
 * deposit whose child the checkpoint did not have kept a dead task alive
 * in init for the rest of the boot (slab=+1 in the 1,008-run campaign,
 * docs/fault-injection.md section 10). */
#include <mica/grant.h>
#include <mica/inject.h>
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"
#include "usage.h"

#define PAGE 4096u
#define RW   (MICA_PROT_READ | MICA_PROT_WRITE)

static long pager_task, inject, ep = -1;
static volatile uint64_t *region;
static struct usage base;

/* The child forked while the pager dies: reads the parent's page and
 * writes its own copy (a copy-on-write fault the new pager serves). */
static int64_t child_body(void *arg)
{
    (void)arg;
    if (region[0] != 0x1234)
        return FORKED_BAD_DATA;
    region[0] = 0x5678;
    return region[0] == 0x5678 ? 0 : FORKED_BAD_DATA;
}

/* The helper: its stack made its own, it says it is ready, gets the
 * point's index, waits for it to fire and kills the pager, which is held
 * in its call to init by then. Makes no page fault after "ready": the
 * pager cannot serve one until it is restarted. */
static int64_t killer_body(void *arg)
{
    (void)arg;
    struct mica_inject_point pt = {0};
    struct mica_msg m = {.label = 1};
    mica_inject_get(inject, 0, &pt);
    if (mica_ipc_send((uint64_t)ep, &m, MICA_IPC_BLOCK) < 0 ||
        mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_BLOCK) < 0)
        return 1;
    for (unsigned i = 0; i < FORKED_TRIES; i++) {
        if (mica_inject_get(inject, m.w[0], &pt) == 0 && pt.fired)
            return mica_task_kill((uint64_t)pager_task) == 0 ? 0 : 2;
        mica_yield();
    }
    return 3;
}

/* A fork before anything is armed: the pager's tables have grown. */
static void a_fork_before_the_crash(void)
{
    region = vm_alloc(PAGE, RW);
    KTAP_REQUIRE(region != NULL);
    region[0] = 0x1234;
    KTAP_EXPECT_EQ(forked_run(child_body, NULL), 0);
    KTAP_EXPECT_EQ(region[0], 0x1234);
    base = usage_now();
}

static long killer = -1;

/* The pager dies holding the fork; vm_fork returns the child all the
 * same, from the restarted pager. */
static void vm_fork_returns_the_child_across_the_crash(void)
{
    ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    killer = forked_start(killer_body, NULL);
    KTAP_REQUIRE(killer > 0);
    struct mica_msg m;
    KTAP_REQUIRE(forked_recv((uint64_t)ep, &m) == 0);
    long p = mica_inject_arm(inject, "reply_withhold:task=init,nth=1");
    KTAP_REQUIRE(p >= 0);
    m = (struct mica_msg){.label = 1, .w = {(uint64_t)p}};
    KTAP_REQUIRE(forked_send((uint64_t)ep, &m) == 0);
    long child = forked_start(child_body, NULL);
    struct mica_inject_point pt = {0};
    KTAP_EXPECT_EQ(mica_inject_get(inject, (uint64_t)p, &pt), 0);
    KTAP_EXPECT(pt.fired);
    mica_inject_disarm(inject, (uint64_t)p);
    KTAP_EXPECT_EQ(forked_collect(killer), 0);
    KTAP_EXPECT(child > 0);
    if (child > 0)
        KTAP_EXPECT_EQ(forked_collect(child), 0);
    KTAP_EXPECT_EQ(region[0], 0x1234);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)pager_task), MICA_EXIT_KILLED);
    mica_handle_close((uint64_t)pager_task);
    mica_handle_close((uint64_t)ep);
}

/* Nothing of the interrupted fork is left: no task kept alive by a
 * handle nobody can use, in init or in the pager. */
static void nothing_is_left_of_the_interrupted_fork(void)
{
    KTAP_EXPECT_EQ(forked_run(child_body, NULL), 0);
    KTAP_EXPECT(tasks_drop_to(base.tasks, 1000));
    expect_baseline(&base);
}

static const struct ktap_case tests[] = {
    {"a_fork_before_the_crash", a_fork_before_the_crash},
    {"vm_fork_returns_the_child_across_the_crash", vm_fork_returns_the_child_across_the_crash},
    {"nothing_is_left_of_the_interrupted_fork", nothing_is_left_of_the_interrupted_fork},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    pager_task = mica_grant("pager_task");
    inject = mica_grant("inject");
    if (pager_task < 0 || inject < 0)
        return 1;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

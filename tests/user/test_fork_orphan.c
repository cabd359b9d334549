/* test_fork_orphan: a forked child that died, whose parent died before it
 * released it (vm_release), is forgotten by the pager when the parent is:
 * before, the pager's task handle and init's deposit kept the dead
 * child's task for the rest of the boot (slab=+1 in the 1,008-run
 * campaign, where the pager killed a workload client and then its
 * copy-on-write child; docs/fault-injection.md section 10). And a child
 * that ended and that its living parent never releases is forgotten at
 * its death note (a code flip in the pager made every release name
 * another child: slab=+2 in the same campaign). */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"
#include "usage.h"

#define PAGE 4096u

static volatile uint64_t *ro;

/* Writes to a read-only region: the pager kills it. */
static int64_t violator(void *arg)
{
    (void)arg;
    ro[0] = 1;
    return FORKED_ALIVE;
}

/* Forks the violator, waits for its death and exits without releasing
 * it, as a parent killed at that point would. */
static int64_t careless_parent(void *arg)
{
    (void)arg;
    long child = forked_start(violator, NULL);
    if (child < 0)
        return 1;
    return mica_task_wait((uint64_t)child) == MICA_EXIT_KILLED ? 0 : 2;
}

static struct usage base;

static void a_fork_and_a_kill_first(void)
{
    ro = vm_alloc(PAGE, MICA_PROT_READ);
    KTAP_REQUIRE(ro != NULL);
    KTAP_EXPECT_EQ(forked_run(careless_parent, NULL), 0);
    KTAP_EXPECT(tasks_drop_to(mica_info(MICA_INFO_TASKS), 1000));
    base = usage_now();
}

/* The same again: what the first round grew is grown; this round must
 * leave nothing. */
static void the_dead_grandchild_is_forgotten_with_its_parent(void)
{
    int64_t tasks = mica_info(MICA_INFO_TASKS);
    KTAP_EXPECT_EQ(forked_run(careless_parent, NULL), 0);
    KTAP_EXPECT(tasks_drop_to(tasks, 1000));
    expect_baseline(&base);
}

static int64_t quiet_child(void *arg)
{
    (void)arg;
    return 7;
}

/* This program forks, waits, closes the child's handle and never sends
 * vm_release: only the pager's task handle could keep the dead child. */
static void a_dead_child_is_forgotten_without_its_release(void)
{
    int64_t tasks = mica_info(MICA_INFO_TASKS);
    long child = forked_start(quiet_child, NULL);
    KTAP_REQUIRE(child > 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)child), 7);
    mica_handle_close((uint64_t)child);
    KTAP_EXPECT(tasks_drop_to(tasks, 1000));
    /* The pager takes the note when it next runs. */
    struct usage now = usage_now();
    for (unsigned i = 0; i < 1000 && now.slab != base.slab; i++) {
        mica_yield();
        now = usage_now();
    }
    expect_baseline(&base);
}

static const struct ktap_case tests[] = {
    {"a_fork_and_a_kill_first", a_fork_and_a_kill_first},
    {"the_dead_grandchild_is_forgotten_with_its_parent",
     the_dead_grandchild_is_forgotten_with_its_parent},
    {"a_dead_child_is_forgotten_without_its_release",
     a_dead_child_is_forgotten_without_its_release},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

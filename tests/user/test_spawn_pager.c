/* A child spawned by a program with a pager is a client of its own
 * (mica_task_spawn, PAGER_VM_SPAWN; design.md §23.7): its vm_alloc and
 * its faults are served in its own address space, never in its parent's.
 * Before this, a child took its parent's pager and badge, and the pager
 * made the child's regions, and mapped its pages, in the parent.
 *   - child_allocates_in_its_own_space: the child asks for a region through
 *     the last handle it was given (its own pager handle; the parent also
 *     passes its own, as a program wanting its child to malloc used to)
 *     and writes it; the region and the page are not the parent's;
 *   - hostile_introductions_refused: no badge prepared, a handle without
 *     MAP, a started task, the caller itself, regions outside the user
 *     half, above the loader's range, misplaced stack, W+X, overlapping;
 *     a task introduced twice; nothing left behind; MICA_INFO_TASK_THREADS,
 *     with which the pager tells a started task;
 *   - child_outlives_its_parent: a forked parent spawns the child and
 *     exits; the child, still its own client, allocates and writes after
 *     that, and once it ends the pager forgets it: counters at baseline. */
#include <mica/grant.h>
#include <mica/ktap.h>
#include <mica/spawn.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"
#include "spawned.h"
#include "usage.h"

#define PAGE 4096ull
#define LEN(name) ((size_t)(mb_##name##_end - mb_##name##_start))
static uint64_t pages_mapped(void)
{
    struct mica_task_info info;
    return mica_task_info(MICA_HANDLE_SELF, &info) == 0 ? info.pages_mapped : 0;
}

/* Spawn the allocating child with our own pager handle as its handle 0,
 * wait for it; the address it wrote, or its exit status. */
static int64_t run_alloc_child(uint64_t mine)
{
    long child = spawned_start(mb_alloc_touch_start, mb_alloc_touch_end, "childalloc", &mine, 1);
    if (child < 0)
        return child;
    int64_t va = mica_task_wait((uint64_t)child);
    mica_handle_close((uint64_t)child);
    return va;
}

static void child_allocates_in_its_own_space(void)
{
    long me = mica_grant("pager");
    KTAP_REQUIRE(me >= 0);
    void *warm = vm_alloc(PAGE, MICA_PROT_READ | MICA_PROT_WRITE); /* we are a client */
    KTAP_REQUIRE(warm != NULL);
    /* The first spawn touches the loader's buffers in our bss. */
    int64_t first = run_alloc_child((uint64_t)me);
    uint64_t mapped = pages_mapped();
    int64_t va = run_alloc_child((uint64_t)me);
    printf("# the children exited with 0x%llx and 0x%llx\n", (unsigned long long)first,
           (unsigned long long)va);
    KTAP_EXPECT(first >= 0x300000000000ll); /* a region of the pager's, written */
    KTAP_EXPECT(va >= 0x300000000000ll);
    /* Neither the region nor its pages are ours. */
    KTAP_EXPECT_EQ(vm_free((void *)va, 2 * PAGE), -MICA_ENOENT);
    KTAP_EXPECT_EQ(pages_mapped(), mapped);
    KTAP_EXPECT_EQ(vm_free(warm, PAGE), 0);
}

/* PAGER_VM_SPAWN by hand: task handle t transferred, badge, n regions. */
static long introduce(uint64_t t, uint64_t badge, const struct mica_region *r, unsigned n)
{
    return vm_spawn_introduce(t, badge, r, n);
}

static long create(const char *name)
{
    struct mica_task_args a = {.name = name};
    return mica_task_create(&a);
}

static void hostile_introductions_refused(void)
{
    static const struct mica_region good[] = {
        {0x400000, PAGE, MICA_PROT_READ | MICA_PROT_EXEC, MICA_REGION_IMAGE},
        {0x600000, PAGE, MICA_PROT_READ | MICA_PROT_WRITE, MICA_REGION_ANON},
        {MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE, MICA_USER_STACK_SIZE,
         MICA_PROT_READ | MICA_PROT_WRITE, MICA_REGION_STACK},
    };
    long t = create("intro");
    KTAP_REQUIRE(t >= 0);
    struct usage base = usage_now();
    uint64_t ph;
    /* Nothing prepared: no badge to give it. */
    KTAP_EXPECT_EQ(introduce((uint64_t)t, 1ull << 41, good, 3), -MICA_EINVAL);
    long badge = vm_spawn_prep(&ph);
    KTAP_REQUIRE(badge > 0);
    KTAP_EXPECT_EQ(introduce((uint64_t)t, (uint64_t)badge + 1, good, 3), -MICA_EINVAL);
    /* A handle without MAP. */
    long weak = mica_handle_mint((uint64_t)t, MICA_RIGHT_WAIT | MICA_RIGHT_GRANT, 0);
    KTAP_REQUIRE(weak >= 0);
    KTAP_EXPECT_EQ(introduce((uint64_t)weak, (uint64_t)badge, good, 3), -MICA_EPERM);
    mica_handle_close((uint64_t)weak);
    /* A task that runs already, and the caller itself. */
    long run = tiny_spawn(mb_spin_start, LEN(spin), "running", 0, 0, -1);
    KTAP_REQUIRE(run >= 0);
    /* What the pager asks (MICA_INFO_TASK_THREADS). */
    KTAP_EXPECT_EQ(mica_task_threads((uint64_t)t), 0);
    KTAP_EXPECT_EQ(mica_task_threads((uint64_t)run), 1);
    KTAP_EXPECT_EQ(mica_task_threads(MICA_HANDLE_SELF), 1);
    KTAP_EXPECT_EQ(mica_task_threads(200), -MICA_EBADH);
    KTAP_EXPECT_EQ(introduce((uint64_t)run, (uint64_t)badge, good, 3), -MICA_EINVAL);
    mica_task_kill((uint64_t)run);
    mica_task_wait((uint64_t)run);
    KTAP_EXPECT_EQ(mica_task_threads((uint64_t)run), -MICA_EDEAD);
    mica_handle_close((uint64_t)run);
    KTAP_EXPECT(introduce(MICA_HANDLE_SELF, (uint64_t)badge, good, 3) < 0);
    /* Regions a loader never makes. */
    static const struct mica_region bad[][2] = {
        {{MICA_USER_END, PAGE, MICA_PROT_READ, MICA_REGION_ANON}},          /* kernel half */
        {{MICA_USER_END - PAGE, 2 * PAGE, MICA_PROT_READ, MICA_REGION_ANON}}, /* crosses it */
        {{0x300000000000ull, PAGE, MICA_PROT_READ, MICA_REGION_ANON}},     /* vm_alloc's */
        {{0, PAGE, MICA_PROT_READ, MICA_REGION_IMAGE}},                    /* page 0 */
        {{0x400800, PAGE, MICA_PROT_READ, MICA_REGION_IMAGE}},             /* unaligned */
        {{0x400000, 0, MICA_PROT_READ, MICA_REGION_IMAGE}},                /* empty */
        {{0x400000, PAGE, MICA_PROT_WRITE | MICA_PROT_EXEC, MICA_REGION_IMAGE}}, /* W+X */
        {{0x400000, PAGE, MICA_PROT_READ, 9}},                             /* kind */
        {{0x500000, PAGE, MICA_PROT_READ, MICA_REGION_STACK}},             /* a stack there */
        {{0x400000, 2 * PAGE, MICA_PROT_READ, MICA_REGION_IMAGE},          /* overlapping */
         {0x401000, PAGE, MICA_PROT_READ, MICA_REGION_ANON}},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long rc = introduce((uint64_t)t, (uint64_t)badge, bad[i], bad[i][1].len ? 2 : 1);
        if (!KTAP_EXPECT_EQ(rc, -MICA_EINVAL))
            printf("# bad layout %u not refused\n", i);
    }
    /* The good layout is taken once; the same task again is refused. */
    KTAP_EXPECT_EQ(introduce((uint64_t)t, (uint64_t)badge, good, 3), 0);
    mica_handle_close(ph);
    long badge2 = vm_spawn_prep(&ph);
    KTAP_REQUIRE(badge2 > 0);
    KTAP_EXPECT_EQ(introduce((uint64_t)t, (uint64_t)badge2, good, 3), -MICA_EEXIST);
    mica_handle_close(ph);
    /* Never started: forgotten on request, the task discarded with our
     * handle. */
    KTAP_EXPECT_EQ(vm_spawn_forget((uint64_t)badge), 0);
    mica_handle_close((uint64_t)t);
    KTAP_EXPECT(tasks_drop_to(base.tasks - 1, 1000));
    base.tasks--;
    struct usage now = usage_now();
    KTAP_EXPECT_EQ(now.tasks, base.tasks);
}

static long go_ep;

/* The forked parent: spawn the child with the endpoint, and exit. */
static int64_t parent_spawns_and_exits(void *arg)
{
    (void)arg;
    uint64_t h = (uint64_t)go_ep;
    long child = spawned_start(mb_recv_alloc_touch_start, mb_recv_alloc_touch_end, "orphan", &h, 1);
    return child < 0 ? 1 : 0; /* our handle goes with us; the pager keeps the child */
}

/* One round: a parent that exits, a child that then allocates; the round
 * ends when the child has ended and the pager has heard of it. */
static void orphan_round(void)
{
    int64_t tasks = mica_info(MICA_INFO_TASKS);
    go_ep = mica_endpoint_create();
    KTAP_REQUIRE(go_ep >= 0);
    KTAP_EXPECT_EQ(forked_run(parent_spawns_and_exits, 0), 0);
    struct mica_msg m = {.label = 1}, r;
    long rc = -MICA_EAGAIN;
    for (unsigned i = 0; i < FORKED_TRIES && rc == -MICA_EAGAIN; i++) {
        rc = mica_ipc_call((uint64_t)go_ep, &m, &r, MICA_IPC_NONBLOCK);
        if (rc == -MICA_EAGAIN)
            mica_yield();
    }
    KTAP_EXPECT_EQ(rc, 0);
    KTAP_EXPECT_EQ(r.w[0], 42); /* it wrote its own page after its parent was gone */
    mica_handle_close((uint64_t)go_ep);
    KTAP_EXPECT(tasks_drop_to(tasks, 10000));
    /* A request after the child's death note: the pager has dropped it
     * (and closed its handle, freeing the task) by the time it answers. */
    void *p = vm_alloc(PAGE, MICA_PROT_READ);
    KTAP_EXPECT(p != NULL);
    KTAP_EXPECT_EQ(vm_free(p, PAGE), 0);
}

static void child_outlives_its_parent(void)
{
    orphan_round(); /* the pager's and our tables warm */
    struct usage base = usage_now();
    orphan_round();
    expect_baseline(&base);
}

static const struct ktap_case tests[] = {
    {"child_allocates_in_its_own_space", child_allocates_in_its_own_space},
    {"hostile_introductions_refused", hostile_introductions_refused},
    {"child_outlives_its_parent", child_outlives_its_parent},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

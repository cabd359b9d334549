/* The pager's verdicts on bad accesses: each kind of violation (a write
 * to a read-only region, to a page made read-only by vm_protect or shared
 * read-only by a fork, an execute in a no-execute region, an access
 * outside every region, a stack that runs into its guard page) kills the
 * task that made it and only that task; a stack that grows within its
 * limit is not a violation. The faulting task is a vm_fork child
 * (forked.h), a client of servers/pager like this program; the test checks
 * its exit status is MICA_EXIT_KILLED and that this program and its pager
 * carry on. The kernel's report line (in the log) names the cause. init
 * starts it with "pager:pager" (the grant "pager"). */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"

#define PAGE     4096u
#define RW       (MICA_PROT_READ | MICA_PROT_WRITE)
#define FAR_ADDR 0x500000000000ull /* outside every pager region */
#define FRAME    1024u             /* bytes of stack per recursion level */

/* The parent and its pager still work: a fresh region is filled and read. */
static void expect_parent_unharmed(void)
{
    volatile uint64_t *p = vm_alloc(2 * PAGE, RW);
    KTAP_REQUIRE(p != NULL);
    p[0] = 1;
    p[PAGE / 8] = 2;
    KTAP_EXPECT(p[0] == 1 && p[PAGE / 8] == 2);
    KTAP_EXPECT_EQ(vm_free((void *)p, 2 * PAGE), 0);
}

static void expect_killed(int64_t (*fn)(void *), void *arg)
{
    KTAP_EXPECT_EQ(forked_run(fn, arg), MICA_EXIT_KILLED);
    expect_parent_unharmed();
}

static int64_t child_writes(void *arg)
{
    *(volatile uint64_t *)arg = 42;
    return FORKED_ALIVE;
}

static int64_t child_reads(void *arg)
{
    return *(volatile uint64_t *)arg == 0x1234 ? 0 : FORKED_BAD_DATA;
}

static int64_t child_calls(void *arg)
{
    ((void (*)(void))arg)();
    return FORKED_ALIVE;
}

/* Recurse `depth` levels of FRAME bytes each, touching every level. The
 * sum after the call keeps it a real recursion. */
static __attribute__((noinline)) uint64_t recurse(uint64_t depth)
{
    volatile uint8_t buf[FRAME];
    buf[0] = (uint8_t)depth;
    buf[FRAME - 1] = (uint8_t)depth;
    if (depth == 0)
        return buf[0];
    return recurse(depth - 1) + buf[FRAME - 1];
}

static int64_t child_recurses(void *arg)
{
    uint64_t depth = (uint64_t)arg;
    uint64_t sum = recurse(depth);
    uint64_t want = 0;
    for (uint64_t d = 1; d <= depth; d++)
        want += (uint8_t)d;
    return sum == want ? 0 : FORKED_BAD_DATA;
}

static void write_to_read_only_region_kills(void)
{
    volatile uint64_t *ro = vm_alloc(PAGE, MICA_PROT_READ);
    KTAP_REQUIRE(ro != NULL);
    KTAP_EXPECT_EQ(ro[0], 0); /* mapped, readable */
    expect_killed(child_writes, (void *)ro);           /* present page */
    expect_killed(child_writes, (void *)(ro + 100));   /* same page, other word */
    KTAP_EXPECT_EQ(vm_free((void *)ro, PAGE), 0);
    ro = vm_alloc(PAGE, MICA_PROT_READ);
    KTAP_REQUIRE(ro != NULL);
    expect_killed(child_writes, (void *)ro);           /* page never touched */
    KTAP_EXPECT_EQ(vm_free((void *)ro, PAGE), 0);
}

/* A region written, then made read-only: the data stays, writes kill. */
static void write_after_vm_protect_kills(void)
{
    volatile uint64_t *p = vm_alloc(2 * PAGE, RW);
    KTAP_REQUIRE(p != NULL);
    p[0] = 0x1234;
    KTAP_EXPECT_EQ(vm_protect((void *)p, 2 * PAGE, MICA_PROT_READ), 0);
    KTAP_EXPECT_EQ(p[0], 0x1234);
    KTAP_EXPECT_EQ(forked_run(child_reads, (void *)p), 0);
    expect_killed(child_writes, (void *)p);                   /* touched page */
    expect_killed(child_writes, (void *)(p + PAGE / 8));      /* untouched page */
    KTAP_EXPECT_EQ(vm_protect((void *)p, 2 * PAGE, RW), 0);
    p[PAGE / 8] = 5; /* writable again */
    KTAP_EXPECT(p[0] == 0x1234 && p[PAGE / 8] == 5);
    KTAP_EXPECT_EQ(vm_free((void *)p, 2 * PAGE), 0);
}

/* A read-only region shared by the fork is not a copy-on-write share: a
 * write to it is a violation, not a copy. */
static void write_to_shared_read_only_page_kills(void)
{
    volatile uint64_t *p = vm_alloc(PAGE, MICA_PROT_READ);
    KTAP_REQUIRE(p != NULL);
    KTAP_EXPECT_EQ(p[0], 0); /* present in the parent before the fork */
    int64_t free0 = mica_info(MICA_INFO_FREE_FRAMES);
    expect_killed(child_writes, (void *)p);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), free0);
    KTAP_EXPECT_EQ(p[0], 0);
    KTAP_EXPECT_EQ(vm_free((void *)p, PAGE), 0);
}

/* `ret` written into a read-write (so no-execute) region, then called. */
static void execute_in_no_exec_region_kills(void)
{
    volatile uint8_t *p = vm_alloc(PAGE, RW);
    KTAP_REQUIRE(p != NULL);
    p[0] = 0xc3; /* ret */
    expect_killed(child_calls, (void *)p);
    KTAP_EXPECT_EQ(vm_free((void *)p, PAGE), 0);
}

static void access_outside_every_region_kills(void)
{
    expect_killed(child_reads, (void *)FAR_ADDR);
    expect_killed(child_writes, (void *)FAR_ADDR);
    /* The guard page the pager leaves after a region is outside it too. */
    volatile uint64_t *p = vm_alloc(PAGE, RW);
    KTAP_REQUIRE(p != NULL);
    expect_killed(child_writes, (void *)(p + PAGE / 8));
    KTAP_EXPECT_EQ(vm_free((void *)p, PAGE), 0);
}

/* About 200 KiB of stack, below the MICA_USER_STACK_MAPPED mapped at
 * spawn and within MICA_USER_STACK_SIZE: the pager grows the stack. */
static void stack_grows_within_its_limit(void)
{
    KTAP_EXPECT_EQ(forked_run(child_recurses, (void *)(uintptr_t)200), 0);
}

/* Recursion past MICA_USER_STACK_SIZE runs into the guard page below it. */
static void stack_overflow_hits_the_guard(void)
{
    expect_killed(child_recurses, (void *)(uintptr_t)(MICA_USER_STACK_SIZE / FRAME + 64));
}

/* The page right below the stack's reservation, touched directly. */
static void touch_below_the_stack_kills(void)
{
    uint64_t guard = MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE - PAGE;
    expect_killed(child_writes, (void *)(uintptr_t)(guard + 8));
}

/* A system call handed a buffer outside every region: the kernel's copy
 * faults, the pager answers "kill" (no region), the call unwinds and the
 * caller ends before its -MICA_EFAULT reaches ring 3. */
static int64_t child_debug_writes(void *arg)
{
    return mica_debug_write(arg, 8) == -MICA_EFAULT ? 0 : FORKED_ALIVE;
}

static void kernel_copy_outside_every_region_fails(void)
{
    int64_t status = forked_run(child_debug_writes, (void *)FAR_ADDR);
    KTAP_EXPECT_EQ(status, MICA_EXIT_KILLED);
    expect_parent_unharmed();
}

static const struct {
    const char *name;
    void (*fn)(void);
    bool needs_nx;
} tests[] = {
    {"write_to_read_only_region_kills", write_to_read_only_region_kills, false},
    {"write_after_vm_protect_kills", write_after_vm_protect_kills, false},
    {"write_to_shared_read_only_page_kills", write_to_shared_read_only_page_kills, false},
    {"execute_in_no_exec_region_kills", execute_in_no_exec_region_kills, true},
    {"access_outside_every_region_kills", access_outside_every_region_kills, false},
    {"stack_grows_within_its_limit", stack_grows_within_its_limit, false},
    {"stack_overflow_hits_the_guard", stack_overflow_hits_the_guard, false},
    {"touch_below_the_stack_kills", touch_below_the_stack_kills, false},
    {"kernel_copy_outside_every_region_fails", kernel_copy_outside_every_region_fails, false},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    bool nx = (mica_info(MICA_INFO_CPU_FEATURES) & 4) != 0;
    ktap_begin(sizeof tests / sizeof tests[0]);
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (tests[i].needs_nx && !nx)
            ktap_skip(tests[i].name, "the CPU has no NX");
        else
            ktap_run(tests[i].name, tests[i].fn);
    }
    return ktap_end();
}

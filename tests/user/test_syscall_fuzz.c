/* A seeded random system-call fuzzer, run as a test: forked children
 * (forked.h) each close every handle they inherited, then issue random
 * calls with arguments drawn from pools of valid, boundary and hostile
 * values (a region of their own that the pager serves, kernel and
 * non-canonical addresses, unaligned lengths, handles of the objects they
 * made, bad flags and call numbers)
 * until they exit, kill themselves, die of what they did to their own
 * memory, or block; this program ends the ones still alive with
 * MICA_SYS_TASK_KILL. The kernel must not panic, and afterwards free
 * frames (drained), slab objects, heap bytes and live tasks must all be
 * back at their baseline: nothing a hostile task does may leak.
 *
 * Every child's calls are a pure function of its seed (the run's seed +
 * child index); the test prints the seeds so that a failure can be
 * replayed, and a campaign with other seeds is one boot.cfg line away
 * ("test test_syscall_fuzz pager:pager children=500 seed=0x1234"). A
 * child never writes to the console (MICA_SYS_DEBUG_WRITE is skipped).
 * init starts it with "pager:pager" (the grant "pager"), which forks need.
 *
 * Each child also builds a task it pages itself (its own endpoint is the
 * task's pager) and aims a quarter of its calls at that pair: TASK_LOAD,
 * TASK_START, IPC_RECV of the task's faults and MAP_REPLY_RECV answering
 * them, mostly with plausible arguments (focus_args).
 *
 * Pointer arguments come from every kind of memory: the child's own
 * pager-served region (touched and not yet touched), a read-only region,
 * a region it gave back, its code, the guard page below its stack, low
 * unmapped addresses, the kernel half and non-canonical ones; handle
 * arguments include a handle it has closed (stale). More arguments
 * (tools/inject fuzz passes them, docs/fault-injection.md "Fuzzing"):
 *   calls=N   run batches of children until the kernel has entered N system
 *             calls while they ran (MICA_INFO_SYSCALLS, less this
 *             program's own: theirs and the few of their pager)
 *   tasks=K   children fuzzing at once (default 1)
 *   check=N   each child asks the kernel to check its own bookkeeping
 *             (MICA_INFO_SELF_CHECK) every N calls; 0: only at the end
 *   trace=1   each child prints every call before it makes it, so that the
 *             last calls before a failure are in the log (a boot under
 *             -icount replays exactly: rerun the failing seed with it) */
#include <mica/args.h>
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"
#include "raw_syscall.h"
#include "snippet.h"
#include "tiny_elf.h"
#include "usage.h"

/* Defaults; the boot.cfg line may give "children=N seed=S" (decimal or
 * 0x-hex) for a longer campaign with other seeds. */
#define FUZZ_SEED     0x6d6963614655ull
#define CHILDREN      24u
#define CALLS         3000u /* per child, at most */
#define PATIENCE      400u  /* yields before a child still alive is killed */
#define SCRATCH_PAGES 64u   /* a pager region: copies from it fault in, not kill */
#define PAGE          4096ull
#define TASKS_MAX     16u
/* A child's status when the kernel's self-check failed (a random
 * MICA_SYS_EXIT status is unlikely to look like it). */
#define FUZZ_BROKEN 0x46555a5a42524bll

MB_SNIPPET(fuzz_exit0, "");

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static struct tiny_image image;
static uint64_t scratch; /* the child's region, where its calls map and unmap */
static uint64_t check_every, trace; /* check=, trace= */
static unsigned calls_per_child = CALLS;

/* Addresses in every kind of memory a pointer argument can name; [0..4)
 * are filled in by the child (its own regions). */
static uint64_t places[] = {
    0, 0, 0, 0,
    0x400000,                                                     /* our code: read-only */
    MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE - PAGE,            /* the stack's guard page */
    MICA_USER_STACK_TOP - 64,                                     /* our stack */
    0x10000,                                                      /* low, never mapped */
    0x00007ffffffff000ull,                                        /* top of the user half */
    0xffff800000000000ull,                                        /* the kernel's direct map */
    0xffffffff80200000ull,                                        /* kernel text */
    0x0000800000000000ull,                                        /* first non-canonical */
    0x8000000000001000ull,                                        /* non-canonical */
};
static uint64_t stale_handle; /* a handle number the child closed */

/* A task the child builds and pages itself: `own_ep` receives its faults
 * (the child is its pager), `own_task` is its handle. The calls that
 * need such a pair to do anything (TASK_LOAD into a task not started,
 * TASK_START, IPC_RECV of its fault, MAP_REPLY_RECV answering it) are
 * drawn more often, with plausible arguments most of the time. */
static uint64_t own_ep, own_task;
static const uint16_t focus_calls[] = {
    MICA_SYS_MAP_REPLY_RECV, MICA_SYS_TASK_LOAD, MICA_SYS_TASK_START, MICA_SYS_IPC_RECV,
    MICA_SYS_MAP_REPLY_RECV, MICA_SYS_TASK_LOAD,
};

/* Arguments that make a focus call likely to get past its checks: the
 * child's own endpoint and task, addresses where a tiny image would live,
 * small page counts; one argument in eight stays hostile. */
static void focus_args(uint64_t nr, uint64_t *s, uint64_t *a)
{
    uint64_t r = rng_next(s);
    uint64_t va = TINY_TEXT_VA + ((r >> 8) % 16) * PAGE;
    switch (nr) {
    case MICA_SYS_MAP_REPLY_RECV:
        a[0] = own_ep;
        a[1] = (r >> 16) % 4 ? own_task : MICA_HANDLE_SELF;
        a[2] = (r >> 16) % 4 ? va : scratch + ((r >> 20) % SCRATCH_PAGES) * PAGE;
        a[3] = 1 + (r >> 24) % 4;
        a[4] = 1 + (r >> 28) % 7;
        a[5] = (r >> 32) % 3 ? MICA_MAP_REPLY_ANON : MICA_MAP_REPLY_COW;
        break;
    case MICA_SYS_TASK_LOAD:
        a[0] = (r >> 16) % 8 ? own_task : MICA_HANDLE_SELF;
        a[1] = va + ((r >> 20) % 4 ? 0 : (r >> 24) % PAGE);
        a[2] = 1 + (r >> 36) % 8;
        a[3] = 1 + (r >> 40) % 7;
        a[4] = (r >> 16) % 2 ? (uint64_t)(uintptr_t)&image : a[4];
        a[5] = (r >> 44) % (a[2] * PAGE + 1); /* may run past the pages */
        break;
    case MICA_SYS_TASK_START:
        a[0] = own_task;
        a[1] = (r >> 16) % 4 ? va : a[1];
        break;
    case MICA_SYS_IPC_RECV:
        a[0] = own_ep;
        break;
    }
    for (int k = 0; k < 6; k++)
        if (((r >> (48 + k)) & 7) == 0)
            a[k] = rng_next(s); /* hostile now and then */
}

/* A word that means something to some call, or nothing to any. */
static uint64_t fuzz_arg(uint64_t *s, const struct mica_task_args *spawn)
{
    uint64_t r = rng_next(s);
    switch (r % 20) {
    case 16:
    case 17:
        return places[(r >> 8) % (sizeof places / sizeof places[0])] + ((r >> 20) & 1 ? 0 : (r >> 24) % PAGE);
    case 18:
        return stale_handle;
    case 19:
        return (r >> 8) & 1 ? MICA_HANDLE_MAX : MICA_HANDLE_MAX - 1; /* the edges of the table */
    case 0:
        return 0;
    case 1:
        return (r >> 8) % 12; /* a handle number */
    case 2:
        return MICA_HANDLE_SELF;
    case 3:
        return scratch + ((r >> 8) % SCRATCH_PAGES) * PAGE; /* page-aligned user address */
    case 4:
        return scratch + ((r >> 8) % (SCRATCH_PAGES * PAGE)); /* unaligned */
    case 5:
        return ((r >> 8) % SCRATCH_PAGES + 1) * PAGE; /* a length */
    case 6:
        return (r >> 8) % (SCRATCH_PAGES + 1); /* a page count */
    case 7:
        return (r >> 8) % 8; /* protections, small values */
    case 8: {
        static const uint64_t hostile[] = {
            0xffff800000000000ull, 0xffffffff80200000ull, 0x0000800000000000ull,
            MICA_USER_END - 1, ~0ull, ~0ull << 12, 1ull << 63, 0x7fffffffffffull, PAGE - 1,
            0x400000, MICA_USER_START_INFO,
        };
        return hostile[(r >> 8) % (sizeof hostile / sizeof hostile[0])];
    }
    case 9:
        /* a valid TASK_CREATE block, or bytes worth a TASK_WRITE */
        return (r >> 8) % 2 ? (uint64_t)(uintptr_t)spawn : (uint64_t)(uintptr_t)&image;
    case 10:
        return MICA_MSG_MAKE((r >> 8) % 8, (r >> 16) % (MICA_IPC_BUF_MAX + 64)) |
               ((r >> 40) & 1 ? MICA_MSG_XFER_HANDLE : 0); /* an IPC label */
    case 11:
        return (r >> 8) % 4 ? (uint64_t)-(int64_t)((r >> 12) % 16) : r; /* small negatives */
    default:
        return r; /* anything */
    }
}

/* One child: arg = its seed. */
static int64_t fuzz_child(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    void *region = vm_alloc(SCRATCH_PAGES * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    if (!region)
        return FORKED_NO_MEM;
    scratch = (uint64_t)(uintptr_t)region;
    /* A read-only region, one never touched, and one given back. */
    void *ro = vm_alloc(4 * PAGE, MICA_PROT_READ);
    void *untouched = vm_alloc(4 * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    void *gone = vm_alloc(4 * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    if (gone)
        vm_free(gone, 4 * PAGE);
    places[0] = scratch;
    places[1] = (uint64_t)(uintptr_t)ro;
    places[2] = (uint64_t)(uintptr_t)untouched;
    places[3] = (uint64_t)(uintptr_t)gone;
    for (uint64_t h = 0; h < MICA_HANDLE_MAX; h++)
        mica_handle_close(h);
    /* The endpoint and task the child pages (focus_args), numbered above
     * the small handle numbers fuzz_arg draws (placeholders hold those
     * meanwhile): the other calls rarely find them live, so that a child
     * lives about as long as it did before it had them. */
    long hold[12];
    for (unsigned i = 0; i < 12; i++)
        hold[i] = mica_endpoint_create();
    long own = mica_endpoint_create();
    own_ep = own < 0 ? 0 : (uint64_t)own;
    long own_send = own < 0 ? -1 : mica_handle_mint(own_ep, MICA_RIGHT_SEND, 0x46);
    struct mica_task_args paged = {.name = "fuzzpaged", .flags = MICA_SPAWN_PAGER,
                                   .pager = own_send < 0 ? 0 : (uint64_t)own_send};
    long t = own_send < 0 ? -1 : mica_task_create(&paged);
    own_task = t < 0 ? MICA_HANDLE_SELF : (uint64_t)t;
    for (unsigned i = 0; i < 12; i++)
        if (hold[i] >= 0)
            mica_handle_close((uint64_t)hold[i]);
    long ep = mica_endpoint_create();
    stale_handle = ep < 0 ? 0 : (uint64_t)ep;
    if (ep >= 0)
        mica_handle_close((uint64_t)ep); /* from now on a stale number */
    static struct mica_ipc_buffer buf __attribute__((aligned(4096)));
    mica_set_ipc_buffer(&buf);
    struct mica_task_args spawn = {.name = "fuzzed", .flags = MICA_SPAWN_NO_PAGER};
    for (unsigned i = 0; i < calls_per_child; i++) {
        if (check_every && i % check_every == check_every - 1 &&
            mica_info(MICA_INFO_SELF_CHECK) != 0)
            return FUZZ_BROKEN;
        uint64_t r = rng_next(&seed);
        uint64_t nr = r % (MICA_SYS_COUNT + 3);
        bool focus = (r >> 58) % 4 == 0;
        if (focus)
            nr = focus_calls[(r >> 8) % (sizeof focus_calls / sizeof focus_calls[0])];
        if (nr == MICA_SYS_DEBUG_WRITE)
            continue; /* keep the console readable */
        if (nr == MICA_SYS_EXIT && r % 64)
            continue; /* exit now and then only */
        /* A focus call mostly does not block: the child is the only
         * sender its endpoint will see besides its own task's faults. */
        if ((r & (1ull << 40)) || (focus && (r >> 50) % 8))
            nr |= MICA_SYS_FLAG_NONBLOCK;
        if ((r & (0xfull << 44)) == 0)
            nr |= (r >> 20) << 17; /* unknown flag bits */
        uint64_t a[6];
        for (int k = 0; k < 6; k++)
            a[k] = fuzz_arg(&seed, &spawn);
        if (focus)
            focus_args(nr & MICA_SYS_NUMBER_MASK, &seed, a);
        /* A task block in user memory that nobody mapped makes the pager
         * kill the child: mostly give TASK_CREATE a readable one, so that
         * children live long enough to reach the other calls. */
        if ((nr & MICA_SYS_NUMBER_MASK) == MICA_SYS_TASK_CREATE && (r >> 56) % 8)
            a[0] = (uint64_t)(uintptr_t)&spawn;
        buf.handle = (r >> 48) % 12;
        if (trace) {
            printf("# fuzz: child 0x%llx call %u: %llu(0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx, "
                   "0x%llx)\n", (unsigned long long)(uintptr_t)arg, i, (unsigned long long)nr,
                   (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
                   (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5]);
            stdio_flush();
        }
        raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    return 0;
}

/* Run `n` children from seed index `first`; each is ended if it is still
 * alive after PATIENCE yields. Returns how many ended each way. */
struct outcome {
    unsigned exited, killed_by_kernel, ended_by_us, not_started, broken;
    uint64_t calls; /* system calls entered while the children ran */
};

static uint64_t run_seed = FUZZ_SEED;
static unsigned run_children_n = CHILDREN;
static uint64_t run_calls; /* calls=: batches until this many */

static unsigned run_tasks = 1;
static int64_t tasks_alone; /* live tasks when no child runs */

/* Children [first, first+n), `run_tasks` of them at once. */
static void run_children(unsigned first, unsigned n, struct outcome *o)
{
    for (unsigned i = first; i < first + n; i += run_tasks) {
        long child[TASKS_MAX];
        unsigned k = first + n - i < run_tasks ? first + n - i : run_tasks;
        for (unsigned j = 0; j < k; j++) {
            child[j] = forked_start(fuzz_child, (void *)(uintptr_t)(run_seed + i + j));
            o->not_started += child[j] < 0;
        }
        /* Give them time; stop early once they have all ended (the tasks
         * count drops back to ours and the pager's). */
        int64_t before = mica_info(MICA_INFO_SYSCALLS);
        unsigned y = 0;
        for (; y < PATIENCE && mica_info(MICA_INFO_TASKS) > tasks_alone; y++)
            mica_yield();
        /* Less our own: two calls a turn, the last check, this query. */
        o->calls += (uint64_t)(mica_info(MICA_INFO_SYSCALLS) - before) - (2 * y + 2);
        for (unsigned j = 0; j < k; j++) {
            if (child[j] < 0)
                continue;
            if (mica_task_kill((uint64_t)child[j]) == 0)
                o->ended_by_us++;
            int64_t status = forked_collect(child[j]);
            if (status == MICA_EXIT_KILLED)
                o->killed_by_kernel++;
            else
                o->exited++;
            if (status == FUZZ_BROKEN) {
                printf("# fuzz: child 0x%llx: the kernel's self-check failed\n",
                       (unsigned long long)(run_seed + i + j));
                o->broken++;
            }
        }
    }
}

static void random_calls_leave_nothing_behind(void)
{
    tiny_elf_build(&image, mb_fuzz_exit0_start,
                               (size_t)(mb_fuzz_exit0_end - mb_fuzz_exit0_start));
    struct outcome warm = {0}, o = {0};
    int64_t tasks = mica_info(MICA_INFO_TASKS);
    run_children(0, 1, &warm); /* the pager's tables grow once */
    KTAP_EXPECT(tasks_drop_to(tasks, FORKED_TRIES));
    struct usage base = usage_now();
    tasks_alone = base.tasks;
    unsigned next = 1;
    do {
        run_children(next, run_children_n, &o);
        next += run_children_n;
    } while (o.calls < run_calls && !o.broken);
    KTAP_EXPECT(tasks_drop_to(base.tasks, FORKED_TRIES));
    printf("# seeds 0x%llx + 1..%u, %u calls each at most, %u at once: %u exited, %u ended "
           "by the kernel (%u of them by this program), %u not started\n",
           (unsigned long long)run_seed, next - 1, calls_per_child, run_tasks, o.exited,
           o.killed_by_kernel, o.ended_by_us, o.not_started);
    printf("# fuzz: %llu calls entered while the children ran (theirs and their "
           "pager's)\n",
           (unsigned long long)o.calls);
    KTAP_EXPECT_EQ(o.not_started, 0);
    KTAP_EXPECT_EQ(o.broken, 0);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_SELF_CHECK), 0);
    expect_baseline(&base);
}

static const struct ktap_case tests[] = {
    {"random_calls_leave_nothing_behind", random_calls_leave_nothing_behind},
};

int main(const struct mica_start_info *si)
{
    run_seed = mica_arg_u64(si->args, "seed", FUZZ_SEED);
    run_children_n = (unsigned)mica_arg_u64(si->args, "children", CHILDREN);
    run_calls = mica_arg_u64(si->args, "calls", 0);
    run_tasks = (unsigned)mica_arg_u64(si->args, "tasks", 1);
    run_tasks = run_tasks < 1 ? 1 : run_tasks > TASKS_MAX ? TASKS_MAX : run_tasks;
    check_every = mica_arg_u64(si->args, "check", 0);
    trace = mica_arg_u64(si->args, "trace", 0);
    calls_per_child = (unsigned)mica_arg_u64(si->args, "per_child", CALLS);
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

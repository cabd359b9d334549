/* workload: the self-checking program of fault-injection campaigns
 * (docs/fault-injection.md, "Campaigns"). boot.cfg runs it with
 *     workload workload pager:pager send:names ARGS
 * when the kernel is booted with "workload" (tools/inject does that).
 *
 * It starts `clients` forked clients at once. Each one allocates `pages`
 * pager-served pages, fills them with a pattern drawn from its seed, forks
 * a child that overwrites half of them (copy-on-write) and checks what it
 * sees, checks that its own copy did not change, sends a page through the
 * echo server and a value through the kv server (both found through the
 * name service) and checks what comes back, and finally checks the
 * checksum of its pages against the one the seed predicts. A client ends
 * with WL_OK, WL_CORRUPT (data differs and no call reported a failure) or
 * WL_FAILED (something failed and said so: an error code, a dead child);
 * a client killed by the kernel or the pager has MICA_EXIT_KILLED.
 *
 * A warm-up client runs first, so that the servers' and the pager's
 * tables have grown; then the counters of tests/user/usage.h are taken
 * and compared again once every client is gone. The log ends with
 *     workload: accounting ok | workload: accounting leak frames=... ...
 *     workload: self-check ok | workload: self-check N failures
 *     workload: verdict ok|failed|corrupt clients=K ok=A failed=B killed=C
 *               corrupt=D warmup=ok|failed checksum=0x...
 *     workload: tsc kernel=T1 workload=T2 (time stamps: kernel entry to
 *               workload start, workload start to end)
 * which tools/inject_outcome.py classifies. Everything is a pure function of
 * ARGS: "seed=S clients=K pages=P rounds=R warmups=W deadline=T"
 * (decimal or 0x-hex; T: timer ticks a round of clients may take before
 * the ones still running are killed).
 *
 * The exit status is a test status (MICA_TEST_STATUS): one result per
 * client and one each for the accounting and the self-check. */
#include <mica/args.h>
#include <mica/names.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "../../servers/echo/echo.h"
#include "../../servers/kv/kv.h"
#include "forked.h"
#include "usage.h"

#define WL_OK      0
#define WL_CORRUPT 21
#define WL_FAILED  22

#define PAGE        4096u
#define WORDS       (PAGE / 8u)
#define CLIENTS_MAX 16u
#define PAGES_MAX   256u
#define ECHO_BYTES  512u
#define KV_BYTES    256u
#define WARMUPS_MAX 8u

struct params {
    uint64_t seed;
    unsigned clients, pages, rounds, warmups, trace, deadline;
};
static struct params par = {.seed = 0x776f726b6c6f6164ull, .clients = 4, .pages = 16,
                            .rounds = 2, .warmups = 2, .deadline = 1000};

static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));

/* Guest instructions since reset under QEMU -icount shift=0. */
static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The pattern word `i` of client `c`'s pages in round `r`. */
static uint64_t pattern(unsigned c, unsigned r, uint64_t i)
{
    return mix(par.seed ^ ((uint64_t)c << 48) ^ ((uint64_t)r << 40) ^ i);
}

/* The checksum the seed predicts for client c's pages in round r. */
static uint64_t expected_sum(unsigned c, unsigned r)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < (uint64_t)par.pages * WORDS; i++)
        sum = mix(sum + pattern(c, r, i));
    return sum;
}

static uint64_t sum_of(const uint64_t *w, uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum = mix(sum + w[i]);
    return sum;
}

/* The first word of w[0..n) that differs from the pattern, or n. */
static uint64_t first_wrong(const uint64_t *w, uint64_t n, unsigned c, unsigned r)
{
    for (uint64_t i = 0; i < n; i++)
        if (w[i] != pattern(c, r, i))
            return i;
    return n;
}

static int failed(unsigned c, const char *what, long rc)
{
    printf("workload: client %u: %s failed: %s\n", c, what, mica_error_name(rc));
    return WL_FAILED;
}

static int corrupt(unsigned c, const char *what, uint64_t word)
{
    printf("workload: client %u: corrupt data: %s (word %llu)\n", c, what,
           (unsigned long long)word);
    return WL_CORRUPT;
}

/* The copy-on-write child: overwrite the first half of the pages, then
 * check both halves. */
struct cow_job {
    uint64_t *w;
    unsigned c, r;
};

static int64_t cow_child(void *arg)
{
    const struct cow_job *j = arg;
    uint64_t half = (uint64_t)par.pages / 2 * WORDS, all = (uint64_t)par.pages * WORDS;
    for (uint64_t i = 0; i < half; i++)
        j->w[i] = ~pattern(j->c, j->r, i);
    for (uint64_t i = 0; i < half; i++)
        if (j->w[i] != ~pattern(j->c, j->r, i))
            return WL_CORRUPT;
    for (uint64_t i = half; i < all; i++)
        if (j->w[i] != pattern(j->c, j->r, i))
            return WL_CORRUPT;
    return WL_OK;
}

/* The echo server gives back the words and the bytes it was sent. */
static int echo_round(unsigned c, const uint64_t *w)
{
    struct mica_service echo = MICA_SERVICE("echo");
    memcpy(ipcbuf.data, w, ECHO_BYTES);
    struct mica_msg m = {.label = MICA_MSG_MAKE(ECHO_SAY, ECHO_BYTES),
                         .w = {w[0], w[1], w[2], c}}, r;
    long rc = mica_service_call(&echo, &m, &r);
    if (echo.handle >= 0)
        mica_handle_close((uint64_t)echo.handle);
    if (rc < 0)
        return failed(c, "echo call", rc);
    if (MICA_MSG_LEN(r.label) != ECHO_BYTES || r.w[0] != w[0] || r.w[1] != w[1] ||
        r.w[2] != w[2] || r.w[3] != c)
        return corrupt(c, "echo reply words or length", 0);
    for (uint64_t i = 0; i < ECHO_BYTES / 8; i++)
        if (((const uint64_t *)ipcbuf.data)[i] != w[i])
            return corrupt(c, "echo reply data", i);
    return WL_OK;
}

/* PUT a value, GET it back, DEL it (so that the store ends as it began). */
static int kv_round(unsigned c, const uint64_t *w)
{
    struct mica_service kv = MICA_SERVICE("kv");
    char key[16];
    size_t kn = (size_t)snprintf(key, sizeof key, "wl-%u", c);
    memcpy(ipcbuf.data, key, kn);
    memcpy(ipcbuf.data + kn, w, KV_BYTES);
    struct mica_msg m = {.label = MICA_MSG_MAKE(KV_PUT, kn + KV_BYTES), .w = {0, kn}}, r;
    long rc = mica_service_call(&kv, &m, &r);
    int verdict = WL_OK;
    if (rc < 0 || (long)r.w[0] < 0) {
        verdict = failed(c, "kv put", rc < 0 ? rc : (long)r.w[0]);
        goto out;
    }
    memcpy(ipcbuf.data, key, kn);
    m = (struct mica_msg){.label = MICA_MSG_MAKE(KV_GET, kn)};
    rc = mica_service_call(&kv, &m, &r);
    if (rc < 0 || (long)r.w[0] < 0) {
        verdict = failed(c, "kv get", rc < 0 ? rc : (long)r.w[0]);
        goto out;
    }
    if (MICA_MSG_LEN(r.label) != KV_BYTES || memcmp(ipcbuf.data, w, KV_BYTES) != 0) {
        verdict = corrupt(c, "kv value read back", 0);
        goto out;
    }
    memcpy(ipcbuf.data, key, kn);
    m = (struct mica_msg){.label = MICA_MSG_MAKE(KV_DEL, kn)};
    rc = mica_service_call(&kv, &m, &r);
    if (rc < 0 || (long)r.w[0] < 0)
        verdict = failed(c, "kv del", rc < 0 ? rc : (long)r.w[0]);
out:
    if (kv.handle >= 0)
        mica_handle_close((uint64_t)kv.handle);
    return verdict;
}

/* One round of client c: fill, fork and write, talk to the servers,
 * verify. */
static int client_round(unsigned c, unsigned r)
{
    uint64_t n = (uint64_t)par.pages * WORDS;
    uint64_t *w = vm_alloc((size_t)par.pages * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    if (!w)
        return failed(c, "vm_alloc", -MICA_ENOMEM);
    for (uint64_t i = 0; i < n; i++)
        w[i] = pattern(c, r, i);
    struct cow_job job = {.w = w, .c = c, .r = r};
    int64_t st = forked_run(cow_child, &job);
    int verdict = WL_OK;
    uint64_t bad;
    if (st == WL_CORRUPT)
        verdict = corrupt(c, "the copy-on-write child saw wrong data", 0);
    else if (st == MICA_EXIT_KILLED)
        verdict = failed(c, "the copy-on-write child (killed)", -MICA_EDEAD);
    else if (st != WL_OK)
        verdict = failed(c, "the copy-on-write child", st < 0 ? st : -MICA_EDEAD);
    else if ((bad = first_wrong(w, n, c, r)) != n)
        verdict = corrupt(c, "the child's writes reached the parent", bad);
    if (verdict == WL_OK)
        verdict = echo_round(c, w);
    if (verdict == WL_OK)
        verdict = kv_round(c, w);
    if (verdict == WL_OK && sum_of(w, n) != expected_sum(c, r))
        verdict = corrupt(c, "checksum", first_wrong(w, n, c, r));
    vm_free(w, (size_t)par.pages * PAGE);
    return verdict;
}

static int64_t client(void *arg)
{
    unsigned c = (unsigned)(uintptr_t)arg;
    for (unsigned r = 0; r < par.rounds; r++) {
        int v = client_round(c, r);
        if (v != WL_OK)
            return v;
    }
    return WL_OK;
}

struct tally {
    unsigned ok, bad, killed, wrong;
};

static bool running(long child)
{
    struct mica_task_info info;
    return mica_task_info((uint64_t)child, &info) == 0 && info.state == MICA_TASK_LIVE;
}

/* Wait for a client until the tick `deadline`; one still running then is
 * killed with one line (a server that keeps its reply, as reply_withhold
 * makes it, would hold the client, and the run, forever). */
static int64_t collect_by(unsigned c, long child, int64_t deadline)
{
    while (running(child) && mica_info(MICA_INFO_TICKS) < deadline)
        mica_yield();
    if (running(child)) {
        printf("workload: client %u: still running after %u ticks: killed\n", c, par.deadline);
        mica_task_kill((uint64_t)child);
    }
    return forked_collect(child);
}

/* Start every client at once, then wait for each and count its ending. */
static struct tally run_clients(void)
{
    long child[CLIENTS_MAX];
    struct tally t = {0};
    int64_t deadline = mica_info(MICA_INFO_TICKS) + par.deadline;
    for (unsigned c = 0; c < par.clients; c++)
        child[c] = forked_start(client, (void *)(uintptr_t)c);
    for (unsigned c = 0; c < par.clients; c++) {
        int64_t st = child[c] < 0 ? child[c] : collect_by(c, child[c], deadline);
        if (child[c] < 0)
            printf("workload: client %u: not started: %s\n", c, mica_error_name(child[c]));
        t.ok += st == WL_OK;
        t.wrong += st == WL_CORRUPT;
        t.killed += st == MICA_EXIT_KILLED;
        t.bad += st != WL_OK && st != WL_CORRUPT && st != MICA_EXIT_KILLED;
    }
    return t;
}

/* With trace=1: the user pages each live task maps, to tell whose
 * memory a frame count that moved went to. */
static void trace_tasks(const char *when)
{
    static struct mica_task_info list[32];
    long n = mica_task_list(list, 32);
    printf("workload: %s: pages", when);
    for (long i = 0; i < n && i < 32; i++)
        printf(" %s(%u)=%llu", list[i].name, list[i].id, (unsigned long long)list[i].pages_mapped);
    printf("\n");
}

/* The ids of the live tasks, mixed: a server restarted since the last
 * call is a new task with a new id. */
static uint64_t task_set(void)
{
    static struct mica_task_info list[32];
    long n = mica_task_list(list, 32);
    uint64_t h = (uint64_t)n;
    for (long i = 0; i < n && i < 32; i++)
        h = mix(h + list[i].id);
    return h;
}

static bool same_usage(const struct usage *a, const struct usage *b)
{
    return a->frames == b->frames && a->slab == b->slab && a->heap == b->heap &&
           a->tasks == b->tasks;
}

static unsigned clamp(uint64_t v, unsigned lo, unsigned hi)
{
    return v < lo ? lo : v > hi ? hi : (unsigned)v;
}

int main(const struct mica_start_info *si)
{
    par.seed = mica_arg_u64(si->args, "seed", par.seed);
    par.clients = clamp(mica_arg_u64(si->args, "clients", par.clients), 1, CLIENTS_MAX);
    par.pages = clamp(mica_arg_u64(si->args, "pages", par.pages), 2, PAGES_MAX);
    par.rounds = clamp(mica_arg_u64(si->args, "rounds", par.rounds), 1, 64);
    par.warmups = clamp(mica_arg_u64(si->args, "warmups", par.warmups), 1, WARMUPS_MAX);
    par.trace = mica_arg_u64(si->args, "trace", 0) != 0;
    par.deadline = clamp(mica_arg_u64(si->args, "deadline", par.deadline), 10, 100000);
    uint64_t start = rdtsc();
    mica_set_ipc_buffer(&ipcbuf);
    vm_use_ipc_buffer(&ipcbuf); /* vm_fork passes its receipt through it */
    printf("workload: seed=0x%llx clients=%u pages=%u rounds=%u\n",
           (unsigned long long)par.seed, par.clients, par.pages, par.rounds);

    /* Warm-up: the same run, so that the pager, echo and kv grow their
     * tables to what the measured run needs. That takes two whole rounds
     * (a fault-free run still takes two frames in its second), and a
     * round a fault cut short (a client failed or was killed, a server
     * restarted empty) leaves growth for later: go on until a round whose
     * clients all passed left every counter as it found it, or
     * WARMUPS_MAX rounds. A leak of every round never settles and shows
     * in the measured run. */
    int64_t tasks = mica_info(MICA_INFO_TASKS);
    struct tally warm = {0};
    struct usage before = usage_now();
    uint64_t servers = task_set();
    for (unsigned i = 0; i < WARMUPS_MAX; i++) {
        warm = run_clients();
        tasks_drop_to(tasks, FORKED_TRIES);
        struct usage after = usage_now();
        /* A server restarted in this round starts its growth again (kv's
         * table is mapped page by page): its frames may even balance the
         * dead instance's by chance, so the round is not settled. */
        uint64_t now_servers = task_set();
        bool restarted = now_servers != servers;
        servers = now_servers;
        if (par.trace) {
            printf("workload: warm-up %u: %lld free frames\n", i, (long long)after.frames);
            trace_tasks("warm-up");
        }
        bool settled = warm.ok == par.clients && !restarted && same_usage(&before, &after);
        before = after;
        if (i + 1 >= par.warmups && settled)
            break;
    }
    tasks_drop_to(tasks, FORKED_TRIES);
    struct usage base = usage_now();

    struct tally t = run_clients();
    unsigned ok = t.ok, bad = t.bad, killed = t.killed, wrong = t.wrong;
    uint64_t checksum = 0;
    for (unsigned c = 0; c < par.clients; c++)
        for (unsigned r = 0; r < par.rounds; r++)
            checksum = mix(checksum + expected_sum(c, r));

    bool gone = tasks_drop_to(base.tasks, FORKED_TRIES);
    struct usage now = usage_now();
    if (par.trace)
        trace_tasks("end");
    bool same = gone && same_usage(&now, &base);
    if (same)
        printf("workload: accounting ok\n");
    else
        printf("workload: accounting leak frames=%+lld slab=%+lld heap=%+lld tasks=%+lld\n",
               (long long)(base.frames - now.frames), (long long)(now.slab - base.slab),
               (long long)(now.heap - base.heap), (long long)(now.tasks - base.tasks));
    int64_t broken = mica_info(MICA_INFO_SELF_CHECK);
    if (broken == 0)
        printf("workload: self-check ok\n");
    else
        printf("workload: self-check %lld failures\n", (long long)broken);

    const char *verdict = wrong ? "corrupt" : ok == par.clients ? "ok" : "failed";
    printf("workload: verdict %s clients=%u ok=%u failed=%u killed=%u corrupt=%u warmup=%s "
           "checksum=0x%016llx\n",
           verdict, par.clients, ok, bad, killed, wrong, warm.ok == par.clients ? "ok" : "failed",
           (unsigned long long)checksum);
    /* Under QEMU -icount shift=N the time stamp counts 2^N per guest
     * instruction (and jumps over idle time). From the kernel's first
     * instruction on: the firmware's count varies with the image's
     * timestamps, the rest is a function of the command line. */
    printf("workload: tsc kernel=%llu workload=%llu\n",
           (unsigned long long)(start - (uint64_t)mica_info(MICA_INFO_BOOT_TSC)),
           (unsigned long long)(rdtsc() - start));
    unsigned passed = ok + same + (broken == 0);
    return MICA_TEST_STATUS(passed, par.clients + 2 - passed);
}

/* init: the first user task. It reads the boot configuration (module
 * "bootcfg", syntax in bootcfg.h), creates the endpoints and starts the
 * servers it lists and, in test, bench or workload mode, runs each test,
 * bench or workload program in turn, adds up the results and powers the
 * machine off with the totals. */
#include <mica/grant.h>
#include <mica/names.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "bootcfg.h"
#include "pager_link.h"

#define ENDPOINTS_MAX 16
#define SERVERS_MAX   16 /* servers a later task: grant can name */

struct init_state {
    const struct mica_start_info *si;
    int test_mode, bench_mode, workload_mode;
    uint64_t passed, failed;
    uint64_t started;  /* programs started so far; badges their send copies */
    long pager_ep;     /* the last program's pager (init's handle), or -1 */
    uint64_t pager_badge; /* and the badge that names it there */
    unsigned nendpoints;
    struct {
        char name[MICA_NAME_MAX];
        uint64_t handle;
    } endpoints[ENDPOINTS_MAX];
    unsigned nservers;
    struct {
        char name[MICA_NAME_MAX];
        uint64_t handle; /* init's task handle (all rights) */
    } servers[SERVERS_MAX];
};

/* A configuration problem; in test mode it is also a failure, so a broken
 * setup cannot pass. */
static void problem(struct init_state *st, const struct bootcfg_line *l, const char *what,
                    const char *name)
{
    printf("init: bootcfg line %u: %s%s%s\n", l->lineno, what, name ? " " : "",
           name ? name : "");
    st->failed += st->test_mode;
}

static long find_endpoint(const struct init_state *st, const char *name)
{
    for (unsigned i = 0; i < st->nendpoints; i++)
        if (strcmp(st->endpoints[i].name, name) == 0)
            return (long)st->endpoints[i].handle;
    return -MICA_ENOENT;
}

static long find_server(const struct init_state *st, const char *name)
{
    for (unsigned i = 0; i < st->nservers; i++)
        if (strcmp(st->servers[i].name, name) == 0)
            return (long)st->servers[i].handle;
    return -MICA_ENOENT;
}

/* Remember a started server for task: grants; a full table is reported
 * (the server runs, but no later line can be granted its task). */
static void record_server(struct init_state *st, const struct bootcfg_line *l, long h)
{
    if (st->nservers == SERVERS_MAX) {
        problem(st, l, "too many servers to remember for task: grants; not recorded:",
                l->name);
        return;
    }
    strlcpy(st->servers[st->nservers].name, l->name, MICA_NAME_MAX);
    st->servers[st->nservers++].handle = (uint64_t)h;
}

static void create_endpoint(struct init_state *st, const struct bootcfg_line *l)
{
    long h = -MICA_ENOSPC;
    if (find_endpoint(st, l->name) >= 0)
        problem(st, l, "endpoint defined twice:", l->name);
    else if (st->nendpoints == ENDPOINTS_MAX)
        problem(st, l, "too many endpoints", NULL);
    else if ((h = mica_endpoint_create()) < 0)
        problem(st, l, "cannot create endpoint:", mica_error_name(h));
    if (h < 0)
        return;
    strlcpy(st->endpoints[st->nendpoints].name, l->name, MICA_NAME_MAX);
    st->endpoints[st->nendpoints++].handle = (uint64_t)h;
}

/* Fill a->handles from the line's grants; minted copies are recorded in
 * minted[] for closing after the spawn. Returns 0 or -1 (reported). */
static int prepare_handles(struct init_state *st, const struct bootcfg_line *l,
                           struct mica_spawn_args *a, long *minted)
{
    for (unsigned i = 0; i < l->ngrants; i++) {
        const struct bootcfg_grant *g = &l->grants[i];
        if (g->kind == BOOTCFG_GRANT_TASK) {
            long task = find_server(st, g->target);
            long h = task < 0 ? task
                              : mica_handle_mint((uint64_t)task,
                                                 MICA_RIGHT_MAP | MICA_RIGHT_GRANT, 0);
            if (task < 0)
                problem(st, l, "no server started as", g->target);
            else if (h < 0)
                problem(st, l, "cannot mint a task handle:", mica_error_name(h));
            if (h < 0)
                return -1;
            minted[i] = h;
            a->handles[a->nhandles++] = (uint64_t)h;
            continue;
        }
        long ep = find_endpoint(st, g->target);
        if (ep < 0) {
            problem(st, l, "no endpoint named", g->target);
            return -1;
        }
        long h = ep;
        if (g->kind == BOOTCFG_GRANT_SEND || g->kind == BOOTCFG_GRANT_PAGER) {
            h = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT,
                                 st->started + 1);
            if (h < 0) {
                problem(st, l, "cannot mint a send handle:", mica_error_name(h));
                return -1;
            }
            minted[i] = h;
        }
        if (g->kind == BOOTCFG_GRANT_PAGER) {
            a->flags |= MICA_SPAWN_PAGER; /* registered before the child runs */
            a->pager = (uint64_t)h;
            st->pager_ep = ep;
            st->pager_badge = st->started + 1;
        }
        a->handles[a->nhandles++] = (uint64_t)h;
    }
    return 0;
}

/* Tell the name service what the program with `badge` may register
 * (allow) or that it is gone (!allow). The service is the server of the
 * endpoint "names", which must come before the first provides:. Returns 0
 * or -1 (reported). */
static int names_permissions(struct init_state *st, const struct bootcfg_line *l,
                             uint64_t badge, int allow)
{
    if (!l->nprovides)
        return 0;
    long ep = find_endpoint(st, MICA_NAMES_GRANT);
    if (ep < 0 || find_server(st, MICA_NAMES_GRANT) < 0) {
        if (allow)
            problem(st, l, "provides: needs the name service started first (endpoint names, "
                    "server names recv:names)", NULL);
        return -1;
    }
    for (unsigned i = 0; i < (allow ? l->nprovides : 1); i++) {
        long rc = allow ? names_link_allow((uint64_t)ep, badge, l->provides[i])
                        : names_link_forget((uint64_t)ep, badge);
        if (rc < 0) {
            problem(st, l, "the name service refused:", mica_error_name(rc));
            return -1;
        }
    }
    return 0;
}

/* Start module l->name with its args and handles. Returns the task handle
 * or < 0 after printing why not. */
static long start(struct init_state *st, const struct bootcfg_line *l)
{
    const struct mica_module *m = mica_find_module(st->si, l->name);
    if (!m) {
        problem(st, l, "no module named", l->name);
        return -MICA_ENOENT;
    }
    /* The grant names go in front of the arguments (mica/grant.h). */
    static char args[MICA_ARGS_MAX];
    const char *names[MICA_SPAWN_MAX_HANDLES];
    for (unsigned i = 0; i < l->ngrants; i++)
        names[i] = l->grants[i].name;
    if (mica_grants_encode(args, sizeof args, names, l->ngrants, l->args) < 0) {
        problem(st, l, "arguments and grant names together too long for", l->name);
        return -MICA_E2BIG;
    }
    struct mica_spawn_args a = {
        .image = (const void *)m->addr,
        .image_len = m->len,
        .name = l->name,
        .args = args,
    };
    long minted[MICA_SPAWN_MAX_HANDLES];
    for (unsigned i = 0; i < MICA_SPAWN_MAX_HANDLES; i++)
        minted[i] = -1;
    st->pager_ep = -1;
    int ready = prepare_handles(st, l, &a, minted) == 0 && /* reported if not */
                names_permissions(st, l, st->started + 1, 1) == 0;
    long h = ready ? mica_task_spawn(&a) : -MICA_EINVAL;
    if (h < 0) /* the badge goes to the next program: take its permissions back */
        names_permissions(st, l, st->started + 1, 0);
    for (unsigned i = 0; i < MICA_SPAWN_MAX_HANDLES; i++)
        if (minted[i] >= 0)
            mica_handle_close((uint64_t)minted[i]); /* the child has its own copy */
    if (ready && h < 0) {
        printf("init: cannot start %s: %s\n", l->name, mica_error_name(h));
        st->failed += st->test_mode;
    }
    if (h < 0)
        return h;
    st->started++;
    printf("init: started %s (task handle %ld)\n", l->name, h);
    if (st->pager_ep >= 0) {
        /* Until this arrives the pager answers the program's requests with
         * -MICA_EAGAIN (mica/vm.h), so it cannot fault on a region early. */
        long rc = pager_link_add((uint64_t)st->pager_ep, st->pager_badge, (uint64_t)h);
        if (rc < 0)
            problem(st, l, "cannot introduce the program to its pager:", mica_error_name(rc));
    }
    return h;
}

/* Wait for task h. Tests add their result; a killed test, or a status
 * that is not a test status, is one failure. */
static void collect(struct init_state *st, const struct bootcfg_line *l, long h)
{
    int64_t status = mica_task_wait((uint64_t)h);
    mica_handle_close((uint64_t)h);
    if (st->pager_ep >= 0)
        pager_link_drop((uint64_t)st->pager_ep, st->pager_badge);
    names_permissions(st, l, st->started, 0); /* its badge (start counted it) */
    if (l->kind == BOOTCFG_BENCH) {
        printf("init: bench %s exited with status %lld\n", l->name, (long long)status);
        return;
    }
    const char *kind = l->kind == BOOTCFG_WORKLOAD ? "workload" : "test";
    if (status == MICA_EXIT_KILLED) {
        printf("init: %s %s was killed: 0 passed, 1 failed\n", kind, l->name);
        st->failed++;
    } else if (status < 0) {
        printf("init: %s %s: wait failed or bad status %lld: 0 passed, 1 failed\n", kind,
               l->name, (long long)status);
        st->failed++;
    } else {
        uint64_t p = MICA_TEST_PASSED(status), f = MICA_TEST_FAILED(status);
        printf("init: %s %s: %llu passed, %llu failed\n", kind, l->name,
               (unsigned long long)p, (unsigned long long)f);
        st->passed += p;
        st->failed += f;
    }
}

static void run_bootcfg(struct init_state *st, const struct mica_module *cfg)
{
    static struct bootcfg_line line; /* 1 KiB of args: keep it off the stack */
    struct bootcfg_cursor c;
    bootcfg_open(&c, (const char *)cfg->addr, cfg->len);
    while (bootcfg_next(&c, &line)) {
        switch (line.kind) {
        case BOOTCFG_ERROR:
            problem(st, &line, line.problem, NULL);
            break;
        case BOOTCFG_ENDPOINT:
            create_endpoint(st, &line);
            break;
        case BOOTCFG_SERVER: {
            long h = start(st, &line);
            if (h >= 0)
                record_server(st, &line, h);
            break;
        }
        case BOOTCFG_DEMO:
            if (!st->test_mode && !st->bench_mode && !st->workload_mode)
                start(st, &line); /* runs on its own; nothing to wait for */
            break;
        case BOOTCFG_TEST:
        case BOOTCFG_BENCH:
        case BOOTCFG_WORKLOAD: {
            int wanted = line.kind == BOOTCFG_TEST    ? st->test_mode
                         : line.kind == BOOTCFG_BENCH ? st->bench_mode
                                                      : st->workload_mode;
            long h = wanted ? start(st, &line) : -1;
            if (h >= 0)
                collect(st, &line, h);
            break;
        }
        }
    }
}

/* Normal mode: nothing left to do but stay alive (servers may need init's
 * handles later); block on an endpoint nobody else holds. */
static __attribute__((noreturn)) void idle_forever(void)
{
    long ep = mica_endpoint_create();
    struct mica_msg m;
    for (;;) {
        if (ep < 0 || mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_BLOCK) < 0)
            mica_yield();
    }
}

int main(const struct mica_start_info *si)
{
    static struct init_state st;
    st.si = si;
    st.test_mode = (si->flags & MICA_START_TEST_MODE) != 0;
    st.bench_mode = (si->flags & MICA_START_BENCH_MODE) != 0;
    st.workload_mode = !st.test_mode && !st.bench_mode &&
                       (si->flags & MICA_START_WORKLOAD_MODE) != 0;
    printf("init: started (%s)\n", st.test_mode       ? "test mode"
                                    : st.bench_mode    ? "bench mode"
                                    : st.workload_mode ? "workload mode"
                                                       : "normal");
    if (st.bench_mode) /* tools/bench names it for the memory size of the run */
        printf("bench: boot_to_init %llu insn/op # first kernel instruction (after GRUB) to "
               "init's first instruction: memory map, frame allocator, kernel space, heap, "
               "timer calibration, init loaded\n",
               (unsigned long long)(mica_start_tsc - (uint64_t)mica_info(MICA_INFO_BOOT_TSC)));

    const struct mica_module *cfg = mica_find_module(si, "bootcfg");
    if (cfg)
        run_bootcfg(&st, cfg);
    else {
        printf("init: no module named 'bootcfg'; nothing to start\n");
        st.failed += st.test_mode;
    }

    if (!st.test_mode && !st.bench_mode && !st.workload_mode) {
        printf("init: boot complete\n");
        idle_forever();
    }
    if (st.workload_mode)
        printf("init: workloads: %llu passed, %llu failed\n", (unsigned long long)st.passed,
               (unsigned long long)st.failed);
    if (st.test_mode)
        printf("init: user tests: %llu passed, %llu failed\n", (unsigned long long)st.passed,
               (unsigned long long)st.failed);
    long rc = mica_shutdown(st.failed ? 1 : 0, st.passed, st.failed);
    printf("init: shutdown refused: %s\n", mica_error_name(rc));
    return 1;
}

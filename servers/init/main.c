/* init: the first user task. It reads the boot configuration (module
 * "bootcfg", syntax in bootcfg.h), creates the endpoints and starts the
 * servers it lists and, in test, bench or workload mode, runs each test,
 * bench or workload program in turn, adds up the results and powers the
 * machine off with the totals. */
#include <mica/grant.h>
#include <mica/inject.h>
#include <mica/names.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/spawn.h>
#include <mica/sys.h>

#include "bootcfg.h"
#include "init.h"
#include "pager_link.h"
#include "supervise.h"

/* A configuration problem; in test mode it is also a failure, so a broken
 * setup cannot pass. */
void init_problem(struct init_state *st, const struct bootcfg_line *l, const char *what,
                  const char *name)
{
    printf("init: bootcfg line %u: %s%s%s\n", l->lineno, what, name ? " " : "",
           name ? name : "");
    st->failed += st->test_mode;
}

long init_find_endpoint(const struct init_state *st, const char *name)
{
    for (unsigned i = 0; i < st->nendpoints; i++)
        if (strcmp(st->endpoints[i].name, name) == 0)
            return (long)st->endpoints[i].handle;
    return -MICA_ENOENT;
}

long init_line_pager(const struct init_state *st, const struct bootcfg_line *l)
{
    for (unsigned i = 0; i < l->ngrants; i++)
        if (l->grants[i].kind == BOOTCFG_GRANT_PAGER)
            return init_find_endpoint(st, l->grants[i].target);
    return -1;
}

void init_set_endpoint(struct init_state *st, const char *name, uint64_t handle)
{
    for (unsigned i = 0; i < st->nendpoints; i++)
        if (strcmp(st->endpoints[i].name, name) == 0)
            st->endpoints[i].handle = handle;
}

static long find_server(const struct init_state *st, const char *name)
{
    for (unsigned i = 0; i < st->nservers; i++)
        if (strcmp(st->servers[i].name, name) == 0)
            return (long)st->servers[i].handle;
    return -MICA_ENOENT;
}

long init_endpoint_create(void)
{
    long h = mica_endpoint_create();
    for (unsigned tries = 1; h == -MICA_ENOMEM && tries < INIT_ENOMEM_TRIES; tries++) {
        mica_yield();
        h = mica_endpoint_create();
    }
    return h;
}

/* Remember a started server for task: grants (a restarted one replaces
 * its dead instance, whose handle goes); a full table is reported (the
 * server runs, but no later line can be granted its task). */
void init_record_server(struct init_state *st, const struct bootcfg_line *l, long h)
{
    for (unsigned i = 0; i < st->nservers; i++) {
        if (strcmp(st->servers[i].name, l->name) == 0) {
            mica_handle_close(st->servers[i].handle);
            st->servers[i].handle = (uint64_t)h;
            return;
        }
    }
    if (st->nservers == SERVERS_MAX) {
        init_problem(st, l, "too many servers to remember for task: grants; not recorded:",
                     l->name);
        return;
    }
    strlcpy(st->servers[st->nservers].name, l->name, MICA_NAME_MAX);
    st->servers[st->nservers++].handle = (uint64_t)h;
}

static void create_endpoint(struct init_state *st, const struct bootcfg_line *l)
{
    long h = -MICA_ENOSPC;
    if (init_find_endpoint(st, l->name) >= 0)
        init_problem(st, l, "endpoint defined twice:", l->name);
    else if (st->nendpoints == ENDPOINTS_MAX)
        init_problem(st, l, "too many endpoints", NULL);
    else if ((h = init_endpoint_create()) < 0)
        init_problem(st, l, "cannot create endpoint:", mica_error_name(h));
    if (h < 0)
        return;
    strlcpy(st->endpoints[st->nendpoints].name, l->name, MICA_NAME_MAX);
    st->endpoints[st->nendpoints++].handle = (uint64_t)h;
}

/* Fill a->handles from the line's grants; minted copies are recorded in
 * minted[] for closing after the spawn. Returns 0 or -1 (reported). */
static int prepare_handles(struct init_state *st, const struct bootcfg_line *l,
                           struct mica_spawn_args *a, long *minted, uint64_t badge)
{
    for (unsigned i = 0; i < l->ngrants; i++) {
        const struct bootcfg_grant *g = &l->grants[i];
        if (g->kind == BOOTCFG_GRANT_INJECT) {
            if (st->inject < 0)
                st->inject = mica_inject_open(); /* init's own, kept for later lines */
            if (st->inject < 0) {
                init_problem(st, l, "cannot open the fault-injection control:",
                        mica_error_name(st->inject));
                return -1;
            }
            a->handles[a->nhandles++] = (uint64_t)st->inject;
            continue;
        }
        if (g->kind == BOOTCFG_GRANT_TASK) {
            long task = find_server(st, g->target);
            long h = task < 0 ? task
                              : mica_handle_mint((uint64_t)task,
                                                 MICA_RIGHT_MAP | MICA_RIGHT_GRANT |
                                                     MICA_RIGHT_KILL | MICA_RIGHT_WAIT,
                                                 0);
            if (task < 0)
                init_problem(st, l, "no server started as", g->target);
            else if (h < 0)
                init_problem(st, l, "cannot mint a task handle:", mica_error_name(h));
            if (h < 0)
                return -1;
            minted[i] = h;
            a->handles[a->nhandles++] = (uint64_t)h;
            continue;
        }
        long ep = init_find_endpoint(st, g->target);
        if (ep < 0) {
            init_problem(st, l, "no endpoint named", g->target);
            return -1;
        }
        long h = ep;
        if (g->kind == BOOTCFG_GRANT_SEND || g->kind == BOOTCFG_GRANT_PAGER) {
            h = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, badge);
            if (h < 0) {
                init_problem(st, l, "cannot mint a send handle:", mica_error_name(h));
                return -1;
            }
            minted[i] = h;
        }
        if (g->kind == BOOTCFG_GRANT_PAGER) {
            a->flags |= MICA_SPAWN_PAGER; /* registered before the child runs */
            a->pager = (uint64_t)h;
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
    long ep = init_find_endpoint(st, MICA_NAMES_GRANT);
    if (ep < 0 || find_server(st, MICA_NAMES_GRANT) < 0) {
        if (allow)
            init_problem(st, l,
                         "provides: needs the name service started first (endpoint names, "
                         "server names recv:names)",
                         NULL);
        return -1;
    }
    for (unsigned i = 0; i < (allow ? l->nprovides : 1); i++) {
        long rc = allow ? names_link_allow((uint64_t)ep, badge, l->provides[i])
                        : names_link_forget((uint64_t)ep, badge);
        if (rc < 0) {
            init_problem(st, l, "the name service refused:", mica_error_name(rc));
            return -1;
        }
    }
    return 0;
}

long init_start(struct init_state *st, const struct bootcfg_line *l, uint64_t badge,
                bool restart)
{
    const struct mica_module *m = mica_find_module(st->si, l->name);
    if (!m) {
        init_problem(st, l, "no module named", l->name);
        return -MICA_ENOENT;
    }
    /* The grant names go in front of the arguments (mica/grant.h). */
    static char args[MICA_ARGS_MAX];
    const char *names[MICA_SPAWN_MAX_HANDLES];
    for (unsigned i = 0; i < l->ngrants; i++)
        names[i] = l->grants[i].name;
    if (mica_grants_encode(args, sizeof args, names, l->ngrants, l->args) < 0) {
        init_problem(st, l, "arguments and grant names together too long for", l->name);
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
    /* A restart keeps the names its badge was allowed the first time. */
    int ready = prepare_handles(st, l, &a, minted, badge) == 0 && /* reported if not */
                (restart || names_permissions(st, l, badge, 1) == 0);
    static struct mica_task_layout layout;
    long h = ready ? mica_task_build(&a, &layout) : -MICA_EINVAL;
    long pager_ep = h >= 0 ? init_line_pager(st, l) : -1;
    if (pager_ep >= 0) {
        /* Before its first instruction, so that the pager knows the program's
         * regions (its image, bss and stack) from its first fault on. A
         * restart first has the dead instance forgotten. (These calls may
         * restart other servers meanwhile: supervise.h.) */
        if (restart)
            pager_link_drop((uint64_t)pager_ep, badge);
        long rc = pager_link_add((uint64_t)pager_ep, badge, (uint64_t)h, layout.region,
                                 layout.nregions);
        if (rc < 0) {
            /* A program its pager does not know is answered "not yet" for
             * ever: it is not started. */
            init_problem(st, l, "cannot introduce the program to its pager:",
                         mica_error_name(rc));
            mica_handle_close((uint64_t)h);
            h = rc;
            pager_ep = -1;
        }
    }
    if (h >= 0) {
        long rc = mica_task_launch((uint64_t)h, &layout);
        if (rc < 0) {
            mica_handle_close((uint64_t)h);
            if (pager_ep >= 0)
                pager_link_drop((uint64_t)pager_ep, badge);
            h = rc;
        }
    }
    if (h < 0 && !restart) /* the badge goes to the next program: take its permissions back */
        names_permissions(st, l, badge, 0);
    for (unsigned i = 0; i < MICA_SPAWN_MAX_HANDLES; i++)
        if (minted[i] >= 0)
            mica_handle_close((uint64_t)minted[i]); /* the child has its own copy */
    if (ready && h < 0) {
        printf("init: cannot start %s: %s\n", l->name, mica_error_name(h));
        st->failed += st->test_mode;
    }
    if (h < 0)
        return h;
    if (!restart)
        printf("init: started %s (task handle %ld)\n", l->name, h);
    return h;
}

long init_start_new(struct init_state *st, const struct bootcfg_line *l)
{
    uint64_t badge = st->started + 1;
    long h = init_start(st, l, badge, false);
    if (h < 0)
        return h;
    st->started++;
    supervise_program(l, h, badge, init_line_pager(st, l));
    return h;
}

/* Wait for task h. Tests add their result; a killed test, or a status
 * that is not a test status, is one failure. */
static void collect(struct init_state *st, const struct bootcfg_line *l, long h)
{
    int64_t status = supervise_wait(h); /* restarts servers meanwhile */
    mica_handle_close((uint64_t)h);
    long pager_ep = init_line_pager(st, l);
    if (pager_ep >= 0)
        pager_link_drop((uint64_t)pager_ep, st->started); /* its badge (start counted it) */
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

/* How often a server line without restart is started again when its
 * start ran out of memory. */
#define START_TRIES 3

static void run_bootcfg(struct init_state *st, const struct mica_module *cfg)
{
    static struct bootcfg_line line; /* 1 KiB of args: keep it off the stack */
    struct bootcfg_cursor c;
    bootcfg_open(&c, (const char *)cfg->addr, cfg->len);
    while (bootcfg_next(&c, &line)) {
        switch (line.kind) {
        case BOOTCFG_ERROR:
            init_problem(st, &line, line.problem, NULL);
            break;
        case BOOTCFG_ENDPOINT:
            create_endpoint(st, &line);
            break;
        case BOOTCFG_SERVER: {
            long h = init_start_new(st, &line);
            /* Memory short at the start (a transient failure, or an
             * injected one: docs/fault-injection.md) would leave every
             * client of the server waiting for good: it gets the tries
             * its restart budget allows, or START_TRIES, at once. */
            unsigned tries = line.restart ? line.restart_max : START_TRIES;
            for (unsigned k = 1; h == -MICA_ENOMEM && k <= tries; k++) {
                printf("init: starting %s again (try %u of %u)\n", line.name, k, tries);
                h = init_start_new(st, &line);
            }
            if (h >= 0)
                init_record_server(st, &line, h);
            break;
        }
        case BOOTCFG_DEMO:
            if (!st->test_mode && !st->bench_mode && !st->workload_mode)
                init_start_new(st, &line); /* runs on its own; nothing to wait for */
            break;
        case BOOTCFG_TEST:
        case BOOTCFG_BENCH:
        case BOOTCFG_WORKLOAD: {
            int wanted = line.kind == BOOTCFG_TEST    ? st->test_mode
                         : line.kind == BOOTCFG_BENCH ? st->bench_mode
                                                      : st->workload_mode;
            long h = wanted ? init_start_new(st, &line) : -1;
            if (h >= 0)
                collect(st, &line, h);
            break;
        }
        }
    }
}

int main(const struct mica_start_info *si)
{
    static struct init_state st;
    st.si = si;
    st.inject = -MICA_ENOENT;
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
               "timer calibration, init loaded (the kernel's own test and benchmark runs left "
               "out)\n",
               (unsigned long long)(mica_start_tsc - (uint64_t)mica_info(MICA_INFO_BOOT_TSC) -
                                    (uint64_t)mica_info(MICA_INFO_SELFTEST)));

    long rc = supervise_init(&st);
    if (rc < 0)
        printf("init: no endpoint for supervision: %s\n", mica_error_name(rc));
    const struct mica_module *cfg = mica_find_module(si, "bootcfg");
    if (cfg)
        run_bootcfg(&st, cfg);
    else {
        printf("init: no module named 'bootcfg'; nothing to start\n");
        st.failed += st.test_mode;
    }

    if (!st.test_mode && !st.bench_mode && !st.workload_mode) {
        printf("init: boot complete\n");
        supervise_idle(); /* servers may need init's handles and restarts later */
    }
    if (st.workload_mode)
        printf("init: workloads: %llu passed, %llu failed\n", (unsigned long long)st.passed,
               (unsigned long long)st.failed);
    if (st.test_mode)
        printf("init: user tests: %llu passed, %llu failed\n", (unsigned long long)st.passed,
               (unsigned long long)st.failed);
    rc = mica_shutdown(st.failed ? 1 : 0, st.passed, st.failed);
    printf("init: shutdown refused: %s\n", mica_error_name(rc));
    return 1;
}

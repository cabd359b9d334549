/* supervise.h: the programs init watches, their deaths, the restarts of
 * servers marked restart, and the requests of mica/init.h. */
#include "supervise.h"
#include "control.h"

#include <mica/init.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/vm.h>

#include "pager_link.h"

#define PROGRAMS_MAX   32
#define RESTARTABLE_MAX 8
#define BACKOFF_CAP    1000 /* ticks: the longest wait before a restart */
/* Death notes carry NOTE_BADGE + the program's slot: above every badge
 * init gives programs, so no program can send one. */
#define NOTE_BADGE     (1ull << 32)
/* Where init keeps INIT_KEEP memory: one window per restartable line. */
#define KEEP_BASE      0x0000500000000000ull
#define KEEP_STRIDE    0x0000000040000000ull

struct program {
    bool used, ended;
    char name[MICA_NAME_MAX];
    enum bootcfg_kind kind;
    long task;             /* init's task handle */
    uint64_t badge;        /* of its send copies */
    long pager_ep;         /* init's handle of its pager endpoint, or -1 */
    int server;            /* its restartable[] entry, or -1 */
    int64_t status;        /* from the death note */
    uint64_t cause, killer;
};

struct restartable {
    struct bootcfg_line line;
    uint64_t badge;
    unsigned restarts;
    bool pending, gave_up;
    uint64_t due;          /* tick at which the pending restart starts */
    char why[64];          /* how the last instance ended */
    unsigned keep_pages;   /* INIT_KEEP memory, at keep_va(index) */
};

/* Task handles a server deposited (INIT_DEPOSIT), for its next instance. */
struct deposit {
    bool used;
    int server;            /* the depositing server's restartable[] entry */
    uint64_t badge;
    long task;             /* init's handle (MAP | GRANT) */
};

static struct init_state *st;
static struct deposit deposits[INIT_DEPOSITS_MAX];
static long ep = -1;
static struct program programs[PROGRAMS_MAX];
static struct restartable restartable[RESTARTABLE_MAX];
static unsigned nrestartable;
static bool restarting; /* a restart is under way: nested polls start none that call out */

static struct deposit *deposit_find(int server, uint64_t badge)
{
    for (unsigned i = 0; i < INIT_DEPOSITS_MAX; i++)
        if (deposits[i].used && deposits[i].server == server && deposits[i].badge == badge)
            return &deposits[i];
    return NULL;
}

static void deposit_close(struct deposit *d)
{
    mica_handle_close((uint64_t)d->task);
    d->used = false;
}

long supervise_init(struct init_state *state)
{
    st = state;
    ep = init_endpoint_create(); /* without it nothing can be supervised */
    if (ep < 0)
        return ep;
    if (!mica_ipc_buffer()) /* deposits arrive with a handle */
        printf("init: no IPC buffer: servers cannot deposit task handles\n");
    if (st->nendpoints < ENDPOINTS_MAX) {
        strlcpy(st->endpoints[st->nendpoints].name, INIT_GRANT, MICA_NAME_MAX);
        st->endpoints[st->nendpoints++].handle = (uint64_t)ep;
    }
    return 0;
}

static uint64_t keep_va(const struct restartable *r)
{
    return KEEP_BASE + (uint64_t)(r - restartable) * KEEP_STRIDE;
}

static uint64_t ticks(void)
{
    return (uint64_t)mica_info(MICA_INFO_TICKS);
}

static struct restartable *restartable_for(const struct bootcfg_line *l, uint64_t badge)
{
    for (unsigned i = 0; i < nrestartable; i++)
        if (restartable[i].badge == badge)
            return &restartable[i];
    if (nrestartable == RESTARTABLE_MAX) {
        init_problem(st, l, "too many restart lines (at most 8); not supervised:", l->name);
        return NULL;
    }
    struct restartable *r = &restartable[nrestartable++];
    r->line = *l;
    r->badge = badge;
    return r;
}

void supervise_program(const struct bootcfg_line *l, long task, uint64_t badge, long pager_ep)
{
    for (unsigned i = 0; i < PROGRAMS_MAX; i++) {
        struct program *p = &programs[i];
        if (p->used)
            continue;
        /* The note's memory may be short for a moment (an injected
         * allocation failure): try again before giving up on watching. */
        long rc = mica_task_notify((uint64_t)task, (uint64_t)ep, NOTE_BADGE + i);
        for (unsigned tries = 1; rc == -MICA_ENOMEM && tries < INIT_ENOMEM_TRIES; tries++) {
            mica_yield();
            rc = mica_task_notify((uint64_t)task, (uint64_t)ep, NOTE_BADGE + i);
        }
        if (rc < 0) {
            printf("init: cannot watch %s: %s\n", l->name, mica_error_name(rc));
            return;
        }
        *p = (struct program){.used = true, .kind = l->kind, .task = task, .badge = badge,
                              .pager_ep = pager_ep, .server = -1};
        strlcpy(p->name, l->name, MICA_NAME_MAX);
        struct restartable *r = l->restart ? restartable_for(l, badge) : NULL;
        if (r)
            p->server = (int)(r - restartable);
        return;
    }
    printf("init: cannot watch %s: more than %d programs\n", l->name, PROGRAMS_MAX);
}

/* How a program ended, from its death note, into buf. */
static void describe(const struct program *p, char *buf, size_t size)
{
    switch (p->cause) {
    case MICA_DEATH_EXITED:
        snprintf(buf, size, "exited with status %lld", (long long)p->status);
        break;
    case MICA_DEATH_FAULT:
        snprintf(buf, size, "killed by a fault");
        break;
    case MICA_DEATH_KILLED:
        snprintf(buf, size, "killed by task id %llu", (unsigned long long)p->killer);
        break;
    case MICA_DEATH_ORPHANED:
        snprintf(buf, size, "killed: no handle to it was left");
        break;
    default:
        snprintf(buf, size, "killed by the kernel");
        break;
    }
}

/* Give up on r: nobody will serve its endpoints again, so init keeps only
 * a send copy of each, and the clients waiting there get -MICA_EDEAD. */
static void give_up(struct restartable *r)
{
    r->gave_up = true;
    for (unsigned i = 0; i < INIT_DEPOSITS_MAX; i++)
        if (deposits[i].used && deposits[i].server == (int)(r - restartable))
            deposit_close(&deposits[i]);
    for (unsigned i = 0; i < r->line.ngrants; i++) {
        const struct bootcfg_grant *g = &r->line.grants[i];
        long h = g->kind == BOOTCFG_GRANT_RECV ? init_find_endpoint(st, g->target) : -1;
        if (h < 0)
            continue;
        long send = mica_handle_mint((uint64_t)h, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0);
        mica_handle_close((uint64_t)h);
        init_set_endpoint(st, g->target, send < 0 ? (uint64_t)-1 : (uint64_t)send);
    }
}

/* The program in slot i has ended (its death note m). */
static void on_death(unsigned i, const struct mica_msg *m)
{
    struct program *p = &programs[i];
    if (!p->used || p->ended)
        return;
    p->ended = true;
    p->status = (int64_t)m->w[1];
    p->cause = m->w[2];
    p->killer = m->w[3];
    if (p->kind == BOOTCFG_DEMO) { /* nobody waits for it */
        mica_handle_close((uint64_t)p->task);
        p->used = false;
        return;
    }
    if (p->server < 0)
        return; /* a test or bench (its waiter collects it), or a server left dead */
    struct restartable *r = &restartable[p->server];
    describe(p, r->why, sizeof r->why);
    p->used = false; /* init's handle stays in st->servers until the restart */
    if (r->restarts >= r->line.restart_max) {
        printf("init: %s %s after %u restart%s: giving up (its endpoints are closed)\n",
               r->line.name, r->why, r->restarts, r->restarts == 1 ? "" : "s");
        give_up(r);
        return;
    }
    r->restarts++;
    uint64_t wait = (uint64_t)r->line.restart_backoff << (r->restarts - 1);
    r->due = ticks() + (wait > BACKOFF_CAP ? BACKOFF_CAP : wait);
    r->pending = true;
}

static void restart(struct restartable *r)
{
    r->pending = false;
    restarting = true;
    long h = init_start(st, &r->line, r->badge, true);
    restarting = false;
    if (h < 0) {
        printf("init: %s could not be restarted: giving up\n", r->line.name);
        give_up(r);
        return;
    }
    printf("init: restarted %s (%s; restart %u of %u, task handle %ld)\n", r->line.name, r->why,
           r->restarts, r->line.restart_max, h);
    init_record_server(st, &r->line, h);
    supervise_program(&r->line, h, r->badge, init_line_pager(st, &r->line));
}

/* Whether restarting r calls other servers (the pager, to introduce it):
 * not from inside another restart's calls. */
static bool calls_out(const struct restartable *r)
{
    return init_line_pager(st, &r->line) >= 0;
}

static bool restart_pending(void)
{
    for (unsigned i = 0; i < nrestartable; i++)
        if (restartable[i].pending)
            return true;
    return false;
}

static void run_due_restarts(void)
{
    uint64_t now = ticks();
    for (unsigned i = 0; i < nrestartable; i++) {
        struct restartable *r = &restartable[i];
        if (r->pending && now >= r->due && !(restarting && calls_out(r)))
            restart(r);
    }
}

static struct program *program_by_badge(uint64_t badge)
{
    for (unsigned i = 0; i < PROGRAMS_MAX; i++)
        if (programs[i].used && !programs[i].ended && programs[i].badge == badge)
            return &programs[i];
    return NULL;
}

/* INIT_KEEP from program p: alias the line's kept memory into it. */
static void on_keep(struct program *p, const struct mica_msg *m, struct mica_msg *reply)
{
    uint64_t va = m->w[0], npages = m->w[1];
    struct restartable *r = p->server >= 0 ? &restartable[p->server] : NULL;
    if (!r) {
        reply->w[0] = (uint64_t)-MICA_EPERM; /* nothing outlives a server never restarted */
        return;
    }
    if (npages == 0 || npages > INIT_KEEP_MAX_PAGES ||
        (r->keep_pages && npages != r->keep_pages)) {
        reply->w[0] = (uint64_t)-MICA_EINVAL;
        return;
    }
    bool kept = r->keep_pages != 0;
    if (!kept) {
        long rc = mica_mem_map((void *)keep_va(r), npages * 4096, MICA_PROT_READ | MICA_PROT_WRITE);
        if (rc < 0) {
            reply->w[0] = (uint64_t)rc;
            return;
        }
        r->keep_pages = (unsigned)npages;
    }
    long rc = mica_map_alias((uint64_t)p->task, va, MICA_HANDLE_SELF, keep_va(r), npages,
                             MICA_PROT_READ | MICA_PROT_WRITE);
    reply->w[0] = (uint64_t)rc;
    reply->w[1] = kept;
}

/* Whether program p's line receives on init's endpoint handle h. */
static bool receives_on(const struct program *p, long h)
{
    if (p->server < 0)
        return false;
    const struct bootcfg_line *l = &restartable[p->server].line;
    for (unsigned i = 0; i < l->ngrants; i++)
        if (l->grants[i].kind == BOOTCFG_GRANT_RECV &&
            init_find_endpoint(st, l->grants[i].target) == h)
            return true;
    return false;
}

/* INIT_DEPOSIT from program p: keep the transferred task handle xfer. */
static void on_deposit(struct program *p, const struct mica_msg *m, struct mica_msg *reply,
                       long xfer)
{
    if (xfer < 0 || p->server < 0) {
        reply->w[0] = (uint64_t)(xfer < 0 ? -MICA_EINVAL : -MICA_EPERM);
        return;
    }
    struct deposit *d = deposit_find(p->server, m->w[0]);
    if (d)
        deposit_close(d);
    for (unsigned i = 0; !d && i < INIT_DEPOSITS_MAX; i++)
        if (!deposits[i].used)
            d = &deposits[i];
    if (!d) {
        reply->w[0] = (uint64_t)-MICA_ENOSPC;
        mica_handle_close((uint64_t)xfer);
        return;
    }
    *d = (struct deposit){.used = true, .server = p->server, .badge = m->w[0], .task = xfer};
}

static void on_withdraw(struct program *p, const struct mica_msg *m, struct mica_msg *reply)
{
    struct deposit *d = deposit_find(p->server, m->w[0]);
    if (!d) {
        reply->w[0] = (uint64_t)-MICA_ENOENT;
        return;
    }
    deposit_close(d);
}

/* INIT_CLIENT_TASK from program p (a pager): a task handle of its client,
 * one init started or one p's line deposited. */
static long on_client_task(struct program *p, const struct mica_msg *m, struct mica_msg *reply)
{
    struct program *c = program_by_badge(m->w[0]);
    struct deposit *d = p->server >= 0 ? deposit_find(p->server, m->w[0]) : NULL;
    long task = d ? d->task : c && c->pager_ep >= 0 && receives_on(p, c->pager_ep) ? c->task : -1;
    if (task < 0) {
        reply->w[0] = (uint64_t)-MICA_ENOENT;
        return -1;
    }
    /* A deposited child also gets WAIT and KILL back (the fork's handle
     * had them): the pager may owe its parent the answer of a fork it
     * died in, which hands the parent a handle to wait on. */
    long h = d ? mica_handle_mint((uint64_t)task, MICA_RIGHT_MAP | MICA_RIGHT_GRANT |
                                  MICA_RIGHT_WAIT | MICA_RIGHT_KILL, 0) : -1;
    if (h < 0)
        h = mica_handle_mint((uint64_t)task, MICA_RIGHT_MAP | MICA_RIGHT_GRANT, 0);
    if (h < 0) {
        reply->w[0] = (uint64_t)h;
        return -1;
    }
    struct mica_ipc_buffer *b = mica_ipc_buffer();
    b->handle = (uint64_t)h;
    reply->label |= MICA_MSG_XFER_HANDLE;
    return h;
}

/* One message taken from init's endpoint. */
static void handle(const struct mica_msg *m)
{
    if (m->badge >= NOTE_BADGE) {
        if (MICA_MSG_LABEL(m->label) == MICA_LABEL_DEATH && m->badge - NOTE_BADGE < PROGRAMS_MAX)
            on_death((unsigned)(m->badge - NOTE_BADGE), m);
        return;
    }
    struct mica_msg reply = {0};
    long sent = -1;
    long xfer = (m->label & MICA_MSG_XFER_HANDLE) ? (long)mica_ipc_buffer()->handle : -1;
    struct program *p = program_by_badge(m->badge);
    if (!p)
        reply.w[0] = (uint64_t)-MICA_EPERM;
    else if (MICA_MSG_LABEL(m->label) == INIT_DEPOSIT) {
        on_deposit(p, m, &reply, xfer);
        xfer = -1; /* kept or closed */
    } else if (MICA_MSG_LABEL(m->label) == INIT_WITHDRAW)
        on_withdraw(p, m, &reply);
    else if (MICA_MSG_LABEL(m->label) == INIT_KEEP)
        on_keep(p, m, &reply);
    else if (MICA_MSG_LABEL(m->label) == INIT_CLIENT_TASK)
        sent = on_client_task(p, m, &reply);
    else if (control_request(st, m, &reply))
        ; /* INIT_RUN, INIT_KILL: the console's */
    else
        reply = (struct mica_msg){.label = MICA_LABEL_ERROR, .w = {(uint64_t)-MICA_ENOSYS}};
    mica_ipc_reply(&reply); /* -MICA_ENOENT for a plain send: nothing to answer */
    if (xfer >= 0)
        mica_handle_close((uint64_t)xfer); /* a handle nobody asked for */
    if (sent >= 0)
        mica_handle_close((uint64_t)sent); /* the caller has its copy */
}

void supervise_poll(void)
{
    struct mica_msg m;
    while (mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_NONBLOCK) >= 0)
        handle(&m);
    run_due_restarts();
}

/* Serve init's endpoint until *done: block on it, or, while a restart is
 * waiting for its tick, poll and yield. */
static void serve_until(const bool *done)
{
    while (!*done) {
        if (restart_pending()) {
            supervise_poll();
            if (!*done)
                mica_yield();
            continue;
        }
        struct mica_msg m;
        if (mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_BLOCK) >= 0)
            handle(&m);
    }
}

int64_t supervise_wait(long task)
{
    struct program *p = NULL;
    for (unsigned i = 0; i < PROGRAMS_MAX && !p; i++)
        if (programs[i].used && programs[i].task == task)
            p = &programs[i];
    if (!p) {
        /* Not watched (no slot, or no memory for its note): never block in
         * mica_task_wait, since a server may need init meanwhile (the
         * pager deposits a forked child's handle); serve, and look at the
         * task's state between turns. */
        struct mica_task_info info;
        while (mica_task_info((uint64_t)task, &info) == 0 && info.state != MICA_TASK_ZOMBIE) {
            supervise_poll();
            mica_yield();
        }
        return mica_task_wait((uint64_t)task); /* ended: does not block */
    }
    serve_until(&p->ended);
    p->used = false;
    return p->status;
}

void supervise_idle(void)
{
    static const bool never = false;
    serve_until(&never);
    for (;;)
        mica_yield();
}

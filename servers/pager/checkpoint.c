/* checkpoint.h: writing, validating and restoring the checkpoint. */
#include "checkpoint.h"

#include <mica/grant.h>
#include <mica/init.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "ckpt_format.h"
#include "pager.h"

#define PAGES ((sizeof(struct checkpoint) + PAGER_PAGE - 1) / PAGER_PAGE)
_Static_assert(PAGES <= INIT_KEEP_MAX_PAGES, "the checkpoint outgrows INIT_KEEP");

static struct checkpoint *ck;
static long init_ep = -1; /* the grant "init", once the checkpoint is mapped */
/* The header's fork badge: above every badge handed out. It moves in
 * steps of BADGE_STEP, so that a fork writes the header once in that
 * many; a restarted pager starts from it and skips what is left of the
 * step. */
#define BADGE_STEP 64
static uint64_t badge_mark;

static struct ckpt_cursor cursor;

static void write_header(uint64_t next_fork_badge)
{
    badge_mark = next_fork_badge + BADGE_STEP;
    ckpt_write_header(ck, &cursor, badge_mark);
}

void checkpoint_sync(uint64_t next_fork_badge)
{
    uint64_t todo = pager_dirty;
    pager_dirty = 0;
    if (!ck)
        return;
    if (next_fork_badge > badge_mark)
        write_header(next_fork_badge);
    for (; todo; todo &= todo - 1) {
        unsigned i = (unsigned)__builtin_ctzll(todo);
        struct pager_client *c = &pager_clients[i];
        /* Damage never reaches the checkpoint: a restart is its cure. */
        pager_client_check(c, c->dirty);
        if (c->dirty || ckpt_client_changed(ck, &cursor, i, c))
            ckpt_write_client(ck, &cursor, i, c, c->dirty);
        c->dirty = 0;
    }
}

/* Ask init for client c's task handle. Returns it or -MICA_E*. */
static long client_task(uint64_t init, uint64_t badge)
{
    struct mica_msg m = {.label = INIT_CLIENT_TASK, .w = {badge}}, r;
    long rc = mica_ipc_call(init, &m, &r, MICA_IPC_BLOCK);
    if (rc < 0)
        return rc;
    if ((int64_t)r.w[0] < 0)
        return (long)r.w[0];
    return (r.label & MICA_MSG_XFER_HANDLE) ? (long)pager_buffer.handle : -MICA_EINVAL;
}

/* Take the clients of a kept checkpoint back. Returns how many. */
static int restore(uint64_t init, uint64_t *next_fork_badge)
{
    uint64_t badge = 0;
    int h = ckpt_read_header(ck, &badge);
    if (h < 0) {
        printf("pager: checkpoint not valid (%s): starting with no clients\n",
               h == -1 ? "no whole header" : "another layout");
        memset(ck, 0, sizeof *ck);
        memset(&cursor, -1, sizeof cursor);
        write_header(*next_fork_badge);
        return 0;
    }
    badge_mark = badge;
    if (badge > *next_fork_badge)
        *next_fork_badge = badge;
    int recovered = 0, lost = 0;
    for (unsigned i = 0; i < PAGER_CLIENTS; i++) {
        struct pager_client c;
        int rc = ckpt_read_client(ck, i, &c);
        if (rc < 0) {
            printf("pager: checkpoint slot %u is damaged: its client is lost\n", i);
            lost++;
        }
        if (rc <= 0 || !c.used)
            continue;
        char who[32];
        pager_client_name(c.badge, who, sizeof who);
        long task = client_task(init, c.badge);
        if (task < 0) {
            /* Without a task handle its memory cannot be served: its next
             * fault finds no client and ends it with a report. */
            printf("pager: client %s not recovered (no task handle from init: %s)\n", who,
                   mica_error_name(task));
            if (c.badge >= PAGER_FORK_BADGE_BASE)
                checkpoint_withdraw(c.badge); /* whatever init may still hold */
            lost++;
            continue;
        }
        c.task = (uint64_t)task; /* the rest is zero: no name asked yet, no */
        c.fork_handle = -1;      /* prepared fork, no clustering history */
        pager_clients[i] = c;
        pager_client_reseal_all(&pager_clients[i]); /* from checksummed records */
        recovered++;
    }
    printf("pager: recovered %d client%s from the checkpoint, %d lost\n", recovered,
           recovered == 1 ? "" : "s", lost);
    pager_dirty = ~0ull; /* what was lost is forgotten there too */
    checkpoint_sync(*next_fork_badge);
    return recovered;
}

int checkpoint_open(uint64_t *next_fork_badge)
{
    long init = mica_grant_find(INIT_GRANT);
    if (init < 0)
        return -1;
    struct mica_msg m = {.label = INIT_KEEP, .w = {CHECKPOINT_VA, PAGES}}, r;
    long rc = mica_ipc_call((uint64_t)init, &m, &r, MICA_IPC_BLOCK);
    if (rc == 0)
        rc = (long)r.w[0];
    if (rc < 0) {
        printf("pager: no checkpoint (init: %s): a restart will lose the clients\n",
               mica_error_name(rc));
        return -1;
    }
    ck = (struct checkpoint *)CHECKPOINT_VA;
    init_ep = init;
    if (!r.w[1]) { /* fresh, zeroed memory: nothing whole in it */
        memset(&cursor, -1, sizeof cursor);
        write_header(*next_fork_badge);
        return 0;
    }
    ckpt_cursor_load(ck, &cursor);
    return restore((uint64_t)init, next_fork_badge);
}

/* A call to init whose answer is a status in w0. */
static long init_call(struct mica_msg *m)
{
    struct mica_msg r;
    long rc = mica_ipc_call((uint64_t)init_ep, m, &r, MICA_IPC_BLOCK);
    return rc < 0 ? rc : (long)r.w[0];
}

void checkpoint_deposit(uint64_t badge, uint64_t task)
{
    if (init_ep < 0)
        return;
    uint64_t saved = pager_buffer.handle; /* a reply being prepared may use it */
    /* Init gets a copy of our handle, as the fork made it: minting a
     * weaker one would cost two more calls per fork, and init, which
     * started the child's ancestors, holds as much over them already. */
    pager_buffer.handle = task;
    struct mica_msg m = {.label = INIT_DEPOSIT | MICA_MSG_XFER_HANDLE, .w = {badge}};
    long rc = init_call(&m);
    pager_buffer.handle = saved;
    if (rc < 0) {
        char who[32];
        printf("pager: client %s cannot be recovered after a restart (init: %s)\n",
               pager_client_name(badge, who, sizeof who), mica_error_name(rc));
    }
}

void checkpoint_withdraw(uint64_t badge)
{
    if (init_ep < 0)
        return;
    struct mica_msg m = {.label = INIT_WITHDRAW, .w = {badge}};
    init_call(&m);
}

/* checkpoint.h: writing, validating and restoring the checkpoint. */
#include "checkpoint.h"

#include <mica/grant.h>
#include <mica/init.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "pager.h"

#define MAGIC   0x4b435047414d4349ull /* "ICMAGPCK" */
#define VERSION 1

struct header {
    uint64_t magic;
    uint32_t version, client_size, clients, regions;
    uint64_t next_fork_badge;
};

/* One record, twice; payload after the two words. */
struct header_rec {
    uint64_t seq, sum;
    struct header h;
};

struct client_rec {
    uint64_t seq, sum;
    struct pager_client c;
};

struct checkpoint {
    struct header_rec header[2];
    struct client_rec clients[PAGER_CLIENTS][2];
};

#define PAGES ((sizeof(struct checkpoint) + PAGER_PAGE - 1) / PAGER_PAGE)
_Static_assert(PAGES <= INIT_KEEP_MAX_PAGES, "the checkpoint outgrows INIT_KEEP");

static struct checkpoint *ck;
static long init_ep = -1; /* the grant "init", once the checkpoint is mapped */
static uint64_t last_badge; /* the fork badge counter last written */

static uint64_t fnv(uint64_t seq, const void *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seq;
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* The valid copy of a record pair with the larger seq, or -1. seq 0 is a
 * copy never written. */
static int newest(uint64_t seq0, bool ok0, uint64_t seq1, bool ok1)
{
    ok0 = ok0 && seq0;
    ok1 = ok1 && seq1;
    if (ok0 && (!ok1 || seq0 > seq1))
        return 0;
    return ok1 ? 1 : -1;
}

static int header_newest(void)
{
    struct header_rec *r = ck->header;
    return newest(r[0].seq, r[0].sum == fnv(r[0].seq, &r[0].h, sizeof r[0].h), r[1].seq,
                  r[1].sum == fnv(r[1].seq, &r[1].h, sizeof r[1].h));
}

static int client_newest(unsigned i)
{
    struct client_rec *r = ck->clients[i];
    return newest(r[0].seq, r[0].sum == fnv(r[0].seq, &r[0].c, sizeof r[0].c), r[1].seq,
                  r[1].sum == fnv(r[1].seq, &r[1].c, sizeof r[1].c));
}

static void write_header(uint64_t next_fork_badge)
{
    int n = header_newest();
    uint64_t seq = n < 0 ? 1 : ck->header[n].seq + 1;
    struct header_rec *r = &ck->header[n == 0 ? 1 : 0];
    r->seq = 0; /* invalid while being written */
    r->h = (struct header){.magic = MAGIC, .version = VERSION,
                           .client_size = sizeof(struct pager_client),
                           .clients = PAGER_CLIENTS, .regions = PAGER_REGIONS,
                           .next_fork_badge = next_fork_badge};
    r->sum = fnv(seq, &r->h, sizeof r->h);
    r->seq = seq;
    last_badge = next_fork_badge;
}

static void write_client(unsigned i)
{
    int n = client_newest(i);
    uint64_t seq = n < 0 ? 1 : ck->clients[i][n].seq + 1;
    struct client_rec *r = &ck->clients[i][n == 0 ? 1 : 0];
    r->seq = 0;
    memcpy(&r->c, &pager_clients[i], sizeof r->c);
    r->sum = fnv(seq, &r->c, sizeof r->c);
    r->seq = seq;
}

void checkpoint_sync(uint64_t next_fork_badge)
{
    if (!ck)
        return;
    if (next_fork_badge != last_badge)
        write_header(next_fork_badge);
    for (unsigned i = 0; i < PAGER_CLIENTS; i++) {
        int n = client_newest(i);
        bool saved_used = n >= 0 && ck->clients[i][n].c.used;
        if (!pager_clients[i].used && !saved_used)
            continue;
        if (n < 0 || memcmp(&ck->clients[i][n].c, &pager_clients[i], sizeof pager_clients[i]))
            write_client(i);
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
    int h = header_newest();
    const struct header *hd = h < 0 ? NULL : &ck->header[h].h;
    if (!hd || hd->magic != MAGIC || hd->version != VERSION ||
        hd->client_size != sizeof(struct pager_client) || hd->clients != PAGER_CLIENTS ||
        hd->regions != PAGER_REGIONS) {
        printf("pager: checkpoint not valid (%s): starting with no clients\n",
               !hd ? "no whole header" : "another layout");
        memset(ck, 0, sizeof *ck);
        return 0;
    }
    if (hd->next_fork_badge > *next_fork_badge)
        *next_fork_badge = hd->next_fork_badge;
    int recovered = 0, lost = 0;
    for (unsigned i = 0; i < PAGER_CLIENTS; i++) {
        int n = client_newest(i);
        if (n < 0) {
            if (ck->clients[i][0].seq || ck->clients[i][1].seq) {
                printf("pager: checkpoint slot %u is damaged: its client is lost\n", i);
                lost++;
            }
            continue;
        }
        struct pager_client c;
        memcpy(&c, &ck->clients[i][n].c, sizeof c);
        if (!c.used)
            continue;
        char who[32];
        pager_client_name(c.badge, who, sizeof who);
        long task = client_task(init, c.badge);
        if (task < 0) {
            /* Without a task handle its memory cannot be served: its next
             * fault finds no client and ends it with a report. */
            printf("pager: client %s not recovered (no task handle from init: %s)\n", who,
                   mica_error_name(task));
            lost++;
            continue;
        }
        c.task = (uint64_t)task;
        c.fork_handle = -1;  /* died with the old instance */
        c.last_page = c.last_thread = 0;
        pager_clients[i] = c;
        recovered++;
    }
    printf("pager: recovered %d client%s from the checkpoint, %d lost\n", recovered,
           recovered == 1 ? "" : "s", lost);
    checkpoint_sync(*next_fork_badge); /* what was lost is forgotten there too */
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
    int n = r.w[1] ? restore((uint64_t)init, next_fork_badge) : 0;
    if (!r.w[1])
        write_header(*next_fork_badge);
    return n;
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
    long h = mica_handle_mint(task, MICA_RIGHT_MAP | MICA_RIGHT_GRANT, 0);
    if (h < 0)
        return;
    uint64_t saved = pager_buffer.handle; /* a reply being prepared may use it */
    pager_buffer.handle = (uint64_t)h;
    struct mica_msg m = {.label = INIT_DEPOSIT | MICA_MSG_XFER_HANDLE, .w = {badge}};
    long rc = init_call(&m);
    pager_buffer.handle = saved;
    mica_handle_close((uint64_t)h); /* init has its copy */
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

/* The client table's life cycle: init's control messages (badge 0), the
 * regions a new client's loader laid out (its image, bss and stack, sent
 * with PAGER_ADD_CLIENT), and dropping clients (on init's word, a
 * parent's release, or a dead task found). */
#include <mica/stdio.h>
#include <mica/vm.h>

#include "checkpoint.h"
#include "pager.h"

_Static_assert(PAGER_ANON == MICA_REGION_ANON && PAGER_STACK == MICA_REGION_STACK &&
               PAGER_IMAGE == MICA_REGION_IMAGE, "the pager's kinds are the loader's");

/* Whether the client's task has died: the cheapest call naming it fails
 * with -MICA_EDEAD before it looks at its (invalid) protection. */
bool pager_client_dead(const struct pager_client *c)
{
    return mica_protect(c->task, 0, 1, 0) == -MICA_EDEAD;
}

/* Whether task handle t names a task that never started (no thread). */
static bool unstarted(uint64_t t)
{
    return mica_task_threads(t) == 0;
}

bool pager_orphans_due;

void pager_client_drop(struct pager_client *c)
{
    if (c->badge >= PAGER_FORK_BADGE_BASE)
        checkpoint_withdraw(c->badge); /* init holds its handle for a restart */
    mica_handle_close(c->task);
    if (c->fork_handle >= 0)
        mica_handle_close((uint64_t)c->fork_handle);
    pager_client_free(c);
    pager_touch(c);
    /* Its children, if any, have nobody to release them. They are swept
     * later, never here: this may run inside one of init's calls, and
     * dropping a child calls init (checkpoint_withdraw), which would wait
     * for us while we wait for it. */
    pager_orphans_due = true;
}

void pager_sweep_orphans(void)
{
    /* A child whose parent is forgotten, and that has ended (only the
     * parent could release a forked one) or never started (a child the
     * parent introduced cannot start now): our handle and init's deposit
     * would keep the task for the rest of the boot. Live ones wait for a
     * later sweep. Dropping one may orphan its own children. */
    while (pager_orphans_due) {
        pager_orphans_due = false;
        for (unsigned i = 0; i < PAGER_CLIENTS; i++) {
            struct pager_client *k = &pager_clients[i];
            if (!k->used || !k->parent || !k->task || pager_client_find(pager_clients, k->parent))
                continue;
            pager_client_check(k, 0); /* before its task is probed */
            if (unstarted(k->task) || pager_client_dead(k)) {
                pager_client_drop(k);
                pager_orphans_due = true;
            }
        }
        if (!pager_orphans_due)
            break;
    }
}

struct pager_client *pager_client_new(uint64_t badge, uint64_t task)
{
    struct pager_client *c = pager_client_add(pager_clients, badge, task);
    if (!c) {
        for (unsigned i = 0; i < PAGER_CLIENTS; i++) {
            struct pager_client *k = &pager_clients[i];
            if (!k->used || !k->task)
                continue;
            pager_client_check(k, 0); /* before its task is probed */
            if (pager_client_dead(k))
                pager_client_drop(k);
        }
        c = pager_client_add(pager_clients, badge, task);
    }
    if (c)
        pager_touch(c);
    return c;
}

/* A region from a loader: page-aligned, a known kind and a protection a
 * region may have, never write and exec together; where a loader puts
 * things: below MICA_USER_MODULES (so clear of the range vm_alloc hands
 * out, from PAGER_VA_BASE), but for the stack, which must be the one of
 * the user layout (mica/syscall.h). One check for init's clients and for
 * the children clients introduce. */
static bool region_ok(const struct mica_region *r)
{
    unsigned all = MICA_PROT_READ | MICA_PROT_WRITE | MICA_PROT_EXEC;
    bool placed = r->kind == MICA_REGION_STACK
                      ? r->va == MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE &&
                            r->len == MICA_USER_STACK_SIZE
                      : r->va < MICA_USER_MODULES && r->len <= MICA_USER_MODULES - r->va;
    return r->len && !(r->va & (PAGER_PAGE - 1)) && !(r->len & (PAGER_PAGE - 1)) && placed &&
           r->va >= PAGER_PAGE && r->prot && !(r->prot & ~all) &&
           !((r->prot & MICA_PROT_WRITE) && (r->prot & MICA_PROT_EXEC)) &&
           (r->kind == MICA_REGION_ANON || r->kind == MICA_REGION_STACK ||
            r->kind == MICA_REGION_IMAGE);
}

long pager_add_regions(struct pager_client *c, uint64_t len)
{
    const struct mica_region *r = (const struct mica_region *)pager_buffer.data;
    if (len % sizeof *r)
        return -MICA_EINVAL;
    if (len / sizeof *r > PAGER_REGIONS)
        return -MICA_ENOSPC;
    for (uint64_t i = 0; i < len / sizeof *r; i++) {
        if (!region_ok(&r[i]) ||
            !pager_region_insert(c, r[i].va, r[i].len, r[i].prot, r[i].kind, false))
            return -MICA_EINVAL;
    }
    return 0;
}

void on_control(const struct mica_msg *req, struct mica_msg *reply, long xfer)
{
    struct pager_client *c = pager_client_find(pager_clients, req->w[0]);
    switch (MICA_MSG_LABEL(req->label)) {
    case PAGER_ADD_CLIENT:
        if (xfer < 0)
            reply->w[0] = (uint64_t)-MICA_EINVAL;
        else if (req->w[0] == 0 || c)
            reply->w[0] = (uint64_t)-MICA_EEXIST;
        else if (!(c = pager_client_new(req->w[0], (uint64_t)xfer)))
            reply->w[0] = (uint64_t)-MICA_ENOSPC;
        else if ((reply->w[0] = (uint64_t)pager_add_regions(c, MICA_MSG_LEN(req->label))) != 0) {
            pager_client_drop(c); /* closes xfer, which the client took */
            return;
        } else {
            /* The badge as recorded, so that init sees a message damaged on
             * the way in (a client under a wrong badge would wait for ever). */
            reply->w[1] = req->w[0];
            return; /* the table keeps the handle */
        }
        break;
    case PAGER_DROP_CLIENT:
        if (!c)
            reply->w[0] = (uint64_t)-MICA_ENOENT;
        else
            pager_client_drop(c);
        break;
    default:
        reply->label = MICA_LABEL_ERROR;
        reply->w[0] = (uint64_t)-MICA_ENOSYS;
        break;
    }
    if (xfer >= 0)
        mica_handle_close((uint64_t)xfer);
}

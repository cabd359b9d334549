/* The client table's life cycle: init's control messages (badge 0), the
 * standard stack region every client gets, and dropping clients (on
 * init's word, a parent's release, or a dead task found). */
#include <mica/stdio.h>
#include <mica/vm.h>

#include "pager.h"

void pager_client_drop(struct pager_client *c)
{
    mica_handle_close(c->task);
    if (c->fork_handle >= 0)
        mica_handle_close((uint64_t)c->fork_handle);
    c->used = false;
}

/* Whether the client's task has died: the cheapest call naming it fails
 * with -MICA_EDEAD before it looks at its (invalid) protection. */
static bool dead(const struct pager_client *c)
{
    return mica_protect(c->task, 0, 1, 0) == -MICA_EDEAD;
}

struct pager_client *pager_client_new(uint64_t badge, uint64_t task)
{
    struct pager_client *c = pager_client_add(pager_clients, badge, task);
    if (c)
        return c;
    for (unsigned i = 0; i < PAGER_CLIENTS; i++)
        if (pager_clients[i].used && pager_clients[i].task && dead(&pager_clients[i]))
            pager_client_drop(&pager_clients[i]);
    return pager_client_add(pager_clients, badge, task);
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
        else {
            /* The stack the kernel reserved at spawn, grown on demand. */
            pager_region_insert(c, MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE,
                                MICA_USER_STACK_SIZE, MICA_PROT_READ | MICA_PROT_WRITE,
                                PAGER_STACK, false);
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

/* A client's child as a client of its own (PAGER_VM_SPAWN, mica/vm.h):
 * the client has a badge prepared (PAGER_VM_FORK_PREP) and has given the
 * child a copy of that handle; it now sends the child's task handle,
 * before the child's first instruction, with its loader's layout. The
 * pager checks them, records the child under the prepared badge, binds a
 * death note (so that it forgets the child when it ends, whoever waits
 * for it) and registers itself as the child's pager with that badge. The
 * kernel gives a child no pager by itself (MICA_SYS_TASK_CREATE): a child
 * under its parent's badge would be served in its parent's space.
 *
 * Frames the child's faults take are charged to the pager, as every
 * client's are; the pager keeps no quota per client (design.md §23.9). */
#include <mica/log.h>
#include <mica/string.h>
#include <mica/vm.h>

#include "checkpoint.h"
#include "pager.h"

/* Whether a client already serves the task with this id (those whose id
 * the pager knows: every spawned one). */
static bool known(uint32_t id)
{
    for (unsigned i = 0; i < PAGER_CLIENTS; i++)
        if (pager_clients[i].used && pager_clients[i].id == id)
            return true;
    return false;
}

/* The checks on the task handle t sent by c for badge: MAP (a probe that
 * fails -MICA_EPERM without it and -MICA_EINVAL, for its protection 0,
 * with it), a live task with no thread yet (so neither the sender nor any
 * running task), not a client already. Sets *id. Cheap queries only: the
 * task's page count (MICA_SYS_TASK_INFO) would walk its tables. */
static long check_task(const struct pager_client *c, uint64_t badge, long t, uint32_t *id)
{
    if (t < 0 || c->fork_handle < 0 || badge != c->fork_badge)
        return -MICA_EINVAL;
    int64_t n = mica_task_threads((uint64_t)t);
    if (n < 0)
        return n;
    long rc = mica_protect((uint64_t)t, 0, 1, 0);
    if (rc != -MICA_EINVAL)
        return rc < 0 ? rc : -MICA_EINVAL;
    if (n != 0)
        return -MICA_EINVAL;
    int64_t i = mica_task_id((uint64_t)t);
    if (i < 0)
        return i;
    *id = (uint32_t)i;
    return known(*id) ? -MICA_EEXIST : 0;
}

void on_spawn(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply,
              long *xfer)
{
    uint32_t id = 0;
    uint64_t badge = req->w[0];
    long rc = check_task(c, badge, *xfer, &id);
    struct pager_client *child = 0;
    if (rc == 0 && !(child = pager_client_new(badge, (uint64_t)*xfer)))
        rc = -MICA_ENOSPC;
    if (rc == 0)
        rc = pager_add_regions(child, MICA_MSG_LEN(req->label));
    /* The note before the pager: a refusal after it leaves a binding that
     * names a badge nobody has, which the note's arrival ignores. */
    if (rc == 0)
        rc = mica_task_notify((uint64_t)*xfer, pager_ep, badge);
    if (rc == 0)
        rc = mica_task_set_pager((uint64_t)*xfer, (uint64_t)c->fork_handle);
    if (rc < 0) {
        if (child) {
            memset(child->regions, 0, sizeof child->regions); /* zero is sealed */
            pager_client_free(child);
            pager_touch(child);
        }
        reply->w[0] = (uint64_t)rc;
        return; /* dispatch closes the handle */
    }
    mica_handle_close((uint64_t)c->fork_handle); /* the kernel holds the child's */
    c->fork_handle = -1;
    pager_client_seal(c);
    child->parent = c->badge;
    pager_client_seal(child);
    child->id = id; /* its name is asked when a line first names it */
    checkpoint_deposit(badge, (uint64_t)*xfer); /* for a restarted pager */
    *xfer = -1; /* the table keeps it */
    if (c->verbose || mica_log_enabled(MICA_LOG_DEBUG)) {
        char a[48], b[48];
        mica_log_info("client %s: spawn -> client %s", pager_client_name(c->badge, a, sizeof a),
                      pager_client_name(badge, b, sizeof b));
    }
    reply->w[1] = badge;
}

void on_death(struct pager_client *c)
{
    /* Anyone may send this label with its own badge: only a task that
     * really ended is forgotten. */
    if (c && pager_client_dead(c))
        pager_client_drop(c);
}

/* Fork in two requests (mica/vm.h, vm_fork):
 *   PAGER_VM_FORK_PREP: mint a send handle on our endpoint with a fresh
 *     badge and give the parent a copy, so that the child, whose handle
 *     table is a copy of the parent's, has a pager handle naming itself;
 *   PAGER_VM_FORK: MICA_SYS_TASK_FORK with that handle as the child's
 *     pager, a new client with a copy of the parent's regions (writable
 *     ones become cow in both), and the child's task handle (WAIT|GRANT|KILL)
 *     to the parent. The child wakes from the same call with label
 *     MICA_LABEL_FORK_CHILD, made by the kernel.
 * Badges the pager makes start at PAGER_FORK_BADGE_BASE: init's are small. */
#include <mica/log.h>
#include <mica/stdio.h>
#include <mica/vm.h>

#include "checkpoint.h"
#include "pager.h"

uint64_t pager_fork_badge = PAGER_FORK_BADGE_BASE;

void on_fork_prep(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply)
{
    (void)req;
    if (c->fork_handle >= 0)
        mica_handle_close((uint64_t)c->fork_handle);
    c->fork_handle = -1;
    pager_client_seal(c);
    uint64_t badge = pager_fork_badge++;
    long h = mica_handle_mint(pager_ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, badge);
    if (h < 0) {
        reply->w[0] = (uint64_t)h;
        return;
    }
    c->fork_handle = h;
    c->fork_badge = badge;
    pager_client_seal(c);
    reply->w[1] = badge;
    /* The parent gets a copy; ours stays for MICA_SYS_TASK_FORK. */
    reply->label |= MICA_MSG_XFER_HANDLE;
    pager_buffer.handle = (uint64_t)h;
}

/* Hand the parent c its copy of the child's task handle (WAIT|GRANT|KILL). */
static void answer_fork(struct pager_client *c, struct pager_client *child, uint64_t task,
                        const struct mica_msg *req, struct mica_msg *reply)
{
    /* Our reply puts the child's handle in the parent's IPC buffer, which
     * the fork made a read-only share: give the parent its own copy of
     * that page first, or the delivery would fail. */
    uint64_t buf = req->w[0] & ~(PAGER_PAGE - 1);
    if (buf)
        mica_map_cow(c->task, buf, MICA_PROT_READ | MICA_PROT_WRITE);
    long wait = mica_handle_mint(task, MICA_RIGHT_WAIT | MICA_RIGHT_GRANT | MICA_RIGHT_KILL, 0);
    if (c->verbose || mica_log_enabled(MICA_LOG_DEBUG))
    {
        char a[48], b[48];
        mica_log_info("client %s: fork -> client %s", pager_client_name(c->badge, a, sizeof a),
               pager_client_name(child->badge, b, sizeof b));
    }
    reply->w[1] = child->badge;
    if (wait < 0) {
        /* Cannot weaken it (no GRANT on the fork's handle?): the parent
         * gets a copy of ours. */
        reply->label |= MICA_MSG_XFER_HANDLE;
        pager_buffer.handle = task;
        return;
    }
    pager_reply_handle(reply, (uint64_t)wait);
}

/* PAGER_VM_FORK with no prepared fork: the parent asks again for a child
 * whose answer an earlier instance of the pager never gave (it died after
 * the fork). The child, if the checkpoint brought it back, is w1's badge
 * among c's children; without it the parent starts over. */
static void on_fork_again(struct pager_client *c, const struct mica_msg *req,
                          struct mica_msg *reply)
{
    struct pager_client *child = req->w[1] ? pager_client_find(pager_clients, req->w[1]) : 0;
    if (!child || child->parent != c->badge) {
        reply->w[0] = (uint64_t)-MICA_EINVAL;
        return;
    }
    answer_fork(c, child, child->task, req, reply);
}

void on_fork(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply)
{
    if (c->fork_handle < 0) {
        on_fork_again(c, req, reply);
        return;
    }
    struct pager_client *child = pager_client_new(c->fork_badge, 0);
    long task = child ? mica_task_fork(c->task, (uint64_t)c->fork_handle) : -MICA_ENOSPC;
    mica_handle_close((uint64_t)c->fork_handle); /* the kernel holds the child's */
    c->fork_handle = -1;
    pager_client_seal(c);
    if (task < 0) {
        if (child)
            pager_client_free(child);
        reply->w[0] = (uint64_t)task;
        return;
    }
    child->task = (uint64_t)task;
    child->parent = c->badge;
    pager_regions_fork(c, child); /* seals the child */
    /* Told of the child's death, the pager forgets it (on_death) even when
     * its parent never releases it: a parent that dies first, or one whose
     * release names another child. A note that cannot be bound (no memory)
     * leaves that to the release and the sweeps, as before. */
    (void)mica_task_notify((uint64_t)task, pager_ep, child->badge);
    /* Both records whole before init holds the child: a pager that dies
     * in between leaves either no deposit, or a child the next instance
     * takes back (and withdraws when it is released). A deposit whose
     * child the checkpoint lost could never be withdrawn. */
    checkpoint_sync(pager_fork_badge);
    checkpoint_deposit(child->badge, (uint64_t)task); /* for a restarted pager */
    answer_fork(c, child, (uint64_t)task, req, reply);
}

/* pager: decides its clients' page faults in user space.
 *
 * Started by init with its endpoint (all rights) as the grant "pager"
 * (boot.cfg: server pager recv:pager). On it come:
 *   - from init (badge 0, the control channel): PAGER_ADD_CLIENT with a
 *     task handle (MICA_RIGHT_MAP), the client's badge and its regions
 *     (image, bss, stack: its loader's layout), PAGER_DROP_CLIENT
 *     (control.c);
 *   - from clients (their badge): the PAGER_VM_* requests of mica/vm.h
 *     (requests.c, fork.c, spawn.c: a child introduced by its parent);
 *   - from the kernel, the death notes of spawned children (their badge);
 *   - from the kernel, as calls made by a client's faulting thread:
 *     MICA_LABEL_FAULT (mica/syscall.h), decided by plan.c and carried out
 *     by fault.c: demand-zero pages, stack growth, copy-on-write, or a
 *     MICA_FAULT_KILL reply with a reason and a report line.
 * Single-threaded: one message at a time, so a fork's child is in the
 * table before its first fault can be received. A client can send a fault
 * message itself, but it only obtains what its regions already allow. The
 * pager must not be its own pager (it would wait for itself), so it has
 * none. A per-client memory quota is left for later. */
#include <mica/grant.h>
#include <mica/log.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "checkpoint.h"
#include "fault.h"
#include "pager.h"

struct pager_client pager_clients[PAGER_CLIENTS];
uint64_t pager_dirty;
struct mica_ipc_buffer pager_buffer;

void pager_damaged(const struct pager_client *c, const struct pager_region *r)
{
    /* Nothing this instance decides can be trusted now. Init restarts it,
     * and the new one takes its clients back from the checkpoint, which
     * damage never reaches (checkpoint_sync checks first), with their
     * task handles from init. */
    uintptr_t at = (uintptr_t)c, table = (uintptr_t)pager_clients;
    if (at - table >= sizeof pager_clients) /* a damaged pointer led here */
        mica_log_error("a client record outside the table (at 0x%llx) is damaged: stopping, to "
                       "be restarted from the checkpoint", (unsigned long long)at);
    else if (r)
        mica_log_error("client slot %u: region slot %u is damaged (its seal does not match): "
                       "stopping, to be restarted from the checkpoint",
                       (unsigned)((at - table) / sizeof *c), (unsigned)(r - c->regions));
    else
        mica_log_error("client slot %u is damaged (its seal does not match): stopping, to be "
                       "restarted from the checkpoint", (unsigned)((at - table) / sizeof *c));
    mica_exit(PAGER_EXIT_DAMAGED);
}

/* A minted handle sent with the last reply, closed once it has gone. */
static long sent_handle = -1;

void pager_reply_handle(struct mica_msg *reply, uint64_t h)
{
    reply->label |= MICA_MSG_XFER_HANDLE;
    pager_buffer.handle = h;
    sent_handle = (long)h;
}

/* The reply to a fault resolved with result r (FAULT_RESUME or a reason). */
static void fault_answer(struct pager_client *c, unsigned r, struct mica_msg *reply)
{
    if (r == MICA_FAULT_REASON_UNKNOWN)
        pager_client_drop(c); /* its task is gone: nobody waits for the reply */
    if (r != FAULT_RESUME) {
        reply->label = MICA_FAULT_KILL;
        reply->w[0] = r;
    }
}

/* A fault answered by a map: what main's loop hands to mica_map_reply_recv. */
static struct pager_fused fused;

/* Returns true when the answer is fused's map and the empty reply. */
static bool on_fault(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply)
{
    if (c && pager_fault_fused(c, req->w[0], (unsigned)req->w[1], req->w[3], &fused))
        return true;
    *reply = (struct mica_msg){0};
    if (!c) {
        reply->label = MICA_FAULT_KILL;
        reply->w[0] = MICA_FAULT_REASON_UNKNOWN;
        mica_log_warn("unknown client %llu: fault at 0x%llx: kill", (unsigned long long)req->badge,
                      (unsigned long long)req->w[0]);
        return false;
    }
    fault_answer(c, fused.result, reply);
    return false;
}

/* Answer one request into *reply; true when the answer is instead the
 * map in `fused` followed by an empty reply. */
static bool dispatch(const struct mica_msg *req, struct mica_msg *reply)
{
    /* A handle only has a use in PAGER_ADD_CLIENT; close any other. */
    long xfer = (req->label & MICA_MSG_XFER_HANDLE) ? (long)pager_buffer.handle : -1;
    uint32_t label = (uint32_t)MICA_MSG_LABEL(req->label);
    struct pager_client *c = pager_client_find(pager_clients, req->badge);
    if (!c && req->badge)
        pager_clients_check(pager_clients); /* was it hidden by damage? */
    if (label == MICA_LABEL_FAULT) {
        bool map = on_fault(c, req, reply); /* writes *reply unless it answers with a map */
        if (xfer >= 0)
            mica_handle_close((uint64_t)xfer);
        return map;
    }
    *reply = (struct mica_msg){0};
    if (label == MICA_LABEL_DEATH) {
        on_death(c); /* a note, not a call: nobody waits for a reply */
    } else if (label == MICA_LOG_LABEL) {
        mica_log_answer(req->w[0], &reply->w[0]); /* from anyone: it only sets verbosity */
    } else if (label == PAGER_VM_FAULTS) {
        on_faults(req, reply); /* from anyone: the console asks before it is a client */
    } else if (req->badge == 0) {
        on_control(req, reply, xfer);
        return false;
    } else if (!c) {
        reply->w[0] = (uint64_t)-MICA_EAGAIN; /* not introduced (yet): try again */
    } else {
        if (pager_orphans_due)
            pager_sweep_orphans();
        pager_touch(c); /* the checkpoint looks at the sender's slot */
        switch (label) {
        case PAGER_VM_ALLOC: on_alloc(c, req, reply); break;
        case PAGER_VM_FREE: on_free(c, req, reply); break;
        case PAGER_VM_PROTECT: on_protect(c, req, reply); break;
        case PAGER_VM_SHARE_COW: on_share_cow(c, req, reply); break;
        case PAGER_VM_FORK_PREP: on_fork_prep(c, req, reply); break;
        case PAGER_VM_FORK: on_fork(c, req, reply); break;
        case PAGER_VM_SPAWN: on_spawn(c, req, reply, &xfer); break;
        case PAGER_VM_RELEASE: on_release(c, req, reply); break;
        case PAGER_VM_VERBOSE:
            c->verbose = req->w[0] != 0;
            pager_client_seal(c);
            break;
        default:
            reply->label = MICA_LABEL_ERROR;
            reply->w[0] = (uint64_t)-MICA_ENOSYS;
            break;
        }
    }
    if (xfer >= 0)
        mica_handle_close((uint64_t)xfer);
    return false;
}

/* The fused call failed with rc: true when its map was refused (nothing
 * mapped, nothing replied), false when the reply went out and only the
 * receive failed (it cannot take the next message whole). */
static bool map_refused(long rc)
{
    return rc != -MICA_EFAULT && rc != -MICA_ENOSPC;
}

uint64_t pager_ep;

int main(const struct mica_start_info *si)
{
    (void)si;
    long ep = mica_grant("pager"); /* boot.cfg: server pager recv:pager */
    if (ep < 0)
        return 1;
    pager_ep = (uint64_t)ep;
    long rc = mica_set_ipc_buffer(&pager_buffer);
    if (rc < 0) {
        mica_log_error("cannot register an IPC buffer: %s", mica_error_name(rc));
        return 1;
    }
    /* A restarted pager takes its clients back before it serves anything:
     * their faults wait on the endpoint meanwhile. */
    checkpoint_open(&pager_fork_badge);
    mica_log_info("ready");
    struct mica_msg req, reply;
    rc = mica_ipc_recv(pager_ep, &req, MICA_IPC_BLOCK);
    for (;;) {
        if (sent_handle >= 0) {
            mica_handle_close((uint64_t)sent_handle); /* the receiver has its copy */
            sent_handle = -1;
        }
        if (rc < 0) {
            if (rc != -MICA_EFAULT && rc != -MICA_ENOSPC && rc != -MICA_EDEAD) {
                mica_log_error("receive failed: %s", mica_error_name(rc));
                return 1;
            }
            /* A message we could not take whole (data or a handle with
             * nowhere to go), or a reply whose caller died (its error comes
             * back without the receive): go on receiving. */
            rc = mica_ipc_recv(pager_ep, &req, MICA_IPC_BLOCK);
            continue;
        }
        if (dispatch(&req, &reply)) {
            /* A fault answered by a map: map, reply and receive in one
             * kernel entry. A refused map is finished as the separate
             * calls would have finished it (pager_fault_failed, which
             * also sorts out an -MICA_EDEAD of the receive). */
            rc = mica_map_reply_recv(pager_ep, fused.task, fused.plan.va, fused.npages,
                                     fused.plan.prot, fused.op, &req);
            if (rc >= 0 || !map_refused(rc))
                continue;
            reply = (struct mica_msg){0};
            fault_answer(fused.client, pager_fault_failed(&fused, rc), &reply);
        } else if (MICA_MSG_LABEL(req.label) != MICA_LABEL_FAULT) {
            /* What a request changed is in the checkpoint before it is
             * answered; faults change only the clustering hints. */
            checkpoint_sync(pager_fork_badge);
        }
        rc = mica_ipc_reply_recv(pager_ep, &reply, &req, MICA_IPC_BLOCK);
    }
}

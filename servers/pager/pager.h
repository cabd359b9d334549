/* The pager's shared state (main.c owns it) and the request handlers of
 * requests.c and control.c. Each handler answers one message into *reply
 * (label 0, status in w0, unless noted). */
#pragma once

#include <mica/sys.h>

#include "plan.h"
#include "regions.h"

/* The pager's endpoint (all rights): the grant "pager" (boot.cfg:
 * server pager recv:pager), set by main. */
extern uint64_t pager_ep;

extern struct pager_client pager_clients[PAGER_CLIENTS];

/* The pager's exit status when a seal shows its own memory damaged
 * (pager_damaged, regions.h): init restarts it from its checkpoint. */
#define PAGER_EXIT_DAMAGED 3
/* Client slots that may have changed since the checkpoint last looked
 * (bit i: pager_clients[i]): the sender of each request, and every other
 * client a request changes. checkpoint_sync writes and clears them. */
extern uint64_t pager_dirty;
_Static_assert(PAGER_CLIENTS <= 64, "pager_dirty holds one bit per client slot");

/* Note that client c changed (its slot is written before the answer).
 * Whoever changes a client other than the request's sender says so. */
static inline void pager_touch(const struct pager_client *c)
{
    pager_dirty |= 1ull << (c - pager_clients);
}

/* The badge the next fork's child gets (fork.c); kept in the checkpoint. */
extern uint64_t pager_fork_badge;
extern struct mica_ipc_buffer pager_buffer;

/* Send handle h with the coming reply, then close it (a minted copy). */
void pager_reply_handle(struct mica_msg *reply, uint64_t h);

/* Forget client c: close its task handle and any prepared fork handle,
 * withdraw its deposit (a call to init: never inside init's own request),
 * and note that its children may be orphans now (pager_sweep_orphans). */
void pager_client_drop(struct pager_client *c);

/* Set when a client was forgotten since the last pager_sweep_orphans. */
extern bool pager_orphans_due;

/* Forget every child that has ended or never started and whose parent is
 * forgotten (nobody can release or start it any more). Calls init (withdrawals): only from a
 * client's request, never while init waits for our answer. */
void pager_sweep_orphans(void);

/* A client's name for report lines, written into buf[size]: "NAME (id N)"
 * from its task, asked once, when a line first names it (so that faults
 * and forks pay nothing for it); else its badge for clients init
 * introduced and "fork-N" for forked ones (fork.c makes their badges).
 * Returns buf. */
const char *pager_client_name(uint64_t badge, char *buf, size_t size);

/* One fault decision as recorded for the console's `faults`: a few
 * stores per fault, formatted only when asked for (the client is then
 * named by its badge, as pager_client_name does). */
struct pager_decision {
    uint64_t badge;
    uint8_t access;            /* MICA_FAULT_* */
    uint8_t result;            /* FAULT_RESUME or a MICA_FAULT_REASON_* */
    uint8_t kind, reason;      /* the plan's */
    uint64_t addr, va, npages; /* the fault; the plan's pages */
    struct pager_region region; /* a copy (len 0: none): it may be gone when asked */
};

/* The report line of d ("client NAME (id N): write at ...: KILL (...)")
 * into line[size] (fault.c). */
void pager_decision_format(const struct pager_decision *d, char *line, size_t size);

/* The recent decisions (history.c): a ring of PAGER_HISTORY entries,
 * recorded whether they were printed or not. pager_history_next gives the
 * entry to fill for a new decision (the oldest is overwritten). */
#define PAGER_HISTORY 16
struct pager_decision *pager_history_next(void);

/* PAGER_VM_FAULTS: w0 = i -> w0 = 0, w1 = decisions recorded since boot,
 * data = the i-th most recent line (0: the newest); -MICA_ENOENT when
 * fewer are kept. */
void on_faults(const struct mica_msg *req, struct mica_msg *reply);

/* A free client slot for badge/task; when the table is full, clients
 * whose task has died are dropped first. NULL when still full. */
struct pager_client *pager_client_new(uint64_t badge, uint64_t task);

/* Client requests (mica/vm.h), c the sender. */
void on_alloc(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply);
void on_free(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply);
void on_protect(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply);
void on_share_cow(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply);
void on_release(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply);
void on_fork_prep(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply);
void on_fork(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply);

/* PAGER_VM_SPAWN (spawn.c): c introduces its child; *xfer is the child's
 * task handle, set to -1 when the client table keeps it. */
void on_spawn(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply,
              long *xfer);
/* A death note (MICA_LABEL_DEATH) with client c's badge, or c NULL: the
 * client is forgotten if its task has really ended. No reply. */
void on_death(struct pager_client *c);

/* Whether client c's task has ended. */
bool pager_client_dead(const struct pager_client *c);

/* Record for the new client c the regions that came in the request's len
 * data bytes (struct mica_region[], a loader's layout). Returns 0, or
 * -MICA_EINVAL (a malformed region: unaligned, empty, write and exec, at
 * or above MICA_USER_MODULES but for the stack at its place; or
 * overlapping ones), -MICA_ENOSPC (more than its table holds). */
long pager_add_regions(struct pager_client *c, uint64_t len);

/* Control messages from init (badge 0); xfer is the handle that came with
 * the message, or -1. Takes or closes xfer. */
void on_control(const struct mica_msg *req, struct mica_msg *reply, long xfer);

/* Carrying out the fault policy (plan.h) on a client's address space:
 * one handler per way a fault is resolved, and the report lines a person
 * reads in `make run`. Every handler answers in the vocabulary of the
 * fault protocol: FAULT_RESUME (0), or the MICA_FAULT_REASON_* code the
 * kill reply carries. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"

struct pager_decision;

#define FAULT_RESUME 0u /* mapped (or already there): resume the thread */

/* Map the plan's zeroed pages (PLAN_ZERO, or PLAN_STACK: the pages run down
 * from the fault) in c; a cluster that meets a mapped page or finds too
 * few frames falls back to the faulting page alone. `again`: this thread
 * faulted on this very page the last two times, so an "already mapped"
 * means the
 * fault is not ours to fix (a child that inherited c's badge). Returns
 * FAULT_RESUME or a reason; MICA_FAULT_REASON_UNKNOWN when the client's
 * task is gone. */
unsigned handle_zero_fault(struct pager_client *c, const struct pager_plan *p, uint64_t page,
                           bool again);

/* Resolve a write to a copy-on-write share (PLAN_COW) with
 * MICA_SYS_MAP_COW: a private copy, or the frame itself when no other
 * mapping is left; a page that is no longer a share resumes (a late
 * repeat of a resolved fault) unless `again` (the thread loops).
 * FAULT_RESUME or a reason, as handle_zero_fault. */
unsigned handle_cow_fault(struct pager_client *c, const struct pager_plan *p, bool again);

/* Decide and resolve one fault of client c (addr, MICA_FAULT_* access,
 * thread id), printing the decision when c is verbose and every kill.
 * Returns FAULT_RESUME or the MICA_FAULT_REASON_* of the MICA_FAULT_KILL
 * reply; MICA_FAULT_REASON_UNKNOWN means the client's task is gone (the
 * caller forgets the client). */
unsigned pager_fault(struct pager_client *c, uint64_t addr, unsigned access, uint64_t thread);

/* A fault answered with MICA_SYS_MAP_REPLY_RECV: the map the pager decided
 * on, and what pager_fault_failed needs if the map is refused. */
struct pager_fused {
    struct pager_client *client;
    uint64_t addr;
    struct pager_plan plan;
    bool again;
    unsigned result;                /* when not fused: FAULT_RESUME or a reason */
    struct pager_decision *decision; /* the history record, written as resolved */
    uint64_t task, npages;          /* the map: task handle, plan.va, npages, plan.prot */
    unsigned op;                    /* MICA_MAP_REPLY_ANON or _COW */
};

/* pager_fault for the fused answer: decide the fault of c and, when the
 * answer is a map whose decision is not printed now, fill *f and return
 * true: the caller maps and replies in one call (mica_map_reply_recv) and
 * calls pager_fault_failed if the map fails. Otherwise resolve it as
 * pager_fault does, leave its result in f->result and return false. */
bool pager_fault_fused(struct pager_client *c, uint64_t addr, unsigned access, uint64_t thread,
                       struct pager_fused *f);

/* The fused map of f failed with rc (nothing was mapped, nothing replied):
 * finish the fault as the separate calls would have after that answer
 * from their map (a cluster falls back to one page; -MICA_ENOMEM of one
 * page is a kill), correct its record, print it if it ends in a kill.
 * Returns as pager_fault. */
unsigned pager_fault_failed(struct pager_fused *f, long rc);

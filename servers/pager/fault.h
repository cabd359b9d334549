/* Carrying out the fault policy (plan.h) on a client's address space:
 * one handler per way a fault is resolved, each returning what became of
 * it, and the report lines a person reads in `make run`. */
#pragma once

#include <stdint.h>

#include "plan.h"

enum fault_result {
    FAULT_CONTINUE,       /* mapped (or already there): resume the thread */
    FAULT_KILL_NO_REGION, /* MICA_FAULT_REASON_NO_REGION */
    FAULT_KILL_ACCESS,    /* MICA_FAULT_REASON_ACCESS */
    FAULT_KILL_GUARD,     /* MICA_FAULT_REASON_GUARD */
    FAULT_KILL_STACK,     /* MICA_FAULT_REASON_STACK */
    FAULT_OUT_OF_MEMORY,  /* MICA_FAULT_REASON_NO_MEMORY */
    FAULT_CLIENT_DEAD,    /* the client's task is gone: forget the client */
};

/* Map the plan's zeroed pages (PLAN_ZERO) in c; a cluster that meets a
 * mapped page or finds too few frames falls back to the faulting page
 * alone. `again`: this thread faulted on this very page last time, so an
 * "already mapped" means the fault is not ours to fix (a child that
 * inherited c's badge). */
enum fault_result handle_zero_fault(struct pager_client *c, const struct pager_plan *p,
                                    uint64_t page, bool again);

/* The same for a stack (PLAN_STACK): the pages run down from the fault. */
enum fault_result handle_stack_fault(struct pager_client *c, const struct pager_plan *p,
                                     uint64_t page, bool again);

/* Resolve a write to a copy-on-write share (PLAN_COW) with
 * MICA_SYS_MAP_COW: a private copy, or the frame itself when no other
 * mapping is left. */
enum fault_result handle_cow_fault(struct pager_client *c, const struct pager_plan *p);

/* Decide and resolve one fault of client c (addr, MICA_FAULT_* access,
 * thread id), printing the decision when c is verbose and every kill.
 * Returns the result; the caller turns a kill into a MICA_FAULT_KILL
 * reply with fault_reason(result). */
enum fault_result pager_fault(struct pager_client *c, uint64_t addr, unsigned access,
                              uint64_t thread);

/* The MICA_FAULT_REASON_* code of a kill result (0 for FAULT_CONTINUE). */
unsigned fault_reason(enum fault_result r);

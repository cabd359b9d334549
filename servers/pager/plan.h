/* The pager's fault policy as a pure decision: given a client's regions,
 * its previous fault and one fault message, what to do (map zeroed pages,
 * and how many; resolve a copy-on-write share; or kill, and why). No
 * system calls, so tests/host/test_pager_regions.c checks it on the host;
 * fault.c carries the decision out.
 *
 * Rules, in order:
 *   present + write + MICA_FAULT_COW (the kernel's mark of a shared
 *     frame) in a writable region                       -> PLAN_COW
 *   any other present fault                            -> kill ACCESS
 *     (or NO_REGION outside every region);
 *   not present, access allowed by the region           -> PLAN_ZERO (ANON)
 *     or PLAN_STACK; forbidden, or in an IMAGE region (whose bytes only
 *     the loader had)                                   -> kill ACCESS;
 *   not present outside every region: the page below a stack is its guard
 *     -> kill GUARD; up to PAGER_STACK_SLACK below the guard -> kill STACK
 *     (the stack would grow past its limit); else       -> kill NO_REGION.
 * Every fault is judged against a region: the loader tells the pager the
 * client's image, bss and stack (PAGER_ADD_CLIENT). MICA_FAULT_KERNEL
 * faults (a system call copying the client's memory) go through the same
 * rules. */
#pragma once

#include "regions.h"

#define PAGER_CLUSTER       8  /* pages mapped at once for a sequential walk */
#define PAGER_STACK_CLUSTER 4  /* pages mapped at once as a stack grows down */
#define PAGER_STACK_SLACK   (64ull * 1024) /* below a guard: "past the limit" */

enum pager_plan_kind { PLAN_ZERO, PLAN_STACK, PLAN_COW, PLAN_KILL };

struct pager_plan {
    enum pager_plan_kind kind;
    unsigned reason;                  /* PLAN_KILL: MICA_FAULT_REASON_* */
    uint64_t va, npages;              /* pages to map (PLAN_COW: the one page) */
    unsigned prot;                    /* protection to map them with */
    const struct pager_region *region; /* the region, or the stack guarded; may be NULL */
};

/* Decide what to do about a fault at addr with MICA_FAULT_* access bits in
 * client c (c->last_page is the page of its previous fault, for the
 * clustering of sequential faults). Never fails: *out is always set. */
void pager_plan_fault(struct pager_client *c, uint64_t addr, unsigned access,
                      struct pager_plan *out);

/* A short name of the region's kind for reports ("anon", "stack", "image",
 * with "/cow" when it may hold shares). */
const char *pager_kind_name(const struct pager_region *r);

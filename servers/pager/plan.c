/* plan.h: the fault policy as a pure decision. */
#include <mica/syscall.h>

#include "plan.h"

static void kill(struct pager_plan *p, unsigned reason, const struct pager_region *r)
{
    *p = (struct pager_plan){.kind = PLAN_KILL, .reason = reason, .region = r};
}

/* Whether r's protection allows the access (reads: any protection, as x86
 * cannot map a page write- or exec-only without read). */
static bool allowed(const struct pager_region *r, unsigned access)
{
    if ((access & MICA_FAULT_WRITE) && !(r->prot & MICA_PROT_WRITE))
        return false;
    if ((access & MICA_FAULT_EXEC) && !(r->prot & MICA_PROT_EXEC))
        return false;
    return r->prot != 0;
}

/* Outside every region: the guard page of a stack, just past its limit, or
 * nothing at all. */
static void outside(struct pager_client *c, uint64_t page, struct pager_plan *p)
{
    for (unsigned i = 0; i < PAGER_REGIONS; i++) {
        const struct pager_region *r = &c->regions[i];
        if (!r->len || r->kind != PAGER_STACK || r->va < PAGER_PAGE)
            continue;
        uint64_t guard = r->va - PAGER_PAGE;
        if (page == guard) {
            kill(p, MICA_FAULT_REASON_GUARD, r);
            return;
        }
        if (page < guard && guard - page <= PAGER_STACK_SLACK) {
            kill(p, MICA_FAULT_REASON_STACK, r);
            return;
        }
    }
    kill(p, MICA_FAULT_REASON_NO_REGION, 0);
}

void pager_plan_fault(struct pager_client *c, uint64_t addr, unsigned access,
                      struct pager_plan *out)
{
    uint64_t page = addr & ~(PAGER_PAGE - 1);
    const struct pager_region *r = pager_region_find(c, page);
    if (access & MICA_FAULT_PRESENT) {
        bool write = access & MICA_FAULT_WRITE;
        if (r && write && (r->prot & MICA_PROT_WRITE) && (access & MICA_FAULT_COW))
            *out = (struct pager_plan){.kind = PLAN_COW, .va = page, .npages = 1,
                                       .prot = r->prot, .region = r};
        else
            kill(out, r ? MICA_FAULT_REASON_ACCESS : MICA_FAULT_REASON_NO_REGION, r);
        return;
    }
    if (!r) {
        outside(c, page, out);
        return;
    }
    if (!allowed(r, access) || r->kind == PAGER_IMAGE) {
        /* An image page that is not there was unmapped: its bytes are gone. */
        kill(out, MICA_FAULT_REASON_ACCESS, r);
        return;
    }
    uint64_t end = r->va + r->len;
    if (r->kind == PAGER_STACK) {
        /* Stacks grow down: map this page and a few below it. */
        uint64_t below = (page - r->va) / PAGER_PAGE;
        uint64_t n = below + 1 < PAGER_STACK_CLUSTER ? below + 1 : PAGER_STACK_CLUSTER;
        *out = (struct pager_plan){.kind = PLAN_STACK, .va = page - (n - 1) * PAGER_PAGE,
                                   .npages = n, .prot = r->prot, .region = r};
        return;
    }
    /* A walk upwards (the previous fault was the page just below) gets the
     * next pages of the region too: one fault instead of PAGER_CLUSTER. */
    uint64_t n = 1;
    if (c->last_page + PAGER_PAGE == page) {
        uint64_t left = (end - page) / PAGER_PAGE;
        n = left < PAGER_CLUSTER ? left : PAGER_CLUSTER;
    }
    *out = (struct pager_plan){.kind = PLAN_ZERO, .va = page, .npages = n, .prot = r->prot,
                               .region = r};
}

const char *pager_kind_name(const struct pager_region *r)
{
    if (!r)
        return "none";
    if (r->kind == PAGER_STACK)
        return r->cow ? "stack/cow" : "stack";
    if (r->kind == PAGER_IMAGE)
        return r->cow ? "image/cow" : "image";
    return r->cow ? "anon/cow" : "anon";
}

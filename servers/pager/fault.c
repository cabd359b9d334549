/* fault.h: the fault handlers and their report lines. */
#include <mica/fault_reason.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "fault.h"
#include "pager.h"

/* A map call's error as a kill reason. */
static unsigned map_error(long rc, unsigned otherwise)
{
    if (rc == -MICA_ENOMEM)
        return MICA_FAULT_REASON_NO_MEMORY;
    if (rc == -MICA_EDEAD)
        return MICA_FAULT_REASON_UNKNOWN;
    return otherwise;
}

/* Map [va, va+n pages); on failure of a cluster, only the faulting page. */
unsigned handle_zero_fault(struct pager_client *c, const struct pager_plan *p, uint64_t page,
                           bool again)
{
    long rc = mica_map_anon(c->task, p->va, p->npages, p->prot);
    if (rc == 0 && p->kind == PLAN_ZERO)
        c->last_page = p->va + (p->npages - 1) * PAGER_PAGE; /* the walk goes on above */
    if (rc < 0 && p->npages > 1 && (rc == -MICA_EEXIST || rc == -MICA_ENOMEM))
        rc = mica_map_anon(c->task, page, 1, p->prot);
    if (rc == 0)
        return FAULT_RESUME;
    if (rc == -MICA_EEXIST) /* another thread's fault won, unless this one loops */
        return again ? MICA_FAULT_REASON_ACCESS : FAULT_RESUME;
    return map_error(rc, MICA_FAULT_REASON_ACCESS);
}

unsigned handle_cow_fault(struct pager_client *c, const struct pager_plan *p)
{
    long rc = mica_map_cow(c->task, p->va, p->prot);
    if (rc >= 0)
        return FAULT_RESUME;
    return map_error(rc, p->region ? MICA_FAULT_REASON_ACCESS : MICA_FAULT_REASON_NO_REGION);
}

static const char *access_name(unsigned access)
{
    if (access & MICA_FAULT_EXEC)
        return "exec";
    return access & MICA_FAULT_WRITE ? "write" : "read";
}

static const char *plan_name(const struct pager_plan *p)
{
    switch (p->kind) {
    case PLAN_ZERO: return "demand-zero";
    case PLAN_STACK: return "stack growth";
    case PLAN_COW: return "copy-on-write";
    case PLAN_KILL: break;
    }
    return "violation";
}

const char *pager_client_name(uint64_t badge, char *buf, size_t size)
{
    if (badge >= PAGER_FORK_BADGE_BASE)
        snprintf(buf, size, "fork-%llu", (unsigned long long)(badge - PAGER_FORK_BADGE_BASE));
    else
        snprintf(buf, size, "%llu", (unsigned long long)badge);
    return buf;
}

/* One line: who, what access where, in which region, what was decided.
 * Clients are named by pager_client_name. */
static void report(const struct pager_client *c, uint64_t addr, unsigned access,
                   const struct pager_plan *p, unsigned r)
{
    const struct pager_region *g = p->region;
    char who[32], region[96], what[64];
    pager_client_name(c->badge, who, sizeof who);
    if (g)
        snprintf(region, sizeof region, "%s %s [0x%llx-0x%llx) %c%c%c",
                 p->reason == MICA_FAULT_REASON_GUARD || p->reason == MICA_FAULT_REASON_STACK
                     ? "below"
                     : "in",
                 pager_kind_name(g), (unsigned long long)g->va,
                 (unsigned long long)(g->va + g->len), g->prot & MICA_PROT_READ ? 'r' : '-',
                 g->prot & MICA_PROT_WRITE ? 'w' : '-', g->prot & MICA_PROT_EXEC ? 'x' : '-');
    else
        snprintf(region, sizeof region, "outside every region");
    if (r != FAULT_RESUME)
        snprintf(what, sizeof what, "KILL (%s)", mica_fault_reason_text(r));
    else if (p->kind == PLAN_COW)
        snprintf(what, sizeof what, "%s, private page", plan_name(p));
    else
        snprintf(what, sizeof what, "%s, %llu page%s at 0x%llx", plan_name(p),
                 (unsigned long long)p->npages, p->npages == 1 ? "" : "s",
                 (unsigned long long)p->va);
    printf("pager: client %s: %s%s%s at 0x%llx %s: %s\n", who,
           access & MICA_FAULT_KERNEL ? "kernel-copy " : "",
           access & MICA_FAULT_PRESENT ? "present-page " : "", access_name(access),
           (unsigned long long)addr, region, what);
}

unsigned pager_fault(struct pager_client *c, uint64_t addr, unsigned access, uint64_t thread)
{
    uint64_t page = addr & ~(PAGER_PAGE - 1);
    struct pager_plan p;
    pager_plan_fault(c, addr, access, &p);
    /* A thread faulting again on a page that is mapped by now loops (a
     * child that inherited c's badge), unless it happens once: a fault may
     * come twice, late (a spurious fault, as fault_spurious injects;
     * docs/fault-injection.md). The third time is a loop. */
    bool same = page == c->last_page && thread == c->last_thread;
    c->repeats = same ? c->repeats + 1 : 0;
    bool again = c->repeats >= 2;
    c->last_page = page;
    c->last_thread = thread;
    unsigned r;
    switch (p.kind) {
    case PLAN_ZERO:
    case PLAN_STACK:
        r = handle_zero_fault(c, &p, page, again);
        break;
    case PLAN_COW:
        r = handle_cow_fault(c, &p);
        break;
    default:
        r = p.reason;
        break;
    }
    if (r != FAULT_RESUME || c->verbose)
        report(c, addr, access, &p, r);
    return r;
}

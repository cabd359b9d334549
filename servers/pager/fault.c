/* fault.h: the fault handlers and their report lines. */
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "fault.h"
#include "pager.h"

/* A map call's error as a fault result. */
static enum fault_result map_error(long rc, enum fault_result otherwise)
{
    if (rc == -MICA_ENOMEM)
        return FAULT_OUT_OF_MEMORY;
    if (rc == -MICA_EDEAD)
        return FAULT_CLIENT_DEAD;
    return otherwise;
}

/* Map [va, va+n pages); on failure of a cluster, only the faulting page. */
static enum fault_result map_zero(struct pager_client *c, const struct pager_plan *p,
                                  uint64_t page, bool again)
{
    long rc = mica_map_anon(c->task, p->va, p->npages, p->prot);
    if (rc == 0 && p->kind == PLAN_ZERO)
        c->last_page = p->va + (p->npages - 1) * PAGER_PAGE; /* the walk goes on above */
    if (rc < 0 && p->npages > 1 && (rc == -MICA_EEXIST || rc == -MICA_ENOMEM))
        rc = mica_map_anon(c->task, page, 1, p->prot);
    if (rc == 0)
        return FAULT_CONTINUE;
    if (rc == -MICA_EEXIST) /* another thread's fault won, unless this one loops */
        return again ? FAULT_KILL_ACCESS : FAULT_CONTINUE;
    return map_error(rc, FAULT_KILL_ACCESS);
}

enum fault_result handle_zero_fault(struct pager_client *c, const struct pager_plan *p,
                                    uint64_t page, bool again)
{
    return map_zero(c, p, page, again);
}

enum fault_result handle_stack_fault(struct pager_client *c, const struct pager_plan *p,
                                     uint64_t page, bool again)
{
    return map_zero(c, p, page, again);
}

enum fault_result handle_cow_fault(struct pager_client *c, const struct pager_plan *p)
{
    long rc = mica_map_cow(c->task, p->va, p->prot);
    if (rc >= 0)
        return FAULT_CONTINUE;
    return map_error(rc, p->region ? FAULT_KILL_ACCESS : FAULT_KILL_NO_REGION);
}

unsigned fault_reason(enum fault_result r)
{
    switch (r) {
    case FAULT_CONTINUE: return 0;
    case FAULT_KILL_NO_REGION: return MICA_FAULT_REASON_NO_REGION;
    case FAULT_KILL_ACCESS: return MICA_FAULT_REASON_ACCESS;
    case FAULT_KILL_GUARD: return MICA_FAULT_REASON_GUARD;
    case FAULT_KILL_STACK: return MICA_FAULT_REASON_STACK;
    case FAULT_OUT_OF_MEMORY: return MICA_FAULT_REASON_NO_MEMORY;
    case FAULT_CLIENT_DEAD: return MICA_FAULT_REASON_UNKNOWN;
    }
    return MICA_FAULT_REASON_UNKNOWN;
}

static const char *access_name(unsigned access)
{
    if (access & MICA_FAULT_EXEC)
        return "exec";
    return access & MICA_FAULT_WRITE ? "write" : "read";
}

static const char *kill_name(enum fault_result r)
{
    switch (r) {
    case FAULT_CONTINUE: break;
    case FAULT_KILL_NO_REGION: return "no region at this address";
    case FAULT_KILL_ACCESS: return "the region forbids this access";
    case FAULT_KILL_GUARD: return "stack guard page hit";
    case FAULT_KILL_STACK: return "the stack would grow past its limit";
    case FAULT_OUT_OF_MEMORY: return "out of memory";
    case FAULT_CLIENT_DEAD: return "the task is gone";
    }
    return "?";
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
                   const struct pager_plan *p, enum fault_result r)
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
    if (r != FAULT_CONTINUE)
        snprintf(what, sizeof what, "KILL (%s)", kill_name(r));
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

enum fault_result pager_fault(struct pager_client *c, uint64_t addr, unsigned access,
                              uint64_t thread)
{
    uint64_t page = addr & ~(PAGER_PAGE - 1);
    struct pager_plan p;
    pager_plan_fault(c, addr, access, &p);
    bool again = page == c->last_page && thread == c->last_thread;
    c->last_page = page;
    c->last_thread = thread;
    enum fault_result r;
    switch (p.kind) {
    case PLAN_ZERO:
        r = handle_zero_fault(c, &p, page, again);
        break;
    case PLAN_STACK:
        r = handle_stack_fault(c, &p, page, again);
        break;
    case PLAN_COW:
        r = handle_cow_fault(c, &p);
        break;
    default:
        r = p.reason == MICA_FAULT_REASON_GUARD   ? FAULT_KILL_GUARD
            : p.reason == MICA_FAULT_REASON_STACK ? FAULT_KILL_STACK
            : p.reason == MICA_FAULT_REASON_ACCESS ? FAULT_KILL_ACCESS
                                                   : FAULT_KILL_NO_REGION;
        break;
    }
    if (r != FAULT_CONTINUE || c->verbose)
        report(c, addr, access, &p, r);
    return r;
}

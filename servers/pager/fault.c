/* fault.h: the fault handlers and their report lines. */
#include <mica/fault_reason.h>
#include <mica/log.h>
#include <mica/stdio.h>
#include <mica/string.h>
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

void pager_client_learn(struct pager_client *c)
{
    struct mica_task_info info;
    if (c->task && mica_task_info(c->task, &info) == 0) {
        c->id = info.id;
        memcpy(c->name, info.name, MICA_NAME_MAX);
    }
}

const char *pager_client_name(uint64_t badge, char *buf, size_t size)
{
    const struct pager_client *c = pager_client_find(pager_clients, badge);
    if (c && c->name[0])
        snprintf(buf, size, "%s (id %u)", c->name, (unsigned)c->id);
    else if (badge >= PAGER_FORK_BADGE_BASE)
        snprintf(buf, size, "fork-%llu", (unsigned long long)(badge - PAGER_FORK_BADGE_BASE));
    else
        snprintf(buf, size, "%llu", (unsigned long long)badge);
    return buf;
}

/* One line: who, what access where, in which region, what was decided.
 * Clients are named as pager_client_name does, from what was recorded. */
void pager_decision_format(const struct pager_decision *d, char *line, size_t size)
{
    const struct pager_region *g = d->has_region ? &d->region : 0;
    char who[48], region[96], what[64];
    if (d->name[0])
        snprintf(who, sizeof who, "%s (id %u)", d->name, (unsigned)d->id);
    else
        pager_client_name(d->badge, who, sizeof who);
    if (g)
        snprintf(region, sizeof region, "%s %s [0x%llx-0x%llx) %c%c%c",
                 d->plan.reason == MICA_FAULT_REASON_GUARD ||
                         d->plan.reason == MICA_FAULT_REASON_STACK
                     ? "below"
                     : "in",
                 pager_kind_name(g), (unsigned long long)g->va,
                 (unsigned long long)(g->va + g->len), g->prot & MICA_PROT_READ ? 'r' : '-',
                 g->prot & MICA_PROT_WRITE ? 'w' : '-', g->prot & MICA_PROT_EXEC ? 'x' : '-');
    else
        snprintf(region, sizeof region, "outside every region");
    if (d->result != FAULT_RESUME)
        snprintf(what, sizeof what, "KILL (%s)", mica_fault_reason_text(d->result));
    else if (d->plan.kind == PLAN_COW)
        snprintf(what, sizeof what, "%s, private page", plan_name(&d->plan));
    else
        snprintf(what, sizeof what, "%s, %llu page%s at 0x%llx", plan_name(&d->plan),
                 (unsigned long long)d->plan.npages, d->plan.npages == 1 ? "" : "s",
                 (unsigned long long)d->plan.va);
    snprintf(line, size, "client %s: %s%s%s at 0x%llx %s: %s", who,
             d->access & MICA_FAULT_KERNEL ? "kernel-copy " : "",
             d->access & MICA_FAULT_PRESENT ? "present-page " : "", access_name(d->access),
             (unsigned long long)d->addr, region, what);
}

/* Record the decision (the console's `faults`) and print it: kills
 * always, other decisions for verbose clients or at log level debug. The
 * line is only formatted when it is printed. */
static void report(const struct pager_client *c, uint64_t addr, unsigned access,
                   const struct pager_plan *p, unsigned r)
{
    struct pager_decision *d = pager_history_next();
    d->badge = c->badge;
    d->id = c->id;
    memcpy(d->name, c->name, MICA_NAME_MAX);
    d->addr = addr;
    d->access = access;
    d->result = r;
    d->plan = *p;
    d->plan.region = 0;
    d->has_region = p->region != 0;
    if (p->region)
        d->region = *p->region;
    bool loud = r != FAULT_RESUME || c->verbose;
    if (!mica_log_enabled(loud ? MICA_LOG_INFO : MICA_LOG_DEBUG))
        return;
    char line[256];
    pager_decision_format(d, line, sizeof line);
    mica_log(loud ? MICA_LOG_INFO : MICA_LOG_DEBUG, "%s", line);
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
    report(c, addr, access, &p, r);
    return r;
}

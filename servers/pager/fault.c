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

/* What handle_zero_fault does once its first map call returned rc. */
static unsigned zero_fault_after(struct pager_client *c, const struct pager_plan *p,
                                 uint64_t page, bool again, long rc)
{
    if (rc < 0 && p->npages > 1 && (rc == -MICA_EEXIST || rc == -MICA_ENOMEM))
        rc = mica_map_anon(c->task, page, 1, p->prot);
    if (rc == 0)
        return FAULT_RESUME;
    if (rc == -MICA_EEXIST) /* another thread's fault won, unless this one loops */
        return again ? MICA_FAULT_REASON_ACCESS : FAULT_RESUME;
    return map_error(rc, MICA_FAULT_REASON_ACCESS);
}

/* Map [va, va+n pages); on failure of a cluster, only the faulting page. */
unsigned handle_zero_fault(struct pager_client *c, const struct pager_plan *p, uint64_t page,
                           bool again)
{
    long rc = mica_map_anon(c->task, p->va, p->npages, p->prot);
    if (rc == 0 && p->kind == PLAN_ZERO)
        c->last_page = p->va + (p->npages - 1) * PAGER_PAGE; /* the walk goes on above */
    return zero_fault_after(c, p, page, again, rc);
}

/* What handle_cow_fault does once its map call returned rc. */
static unsigned cow_fault_after(const struct pager_plan *p, bool again, long rc)
{
    if (rc >= 0)
        return FAULT_RESUME;
    /* No copy-on-write share there any more: the fault was resolved
     * already and comes late (a spurious repeat), unless it loops. */
    if (rc == -MICA_EINVAL && p->region && !again)
        return FAULT_RESUME;
    return map_error(rc, p->region ? MICA_FAULT_REASON_ACCESS : MICA_FAULT_REASON_NO_REGION);
}

unsigned handle_cow_fault(struct pager_client *c, const struct pager_plan *p, bool again)
{
    return cow_fault_after(p, again, mica_map_cow(c->task, p->va, p->prot));
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
    struct pager_client *c = pager_client_find(pager_clients, badge);
    struct mica_task_info info;
    if (c && !c->asked && c->task) {
        c->asked = true;
        if (mica_task_info(c->task, &info) == 0) {
            c->id = info.id;
            memcpy(c->name, info.name, MICA_NAME_MAX);
        }
    }
    if (c && c->name[0])
        snprintf(buf, size, "%s (id %u)", c->name, (unsigned)c->id);
    else if (badge >= PAGER_FORK_BADGE_BASE)
        snprintf(buf, size, "fork-%llu", (unsigned long long)(badge - PAGER_FORK_BADGE_BASE));
    else
        snprintf(buf, size, "%llu", (unsigned long long)badge);
    return buf;
}

/* One line: who, what access where, in which region, what was decided.
 * Clients are named as pager_client_name does. */
void pager_decision_format(const struct pager_decision *d, char *line, size_t size)
{
    const struct pager_region *g = d->region.len ? &d->region : 0;
    const struct pager_plan plan = {.kind = d->kind, .reason = d->reason, .va = d->va,
                                    .npages = d->npages};
    char who[48], region[96], what[64];
    pager_client_name(d->badge, who, sizeof who);
    if (g)
        snprintf(region, sizeof region, "%s %s [0x%llx-0x%llx) %c%c%c",
                 d->reason == MICA_FAULT_REASON_GUARD || d->reason == MICA_FAULT_REASON_STACK
                     ? "below"
                     : "in",
                 pager_kind_name(g), (unsigned long long)g->va,
                 (unsigned long long)(g->va + g->len), g->prot & MICA_PROT_READ ? 'r' : '-',
                 g->prot & MICA_PROT_WRITE ? 'w' : '-', g->prot & MICA_PROT_EXEC ? 'x' : '-');
    else
        snprintf(region, sizeof region, "outside every region");
    if (d->result != FAULT_RESUME)
        snprintf(what, sizeof what, "KILL (%s)", mica_fault_reason_text(d->result));
    else if (d->kind == PLAN_COW)
        snprintf(what, sizeof what, "%s, private page", plan_name(&plan));
    else
        snprintf(what, sizeof what, "%s, %llu page%s at 0x%llx", plan_name(&plan),
                 (unsigned long long)d->npages, d->npages == 1 ? "" : "s",
                 (unsigned long long)d->va);
    snprintf(line, size, "client %s: %s%s%s at 0x%llx %s: %s", who,
             d->access & MICA_FAULT_KERNEL ? "kernel-copy " : "",
             d->access & MICA_FAULT_PRESENT ? "present-page " : "", access_name(d->access),
             (unsigned long long)d->addr, region, what);
}

/* Record the decision (the console's `faults`); returns the record. */
static struct pager_decision *record(const struct pager_client *c, uint64_t addr,
                                     unsigned access, const struct pager_plan *p, unsigned r)
{
    struct pager_decision *d = pager_history_next();
    d->badge = c->badge;
    d->access = (uint8_t)access;
    d->result = (uint8_t)r;
    d->kind = (uint8_t)p->kind;
    d->reason = (uint8_t)p->reason;
    d->addr = addr;
    d->va = p->va;
    d->npages = p->npages;
    if (p->region)
        d->region = *p->region;
    else
        d->region.len = 0;
    return d;
}

/* The level a decision is printed at: kills at warn, the decisions of
 * verbose clients at info, others at debug. */
static enum mica_log_level level_of(const struct pager_client *c, unsigned r)
{
    return r != FAULT_RESUME ? MICA_LOG_WARN : c->verbose ? MICA_LOG_INFO : MICA_LOG_DEBUG;
}

static void print(const struct pager_client *c, const struct pager_decision *d)
{
    enum mica_log_level level = level_of(c, d->result);
    if (!mica_log_enabled(level))
        return;
    char line[256];
    pager_decision_format(d, line, sizeof line);
    mica_log(level, "%s", line);
}

/* The first steps of every fault: the plan, and whether this thread
 * faulted on this very page the last two times (see pager_fault). */
static bool plan_and_count(struct pager_client *c, uint64_t addr, unsigned access,
                           uint64_t thread, struct pager_plan *p)
{
    uint64_t page = addr & ~(PAGER_PAGE - 1);
    pager_plan_fault(c, addr, access, p);
    /* A thread faulting again on a page that is mapped by now loops (a
     * task faulting under a badge that is not its own), unless it happens once: a fault may
     * come twice, late (a spurious fault, as fault_spurious injects;
     * docs/fault-injection.md). The third time is a loop. */
    bool same = page == c->last_page && thread == c->last_thread;
    c->repeats = same ? c->repeats + 1 : 0;
    c->last_page = page;
    c->last_thread = thread;
    return c->repeats >= 2;
}

/* Carry out plan p with the separate calls (MAP_ANON or MAP_COW; the
 * reply follows). */
static unsigned resolve(struct pager_client *c, uint64_t addr, const struct pager_plan *p,
                        bool again)
{
    switch (p->kind) {
    case PLAN_ZERO:
    case PLAN_STACK:
        return handle_zero_fault(c, p, addr & ~(PAGER_PAGE - 1), again);
    case PLAN_COW:
        return handle_cow_fault(c, p, again);
    default:
        return p->reason;
    }
}

unsigned pager_fault(struct pager_client *c, uint64_t addr, unsigned access, uint64_t thread)
{
    struct pager_plan p;
    bool again = plan_and_count(c, addr, access, thread, &p);
    unsigned r = resolve(c, addr, &p, again);
    print(c, record(c, addr, access, &p, r));
    return r;
}

bool pager_fault_fused(struct pager_client *c, uint64_t addr, unsigned access, uint64_t thread,
                       struct pager_fused *f)
{
    struct pager_plan *p = &f->plan;
    f->again = plan_and_count(c, addr, access, thread, p);
    f->client = c;
    f->addr = addr;
    if (p->kind == PLAN_KILL || mica_log_enabled(level_of(c, FAULT_RESUME))) {
        /* A kill, or a decision printed now, in order with the client's
         * own output: the separate calls. */
        f->result = resolve(c, addr, p, f->again);
        print(c, record(c, addr, access, p, f->result));
        return false;
    }
    /* Recorded as resolved; pager_fault_failed corrects the record. */
    f->decision = record(c, addr, access, p, FAULT_RESUME);
    if (p->kind == PLAN_ZERO)
        c->last_page = p->va + (p->npages - 1) * PAGER_PAGE; /* the walk goes on above */
    f->task = c->task;
    f->npages = p->kind == PLAN_COW ? 1 : p->npages;
    f->op = p->kind == PLAN_COW ? MICA_MAP_REPLY_COW : MICA_MAP_REPLY_ANON;
    return true;
}

unsigned pager_fault_failed(struct pager_fused *f, long rc)
{
    struct pager_client *c = f->client;
    uint64_t page = f->addr & ~(PAGER_PAGE - 1);
    c->last_page = page;
    unsigned r;
    if (rc == -MICA_EDEAD) {
        /* The client's task is gone (the map's answer), or the map was
         * done and the reply went out but the receive found the endpoint
         * dead: the separate calls tell which (a map done is -EEXIST). */
        r = resolve(c, f->addr, &f->plan, f->again);
    } else if (f->plan.kind == PLAN_COW) {
        r = cow_fault_after(&f->plan, f->again, rc);
    } else {
        /* Nothing was mapped: as if the separate map call had said rc. */
        r = zero_fault_after(c, &f->plan, page, f->again, rc);
    }
    f->decision->result = (uint8_t)r;
    print(c, f->decision);
    return r;
}

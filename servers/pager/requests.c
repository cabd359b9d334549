/* The clients' memory requests (mica/vm.h): allocate, free and protect
 * regions, and share a range copy-on-write with a child. */
#include <mica/log.h>
#include <mica/stdio.h>
#include <mica/vm.h>

#include "pager.h"

#define PROT_ALL (MICA_PROT_READ | MICA_PROT_WRITE | MICA_PROT_EXEC)

static uint64_t status(long rc)
{
    return (uint64_t)rc;
}

static bool bad_prot(uint64_t prot)
{
    return prot == 0 || (prot & ~(uint64_t)PROT_ALL) ||
           ((prot & MICA_PROT_WRITE) && (prot & MICA_PROT_EXEC));
}

/* Page-aligned va and len rounded up to pages, or -MICA_EINVAL. */
static long range(uint64_t va, uint64_t *len)
{
    if (*len == 0 || (va & (PAGER_PAGE - 1)) || *len > MICA_USER_END || va >= MICA_USER_END)
        return -MICA_EINVAL;
    *len = (*len + PAGER_PAGE - 1) & ~(PAGER_PAGE - 1);
    return MICA_USER_END - va < *len ? -MICA_EINVAL : 0;
}

void on_alloc(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply)
{
    char who[48];
    if (bad_prot(req->w[1])) {
        reply->w[0] = status(-MICA_EINVAL);
        return;
    }
    uint64_t va = pager_region_alloc(c, req->w[0], (unsigned)req->w[1], PAGER_ANON);
    reply->w[0] = va ? va : status(req->w[0] ? -MICA_ENOSPC : -MICA_EINVAL);
    if (va && (c->verbose || mica_log_enabled(MICA_LOG_DEBUG)))
        mica_log_info("client %s: alloc [0x%llx-0x%llx) prot %llu",
               pager_client_name(c->badge, who, sizeof who), (unsigned long long)va,
               (unsigned long long)(va + ((req->w[0] + PAGER_PAGE - 1) & ~(PAGER_PAGE - 1))),
               (unsigned long long)req->w[1]);
}

void on_free(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply)
{
    uint64_t va = req->w[0], len = req->w[1];
    long rc = range(va, &len);
    if (rc == 0 && !pager_range_covered(c, va, len))
        rc = -MICA_ENOENT;
    if (rc == 0) {
        rc = mica_unmap(c->task, va, len / PAGER_PAGE);
        if (rc == -MICA_EDEAD)
            rc = 0; /* the client is gone; so are its pages */
    }
    if (rc == 0)
        rc = pager_region_remove(c, va, len);
    reply->w[0] = status(rc);
}

/* Apply prot to the present pages of [va, va+len): one call, or page by
 * page when the range has holes (MICA_SYS_PROTECT refuses holes). */
static long protect_present(struct pager_client *c, uint64_t va, uint64_t len, unsigned prot)
{
    long rc = mica_protect(c->task, va, len / PAGER_PAGE, prot);
    if (rc != -MICA_ENOENT)
        return rc == -MICA_EDEAD ? 0 : rc;
    for (uint64_t off = 0; off < len; off += PAGER_PAGE) {
        rc = mica_protect(c->task, va + off, 1, prot);
        if (rc < 0 && rc != -MICA_ENOENT)
            return rc == -MICA_EDEAD ? 0 : rc;
    }
    return 0;
}

void on_protect(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply)
{
    char who[48];
    uint64_t va = req->w[0], len = req->w[1], prot = req->w[2];
    long rc = bad_prot(prot) ? -MICA_EINVAL : range(va, &len);
    if (rc == 0)
        rc = pager_region_protect(c, va, len, (unsigned)prot, 0);
    /* A shared page stays read-only with its COW mark (the kernel sees to
     * it), so a write to it after this still copies it. */
    if (rc == 0)
        rc = protect_present(c, va, len, (unsigned)prot);
    if (c->verbose || mica_log_enabled(MICA_LOG_DEBUG))
        mica_log_info("client %s: protect [0x%llx-0x%llx) prot %llu: %s",
               pager_client_name(c->badge, who, sizeof who), (unsigned long long)va,
               (unsigned long long)(va + len), (unsigned long long)prot, mica_error_name(rc));
    reply->w[0] = status(rc);
}

void on_share_cow(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply)
{
    char who[48], who2[48];
    uint64_t va = req->w[0], len = req->w[1];
    struct pager_client *t = pager_client_find(pager_clients, req->w[2]);
    long rc = range(va, &len);
    struct pager_region *r = rc == 0 ? pager_region_find(c, va) : 0;
    if (rc == 0 && (!t || t->parent != c->badge || !r || va + len > r->va + r->len))
        rc = -MICA_ENOENT;
    struct pager_region *copy = 0;
    if (rc == 0 && !(copy = pager_region_insert(t, va, len, r->prot, PAGER_ANON, true)))
        rc = -MICA_EEXIST;
    if (rc == 0) {
        /* Shares are mapped read-only; the kernel marks the pages that
         * were writable, in both spaces, for copy-on-write. */
        unsigned prot = r->prot & ~MICA_PROT_WRITE;
        rc = mica_map_share(t->task, va, c->task, va, len / PAGER_PAGE,
                            prot ? prot : MICA_PROT_READ);
        if (rc < 0) {
            *copy = (struct pager_region){0}; /* a free slot is all zero */
            pager_region_changed(t, copy);
        } else if (!r->cow) {
            r->cow = true;
            pager_region_changed(c, r);
        }
    }
    if (t)
        pager_touch(t);
    if (c->verbose || (t && t->verbose) || mica_log_enabled(MICA_LOG_DEBUG))
        mica_log_info("client %s: share [0x%llx-0x%llx) copy-on-write with client %s: "
               "%ld", pager_client_name(c->badge, who, sizeof who), (unsigned long long)va,
               (unsigned long long)(va + len), pager_client_name(req->w[2], who2, sizeof who2), rc);
    reply->w[0] = status(rc < 0 ? rc : 0);
    reply->w[1] = rc < 0 ? 0 : (uint64_t)rc;
}

void on_release(struct pager_client *c, const struct mica_msg *req, struct mica_msg *reply)
{
    struct pager_client *t = pager_client_find(pager_clients, req->w[0]);
    if (!t || t->parent != c->badge) {
        reply->w[0] = status(-MICA_ENOENT);
        return;
    }
    pager_client_drop(t);
    pager_sweep_orphans(); /* t's own children that ended unreleased */
}

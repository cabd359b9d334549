/* regions.h: client and region tables, splitting and merging of regions. */
#include <mica/errno.h>
#include <mica/syscall.h>

#include "regions.h"

/* Inline: pager_client_find and pager_region_find, on every fault, check
 * one of each. */
static inline void client_check(const struct pager_client *c)
{
    if (__builtin_expect(c->seal != pager_client_seal_of(c), 0))
        pager_damaged(c, 0);
}

static inline void region_check(const struct pager_client *c, const struct pager_region *r)
{
    if (__builtin_expect(r->seal != pager_region_seal_of(r), 0))
        pager_damaged(c, r);
}

void pager_client_check(const struct pager_client *c, uint32_t regions)
{
    client_check(c);
    for (unsigned i = 0; i < PAGER_REGIONS && regions >> i; i++)
        if ((regions >> i & 1) && c->regions[i].len)
            region_check(c, &c->regions[i]);
}

void pager_clients_check(const struct pager_client *cs)
{
    for (unsigned i = 0; i < PAGER_CLIENTS; i++)
        if (cs[i].used || cs[i].badge)
            pager_client_check(&cs[i], 0);
}

void pager_client_free(struct pager_client *c)
{
    c->used = false;
    c->badge = 0;
    pager_client_seal(c);
}

void pager_client_reseal_all(struct pager_client *c)
{
    pager_client_seal(c);
    for (unsigned i = 0; i < PAGER_REGIONS; i++)
        c->regions[i].seal = pager_region_seal_of(&c->regions[i]);
}

struct pager_client *pager_client_find(struct pager_client *cs, uint64_t badge)
{
    for (unsigned i = 0; badge && i < PAGER_CLIENTS; i++)
        if (cs[i].used && cs[i].badge == badge) {
            client_check(&cs[i]);
            return &cs[i];
        }
    return 0;
}

struct pager_client *pager_client_add(struct pager_client *cs, uint64_t badge, uint64_t task)
{
    for (unsigned i = 0; i < PAGER_CLIENTS; i++) {
        if (cs[i].used)
            continue;
        /* Every region slot is news to the checkpoint, whoever had it. */
        cs[i] = (struct pager_client){.used = true, .badge = badge, .task = task,
                                      .next_va = PAGER_VA_BASE, .fork_handle = -1,
                                      .dirty = ~0u};
        pager_client_seal(&cs[i]); /* the regions are zero: sealed */
        return &cs[i];
    }
    return 0;
}

/* A slot that looks free must be: a live region whose len was damaged
 * to 0 would be overwritten. */
static struct pager_region *free_slot(struct pager_client *c)
{
    for (unsigned i = 0; i < PAGER_REGIONS; i++)
        if (!c->regions[i].len) {
            region_check(c, &c->regions[i]);
            return &c->regions[i];
        }
    return 0;
}

/* The highest free slot: regions at fixed addresses (a program's image and
 * stack from its loader, shares) fill the table from the top, so that the
 * regions vm_alloc hands out, which most faults hit, come first in every
 * linear scan. */
static struct pager_region *top_free_slot(struct pager_client *c)
{
    for (unsigned i = PAGER_REGIONS; i-- > 0;)
        if (!c->regions[i].len) {
            region_check(c, &c->regions[i]);
            return &c->regions[i];
        }
    return 0;
}

static unsigned free_slots(struct pager_client *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < PAGER_REGIONS; i++)
        n += !c->regions[i].len;
    return n;
}

uint64_t pager_region_alloc(struct pager_client *c, uint64_t len, unsigned prot, unsigned kind)
{
    if (len == 0 || len > PAGER_VA_LIMIT - PAGER_VA_BASE)
        return 0;
    len = (len + PAGER_PAGE - 1) & ~(PAGER_PAGE - 1);
    if (c->next_va >= PAGER_VA_LIMIT || PAGER_VA_LIMIT - c->next_va < len + PAGER_PAGE)
        return 0;
    struct pager_region *r = free_slot(c);
    if (!r)
        return 0;
    *r = (struct pager_region){.va = c->next_va, .len = len, .prot = prot, .kind = (uint8_t)kind};
    pager_region_changed(c, r);
    c->next_va += len + PAGER_PAGE; /* a guard page catches overruns */
    pager_client_seal(c);
    return r->va;
}

struct pager_region *pager_region_insert(struct pager_client *c, uint64_t va, uint64_t len,
                                         unsigned prot, unsigned kind, bool cow)
{
    if (len == 0 || (va | len) & (PAGER_PAGE - 1) || va + len < va)
        return 0;
    for (unsigned i = 0; i < PAGER_REGIONS; i++) {
        struct pager_region *r = &c->regions[i];
        if (r->len && va < r->va + r->len && r->va < va + len)
            return 0;
    }
    struct pager_region *r = top_free_slot(c);
    if (r) {
        *r = (struct pager_region){.va = va, .len = len, .prot = prot, .kind = (uint8_t)kind,
                                   .cow = cow};
        pager_region_changed(c, r);
    }
    return r;
}

struct pager_region *pager_region_find(struct pager_client *c, uint64_t va)
{
    for (unsigned i = 0; i < PAGER_REGIONS; i++) {
        struct pager_region *r = &c->regions[i];
        if (r->len && va - r->va < r->len) {
            region_check(c, r);
            return r;
        }
    }
    return 0;
}

bool pager_range_covered(struct pager_client *c, uint64_t va, uint64_t len)
{
    uint64_t end = va + len;
    if (len == 0 || end < va)
        return false;
    while (va < end) {
        struct pager_region *r = pager_region_find(c, va);
        if (!r)
            return false;
        va = r->va + r->len;
    }
    return true;
}

/* Whether a lies strictly inside a region (cutting there needs a slot). */
static bool inside(struct pager_client *c, uint64_t a)
{
    struct pager_region *r = pager_region_find(c, a);
    return r && r->va != a;
}

/* Cut the region strictly containing a into two at a; the caller checked
 * there is a free slot. */
static void split_at(struct pager_client *c, uint64_t a)
{
    struct pager_region *r = pager_region_find(c, a);
    if (!r || r->va == a)
        return;
    struct pager_region *hi = free_slot(c);
    *hi = *r;
    hi->va = a;
    hi->len = r->va + r->len - a;
    r->len = a - r->va;
    pager_region_changed(c, hi);
    pager_region_changed(c, r);
}

/* Cut regions at va and va+len after checking coverage and room, so that
 * every region meeting the range lies wholly inside it. */
static int cut(struct pager_client *c, uint64_t va, uint64_t len)
{
    if ((va | len) & (PAGER_PAGE - 1) || !pager_range_covered(c, va, len))
        return -MICA_ENOENT;
    if (free_slots(c) < (unsigned)inside(c, va) + (unsigned)inside(c, va + len))
        return -MICA_ENOSPC;
    split_at(c, va);
    split_at(c, va + len);
    return 0;
}

/* Join neighbours with the same attributes, so that protecting a range
 * back and forth does not use up the table. */
static void merge(struct pager_client *c)
{
    for (unsigned i = 0; i < PAGER_REGIONS; i++) {
        struct pager_region *a = &c->regions[i];
        for (unsigned j = 0; a->len && j < PAGER_REGIONS; j++) {
            struct pager_region *b = &c->regions[j];
            if (j == i || !b->len || a->va + a->len != b->va || a->prot != b->prot ||
                a->kind != b->kind || a->cow != b->cow)
                continue;
            a->len += b->len;
            *b = (struct pager_region){0};
            pager_region_changed(c, a);
            pager_region_changed(c, b);
            j = (unsigned)-1; /* a grew: look again from the start */
        }
    }
}

int pager_region_remove(struct pager_client *c, uint64_t va, uint64_t len)
{
    int rc = cut(c, va, len);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < PAGER_REGIONS; i++) {
        struct pager_region *r = &c->regions[i];
        if (r->len && r->va >= va && r->va - va < len) {
            *r = (struct pager_region){0};
            pager_region_changed(c, r);
        }
    }
    return 0;
}

int pager_region_protect(struct pager_client *c, uint64_t va, uint64_t len, unsigned prot,
                         bool *cow)
{
    int rc = cut(c, va, len);
    if (rc < 0)
        return rc;
    if (cow)
        *cow = false;
    for (unsigned i = 0; i < PAGER_REGIONS; i++) {
        struct pager_region *r = &c->regions[i];
        if (r->len && r->va >= va && r->va - va < len) {
            r->prot = prot;
            pager_region_changed(c, r);
            if (cow && r->cow)
                *cow = true;
        }
    }
    merge(c);
    return 0;
}

void pager_regions_fork(struct pager_client *parent, struct pager_client *child)
{
    pager_client_check(parent, PAGER_ALL_REGIONS);
    for (unsigned i = 0; i < PAGER_REGIONS; i++) {
        struct pager_region *r = &parent->regions[i];
        if (r->len && (r->prot & MICA_PROT_WRITE) && !r->cow) {
            r->cow = true;
            pager_region_changed(parent, r);
        }
        child->regions[i] = *r; /* with its seal, which is not bound to a place */
        child->dirty |= 1u << i;
    }
    child->next_va = parent->next_va;
    child->verbose = parent->verbose;
    pager_client_seal(child);
}

/* Host tests of the pager's region bookkeeping and fault policy
 * (servers/pager/regions.c, plan.c): clients, allocation, lookup, freeing
 * and protecting with splits and merges, the stack with its guard page and
 * limit, copy-on-write decisions, clustering, a random model that checks
 * every page's region and protection after random operations, and the
 * seals: every bit flipped in a sealed field is caught, and no operation
 * on a whole record ever reports damage. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mica/errno.h>
#include <mica/syscall.h>

#include "rng.h"
#include "tap.h"
#include "../../servers/pager/plan.h"

#define PG   PAGER_PAGE
#define RW   (MICA_PROT_READ | MICA_PROT_WRITE)
#define RO   MICA_PROT_READ
#define RX   (MICA_PROT_READ | MICA_PROT_EXEC)
#define STACK_LO (MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE)

static struct pager_client cs[PAGER_CLIENTS];

/* The pager stops here (main.c); the tests count. */
static unsigned damaged;
static const struct pager_client *damaged_client;
static const struct pager_region *damaged_region;

void pager_damaged(const struct pager_client *c, const struct pager_region *r)
{
    damaged++;
    damaged_client = c;
    damaged_region = r;
}

static struct pager_client *fresh(void)
{
    memset(cs, 0, sizeof cs);
    return pager_client_add(cs, 5, 9);
}

static unsigned used_slots(struct pager_client *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < PAGER_REGIONS; i++)
        n += c->regions[i].len != 0;
    return n;
}

static void test_clients(void)
{
    memset(cs, 0, sizeof cs);
    CHECK(pager_client_find(cs, 0) == NULL);
    for (unsigned i = 0; i < PAGER_CLIENTS; i++)
        CHECK(pager_client_add(cs, i + 1, 100 + i) != NULL);
    CHECK(pager_client_add(cs, 999, 1) == NULL);
    struct pager_client *c = pager_client_find(cs, 7);
    CHECK(c && c->task == 106 && c->fork_handle == -1 && c->next_va == PAGER_VA_BASE);
    c->used = false;
    pager_client_seal(c); /* as pager_client_drop does */
    CHECK(pager_client_find(cs, 7) == NULL);
    CHECK(pager_client_add(cs, 1000, 2) == c);
    CHECK(pager_client_find(cs, 0) == NULL);
}

static void test_alloc_find(void)
{
    struct pager_client *c = fresh();
    uint64_t a = pager_region_alloc(c, 1, RW, PAGER_ANON);
    uint64_t b = pager_region_alloc(c, 3 * PG, RO, PAGER_ANON);
    CHECK_EQ(a, PAGER_VA_BASE);
    CHECK_EQ(b, a + 2 * PG); /* a guard page between */
    CHECK(pager_region_find(c, a + PG - 1) != NULL);
    CHECK(pager_region_find(c, a + PG) == NULL);
    CHECK(pager_region_find(c, b + 3 * PG - 1)->prot == RO);
    CHECK_EQ(pager_region_alloc(c, 0, RW, PAGER_ANON), 0);
    CHECK_EQ(pager_region_alloc(c, PAGER_VA_LIMIT, RW, PAGER_ANON), 0);
    while (used_slots(c) < PAGER_REGIONS)
        CHECK(pager_region_alloc(c, PG, RW, PAGER_ANON) != 0);
    CHECK_EQ(pager_region_alloc(c, PG, RW, PAGER_ANON), 0);
    /* Fixed placement refuses overlaps and bad ranges. */
    c = fresh();
    CHECK(pager_region_insert(c, 0x10000, 4 * PG, RW, PAGER_ANON, true) != NULL);
    CHECK(pager_region_insert(c, 0x10000 + 3 * PG, PG, RW, PAGER_ANON, false) == NULL);
    CHECK(pager_region_insert(c, 0x10000 - PG, 2 * PG, RW, PAGER_ANON, false) == NULL);
    CHECK(pager_region_insert(c, 0x10001, PG, RW, PAGER_ANON, false) == NULL);
    CHECK(pager_region_insert(c, 0x20000, 0, RW, PAGER_ANON, false) == NULL);
    CHECK(pager_region_insert(c, 0x10000 + 4 * PG, PG, RW, PAGER_ANON, false) != NULL);
}

static void test_remove_and_protect_split(void)
{
    struct pager_client *c = fresh();
    uint64_t a = pager_region_alloc(c, 8 * PG, RW, PAGER_ANON);
    /* Carve the middle: two regions remain. */
    CHECK_EQ(pager_region_remove(c, a + 2 * PG, 3 * PG), 0);
    CHECK_EQ(used_slots(c), 2);
    CHECK(pager_region_find(c, a + PG) && !pager_region_find(c, a + 2 * PG));
    CHECK(!pager_region_find(c, a + 4 * PG) && pager_region_find(c, a + 5 * PG));
    CHECK_EQ(pager_region_remove(c, a + PG, 2 * PG), -MICA_ENOENT); /* a hole in it */
    CHECK_EQ(pager_region_remove(c, a + 5 * PG, 3 * PG), 0);
    CHECK_EQ(used_slots(c), 1);
    /* Protect the middle of a region: three pieces, then merged back. */
    uint64_t b = pager_region_alloc(c, 6 * PG, RW, PAGER_ANON);
    bool cow = true;
    CHECK_EQ(pager_region_protect(c, b + PG, 2 * PG, RO, &cow), 0);
    CHECK(!cow);
    CHECK_EQ(used_slots(c), 4);
    CHECK_EQ(pager_region_find(c, b)->prot, RW);
    CHECK_EQ(pager_region_find(c, b + PG)->prot, RO);
    CHECK_EQ(pager_region_find(c, b + 2 * PG)->len, 2 * PG);
    CHECK_EQ(pager_region_find(c, b + 3 * PG)->prot, RW);
    CHECK_EQ(pager_region_protect(c, b + PG, 2 * PG, RW, NULL), 0);
    CHECK_EQ(used_slots(c), 2);
    CHECK_EQ(pager_region_find(c, b)->len, 6 * PG);
    CHECK_EQ(pager_region_protect(c, b, 7 * PG, RO, NULL), -MICA_ENOENT); /* guard */
    CHECK_EQ(pager_region_protect(c, b + 1, PG, RO, NULL), -MICA_ENOENT);
    /* A full table refuses a split and changes nothing. */
    while (used_slots(c) < PAGER_REGIONS)
        pager_region_alloc(c, PG, RW, PAGER_ANON);
    CHECK_EQ(pager_region_protect(c, b + PG, PG, RO, NULL), -MICA_ENOSPC);
    CHECK_EQ(pager_region_find(c, b + PG)->prot, RW);
    CHECK_EQ(pager_region_remove(c, b + PG, PG), -MICA_ENOSPC);
    CHECK_EQ(pager_region_remove(c, b, 6 * PG), 0); /* whole: no split */
}

static void test_fork_copies(void)
{
    memset(cs, 0, sizeof cs);
    struct pager_client *p = pager_client_add(cs, 1, 10), *k = pager_client_add(cs, 2, 11);
    uint64_t a = pager_region_alloc(p, PG, RW, PAGER_ANON);
    uint64_t b = pager_region_alloc(p, PG, RO, PAGER_ANON);
    p->verbose = true;
    pager_client_seal(p);
    pager_regions_fork(p, k);
    CHECK(pager_region_find(p, a)->cow && pager_region_find(k, a)->cow);
    CHECK(!pager_region_find(p, b)->cow && !pager_region_find(k, b)->cow);
    CHECK_EQ(k->next_va, p->next_va);
    CHECK(k->verbose);
}

static struct pager_plan plan(struct pager_client *c, uint64_t addr, unsigned access)
{
    struct pager_plan p;
    pager_plan_fault(c, addr, access, &p);
    return p;
}

static void test_plan_violations(void)
{
    struct pager_client *c = fresh();
    uint64_t ro = pager_region_alloc(c, PG, RO, PAGER_ANON);
    uint64_t rx = pager_region_alloc(c, PG, RX, PAGER_ANON);
    uint64_t rw = pager_region_alloc(c, PG, RW, PAGER_ANON);
    struct pager_plan p = plan(c, ro + 8, MICA_FAULT_WRITE);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_ACCESS && p.region);
    p = plan(c, ro + 8, MICA_FAULT_READ);
    CHECK(p.kind == PLAN_ZERO && p.va == ro && p.npages == 1 && p.prot == RO);
    p = plan(c, rw, MICA_FAULT_EXEC);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_ACCESS);
    p = plan(c, rx, MICA_FAULT_EXEC);
    CHECK(p.kind == PLAN_ZERO);
    p = plan(c, rw + PG, MICA_FAULT_READ);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_NO_REGION && !p.region);
    /* Present faults: a protection fault kills unless it is a COW write. */
    p = plan(c, ro, MICA_FAULT_WRITE | MICA_FAULT_PRESENT | MICA_FAULT_COW);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_ACCESS);
    p = plan(c, rw, MICA_FAULT_WRITE | MICA_FAULT_PRESENT);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_ACCESS);
    p = plan(c, rw + 5, MICA_FAULT_WRITE | MICA_FAULT_PRESENT | MICA_FAULT_COW |
                            MICA_FAULT_KERNEL);
    CHECK(p.kind == PLAN_COW && p.va == rw && p.prot == RW);
    /* Outside every region even a COW-marked page is nobody's: every fault
     * is judged against a region. */
    p = plan(c, 0x401008, MICA_FAULT_WRITE | MICA_FAULT_PRESENT | MICA_FAULT_COW);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_NO_REGION && !p.region);
    p = plan(c, 0x401008, MICA_FAULT_WRITE | MICA_FAULT_PRESENT);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_NO_REGION);
}

/* The image regions a loader sends: a shared page of a writable one is a
 * COW break, a write to read-only text an access violation, and a page of
 * either that is not there is never made up (only bss is demand-zero). */
static void test_plan_image(void)
{
    struct pager_client *c = fresh();
    CHECK(pager_region_insert(c, 0x400000, 2 * PG, RX, PAGER_IMAGE, false));
    CHECK(pager_region_insert(c, 0x402000, PG, RW, PAGER_IMAGE, false));
    CHECK(pager_region_insert(c, 0x403000, 3 * PG, RW, PAGER_ANON, false));
    /* Fixed regions fill the table from the top, vm_alloc's from the bottom. */
    CHECK(pager_region_find(c, 0x400000) == &c->regions[PAGER_REGIONS - 1]);
    uint64_t a = pager_region_alloc(c, PG, RW, PAGER_ANON);
    CHECK(pager_region_find(c, a) == &c->regions[0]);
    struct pager_plan p = plan(c, 0x402010, MICA_FAULT_WRITE | MICA_FAULT_PRESENT |
                                                MICA_FAULT_COW);
    CHECK(p.kind == PLAN_COW && p.va == 0x402000 && p.prot == RW && p.region);
    p = plan(c, 0x400010, MICA_FAULT_WRITE | MICA_FAULT_PRESENT);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_ACCESS);
    CHECK(strcmp(pager_kind_name(p.region), "image") == 0);
    p = plan(c, 0x401000, MICA_FAULT_EXEC);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_ACCESS);
    p = plan(c, 0x402000, MICA_FAULT_READ);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_ACCESS);
    p = plan(c, 0x404000, MICA_FAULT_WRITE); /* bss */
    CHECK(p.kind == PLAN_ZERO && p.va == 0x404000);
}

static void test_plan_stack(void)
{
    struct pager_client *c = fresh();
    CHECK(pager_region_insert(c, STACK_LO, MICA_USER_STACK_SIZE, RW, PAGER_STACK, false));
    uint64_t top_unmapped = MICA_USER_STACK_TOP - MICA_USER_STACK_MAPPED - PG;
    struct pager_plan p = plan(c, top_unmapped + 100, MICA_FAULT_WRITE);
    CHECK(p.kind == PLAN_STACK && p.npages == PAGER_STACK_CLUSTER);
    CHECK_EQ(p.va + (p.npages - 1) * PG, top_unmapped); /* down from the fault */
    p = plan(c, STACK_LO + PG + 8, MICA_FAULT_READ); /* near the limit: clipped */
    CHECK(p.kind == PLAN_STACK && p.va == STACK_LO && p.npages == 2);
    p = plan(c, STACK_LO, MICA_FAULT_WRITE);
    CHECK(p.kind == PLAN_STACK && p.va == STACK_LO && p.npages == 1);
    p = plan(c, STACK_LO - 8, MICA_FAULT_WRITE);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_GUARD && p.region);
    p = plan(c, STACK_LO - PG - 8, MICA_FAULT_WRITE);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_STACK);
    p = plan(c, STACK_LO - PG - PAGER_STACK_SLACK, MICA_FAULT_READ);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_STACK);
    p = plan(c, STACK_LO - 2 * PG - PAGER_STACK_SLACK, MICA_FAULT_READ);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_NO_REGION);
    p = plan(c, STACK_LO + 8, MICA_FAULT_EXEC);
    CHECK(p.kind == PLAN_KILL && p.reason == MICA_FAULT_REASON_ACCESS);
    CHECK(strcmp(pager_kind_name(p.region), "stack") == 0);
}

static void test_plan_cluster(void)
{
    struct pager_client *c = fresh();
    uint64_t a = pager_region_alloc(c, 20 * PG, RW, PAGER_ANON);
    c->last_page = 0;
    struct pager_plan p = plan(c, a, MICA_FAULT_WRITE);
    CHECK(p.npages == 1);
    c->last_page = a;
    p = plan(c, a + PG, MICA_FAULT_WRITE);
    CHECK(p.va == a + PG && p.npages == PAGER_CLUSTER);
    c->last_page = a + 15 * PG;
    p = plan(c, a + 16 * PG, MICA_FAULT_READ);
    CHECK(p.npages == 4); /* clipped at the region's end */
    c->last_page = a + 3 * PG; /* not the page just below */
    p = plan(c, a + 5 * PG, MICA_FAULT_READ);
    CHECK(p.npages == 1);
    c->last_page = a + 6 * PG; /* downward walk: no cluster */
    p = plan(c, a + 5 * PG, MICA_FAULT_READ);
    CHECK(p.npages == 1);
}

/* The pager's lookup of a message's sender (main.c's dispatch): find,
 * and when the table lacks the sender, check every slot in use. */
static struct pager_client *sender(uint64_t badge)
{
    struct pager_client *c = pager_client_find(cs, badge);
    if (!c)
        pager_clients_check(cs);
    return c;
}

/* Flip every bit of every sealed word in turn: the lookup reports the
 * record (or the region) damaged, with the record or region it returns
 * or, for a key that no longer matches, from the check of every slot. */
static void test_seal_catches_every_flip(void)
{
    memset(cs, 0, sizeof cs);
    struct pager_client *p = pager_client_add(cs, 3, 40), *c = pager_client_add(cs, 9, 41);
    uint64_t a = pager_region_alloc(c, 4 * PG, RW, PAGER_ANON);
    CHECK(pager_region_insert(c, STACK_LO, MICA_USER_STACK_SIZE, RW, PAGER_STACK, false));
    c->parent = 3;
    c->fork_handle = 12;
    c->fork_badge = PAGER_FORK_BADGE_BASE + 1;
    pager_client_seal(c);
    (void)p;
    damaged = 0;
    uint64_t *client_words[] = {&c->badge, &c->task, &c->parent, &c->next_va,
                                (uint64_t *)&c->fork_handle, &c->fork_badge, &c->seal};
    unsigned missed = 0;
    for (unsigned w = 0; w < sizeof client_words / sizeof client_words[0]; w++)
        for (unsigned bit = 0; bit < 64; bit++) {
            *client_words[w] ^= 1ull << bit;
            unsigned before = damaged;
            sender(9);
            missed += damaged == before || damaged_client != c || damaged_region;
            *client_words[w] ^= 1ull << bit;
        }
    /* The flags (only their values: another byte is not a bool, and
     * UBSan would stop at its load). */
    unsigned before = damaged;
    c->used = false;
    sender(9);
    c->used = true;
    c->verbose = true;
    sender(9);
    c->verbose = false;
    missed += damaged != before + 2;
    CHECK_EQ(missed, 0);
    /* The regions: the one found, and all of them in the check that fork
     * and the checkpoint run. */
    struct pager_region *r = pager_region_find(c, a);
    uint64_t *region_words[] = {&r->va, &r->len, &r->seal};
    for (unsigned w = 0; w < 3; w++)
        for (unsigned bit = 0; bit < 64; bit++) {
            if (region_words[w] == &r->len && r->len == 1ull << bit)
                continue; /* it would look free: caught at reuse, below */
            *region_words[w] ^= 1ull << bit;
            unsigned before = damaged;
            pager_client_check(c, PAGER_ALL_REGIONS); /* as free, protect and fork do */
            missed += damaged == before || damaged_region != r;
            *region_words[w] ^= 1ull << bit;
        }
    for (unsigned bit = 0; bit < 32; bit++) {
        r->prot ^= 1u << bit;
        unsigned before = damaged;
        pager_region_find(c, a + PG);
        missed += damaged == before || damaged_region != r;
        r->prot ^= 1u << bit;
    }
    r->cow = !r->cow;
    before = damaged;
    pager_region_find(c, a);
    missed += damaged == before;
    r->cow = !r->cow;
    CHECK_EQ(missed, 0);
    /* A free slot damaged to look live, or a live one to look free. */
    c->regions[5].len = PG;
    before = damaged;
    pager_client_check(c, PAGER_ALL_REGIONS);
    CHECK(damaged > before && damaged_region == &c->regions[5]);
    c->regions[5].len = 0;
    r->len = 0;
    before = damaged;
    pager_region_alloc(c, PG, RW, PAGER_ANON); /* takes the first "free" slot: r's */
    CHECK(damaged > before && damaged_region == r);
    /* Damage outside the sealed fields is not reported. */
    memset(cs, 0, sizeof cs);
    c = pager_client_add(cs, 9, 41);
    a = pager_region_alloc(c, PG, RW, PAGER_ANON);
    c->last_page = 77;
    c->id = 5;
    c->dirty ^= 1;
    damaged = 0;
    CHECK(sender(9) == c && pager_region_find(c, a));
    CHECK_EQ(damaged, 0);
    /* A freed slot keeps no badge, so the check of every slot skips it. */
    pager_client_free(c);
    CHECK(c->badge == 0 && !c->used && sender(9) == NULL);
    CHECK_EQ(damaged, 0);
}

/* Random alloc/free/protect against a per-page model of a small window. */
#define WIN_PAGES 256
static void test_random_model(void)
{
    rng_state = 0x9e3779b97f4a7c15ull;
    damaged = 0;
    for (int round = 0; round < 40; round++) {
        struct pager_client *c = fresh();
        unsigned model[WIN_PAGES] = {0}; /* 0: no region, else prot */
        for (int op = 0; op < 400; op++) {
            unsigned kind = (unsigned)(rng() % 3);
            unsigned prot = (unsigned[]){RO, RW, RX}[rng() % 3];
            if (kind == 0) {
                uint64_t n = 1 + rng() % 8;
                uint64_t va = pager_region_alloc(c, n * PG - rng() % PG, prot, PAGER_ANON);
                if (!va)
                    continue;
                uint64_t i = (va - PAGER_VA_BASE) / PG;
                if (i + n > WIN_PAGES) { /* out of the window: forget it */
                    CHECK_EQ(pager_region_remove(c, va, n * PG), 0);
                    continue;
                }
                for (uint64_t k = 0; k < n; k++) {
                    CHECK_EQ(model[i + k], 0);
                    model[i + k] = prot;
                }
                continue;
            }
            uint64_t i = rng() % WIN_PAGES, n = 1 + rng() % 6;
            if (i + n > WIN_PAGES)
                n = WIN_PAGES - i;
            bool covered = true;
            for (uint64_t k = 0; k < n; k++)
                covered &= model[i + k] != 0;
            uint64_t va = PAGER_VA_BASE + i * PG;
            int rc = kind == 1 ? pager_region_remove(c, va, n * PG)
                               : pager_region_protect(c, va, n * PG, prot, NULL);
            if (!covered) {
                CHECK_EQ(rc, -MICA_ENOENT);
                continue;
            }
            CHECK(rc == 0 || rc == -MICA_ENOSPC);
            if (rc == 0)
                for (uint64_t k = 0; k < n; k++)
                    model[i + k] = kind == 1 ? 0 : prot;
        }
        for (unsigned k = 0; k < WIN_PAGES; k++) {
            struct pager_region *r = pager_region_find(c, PAGER_VA_BASE + k * PG);
            CHECK_EQ(r ? r->prot : 0, model[k]);
        }
        /* Regions never overlap. */
        for (unsigned x = 0; x < PAGER_REGIONS; x++)
            for (unsigned y = x + 1; y < PAGER_REGIONS; y++) {
                struct pager_region *p = &c->regions[x], *q = &c->regions[y];
                CHECK(!p->len || !q->len || p->va + p->len <= q->va || q->va + q->len <= p->va);
            }
        pager_client_check(c, PAGER_ALL_REGIONS); /* every store resealed */
    }
    CHECK_EQ(damaged, 0);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_clients),         TAP(test_alloc_find),      TAP(test_remove_and_protect_split),
        TAP(test_fork_copies),     TAP(test_plan_violations), TAP(test_plan_image),
        TAP(test_plan_stack),
        TAP(test_plan_cluster),    TAP(test_seal_catches_every_flip),
        TAP(test_random_model),
    };
    return tap_run(tests, sizeof tests / sizeof tests[0]);
}

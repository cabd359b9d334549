/* libFuzzer target for the pager's bookkeeping and fault policy
 * (servers/pager/regions.c, plan.c). The input is a program of 4-byte
 * operations on two clients: vm_alloc, vm_free, vm_protect and fixed
 * placements in a window of 256 pages, forks, and faults of any access at
 * any page near the window or the stack. A page model of the window is
 * kept beside the real tables. After every operation:
 *   - no two live regions overlap, and each is page-aligned and not empty;
 *   - a free region slot is all zero, and every seal holds (a store that
 *     forgot to reseal would make the pager stop itself: pager_damaged
 *     aborts here);
 *   - every page of the window lies in a region with the model's
 *     protection, or in none when the model says so;
 * and every fault plan that maps pages maps only pages of the region the
 * fault is in, with that region's protection, which allows the access. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mica/errno.h>
#include <mica/syscall.h>

#include "../../servers/pager/plan.h"
#include "fuzz_check.h"

#define PG       PAGER_PAGE
#define WIN      256 /* pages in the modelled window */
#define FIXED_VA 0x100000ull /* fixed placements go here, below the bump range */
#define STACK_LO (MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE)

void pager_damaged(const struct pager_client *c, const struct pager_region *r)
{
    fprintf(stderr, "seal mismatch on a whole record (client %p, region %p)\n", (void *)c,
            (void *)r);
    abort();
}

static struct pager_client cs[PAGER_CLIENTS];
static unsigned model[WIN]; /* the fixed window's protection per page, 0: none */

static const unsigned prots[] = {MICA_PROT_READ, MICA_PROT_READ | MICA_PROT_WRITE,
                                 MICA_PROT_READ | MICA_PROT_EXEC};

static void check_tables(struct pager_client *c)
{
    pager_client_check(c, PAGER_ALL_REGIONS);
    for (unsigned i = 0; i < PAGER_REGIONS; i++) {
        const struct pager_region *a = &c->regions[i];
        if (!a->len) {
            FUZZ_CHECK((a->va | a->prot | a->kind | a->cow | a->seal) == 0);
            continue;
        }
        FUZZ_CHECK(((a->va | a->len) & (PG - 1)) == 0 && a->va + a->len > a->va);
        for (unsigned j = i + 1; j < PAGER_REGIONS; j++) {
            const struct pager_region *b = &c->regions[j];
            FUZZ_CHECK(!b->len || a->va + a->len <= b->va || b->va + b->len <= a->va);
        }
    }
}

static void check_window(struct pager_client *c)
{
    for (unsigned k = 0; k < WIN; k++) {
        const struct pager_region *r = pager_region_find(c, FIXED_VA + k * PG);
        FUZZ_CHECK((r ? r->prot : 0) == model[k]);
    }
}

/* A fault at addr with access bits: a plan that maps pages maps pages of
 * the faulting address's region only (or, for a stack, of that stack). */
static void check_fault(struct pager_client *c, uint64_t addr, unsigned access)
{
    struct pager_plan p;
    pager_plan_fault(c, addr, access, &p);
    if (p.kind == PLAN_KILL)
        return;
    const struct pager_region *r = pager_region_find(c, addr & ~(PG - 1));
    FUZZ_CHECK(r && p.region == r && p.npages >= 1);
    FUZZ_CHECK(p.va >= r->va && p.va + p.npages * PG <= r->va + r->len);
    FUZZ_CHECK(p.prot == r->prot);
    FUZZ_CHECK(p.va <= (addr & ~(PG - 1)) && (addr & ~(PG - 1)) < p.va + p.npages * PG);
    if (access & MICA_FAULT_WRITE)
        FUZZ_CHECK(r->prot & MICA_PROT_WRITE);
    /* A page that is not there is mapped for an instruction fetch only in
     * an executable region. (A present page's only mapping plan is a
     * copy-on-write break, for a write; hardware never reports a write
     * and a fetch at once, and a client that sends both in a fault
     * message of its own gets the region's protection, nothing more.) */
    if ((access & MICA_FAULT_EXEC) && !(access & MICA_FAULT_PRESENT))
        FUZZ_CHECK(r->prot & MICA_PROT_EXEC);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(cs, 0, sizeof cs);
    memset(model, 0, sizeof model);
    struct pager_client *c = pager_client_add(cs, 1, 10);
    struct pager_client *k = pager_client_add(cs, 2, 11);
    FUZZ_CHECK(c && k && pager_client_find(cs, 1) == c);
    pager_region_insert(c, STACK_LO, MICA_USER_STACK_SIZE, prots[1], PAGER_STACK, false);
    for (size_t at = 0; at + 4 <= size; at += 4) {
        const uint8_t *op = data + at;
        unsigned i = op[1] % WIN, n = 1 + op[2] % 8;
        unsigned prot = prots[op[3] % 3];
        if (i + n > WIN)
            n = WIN - i;
        bool covered = true, empty = true;
        for (unsigned j = 0; j < n; j++) {
            covered &= model[i + j] != 0;
            empty &= model[i + j] == 0;
        }
        uint64_t va = FIXED_VA + (uint64_t)i * PG;
        switch (op[0] % 8) {
        case 0: { /* vm_alloc from the bump pointer: outside the window */
            uint64_t got = pager_region_alloc(c, (uint64_t)n * PG - op[3] % PG, prot, PAGER_ANON);
            FUZZ_CHECK(!got || (got >= PAGER_VA_BASE && got < PAGER_VA_LIMIT));
            break;
        }
        case 1: { /* a fixed placement in the window */
            struct pager_region *r = pager_region_insert(c, va, (uint64_t)n * PG, prot,
                                                         PAGER_ANON, op[3] & 4);
            FUZZ_CHECK(!r || empty); /* never over another region */
            if (r)
                for (unsigned j = 0; j < n; j++)
                    model[i + j] = prot;
            break;
        }
        case 2: { /* vm_free in the window */
            int rc = pager_region_remove(c, va, (uint64_t)n * PG);
            FUZZ_CHECK(covered ? rc == 0 || rc == -MICA_ENOSPC : rc == -MICA_ENOENT);
            if (rc == 0)
                for (unsigned j = 0; j < n; j++)
                    model[i + j] = 0;
            break;
        }
        case 3: { /* vm_protect in the window */
            int rc = pager_region_protect(c, va, (uint64_t)n * PG, prot, NULL);
            FUZZ_CHECK(covered ? rc == 0 || rc == -MICA_ENOSPC : rc == -MICA_ENOENT);
            if (rc == 0)
                for (unsigned j = 0; j < n; j++)
                    model[i + j] = prot;
            break;
        }
        case 4: /* fork c into k (the child's previous regions are replaced) */
            memset(k->regions, 0, sizeof k->regions);
            pager_regions_fork(c, k);
            check_tables(k);
            check_window(k);
            break;
        case 5: /* a fault in or near the window */
            check_fault(c, FIXED_VA + ((uint64_t)(op[1] | op[2] << 8) % (WIN + 16)) * PG +
                               op[3] % PG,
                        op[3] & (MICA_FAULT_WRITE | MICA_FAULT_EXEC | MICA_FAULT_PRESENT |
                                 MICA_FAULT_COW));
            break;
        case 6: /* a fault on the stack, its guard or below it */
            check_fault(c, STACK_LO + MICA_USER_STACK_SIZE - 1 -
                               (uint64_t)(op[1] | op[2] << 8) * 64,
                        op[3] & (MICA_FAULT_WRITE | MICA_FAULT_EXEC | MICA_FAULT_PRESENT));
            break;
        case 7: /* a fault in the child, which may hold the parent's regions */
            check_fault(k, FIXED_VA + (uint64_t)op[1] * PG, op[3] & MICA_FAULT_WRITE);
            break;
        }
        check_tables(c);
        check_window(c);
    }
    return 0;
}

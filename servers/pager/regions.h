/* The pager's bookkeeping: its clients (named by badge, each with a task
 * handle for its address space) and each client's regions. Pure logic, no
 * system calls, so tests/host/test_pager_regions.c runs it on the host.
 *
 * A region is [va, va+len) with a protection, a kind and a COW flag:
 *   PAGER_ANON   demand-zero memory (vm_alloc, or a copy-on-write share);
 *   PAGER_STACK  a stack: demand-zero too, but it has a guard page just
 *                below its base (a fault there is MICA_FAULT_REASON_GUARD)
 *                and faults in it map a few pages downward at once;
 *   PAGER_IMAGE  pages of a program segment that its loader filled: never
 *                demand-zeroed (their contents cannot be made up), but a
 *                write to a shared page of a writable one is a COW break;
 *   cow          the region may hold frames shared copy-on-write (after a
 *                fork or vm_share_cow); reports say so. The kernel marks
 *                each shared page itself (MICA_FAULT_COW), and a write to
 *                a marked page of a writable region gets MICA_SYS_MAP_COW.
 *
 * Cost: fixed arrays, PAGER_CLIENTS clients of PAGER_REGIONS regions each
 * (896 bytes per client); finding a client or a region is a linear scan
 * (at most 64 or 32 compares), below the cost of the IPC round trip that
 * brings the question. Regions at fixed addresses (pager_region_insert)
 * take the highest free slots, those of pager_region_alloc the lowest,
 * so the scans meet the vm_alloc regions, which most faults hit, first. Address space is handed out by a per-client bump
 * pointer from PAGER_VA_BASE, with one unmapped guard page after every
 * region; freed ranges are not reused (2^44 bytes per client). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mica/syscall.h>

#define PAGER_CLIENTS  64
#define PAGER_REGIONS  32
#define PAGER_VA_BASE  0x0000300000000000ull
#define PAGER_VA_LIMIT 0x0000400000000000ull
#define PAGER_PAGE     4096ull
/* Badges the pager gives forked clients start here (init's are small). */
#define PAGER_FORK_BADGE_BASE (1ull << 40)

/* The same numbers as the MICA_REGION_* kinds a loader sends (mica/vm.h). */
enum pager_kind { PAGER_ANON = 1, PAGER_STACK = 2, PAGER_IMAGE = 3 };

struct pager_region {
    uint64_t va, len; /* len 0: free slot, all of it zero */
    unsigned prot;    /* MICA_PROT_* */
    uint8_t kind;     /* enum pager_kind */
    bool cow;         /* may hold copy-on-write shares */
    uint64_t seal;    /* pager_region_seal_of(this): pager_region_changed keeps it */
};

struct pager_client {
    bool used;
    bool verbose;            /* print a line per decision (PAGER_VM_VERBOSE) */
    uint64_t badge;
    uint64_t task;           /* the pager's task handle for the client (MAP) */
    uint64_t parent;         /* badge of the client that forked it, or 0 */
    bool asked;              /* its task was asked for its id and name (fault.c) */
    uint32_t id;             /* its task's id and name, for report lines (0, "": unknown) */
    char name[MICA_NAME_MAX];
    uint64_t next_va;        /* bump pointer */
    uint64_t last_page, last_thread; /* the previous fault: loops, clustering */
    unsigned repeats;        /* faults in a row of that thread on that page, after the first */
    long fork_handle;        /* prepared by PAGER_VM_FORK_PREP, or -1 */
    uint64_t fork_badge;     /* its badge */
    uint64_t seal;           /* pager_client_seal_of(this): pager_client_seal keeps it */
    uint32_t dirty;          /* bit j: regions[j] changed since the checkpoint saw it */
    struct pager_region regions[PAGER_REGIONS];
};

/* Seals: damage to the pager's own memory (a bit flipped by fault
 * injection's mem_flip, a stray store) must not make it act for the wrong
 * task or on the wrong range. A damaged task handle in a client record
 * once made the pager map for one task and probe another's death, keeping
 * a dead task for ever. So every client record is sealed over the fields
 * that say whom it acts for (used, verbose, badge, task, parent, next_va,
 * fork_handle, fork_badge) and every region over its fields; whoever
 * stores to them reseals (pager_client_seal, pager_region_changed).
 * pager_client_find and pager_region_find check what they return; the
 * pager checks every client slot in use when a message's sender is not
 * found (a damaged key may be what hid it: pager_clients_check), a free
 * region slot before reusing it, a parent's regions before a fork copies
 * them, and what the checkpoint is about to write. A failed check calls
 * pager_damaged. Cost: 7 rounds of pager_seal_mix per client check, 3
 * per region check; a fault checks one of each (59 instructions of
 * fault_demand_zero_single, docs/performance.md). The fields that only name a client in reports or
 * steer clustering (asked, id, name, last_page, last_thread, repeats)
 * and the checkpoint's dirty bits are not sealed: damage there costs a
 * wrong line, a wrong guess or a stale checkpoint record, never another
 * task's memory. */

/* One round of mixing: for every fixed h a bijection of w and for every
 * fixed w one of h, so that a change in any one word (or in the seal)
 * always shows; all-zero words give 0, so zeroed memory is sealed. */
static inline uint64_t pager_seal_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return h << 29 | h >> 35;
}

/* The seal r should carry. */
static inline uint64_t pager_region_seal_of(const struct pager_region *r)
{
    uint64_t h = pager_seal_mix(0, r->va);
    h = pager_seal_mix(h, r->len);
    return pager_seal_mix(h, r->prot | (uint64_t)r->kind << 32 | (uint64_t)r->cow << 40);
}

/* The seal client record c should carry. */
static inline uint64_t pager_client_seal_of(const struct pager_client *c)
{
    uint64_t h = pager_seal_mix(0, (uint64_t)c->used | (uint64_t)c->verbose << 8);
    h = pager_seal_mix(h, c->badge);
    h = pager_seal_mix(h, c->task);
    h = pager_seal_mix(h, c->parent);
    h = pager_seal_mix(h, c->next_va);
    h = pager_seal_mix(h, (uint64_t)c->fork_handle);
    return pager_seal_mix(h, c->fork_badge);
}

/* Reseal c after a store to a sealed field of it (not its regions). */
static inline void pager_client_seal(struct pager_client *c)
{
    c->seal = pager_client_seal_of(c);
}

/* Note that r, one of c's regions, changed: reseal it, and mark it for
 * the checkpoint. Every store to a region goes with one. */
static inline void pager_region_changed(struct pager_client *c, struct pager_region *r)
{
    r->seal = pager_region_seal_of(r);
    c->dirty |= 1u << (r - c->regions);
}

/* Reseal c and all its regions: only for a record just built from a
 * source that was checked itself (the checkpoint's checksummed records). */
void pager_client_reseal_all(struct pager_client *c);

/* What a failed check calls, with the record (and r, the region, or NULL
 * for the record's own fields). Defined by the program that links this
 * file: the pager reports the slot and stops, so that init restarts it
 * from its checkpoint (main.c); host tests count the calls. */
void pager_damaged(const struct pager_client *c, const struct pager_region *r);

/* Check c's seal, and regions[j]'s for every bit j of `regions`
 * (PAGER_ALL_REGIONS: all) whose slot is live: pager_damaged on the
 * first mismatch. */
#define PAGER_ALL_REGIONS 0xffffffffu
_Static_assert(PAGER_REGIONS == 32, "PAGER_ALL_REGIONS and dirty hold a bit per region");
void pager_client_check(const struct pager_client *c, uint32_t regions);

/* The client with `badge` (not 0), or NULL. Checks the seal of the one
 * it returns. */
struct pager_client *pager_client_find(struct pager_client *cs, uint64_t badge);

/* Check every client slot that is or was in use (used, or a badge): for
 * a message whose sender the table lacks, since a damaged badge or used
 * flag may be what hid it. Slots never used, or freed by
 * pager_client_free, are all zero but for stale fields, and skipped. */
void pager_clients_check(const struct pager_client *cs);

/* Mark slot c free (used and badge cleared, resealed); its regions stay
 * until the slot is reused. */
void pager_client_free(struct pager_client *c);

/* A free client slot set up for badge/task (no regions), or NULL when full. */
struct pager_client *pager_client_add(struct pager_client *cs, uint64_t badge, uint64_t task);

/* Reserve len bytes (rounded up to pages; not 0) of `kind` with prot from
 * the bump pointer. Returns the address, or 0 when the region table or the
 * address range is full. */
uint64_t pager_region_alloc(struct pager_client *c, uint64_t len, unsigned prot, unsigned kind);

/* Record a region at a fixed, page-aligned [va, va+len) (len > 0). Returns
 * it, or NULL when it overlaps a region or the table is full. */
struct pager_region *pager_region_insert(struct pager_client *c, uint64_t va, uint64_t len,
                                         unsigned prot, unsigned kind, bool cow);

/* The region holding va, or NULL. Checks the seal of the one it returns
 * (a region hidden by damage is not looked for: the fault or request
 * that misses it fails for that client alone). */
struct pager_region *pager_region_find(struct pager_client *c, uint64_t va);

/* Whether the page-aligned [va, va+len) is wholly covered by regions
 * (several adjacent ones may cover it). */
bool pager_range_covered(struct pager_client *c, uint64_t va, uint64_t len);

/* Forget the page-aligned [va, va+len), splitting regions at its ends.
 * Returns 0, -MICA_ENOENT (not wholly covered; nothing changed) or
 * -MICA_ENOSPC (a split needs a free slot; nothing changed). */
int pager_region_remove(struct pager_client *c, uint64_t va, uint64_t len);

/* Set prot on the page-aligned [va, va+len), splitting regions at its
 * ends. *cow (may be NULL) is set when a region in the range is cow.
 * Returns 0, -MICA_ENOENT or -MICA_ENOSPC (nothing changed). */
int pager_region_protect(struct pager_client *c, uint64_t va, uint64_t len, unsigned prot,
                         bool *cow);

/* Copy parent's regions into child for a fork: every writable region of
 * both becomes cow. child->next_va follows the parent's. */
void pager_regions_fork(struct pager_client *parent, struct pager_client *child);

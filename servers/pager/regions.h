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
    uint64_t va, len; /* len 0: free slot */
    unsigned prot;    /* MICA_PROT_* */
    uint8_t kind;     /* enum pager_kind */
    bool cow;         /* may hold copy-on-write shares */
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
    uint32_t dirty;          /* bit j: regions[j] changed since the checkpoint saw it */
    struct pager_region regions[PAGER_REGIONS];
};

/* Note that r, one of c's regions, changed (for the checkpoint). Every
 * store to a region goes with one. */
static inline void pager_region_changed(struct pager_client *c, const struct pager_region *r)
{
    c->dirty |= 1u << (r - c->regions);
}

/* The client with `badge` (not 0), or NULL. */
struct pager_client *pager_client_find(struct pager_client *cs, uint64_t badge);

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

/* The region holding va, or NULL. */
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

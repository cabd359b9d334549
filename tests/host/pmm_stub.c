/* A stand-in page-frame allocator for host tests of the heap and the slab
 * allocator: the pmm.h allocation calls over simulated physical memory,
 * with a bitmap of used frames and the order of every allocated block, so
 * that a wrong free (wrong order, free frame, never allocated) panics.
 *
 * Test controls (declared by the tests that use them):
 *   void pmm_stub_init(uint64_t bytes);   fresh simulated memory, all free
 *   void pmm_stub_destroy(void);
 *   uint64_t pmm_stub_blocks_out(void);   blocks allocated and not freed
 *   int pmm_stub_fail_after;              < 0: never fail; otherwise that
 *                                         many more allocations succeed,
 *                                         then every one fails (ENOMEM). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mica/errno.h>
#include "lib/assert.h"
#include "mm/pmm.h"
#include "sim.h"

int pmm_stub_fail_after = -1;

static struct {
    void *mem;
    uint64_t bytes;
    uint64_t nframes;
    uint8_t *used;   /* 1 per frame in use (frame 0 is always reserved) */
    int8_t *order;   /* order of the block starting at this frame, or -1 */
    uint64_t free;
    uint64_t blocks_out;
} stub;

void pmm_stub_init(uint64_t bytes);
void pmm_stub_destroy(void);
uint64_t pmm_stub_blocks_out(void);

void pmm_stub_init(uint64_t bytes)
{
    stub.mem = sim_phys_create(bytes);
    stub.bytes = bytes;
    stub.nframes = bytes / PAGE_SIZE;
    stub.used = calloc(stub.nframes, 1);
    stub.order = malloc(stub.nframes);
    if (!stub.used || !stub.order)
        abort();
    memset(stub.order, -1, stub.nframes);
    stub.used[0] = 1; /* physical address 0 is never handed out */
    stub.free = stub.nframes - 1;
    stub.blocks_out = 0;
    pmm_stub_fail_after = -1;
}

void pmm_stub_destroy(void)
{
    sim_phys_destroy(stub.mem, stub.bytes);
    free(stub.used);
    free(stub.order);
    memset(&stub, 0, sizeof(stub));
}

uint64_t pmm_stub_blocks_out(void)
{
    return stub.blocks_out;
}

static bool injected_failure(void)
{
    if (pmm_stub_fail_after < 0)
        return false;
    if (pmm_stub_fail_after == 0)
        return true;
    pmm_stub_fail_after--;
    return false;
}

int pmm_alloc_pages(unsigned order, paddr_t *pa)
{
    if (order > PMM_MAX_ORDER)
        return -MICA_EINVAL;
    if (injected_failure())
        return -MICA_ENOMEM;
    uint64_t n = 1ULL << order;
    for (uint64_t f = 0; f + n <= stub.nframes; f += n) {
        uint64_t i = 0;
        while (i < n && !stub.used[f + i])
            i++;
        if (i < n)
            continue;
        memset(stub.used + f, 1, n);
        stub.order[f] = (int8_t)order;
        stub.free -= n;
        stub.blocks_out++;
        *pa = f * PAGE_SIZE;
        return 0;
    }
    return -MICA_ENOMEM;
}

int pmm_alloc_frame(paddr_t *pa)
{
    return pmm_alloc_pages(0, pa);
}

void pmm_free_pages(paddr_t pa, unsigned order)
{
    uint64_t f = pa / PAGE_SIZE;
    KASSERT(pa % PAGE_SIZE == 0 && f < stub.nframes, "pmm_stub: free of bad address %#lx",
            (unsigned long)pa);
    KASSERT(stub.order[f] == (int)order, "pmm_stub: free of %#lx with order %u, allocated with %d",
            (unsigned long)pa, order, stub.order[f]);
    uint64_t n = 1ULL << order;
    for (uint64_t i = 0; i < n; i++)
        KASSERT(stub.used[f + i], "pmm_stub: frame %#lx is already free",
                (unsigned long)((f + i) * PAGE_SIZE));
    memset(stub.used + f, 0, n);
    stub.order[f] = -1;
    stub.free += n;
    stub.blocks_out--;
}

void pmm_free_frame(paddr_t pa)
{
    pmm_free_pages(pa, 0);
}

void pmm_get_stats(struct pmm_stats *s)
{
    s->total = stub.nframes - 1;
    s->free = stub.free;
    s->used = s->total - s->free;
}

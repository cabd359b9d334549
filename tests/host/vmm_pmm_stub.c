/* A stand-in page-frame allocator for host tests of the page-table code: a
 * byte map over simulated physical memory, handing out frames next-fit so
 * that a freed table page is not reused at once. Allocated frames are
 * filled with 0xa5 (the real allocator does not zero either) and freed ones
 * with 0x5a, so reading a stale table shows up as garbage. It also keeps
 * the per-frame aux word of mm/pmm.h, with the real allocator's rules (0
 * after allocation, must be 0 again at free), and can be told to fail.
 *
 * Control functions (declared by the tests that use the stub):
 *   stub_pmm_init(frames)  fresh simulated memory; frame 0 is never handed out
 *   stub_pmm_fini()        release it
 *   stub_pmm_fail_after(n) let n more allocations succeed, then fail all
 *                          (n < 0: never fail)
 *   stub_pmm_used()        frames allocated now
 *   stub_pmm_allocated(pa) is the frame at pa allocated? */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <mica/errno.h>

#include "lib/assert.h"
#include "mm/pmm.h"
#include "sim.h"

static uint8_t *mem;
static uint64_t nframes, nfree, cursor;
static uint8_t *used;
static uint16_t *aux;
static long fail_in = -1;

void stub_pmm_init(uint64_t frames)
{
    mem = sim_phys_create(frames * PAGE_SIZE);
    nframes = frames;
    used = calloc(frames, 1);
    aux = calloc(frames, sizeof *aux);
    if (!used || !aux)
        abort();
    used[0] = 1; /* physical 0 stays out, as in the kernel */
    nfree = frames - 1;
    cursor = 1;
    fail_in = -1;
}

void stub_pmm_fini(void)
{
    sim_phys_destroy(mem, nframes * PAGE_SIZE);
    free(used);
    free(aux);
    mem = NULL;
    used = NULL;
    aux = NULL;
    nframes = nfree = 0;
}

void stub_pmm_fail_after(long n)
{
    fail_in = n;
}

uint64_t stub_pmm_used(void)
{
    return nframes - 1 - nfree;
}

bool stub_pmm_allocated(paddr_t pa)
{
    return (pa >> PAGE_SHIFT) < nframes && used[pa >> PAGE_SHIFT] && pa != 0;
}

int pmm_alloc_frame(paddr_t *pa)
{
    if (fail_in == 0 || nfree == 0)
        return -MICA_ENOMEM;
    if (fail_in > 0)
        fail_in--;
    while (used[cursor])
        cursor = (cursor + 1) % nframes;
    used[cursor] = 1;
    aux[cursor] = 0;
    nfree--;
    memset(mem + cursor * PAGE_SIZE, 0xa5, PAGE_SIZE);
    *pa = cursor << PAGE_SHIFT;
    return 0;
}

static uint64_t checked_pfn(paddr_t pa, const char *op)
{
    uint64_t pfn = pa >> PAGE_SHIFT;
    KASSERT(IS_ALIGNED(pa, PAGE_SIZE) && pfn > 0 && pfn < nframes,
            "%s: 0x%llx is not a frame of the stub", op, (unsigned long long)pa);
    return pfn;
}

void pmm_free_frame(paddr_t pa)
{
    uint64_t pfn = checked_pfn(pa, "pmm_free_frame");
    KASSERT(used[pfn], "pmm_free_frame: 0x%llx is already free", (unsigned long long)pa);
    KASSERT(aux[pfn] == 0, "pmm_free_frame: 0x%llx freed with aux %u",
            (unsigned long long)pa, aux[pfn]);
    used[pfn] = 0;
    nfree++;
    memset(mem + pfn * PAGE_SIZE, 0x5a, PAGE_SIZE);
}

uint16_t pmm_frame_aux(paddr_t pa)
{
    uint64_t pfn = checked_pfn(pa, "pmm_frame_aux");
    KASSERT(used[pfn], "pmm_frame_aux: 0x%llx is free", (unsigned long long)pa);
    return aux[pfn];
}

void pmm_frame_set_aux(paddr_t pa, uint16_t v)
{
    uint64_t pfn = checked_pfn(pa, "pmm_frame_set_aux");
    KASSERT(used[pfn], "pmm_frame_set_aux: 0x%llx is free", (unsigned long long)pa);
    aux[pfn] = v;
}

void pmm_get_stats(struct pmm_stats *s)
{
    s->total = nframes - 1;
    s->free = nfree;
    s->used = s->total - nfree;
}

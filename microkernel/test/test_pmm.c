/* In-kernel tests of the page-frame allocator on the machine's real memory
 * map: frame reuse, block alignment, shared references and exhaustion. */
#include <mica/errno.h>

#include "mm/phys.h"
#include "mm/pmm.h"
#include "test/ktest.h"

/* The per-CPU cache is a LIFO stack: a frame just freed is the next one
 * allocated on the same CPU. */
KTEST(seed_pmm_alloc_free_reuse)
{
    paddr_t a, b, c;

    KREQUIRE(t, pmm_alloc_frame(&a) == 0);
    if (pmm_alloc_frame(&b) != 0) {
        pmm_free_frame(a);
        KREQUIRE(t, false);
    }
    KEXPECT(t, a != b);
    pmm_free_frame(a);
    KEXPECT_EQ(t, pmm_alloc_frame(&c), 0);
    KEXPECT_EQ(t, c, a);
    pmm_free_frame(c);
    pmm_free_frame(b);
}

KTEST(pmm_alloc_pages_aligned)
{
    struct pmm_stats before, after;
    paddr_t pa;

    pmm_get_stats(&before);
    for (unsigned order = 0; order <= PMM_MAX_ORDER; order++) {
        int rc = pmm_alloc_pages(order, &pa);
        KEXPECT_EQ(t, rc, 0);
        if (rc != 0)
            continue;
        uint64_t frames = 1ull << order;
        KEXPECT_EQ(t, pa & ((PAGE_SIZE << order) - 1), 0);
        KEXPECT_EQ(t, pmm_refcount(pa), 1);
        KEXPECT_EQ(t, pmm_refcount(pa + (frames - 1) * PAGE_SIZE), 1);
        pmm_get_stats(&after);
        KEXPECT_EQ(t, after.free, before.free - frames);
        pmm_free_pages(pa, order);
        KEXPECT_EQ(t, pmm_refcount(pa), 0);
    }
    KEXPECT_EQ(t, pmm_alloc_pages(PMM_MAX_ORDER + 1, &pa), -MICA_EINVAL);
    pmm_get_stats(&after);
    KEXPECT_EQ(t, after.free, before.free);
}

KTEST(pmm_refcount_shared)
{
    struct pmm_stats before, s;
    paddr_t pa;

    pmm_get_stats(&before);
    KREQUIRE(t, pmm_alloc_frame(&pa) == 0);
    KEXPECT_EQ(t, pmm_refcount(pa), 1);
    KEXPECT_EQ(t, pmm_ref(pa), 2);
    pmm_free_frame(pa); /* the share goes, the frame stays allocated */
    KEXPECT_EQ(t, pmm_refcount(pa), 1);
    pmm_get_stats(&s);
    KEXPECT_EQ(t, s.free, before.free - 1);
    pmm_free_frame(pa); /* last reference */
    KEXPECT_EQ(t, pmm_refcount(pa), 0);
    pmm_get_stats(&s);
    KEXPECT_EQ(t, s.free, before.free);
}

/* Take every free frame, chaining them through their own first word (so
 * the test needs no memory of its own), check that the allocator reports
 * ENOMEM rather than failing some other way, then give everything back. */
/* Exhaust memory block by block, largest first, so that only one frame per
 * block is written (the chain link): with 16 GiB of RAM the test touches a
 * few thousand frames instead of four million. */
struct exhaust_link {
    paddr_t next;   /* 0 ends the chain: frame 0 is never allocated */
    unsigned order;
};

KTEST(pmm_exhaustion_returns_enomem)
{
    struct pmm_stats before, s;
    paddr_t head = 0, pa;
    uint64_t n = 0;

    pmm_get_stats(&before);
    for (int order = PMM_MAX_ORDER; order >= 0; order--) {
        while (pmm_alloc_pages((unsigned)order, &pa) == 0) {
            struct exhaust_link *l = phys_to_virt(pa);
            l->next = head;
            l->order = (unsigned)order;
            head = pa;
            n += 1ULL << order;
        }
    }
    KEXPECT_EQ(t, pmm_alloc_frame(&pa), -MICA_ENOMEM);
    KEXPECT_EQ(t, pmm_alloc_pages(0, &pa), -MICA_ENOMEM);
    KEXPECT_EQ(t, pmm_alloc_pages(2, &pa), -MICA_ENOMEM);
    KEXPECT_EQ(t, n, before.free);
    pmm_get_stats(&s);
    KEXPECT_EQ(t, s.free, 0);

    while (head != 0) {
        const struct exhaust_link *l = phys_to_virt(head);
        paddr_t next = l->next;
        pmm_free_pages(head, l->order);
        head = next;
    }
    pmm_get_stats(&s);
    KEXPECT_EQ(t, s.free, before.free);
    KEXPECT_EQ(t, s.used, before.used);
    pmm_check();
}

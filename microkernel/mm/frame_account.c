/* Frame accounting (mm/frame_account.h): a table of account slots and the
 * charge each frame's aux word names. */
#include "mm/frame_account.h"

#include "lib/assert.h"
#include "mm/pmm.h"

struct frame_account {
    bool open;       /* its payer is alive */
    uint64_t charged;
};

static struct frame_account accounts[FRAME_ACCOUNTS_MAX];

uint16_t frame_account_open(void)
{
    for (uint16_t i = 1; i < FRAME_ACCOUNTS_MAX; i++) {
        if (!accounts[i].open && accounts[i].charged == 0) {
            accounts[i].open = true;
            return i;
        }
    }
    return 0;
}

void frame_account_close(uint16_t a)
{
    KASSERT(a != 0 && a < FRAME_ACCOUNTS_MAX && accounts[a].open,
            "closing frame account %u that is not open", a);
    accounts[a].open = false; /* free once its frames are (charged == 0) */
}

uint64_t frame_account_charged(uint16_t a)
{
    return a ? accounts[a].charged : 0;
}

void frame_account_charge(uint16_t a, paddr_t pa)
{
    KASSERT(a != 0 && a < FRAME_ACCOUNTS_MAX && accounts[a].open,
            "charging frame 0x%lx to account %u that is not open", (unsigned long)pa, a);
    /* A fresh frame: aux 0. (Its count of 1 is the caller's contract; not
     * checked here, this is on every demand-zero and copy fault.) */
    KASSERT(pmm_frame_aux(pa) == 0, "charging frame 0x%lx that is already charged",
            (unsigned long)pa);
    accounts[a].charged++;
    pmm_frame_set_aux(pa, a);
}

void frame_release(paddr_t pa)
{
    uint32_t refs = pmm_refcount(pa);
    if (refs == 0)
        return; /* reserved memory (boot modules): not the allocator's */
    uint16_t a = pmm_frame_aux(pa);
    if (refs == 1 && a) {
        KASSERT(a < FRAME_ACCOUNTS_MAX && accounts[a].charged > 0,
                "frame 0x%lx names account %u that holds no charge", (unsigned long)pa, a);
        accounts[a].charged--;
        pmm_frame_set_aux(pa, 0); /* the allocator frees only aux == 0 frames */
    }
    pmm_free_frame(pa);
}

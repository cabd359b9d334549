/* The per-frame record of the page-frame allocator. Internal to mm/pmm.c;
 * host tests include it to corrupt metadata on purpose and check that
 * pmm_check() notices. Nothing else should look inside a record.
 *
 * Every frame is in exactly one of these states (refcount, order, flags):
 *   reserved            (0, 0, RESERVED)   never given to the allocator
 *   free block head     (0, k, FREE)       on the order-k buddy list
 *   free block interior (0, 0, 0)          inside a free block, not its head
 *   in a per-CPU cache  (0, 0, IN_CACHE)   free, on some CPU's pfn stack
 *   allocated frame     (n, 0, 0), n >= 1  pmm_alloc_frame / order-0 pages
 *   allocated head      (n, k, HEAD), k>0  first frame of pmm_alloc_pages(k)
 *   allocated tail      (n, k, TAIL), k>0  the other frames of that block
 * `next`/`prev` are PMM_NONE except on free block heads. */
#pragma once

#include "lib/types.h"

#define PMM_NONE    UINT32_MAX /* "no frame" in list links */
#define PMM_MAX_PFN UINT32_MAX /* frames [0, PMM_MAX_PFN): pfns fit in 32 bits */

#define PMM_F_FREE     0x01u /* head of a free buddy block of 2^order frames */
#define PMM_F_RESERVED 0x02u /* not RAM, or RAM the allocator must not hand out */
#define PMM_F_IN_CACHE 0x04u /* free, held in a per-CPU cache */
#define PMM_F_HEAD     0x08u /* allocated: first frame of a 2^order block */
#define PMM_F_TAIL     0x10u /* allocated: another frame of a 2^order block */
#define PMM_F_MARK     0x80u /* pmm_check scratch bit: frame already seen */

struct pmm_frame {
    uint32_t next, prev; /* pfn links of the buddy free list, or PMM_NONE */
    union {
        struct {
            uint32_t refcount;
            uint8_t order;
            uint8_t flags;
            uint16_t aux; /* the owner's (pmm_frame_aux); 0 when free */
        };
        /* The three fields as one word, so the fast paths test and set a
         * frame's whole state with a single load or store. */
        uint64_t state;
    };
};

STATIC_ASSERT(sizeof(struct pmm_frame) == 16, "pmm_frame must stay 16 bytes");
STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "PMM_STATE assumes little endian");

/* The `state` word for the given fields. */
#define PMM_STATE(refcount, order, flags)                                    \
    ((uint64_t)(refcount) | (uint64_t)(order) << 32 | (uint64_t)(flags) << 40)

#define PMM_STATE_AUX_MASK (0xffffULL << 48)
#define PMM_STATE_RESERVED PMM_STATE(0, 0, PMM_F_RESERVED)
#define PMM_STATE_IN_CACHE PMM_STATE(0, 0, PMM_F_IN_CACHE)
#define PMM_STATE_SINGLE   PMM_STATE(1, 0, 0) /* allocated once, order 0 */
#define PMM_STATE_MARK     PMM_STATE(0, 0, PMM_F_MARK)

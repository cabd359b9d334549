/* libFuzzer target for the pager's checkpoint format
 * (servers/pager/ckpt_format.c): what a restarted pager reads back from
 * memory that a dead instance wrote and something then damaged. The input
 * is a program: 4-byte operations change one client slot's record (its
 * regions, bump pointer, flags, or the whole slot for another client) and
 * write it as the pager does; a writer may stop half-way (the record is
 * then left as a kill at that store leaves it), and bytes anywhere in the
 * checkpoint may be flipped. After every operation the reader must give,
 * for the slot, a state it was written with, "never written" or
 * "damaged", never anything else (a mixture of two commits' regions, a
 * field from nowhere); and, after a whole write with no damage or stopped
 * write since, exactly that write's state. The other slots must read as
 * written. A state is "committed" here when a write of it began: a write
 * stopped half-way may or may not have committed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mica/syscall.h>

#include "../../servers/pager/ckpt_format.h"
#include "fuzz_check.h"
#include "ckpt_kept.h"

#define SLOT  5 /* the slot the program works on */
#define OTHER 9 /* a slot written once, which must stay readable */

static struct checkpoint ck;
static struct ckpt_cursor k;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&ck, 0, sizeof ck);
    ckpt_cursor_load(&ck, &k);
    ckpt_write_header(&ck, &k, PAGER_FORK_BADGE_BASE);
    struct pager_client other = {.used = true, .badge = 3, .next_va = PAGER_VA_BASE};
    other.regions[0] = (struct pager_region){.va = 0x400000, .len = 0x1000, .prot = 5,
                                             .kind = PAGER_IMAGE};
    ckpt_write_client(&ck, &k, OTHER, &other, 0);

    /* Every state a write of the slot began with, newest last. */
    static struct pager_client cur, history[1024];
    unsigned written = 0;
    memset(&cur, 0, sizeof cur);
    cur.used = true;
    cur.badge = 1;
    cur.next_va = PAGER_VA_BASE;
    bool slot_exact = true; /* no damage and no stopped write since the last whole write */
    bool never_damaged = true;
    uint32_t dirty = ~0u; /* a new slot: every region goes in */

    if (size > 4 * 1024)
        size = 4 * 1024; /* the history holds every write */
    for (size_t at = 0; at + 4 <= size; at += 4) {
        const uint8_t *op = data + at;
        unsigned j = op[1] % PAGER_REGIONS;
        switch (op[0] % 8) {
        case 0: case 1: /* a region set or changed */
            cur.regions[j] = (struct pager_region){
                .va = PAGER_VA_BASE + (uint64_t)op[2] * 0x10000, .len = (1 + op[3] % 4) * 0x1000ull,
                .prot = 1u + op[3] % 3, .kind = PAGER_ANON, .cow = op[2] & 1};
            dirty |= 1u << j;
            break;
        case 2: /* a region dropped */
            memset(&cur.regions[j], 0, sizeof cur.regions[j]);
            dirty |= 1u << j;
            break;
        case 3: /* the fixed fields */
            cur.next_va += 0x1000ull * op[2];
            cur.verbose = op[3] & 1;
            cur.parent = op[1];
            break;
        case 4: /* another client in the slot (or the slot let go) */
            memset(&cur, 0, sizeof cur);
            cur.used = op[1] & 1;
            cur.badge = 100 + op[2];
            dirty = ~0u;
            break;
        case 5: /* a whole write */
            ckpt_write_client(&ck, &k, SLOT, &cur, dirty);
            history[written++] = cur;
            slot_exact = true;
            dirty = 0;
            break;
        case 6: { /* a write stopped after some of its stores (a kill) */
            static struct checkpoint before;
            before = ck;
            ckpt_write_client(&ck, &k, SLOT, &cur, dirty);
            /* Keep the first n changed 64-bit words; undo the rest. */
            uint64_t *w = (uint64_t *)&ck, *b = (uint64_t *)&before;
            unsigned keep = op[1], seen = 0;
            for (size_t i = 0; i < sizeof ck / 8; i++)
                if (w[i] != b[i] && seen++ >= keep)
                    w[i] = b[i];
            /* The restarted pager rebuilds its cursor from memory. */
            ckpt_cursor_load(&ck, &k);
            history[written++] = cur;
            slot_exact = false;
            dirty = ~0u;
            break;
        }
        case 7: { /* damage: one byte flipped in the slot's records or the header */
            size_t where = ((size_t)op[1] | (size_t)op[2] << 8) % sizeof ck;
            ((uint8_t *)&ck)[where] ^= (uint8_t)(op[3] | 1);
            ckpt_cursor_load(&ck, &k);
            slot_exact = never_damaged = false;
            dirty = ~0u;
            break;
        }
        }
        static struct pager_client got;
        int rc = ckpt_read_client(&ck, SLOT, &got);
        FUZZ_CHECK(rc >= -1 && rc <= 1);
        if (rc == 1) {
            bool known = false;
            for (unsigned h = 0; h < written && !known; h++)
                known = same_kept(&got, &history[h]);
            FUZZ_CHECK(known);
        }
        if (slot_exact) {
            FUZZ_CHECK(rc == (written ? 1 : 0));
            if (written)
                FUZZ_CHECK(same_kept(&got, &history[written - 1]));
        }
        if (never_damaged) {
            FUZZ_CHECK(ckpt_read_client(&ck, OTHER, &got) == 1 && same_kept(&got, &other));
            uint64_t badge = 0;
            FUZZ_CHECK(ckpt_read_header(&ck, &badge) == 0 && badge == PAGER_FORK_BADGE_BASE);
        }
    }
    return 0;
}

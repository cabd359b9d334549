/* The exception-fixup table: instructions allowed to fault in kernel mode.
 *
 * Each entry pairs the address of an instruction that touches user memory
 * (in the copy routines of usercopy.asm) with the address to resume at if
 * it faults. The entries live in the __extable section, which kernel.ld
 * gathers between __extable_start and __extable_end. An entry is written in
 * NASM as
 *
 *     section __extable
 *         dq faulting_instruction, fixup
 *
 * The table holds a handful of entries, so it is searched linearly and
 * needs no sorting. */
#pragma once

#include "lib/types.h"

struct extable_entry {
    uint64_t fault_rip; /* an instruction that may fault on a user address */
    uint64_t fixup_rip; /* where to resume, on the same stack */
};

STATIC_ASSERT(sizeof(struct extable_entry) == 16, "__extable entries are two dq");

extern const struct extable_entry __extable_start[], __extable_end[];

/* The fixup address for a fault at `rip`, or 0 if `rip` may not fault. */
static inline uint64_t extable_lookup(uint64_t rip)
{
    for (const struct extable_entry *e = __extable_start; e < __extable_end; e++)
        if (e->fault_rip == rip)
            return e->fixup_rip;
    return 0;
}

/* What the pager's checkpoint keeps of a client record, compared: shared by
 * the host test and the fuzz target of servers/pager/ckpt_format.c. */
#pragma once

#include <stdbool.h>

#include "../../servers/pager/ckpt_format.h"

/* Whether got holds what the checkpoint keeps of want: a free slot keeps
 * nothing else; a used one its fixed fields and its live regions. */
static inline bool same_kept(const struct pager_client *got, const struct pager_client *want)
{
    if (!want->used)
        return !got->used;
    if (got->used != want->used || got->verbose != want->verbose || got->badge != want->badge ||
        got->parent != want->parent || got->next_va != want->next_va)
        return false;
    for (unsigned j = 0; j < PAGER_REGIONS; j++) {
        const struct pager_region *a = &got->regions[j], *b = &want->regions[j];
        if (a->len != b->len ||
            (b->len && (a->va != b->va || a->prot != b->prot || a->kind != b->kind ||
                        a->cow != b->cow)))
            return false;
    }
    return true;
}

/* Copy-on-write sharing between address spaces and its resolution
 * (cow.c). */
#pragma once

#include "lib/types.h"
#include "object/task.h"

struct endpoint;

/* Map in dst, from dst_va on, the frames of the present pages of src from
 * src_va on (npages pages; absent ones skipped), read-only with `prot`
 * (no MICA_PROT_WRITE). Pages writable or marked in src get the COW mark in
 * both and become read-only in src. Returns the number of pages shared;
 * -MICA_EINVAL (unaligned, kernel half, bad prot, a frame not from the
 * allocator), -MICA_EEXIST (a destination page is mapped), -MICA_ENOMEM;
 * nothing changes on error. */
int64_t task_map_share(struct task *dst, uintptr_t dst_va, struct task *src, uintptr_t src_va,
                       size_t npages, unsigned prot);

/* Give t a private writable page at the marked page `va` with `prot`
 * (which includes MICA_PROT_WRITE): the frame itself when no other
 * mapping holds it (returns 0), else a copy in a new frame (returns 1).
 * -MICA_EINVAL (no marked page there, bad prot), -MICA_ENOMEM. */
int task_map_cow(struct task *t, uintptr_t va, unsigned prot);

/* task_map_cow, a copy charged to `payer` (NULL: uncharged); -MICA_ENOMEM
 * when a copy would exceed payer's quota (taking a frame over is free). */
int task_map_cow_for(struct task *t, struct task *payer, uintptr_t va, unsigned prot);

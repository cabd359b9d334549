/* A task's anonymous user memory (user_mem.c): zeroed pages mapped on
 * request and unmapped with their frames' references dropped. */
#pragma once

#include "lib/types.h"
#include <mica/syscall.h>

#include "object/task.h"

/* Largest page count one paging call accepts: the whole user half. The
 * time a call takes is bounded by its preemption points (object/preempt.h),
 * not by its length; this bound only keeps npages * PAGE_SIZE from
 * overflowing. task_vm_range_check applies it, for every paging call. */
#define TASK_VM_NPAGES_MAX (MICA_USER_END / PAGE_SIZE)

/* The one check of a user range for a paging call (MEM_MAP, MEM_UNMAP,
 * MAP_ANON, UNMAP, PROTECT, MAP_SHARE, MAP_COW): va page aligned, and
 * [va, va + npages pages) non-empty, inside the user half, page 0 excluded
 * (null pointers always fault). 0 or -MICA_EINVAL. */
int task_vm_range_check(uintptr_t va, uint64_t npages);

/* Undo what a failed call mapped in the live task t: unmap every page in
 * [va, end) and drop the frames' references. Preemptible; it gives up
 * only when t dies, whose teardown then releases the rest. */
void task_vm_undo(struct task *t, uintptr_t va, uintptr_t end);

/* Map `len` bytes of fresh zeroed frames at `va` in the task's user half
 * with MICA_PROT_* `prot`. Page-aligned va/len. Returns 0, -MICA_EINVAL,
 * -MICA_EEXIST, -MICA_ENOMEM, -MICA_EDEAD (t died or the caller was killed
 * at a preemption point); nothing is left mapped on failure. */
int task_map_anon(struct task *t, uintptr_t va, size_t len, unsigned prot);

/* Unmap [va, va+len) from the task, dropping the frames' references.
 * 0, -MICA_EINVAL, -MICA_EDEAD (stopped at a preemption point: t died or
 * the caller was killed; the pages below the stop are unmapped). */
int task_unmap(struct task *t, uintptr_t va, size_t len);

/* task_map_anon (user_mem.c), the new frames charged to `payer` (NULL:
 * uncharged): -MICA_ENOMEM before anything is allocated when len pages
 * would exceed payer's quota. */
int task_map_anon_for(struct task *t, struct task *payer, uintptr_t va, size_t len,
                      unsigned prot);

/* task_map_anon_for of the one page at va, whose address and MICA_PROT_*
 * protection the caller has checked (task_vm_range_check, task_check_prot):
 * the single fault's path, without the range loop. 0, -MICA_EEXIST,
 * -MICA_ENOMEM (no frame or page table, or over payer's quota); nothing is
 * left mapped on failure. */
int task_map_anon_page(struct task *t, struct task *payer, uintptr_t va, unsigned prot);

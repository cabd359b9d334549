/* A task's anonymous user memory (user_mem.c): zeroed pages mapped on
 * request and unmapped with their frames' references dropped. */
#pragma once

#include "lib/types.h"
#include "object/task.h"

/* Map `len` bytes of fresh zeroed frames at `va` in the task's user half
 * with MICA_PROT_* `prot`. Page-aligned va/len. Returns 0, -MICA_EINVAL,
 * -MICA_EEXIST, -MICA_ENOMEM (nothing left mapped on failure). */
int task_map_anon(struct task *t, uintptr_t va, size_t len, unsigned prot);

/* Unmap [va, va+len) from the task, dropping the frames' references. */
int task_unmap(struct task *t, uintptr_t va, size_t len);

/* task_map_anon (user_mem.c), the new frames charged to `payer` (NULL:
 * uncharged): -MICA_ENOMEM before anything is allocated when len pages
 * would exceed payer's quota. */
int task_map_anon_for(struct task *t, struct task *payer, uintptr_t va, size_t len,
                      unsigned prot);

/* Building a task from ring 3 (task_build.c): MICA_SYS_TASK_CREATE,
 * MICA_SYS_TASK_WRITE and MICA_SYS_TASK_START (vm/syscalls.h), and the
 * handle copy they share with the kernel's own loader. */
#pragma once

#include "lib/types.h"
#include "object/handle.h"

struct task;

/* Give `child` (whose handle table is empty) the handles handles[0..n) of
 * table `from` as its handles 0..n-1, same rights and badge; each must be
 * an endpoint or task handle with MICA_RIGHT_GRANT, and not name a task
 * that was never started. Returns 0, or -MICA_EBADH (not such a handle),
 * -MICA_EPERM (no grant right),
 * -MICA_ENOMEM / -MICA_ENOSPC (installing failed), with *bad = the index
 * of the handle at fault; handles already given stay with the child. */
int task_give_handles(struct task *child, struct handle_table *from, const uint64_t *handles,
                      size_t n, size_t *bad);

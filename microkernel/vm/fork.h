/* Fork: a new task cloning another, memory shared copy-on-write (fork.c). */
#pragma once

#include "lib/types.h"
#include "object/task.h"

struct endpoint;

/* A new task cloning t (one thread, not the current task): every user
 * mapping shared (writable pages become COW in both), the handle table
 * copied, start flags inherited without MICA_START_MACHINE, `pager`/badge
 * as its pager, and one runnable thread resuming from t's thread's saved
 * registers with rax = 0, rdi = 0, rsi = MICA_LABEL_FORK_CHILD. Returns
 * the child (its live reference only: the caller installs a handle), or
 * NULL with *err = -MICA_EINVAL, -MICA_ENOMEM, -MICA_EAGAIN (t's mappings
 * changed while the fork was preempted) or -MICA_EDEAD (t died, or the
 * caller was killed). The caller keeps `pager` valid. The thread is made ready
 * by task_fork_start once the caller holds its handle. */
struct task *task_fork(struct task *t, struct endpoint *pager, uint64_t badge, int *err);

/* Make the thread of a child from task_fork runnable. */
void task_fork_start(struct task *child);

/* Faults sent to a task's pager (fault_forward.c): those of a system
 * call's user copy, and the access bits every forwarded fault carries. */
#pragma once

#include "lib/types.h"
#include "object/task.h"

/* A system call's copy of user memory faulted at `addr` (`access`: the
 * MICA_FAULT_* bits of the access, MICA_FAULT_KERNEL included). With a
 * pager, sends it the fault and returns 0 once it answered "resume". A
 * "kill", a dead pager, a pager chain that leads back to the task, or a
 * task already killed: the task is killed (task_kill) and -MICA_EFAULT
 * returned, so that the call unwinds and releases what it holds; the task
 * ends on its way out of the kernel. Without a pager (or outside a task):
 * -MICA_EFAULT. */
int task_copy_fault(uintptr_t addr, uint64_t access);

/* The MICA_FAULT_* access bits of a page fault with #PF error code `err`
 * at addr in t: pf_fault_access, plus MICA_FAULT_COW for a write to a
 * present copy-on-write page. */
uint64_t fault_access(const struct task *t, uint64_t addr, uint64_t err);

/* The remote paging calls (remote_paging.c): what a pager may do to another
 * task's memory, and the argument checks every paging call shares. The
 * kernel only carries out requests; which page is mapped, shared, copied or
 * refused is the pager's decision. */
#pragma once

#include "lib/types.h"
#include "object/task.h"

struct endpoint;

/* The task behind handle h of the current task (MICA_HANDLE_SELF: the
 * current task) with `right`; NULL with *err = -MICA_EBADH, -MICA_EPERM
 * or -MICA_EDEAD (the task exited). */
struct task *task_lookup_handle(uint64_t h, uint32_t right, int *err);

/* Check a MICA_PROT_* argument: known bits, not empty, not both writable
 * and executable. 0 or -MICA_EINVAL. */
int task_check_prot(uint64_t prot);

struct trap_frame;
/* The two tasks of a call that maps one task's frames into another
 * (MAP_SHARE, MAP_ALIAS): *dst from handle rdi and *src from handle rdx,
 * both with MICA_RIGHT_MAP, and the protection in r9 within 32 bits.
 * Returns 0, a handle error, or -MICA_EINVAL. Takes no references. */
int paging_task_pair(const struct trap_frame *tf, struct task **dst, struct task **src);

/* MICA_SYS_MAP_ANON's work, from its arguments (task handle, va, npages,
 * prot): the checks, the pager_map injection point, the frames charged to
 * the caller. 0 or the call's error (docs/syscalls.md). */
int64_t paging_map_anon(uint64_t task, uint64_t va, uint64_t npages, uint64_t prot);

/* MICA_SYS_MAP_COW's work, from its arguments (task handle, va, prot), as
 * paging_map_anon: 1 copied, 0 taken over, or the call's error. */
int64_t paging_map_cow(uint64_t task, uint64_t va, uint64_t prot);

/* VM_* protection (user page) for MICA_PROT_* `prot`. */
unsigned task_vm_prot(unsigned prot);

/* Change the protection of the mapped pages [va, va+len) of t, page
 * aligned. Returns 0, -MICA_EINVAL, -MICA_ENOENT (a page is not mapped;
 * nothing changed). */
int task_protect(struct task *t, uintptr_t va, size_t len, unsigned prot);

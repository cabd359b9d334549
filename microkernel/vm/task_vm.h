/* Copy-on-write sharing, fork and kernel copy faults: the task-level
 * mechanisms a ring-3 pager drives (cow.c, fork.c,
 * fault_forward.c), and the argument checks the pager system calls share
 * (remote_paging.c). The kernel only carries out requests here; which page is
 * shared, copied or refused is the pager's decision. */
#pragma once

#include "lib/types.h"
#include "object/task.h"

struct endpoint;

/* Largest page count one mapping call accepts (4 GiB of address space):
 * bounds the work of a single system call. */
#define TASK_VM_NPAGES_MAX (1ull << 20)

/* The task behind handle h of the current task (MICA_HANDLE_SELF: the
 * current task) with `right`; NULL with *err = -MICA_EBADH, -MICA_EPERM
 * or -MICA_EDEAD (the task exited). */
struct task *task_lookup_handle(uint64_t h, uint32_t right, int *err);

/* Check a MICA_PROT_* argument: known bits, not empty, not both writable
 * and executable. 0 or -MICA_EINVAL. */
int task_check_prot(uint64_t prot);

/* VM_* protection (user page) for MICA_PROT_* `prot`. */
unsigned task_vm_prot(unsigned prot);

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

/* A new task cloning t (one thread, not the current task): every user
 * mapping shared (writable pages become COW in both), the handle table
 * copied, start flags inherited without MICA_START_MACHINE, `pager`/badge
 * as its pager, and one runnable thread resuming from t's thread's saved
 * registers with rax = 0, rdi = 0, rsi = MICA_LABEL_FORK_CHILD. Returns
 * the child (its live reference only: the caller installs a handle), or
 * NULL with *err = -MICA_EINVAL or -MICA_ENOMEM. The thread is made ready
 * by task_fork_start once the caller holds its handle. */
struct task *task_fork(struct task *t, struct endpoint *pager, uint64_t badge, int *err);

/* Make the thread of a child from task_fork runnable. */
void task_fork_start(struct task *child);

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

/* ---- per-pager frame quotas (frame_quota.c) ---- */

/* task_map_anon (user_mem.c), the new frames charged to `payer` (NULL:
 * uncharged): -MICA_ENOMEM before anything is allocated when len pages
 * would exceed payer's quota. */
int task_map_anon_for(struct task *t, struct task *payer, uintptr_t va, size_t len,
                      unsigned prot);

/* task_map_cow, a copy charged to `payer` (NULL: uncharged); -MICA_ENOMEM
 * when a copy would exceed payer's quota (taking a frame over is free). */
int task_map_cow_for(struct task *t, struct task *payer, uintptr_t va, unsigned prot);

/* Check that `payer` (NULL: nobody, always fine) may be charged `n` more
 * frames under its quota. 0, or -MICA_ENOMEM (over the quota, or no charge
 * account left). Charges nothing: call before allocating. */
int task_frame_reserve(struct task *payer, uint64_t n);

/* Charge the freshly allocated frame pa (count 1, aux 0) to `payer`, which
 * passed task_frame_reserve; NULL: the frame stays uncharged. */
void task_frame_charge(struct task *payer, paddr_t pa);


/* Frames now charged to t as a pager. */
uint64_t task_frames_charged(const struct task *t);

/* Set t's quota of charged frames (0: no limit). A quota below the current
 * charge refuses new frames until enough are released. */
void task_set_frame_quota(struct task *t, uint64_t quota);

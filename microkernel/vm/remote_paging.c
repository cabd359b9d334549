/* The kernel's side of user-level paging: the call that registers a task's
 * pager (task_set_pager itself is in object/task.c), and
 * the system calls a pager uses to change another task's memory through a
 * task handle with MICA_RIGHT_MAP (MICA_SYS_MAP_ANON, MICA_SYS_UNMAP,
 * MICA_SYS_PROTECT). Fault forwarding itself is in fault_forward.c; sharing
 * and fork in cow.c and fork.c.
 *
 * A task's pager is an endpoint plus the badge of the handle that
 * registered it; the task holds a sending reference on the endpoint
 * (endpoint_handle_get), so the endpoint outlives every fault sent to it
 * and dies for senders only when its last receive handle goes. */
#include <mica/errno.h>

#include "object/endpoint.h"
#include "object/handle.h"
#include "vm/syscalls.h"
#include "lib/assert.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/remote_paging.h"
#include "vm/user_mem.h"
#include "object/preempt.h"
#include "inject/inject.h"

#define PROT_ALL (MICA_PROT_READ | MICA_PROT_WRITE | MICA_PROT_EXEC)

int task_protect(struct task *t, uintptr_t va, size_t len, unsigned prot)
{
    if (!IS_ALIGNED(len, PAGE_SIZE) || task_vm_range_check(va, len / PAGE_SIZE) < 0)
        return -MICA_EINVAL;
    unsigned vp = task_vm_prot(prot);
    unsigned budget = PREEMPT_BUDGET;
    int rc;
    /* Check every page first so that a hole changes nothing (the first
     * hole ends the pass, so it costs at most the mapped pages). */
    for (size_t off = 0; off < len; off += PAGE_SIZE) {
        if (preempt_due(&budget, PREEMPT_COST_PAGE) && (rc = preempt_point(t)) < 0)
            return rc;
        unsigned cur;
        if (vmm_translate(&t->as, va + off, NULL, &cur) < 0 || !(cur & VM_USER))
            return -MICA_ENOENT;
    }
    for (size_t off = 0; off < len; off += PAGE_SIZE) {
        if (preempt_due(&budget, PREEMPT_COST_PAGE) && (rc = preempt_point(t)) < 0)
            return rc;
        /* A copy-on-write share stays read-only and marked whatever the
         * protection: its frame is not this task's alone, and only
         * MICA_SYS_MAP_COW may make it writable. */
        bool cow = vmm_is_cow(&t->as, va + off);
        rc = vmm_protect(&t->as, va + off, cow ? vp & ~VM_WRITE : vp);
        if (rc == 0 && cow)
            rc = vmm_mark_cow(&t->as, va + off);
        /* A page unmapped by another thread at a preemption point: as if
         * that unmap came after this call. */
        KASSERT(rc == 0 || rc == -MICA_ENOENT, "task %u: protect of page 0x%lx failed: %d",
                t->id, (unsigned long)(va + off), rc);
    }
    return 0;
}

unsigned task_vm_prot(unsigned prot)
{
    unsigned vp = VM_USER;
    if (prot & MICA_PROT_WRITE)
        vp |= VM_WRITE;
    if (prot & MICA_PROT_EXEC)
        vp |= VM_EXEC;
    return vp;
}

struct task *task_lookup_handle(uint64_t h, uint32_t right, int *err)
{
    struct task *self = sched_current()->task;
    if (h == MICA_HANDLE_SELF)
        return self;
    struct handle *e = handle_lookup(&self->handles, h, HANDLE_TASK, right, err);
    if (!e)
        return NULL;
    struct task *t = e->object;
    if (t->state != TASK_LIVE) {
        *err = -MICA_EDEAD;
        return NULL;
    }
    return t;
}

/* W^X for ring 3: never writable and executable at once. */
int task_check_prot(uint64_t prot)
{
    if (prot == 0 || (prot & ~(uint64_t)PROT_ALL))
        return -MICA_EINVAL;
    if ((prot & MICA_PROT_WRITE) && (prot & MICA_PROT_EXEC))
        return -MICA_EINVAL;
    return 0;
}

/* (task h or SELF, endpoint h with SEND) -> 0. Another task needs
 * MICA_RIGHT_MAP: whoever handles its faults controls its memory. */
int64_t sys_task_set_pager(struct trap_frame *tf)
{
    int err = 0;
    struct task *t = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err);
    if (!t)
        return err;
    struct handle *e = handle_lookup(&sched_current()->task->handles, tf->rsi, HANDLE_ENDPOINT,
                                     MICA_RIGHT_SEND, &err);
    if (!e)
        return err;
    task_set_pager(t, e->object, e->badge);
    return 0;
}

/* The arguments every remote paging call shares: the target task (handle
 * `task` with MICA_RIGHT_MAP), the range (va, npages pages) and, when
 * `with_prot`, the protection. Returns the target with a reference the
 * caller drops (task_put), valid across the call's preemption points;
 * NULL with *err. */
static struct task *paging_target(uint64_t task, uint64_t va, uint64_t npages, uint64_t prot,
                                  bool with_prot, int *err)
{
    struct task *t = task_lookup_handle(task, MICA_RIGHT_MAP, err);
    if (!t)
        return NULL;
    if ((with_prot && (*err = task_check_prot(prot)) < 0) ||
        (*err = task_vm_range_check(va, npages)) < 0)
        return NULL;
    task_get(t);
    return t;
}

int paging_task_pair(const struct trap_frame *tf, struct task **dst, struct task **src)
{
    int err = 0;
    if (!(*dst = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err)) ||
        !(*src = task_lookup_handle(tf->rdx, MICA_RIGHT_MAP, &err)))
        return err;
    return tf->r9 == (unsigned)tf->r9 ? 0 : -MICA_EINVAL;
}

int64_t paging_map_anon(uint64_t task, uint64_t va, uint64_t npages, uint64_t prot)
{
    int err = 0;
    struct task *t = paging_target(task, va, npages, prot, true, &err);
    if (!t)
        return err;
    if (INJECT(INJECT_PAGER_MAP, t)) {
        inject_report(INJECT_PAGER_MAP, "map of %lu page(s) at 0x%lx refused (-ENOMEM)",
                      (unsigned long)npages, (unsigned long)va);
        task_put(t);
        return -MICA_ENOMEM;
    }
    /* The calling pager pays for the frames, within its quota; a task not
     * started yet is being built by a loader (TASK_CREATE), and its image
     * is its own memory, uncharged like the kernel's loader's. */
    struct task *payer = t->nthreads ? sched_current()->task : NULL;
    err = npages == 1 ? task_map_anon_page(t, payer, va, (unsigned)prot)
                      : task_map_anon_for(t, payer, va, npages * PAGE_SIZE, (unsigned)prot);
    task_put(t);
    return err;
}

/* (task h, va, npages, prot) -> 0, -MICA_EINVAL (unaligned, kernel half,
 * bad prot), -MICA_EEXIST (a page is mapped; nothing is left mapped),
 * -MICA_ENOMEM (out of frames, or over the caller's frame quota; nothing
 * was allocated), handle errors. */
int64_t sys_map_anon(struct trap_frame *tf)
{
    return paging_map_anon(tf->rdi, tf->rsi, tf->rdx, tf->r10);
}

/* (task h, va, npages) -> 0; holes are skipped. */
int64_t sys_unmap(struct trap_frame *tf)
{
    int err = 0;
    struct task *t = paging_target(tf->rdi, tf->rsi, tf->rdx, 0, false, &err);
    if (!t)
        return err;
    err = task_unmap(t, tf->rsi, tf->rdx * PAGE_SIZE);
    task_put(t);
    return err;
}

/* (task h, va, npages, prot) -> 0, -MICA_ENOENT (a page is not mapped). */
int64_t sys_protect(struct trap_frame *tf)
{
    int err = 0;
    struct task *t = paging_target(tf->rdi, tf->rsi, tf->rdx, tf->r10, true, &err);
    if (!t)
        return err;
    err = task_protect(t, tf->rsi, tf->rdx * PAGE_SIZE, (unsigned)tf->r10);
    task_put(t);
    return err;
}

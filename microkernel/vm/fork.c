/* Fork (MICA_SYS_TASK_FORK): a new task whose address space is a
 * copy-on-write clone of another's, made at its pager's request.
 *
 * The intended caller is the pager of a task that asked it, by an IPC
 * call, for a fork: while that task's only thread is blocked in the call,
 * its saved registers (thread.utf) are those of the call, so the child's
 * thread, started from a copy of them with rax = 0 and the label
 * MICA_LABEL_FORK_CHILD, returns from the same call. The parent's call is
 * answered by the pager as usual.
 *
 * Memory: every user page of the parent is mapped at the same address in
 * the child on the same frame (one more reference each). Writable pages
 * become read-only with the COW mark in both spaces; read-only pages are
 * simply shared. Frames are freed by whichever mapping goes last, so task
 * teardown of either side needs nothing special. A failed fork leaves
 * some of the parent's pages marked: the next write to each faults once,
 * and the pager takes the frame over (MAP_COW on a frame nobody else maps).
 *
 * The clone stops at preemption points (object/preempt.h); the parent's only
 * thread is blocked in its call, and a change to its mappings by anyone
 * else meanwhile fails the fork with -MICA_EAGAIN. */
#include <mica/errno.h>

#include "object/endpoint.h"
#include "object/handle.h"
#include "vm/syscalls.h"
#include "lib/assert.h"
#include "mm/pmm.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/fork.h"
#include "vm/remote_paging.h"
#include "object/thread.h"
#include "object/preempt.h"

/* Map the parent's page va (frame pa) in the child, read-only, and mark
 * it copy-on-write in both at once when the parent's was writable or
 * marked: the parent never writes a frame the child already maps. */
static int clone_page(struct task *child, struct vm_space *parent, vaddr_t va, paddr_t pa)
{
    unsigned prot;
    int rc = vmm_translate(parent, va, NULL, &prot);
    KASSERT(rc == 0, "fork: parent page 0x%lx vanished", (unsigned long)va);
    bool cow = (prot & VM_WRITE) || vmm_is_cow(parent, va);
    bool counted = pmm_refcount(pa) > 0;
    /* Reserved memory mapped by the kernel (boot modules) is shared
     * without a reference, as the parent holds it; never writable. */
    if (!counted && cow)
        return -MICA_EINVAL;
    if (counted)
        pmm_ref(pa);
    if ((rc = vmm_map(&child->as, va, pa, prot & ~VM_WRITE)) < 0) {
        if (counted)
            pmm_free_frame(pa); /* not mapped: the reference is not the child's */
        return rc;
    }
    if (cow) {
        int rp = vmm_mark_cow(parent, va), rc2 = vmm_mark_cow(&child->as, va);
        KASSERT(rp == 0 && rc2 == 0, "fork: marking page 0x%lx failed (%d, %d)",
                (unsigned long)va, rp, rc2);
    }
    return 0;
}

/* Clone every user page of t into child, in ascending order, stopping at
 * preemption points. The child is a snapshot of one moment: if t's
 * mappings changed while the fork was preempted (another thread of a
 * pager), the fork fails with -MICA_EAGAIN rather than mix two moments.
 * -MICA_EDEAD: t died, or the caller was killed. */
static int clone_space(struct task *child, struct task *t)
{
    unsigned budget = PREEMPT_BUDGET;
    for (vaddr_t va = 0; va < MICA_USER_END;) {
        paddr_t pa;
        unsigned cost = 0;
        if (vmm_next_mapped(&t->as, &va, MICA_USER_END, &pa, &budget)) {
            int rc = clone_page(child, &t->as, va, pa);
            if (rc < 0)
                return rc;
            va += PAGE_SIZE;
            cost = PREEMPT_COST_PAGE;
        }
        if (va >= MICA_USER_END || !preempt_due(&budget, cost))
            continue;
        uint64_t changes = t->as.changes;
        int rc = preempt_point(t);
        if (rc < 0)
            return rc;
        if (t->as.changes != changes || t->nthreads != 1)
            return -MICA_EAGAIN;
    }
    return 0;
}

struct task *task_fork(struct task *t, struct endpoint *pager, uint64_t badge, int *err)
{
    const struct thread *cur = sched_current();
    if (t->state != TASK_LIVE || t->nthreads != 1 || (cur && t == cur->task)) {
        *err = -MICA_EINVAL;
        return NULL;
    }
    const struct thread *th = t->threads;
    KASSERT(th != NULL && th->utf != NULL, "fork: task %u has no thread frame", t->id);
    struct task *child = task_create(t->name);
    if (!child) {
        *err = -MICA_ENOMEM;
        return NULL;
    }
    task_get(t); /* t stays valid across preemption points */
    int rc = clone_space(child, t);
    struct thread *nt = rc < 0 ? NULL : thread_create_user(child, 0, 0, 0);
    if (!nt) {
        *err = rc < 0 ? rc : -MICA_ENOMEM;
        task_exit(child, MICA_EXIT_KILLED); /* drops the references taken */
        task_put(t);
        return NULL;
    }
    task_put(t);
    th = t->threads; /* the thread may have changed while preempted */

    handle_table_copy(&child->handles, &t->handles);
    child->start_flags = t->start_flags & ~(uint64_t)MICA_START_MACHINE;
    task_set_pager(child, pager, badge);
    *nt->utf = *th->utf;
    nt->utf->rax = 0;
    nt->utf->rdi = 0; /* the badge of the "reply" */
    nt->utf->rsi = MICA_LABEL_FORK_CHILD;
    nt->ipc_buffer = th->ipc_buffer;
    return child;
}

void task_fork_start(struct task *child)
{
    KASSERT(child->nthreads == 1 && child->threads->state == THREAD_NEW,
            "fork: child task %u has no new thread to start", child->id);
    sched_ready(child->threads);
}

/* (task h MAP, pager endpoint h SEND) -> child task handle (WAIT|GRANT|MAP). */
int64_t sys_task_fork(struct trap_frame *tf)
{
    int err = 0;
    struct task *self = sched_current()->task;
    if (tf->rdi == MICA_HANDLE_SELF)
        return -MICA_EINVAL;
    struct task *t = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err);
    if (!t)
        return err;
    struct handle *e = handle_lookup(&self->handles, tf->rsi, HANDLE_ENDPOINT, MICA_RIGHT_SEND,
                                     &err);
    if (!e)
        return err;
    /* The endpoint stays valid across the fork's preemption points even
     * if the handle is closed meanwhile. */
    struct endpoint *pager = e->object;
    endpoint_handle_get(pager, MICA_RIGHT_SEND);
    struct task *child = task_fork(t, pager, e->badge, &err);
    endpoint_handle_put(pager, MICA_RIGHT_SEND);
    if (!child)
        return err;
    /* The handle first: once the child runs it cannot be undone. */
    long h = handle_install(&self->handles, HANDLE_TASK, child,
                            MICA_RIGHT_WAIT | MICA_RIGHT_GRANT | MICA_RIGHT_MAP |
                                MICA_RIGHT_KILL, 0);
    if (h < 0) {
        task_exit(child, MICA_EXIT_KILLED);
        return h;
    }
    task_fork_start(child);
    return h;
}

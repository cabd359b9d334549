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
 * teardown of either side needs nothing special. */
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

struct clone_walk {
    struct task *child;
    struct vm_space *parent;
    int err; /* first failure; later pages are skipped */
};

/* Map one parent page in the child (vmm_for_each_user_page callback). The
 * parent's tables are only read here: its marks are set by a second walk
 * once the child is complete, so a failure leaves the parent untouched. */
static void clone_page(vaddr_t va, paddr_t pa, void *arg)
{
    struct clone_walk *w = arg;
    if (w->err)
        return;
    unsigned prot;
    int rc = vmm_translate(w->parent, va, NULL, &prot);
    KASSERT(rc == 0, "fork: parent page 0x%lx vanished during the walk", (unsigned long)va);
    bool cow = (prot & VM_WRITE) || vmm_is_cow(w->parent, va);
    if (pmm_refcount(pa) == 0) {
        /* Reserved memory mapped by the kernel (boot modules): shared
         * without a reference, as the parent holds it; never writable. */
        if (cow) {
            w->err = -MICA_EINVAL;
            return;
        }
    } else {
        pmm_ref(pa);
    }
    rc = vmm_map(&w->child->as, va, pa, prot & ~VM_WRITE);
    if (rc == 0 && cow)
        rc = vmm_mark_cow(&w->child->as, va);
    if (rc < 0) {
        if (pmm_refcount(pa) > 0 && vmm_translate(&w->child->as, va, NULL, NULL) < 0)
            pmm_free_frame(pa); /* not mapped: the reference is not the child's */
        w->err = rc;
    }
}

/* Mark the parent's writable pages (second walk; cannot fail). */
static void mark_page(vaddr_t va, paddr_t pa, void *arg)
{
    (void)pa;
    struct vm_space *as = arg;
    unsigned prot;
    if (vmm_translate(as, va, NULL, &prot) == 0 && (prot & VM_WRITE)) {
        int rc = vmm_mark_cow(as, va);
        KASSERT(rc == 0, "fork: marking parent page 0x%lx failed: %d", (unsigned long)va, rc);
    }
}

/* Copy every handle of src into the same slot of the empty table dst,
 * with the same rights and badge, taking the references a handle holds. */
static void copy_handles(struct handle_table *dst, const struct handle_table *src)
{
    KASSERT(dst->used_end == 0, "fork: the child's handle table is not empty");
    for (unsigned h = 0; h < src->used_end; h++) {
        const struct handle *s = &src->slots[h];
        switch (s->type) {
        case HANDLE_FREE:
            continue;
        case HANDLE_ENDPOINT:
            endpoint_handle_get(s->object, s->rights);
            break;
        case HANDLE_TASK:
            task_handle_get(s->object);
            break;
        default:
            panic("fork: handle %u of unknown type %d", h, s->type);
        }
        dst->slots[h] = *s;
    }
    dst->used_end = src->used_end;
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
    struct clone_walk w = {.child = child, .parent = &t->as};
    vmm_for_each_user_page(&t->as, clone_page, &w);
    struct thread *nt = w.err ? NULL : thread_create_user(child, 0, 0, 0);
    if (!nt) {
        *err = w.err ? w.err : -MICA_ENOMEM;
        task_exit(child, MICA_EXIT_KILLED); /* drops the references taken */
        return NULL;
    }
    vmm_for_each_user_page(&t->as, mark_page, &t->as);

    copy_handles(&child->handles, &t->handles);
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
    struct task *child = task_fork(t, e->object, e->badge, &err);
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

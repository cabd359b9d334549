/* The calls with which ring 3 builds a task (libsys's loader starts every
 * program but init this way): MICA_SYS_TASK_CREATE makes an empty task
 * that cannot run yet, the caller fills its memory with MICA_SYS_MAP_ANON
 * and MICA_SYS_TASK_WRITE, and MICA_SYS_TASK_START gives it its thread.
 * The kernel judges no program image: what the caller puts in a task it
 * could equally put there with the paging calls, since a task handle with
 * MICA_RIGHT_MAP already controls the task's memory. */
#include "vm/task_build.h"

#include <mica/errno.h>

#include "arch/x86_64/user_access.h"
#include "lib/assert.h"
#include "lib/string.h"
#include "mm/kheap.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "object/endpoint.h"
#include "object/preempt.h"
#include "object/sched.h"
#include "object/task.h"
#include "object/thread.h"
#include "vm/remote_paging.h"
#include "vm/syscalls.h"
#include "vm/usercopy.h"

/* The rights of the handle TASK_CREATE returns: every task right. */
#define TASK_RIGHTS (MICA_RIGHT_WAIT | MICA_RIGHT_GRANT | MICA_RIGHT_MAP | MICA_RIGHT_KILL)

/* A handle of any type holding MICA_RIGHT_GRANT, or NULL with *err. */
static struct handle *lookup_grantable(struct handle_table *ht, uint64_t h, int *err)
{
    struct handle *e = handle_lookup(ht, h, HANDLE_ENDPOINT, MICA_RIGHT_GRANT, err);
    if (!e && *err == -MICA_EBADH)
        e = handle_lookup(ht, h, HANDLE_TASK, MICA_RIGHT_GRANT, err);
    if (!e && *err == -MICA_EBADH)
        e = handle_lookup(ht, h, HANDLE_INJECT, MICA_RIGHT_GRANT, err);
    return e;
}

/* A live task with no thread: one TASK_CREATE made and nobody started. */
static bool unstarted(const struct task *t)
{
    return t->state == TASK_LIVE && t->nthreads == 0;
}

int task_give_handles(struct task *child, struct handle_table *from, const uint64_t *handles,
                      size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        int err = 0;
        *bad = i;
        struct handle *e = lookup_grantable(from, handles[i], &err);
        if (!e)
            return err;
        /* Tasks being built may not hold each other: dropping a chain of
         * them would tear them down recursively, one kernel frame each. */
        if (e->type == HANDLE_TASK && unstarted(e->object))
            return -MICA_EBADH;
        long h = handle_install(&child->handles, e->type, e->object, e->rights, e->badge);
        if (h < 0)
            return (int)h;
        KASSERT((size_t)h == i, "child handle %ld installed, expected %zu in an empty table",
                h, i);
    }
    return 0;
}

/* The new task's pager from the flags: the endpoint handle a->pager
 * (MICA_SPAWN_PAGER, needs SEND) or none (flags 0 or MICA_SPAWN_NO_PAGER).
 * Never the caller's own: its badge names the caller to the pager, and a
 * child faulting under it would be served in the caller's address space. A
 * pager for the child is set before TASK_START (TASK_SET_PAGER), as a
 * pager does when the caller introduces the child to it. */
static int pager_of(struct task *self, const struct mica_task_args *a, struct endpoint **ep,
                    uint64_t *badge)
{
    *ep = NULL;
    *badge = 0;
    if (a->flags & ~(uint64_t)(MICA_SPAWN_PAGER | MICA_SPAWN_NO_PAGER) ||
        (a->flags & MICA_SPAWN_PAGER && a->flags & MICA_SPAWN_NO_PAGER))
        return -MICA_EINVAL;
    if (a->flags & MICA_SPAWN_PAGER) {
        int err = 0;
        struct handle *e = handle_lookup(&self->handles, a->pager, HANDLE_ENDPOINT,
                                         MICA_RIGHT_SEND, &err);
        if (!e)
            return err;
        *ep = e->object;
        *badge = e->badge;
    }
    return 0;
}

/* (const struct mica_task_args *) -> task handle. The task has no thread
 * until TASK_START, so nothing runs in it while the caller fills it; if the
 * caller drops it (closes the handle, or dies), it is discarded silently. */
int64_t sys_task_create(struct trap_frame *tf)
{
    struct task *self = sched_current()->task;
    struct mica_task_args a;
    char name[MICA_NAME_MAX];
    struct endpoint *pager;
    uint64_t pager_badge;
    size_t bad;
    int rc;

    if (copy_from_user(&a, tf->rdi, sizeof a) != 0)
        return -MICA_EFAULT;
    if (a.nhandles > MICA_SPAWN_MAX_HANDLES)
        return -MICA_EINVAL;
    if ((rc = pager_of(self, &a, &pager, &pager_badge)) != 0)
        return rc;
    long n = copy_string_from_user(name, (uintptr_t)a.name, sizeof name);
    if (n < 0)
        return (int)n;

    struct task *child = task_create(name);
    if (!child)
        return -MICA_ENOMEM;
    child->start_flags = self->start_flags & MICA_START_TEST_MODE; /* never MACHINE */
    if ((rc = task_give_handles(child, &self->handles, a.handles, a.nhandles, &bad)) != 0) {
        task_exit(child, MICA_EXIT_KILLED); /* it never ran: torn down at once */
        return rc == -MICA_EPERM || rc == -MICA_EBADH ? -MICA_EBADH : rc;
    }
    if (pager) /* before its first instruction, so no fault can miss it */
        task_set_pager(child, pager, pager_badge);
    /* From here on the handle owns the task: closing it discards the task. */
    long h = handle_install(&self->handles, HANDLE_TASK, child, TASK_RIGHTS, 0);
    if (h < 0)
        task_exit(child, MICA_EXIT_KILLED);
    return h;
}

/* Copy `chunk` bytes from user address src into the frame behind page va of
 * t at offset off, which must be t's alone: present, user, and no other
 * mapping holds its frame (a copy-on-write mark left on a frame whose
 * other mappings are gone does not matter). The direct copy cannot block; when it faults, the
 * bytes go through `bounce` with the pager retry, and the page is looked
 * up again afterwards, since t may have changed meanwhile. */
static int write_chunk(struct task *t, uintptr_t va, size_t off, uintptr_t src, size_t chunk,
                       uint8_t **bounce)
{
    bool staged = false;
    for (;;) {
        paddr_t pa;
        unsigned prot;
        if (vmm_translate(&t->as, va, &pa, &prot) < 0 || !(prot & VM_USER))
            return -MICA_ENOENT;
        if (pmm_refcount(pa) != 1)
            return -MICA_EINVAL; /* another mapping would see the bytes */
        uint8_t *dst = (uint8_t *)phys_to_virt(pa) + off;
        if (staged) {
            memcpy(dst, *bounce, chunk);
            return 0;
        }
        if (usercopy_bytes(dst, (const void *)src, chunk) == 0)
            return 0;
        if (!*bounce && !(*bounce = kmalloc(PAGE_SIZE)))
            return -MICA_ENOMEM;
        int rc = copy_from_user(*bounce, src, chunk); /* may ask the pager, and block */
        if (rc)
            return rc;
        if (t->state != TASK_LIVE)
            return -MICA_EDEAD;
        staged = true;
    }
}

/* (task h with MAP, dst va, src, len) -> 0. Writes whatever the page
 * protection in the target says (text, the start info), like the kernel's
 * own loader; never into the caller's own task. */
int64_t sys_task_write(struct trap_frame *tf)
{
    struct task *self = sched_current()->task;
    uintptr_t va = tf->rsi, src = tf->rdx;
    size_t len = tf->r10;
    int err = 0;

    struct task *t = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err);
    if (!t)
        return err;
    if (t == self || !user_range_ok(va, len) || va < PAGE_SIZE)
        return -MICA_EINVAL;
    if (!user_range_ok(src, len))
        return -MICA_EFAULT;
    task_get(t);
    uint8_t *bounce = NULL;
    unsigned budget = PREEMPT_BUDGET;
    while (len) {
        if (preempt_due(&budget, PREEMPT_COST_COPY) && (err = preempt_point(t)) < 0)
            break;
        size_t off = va & PAGE_MASK;
        size_t chunk = MIN(len, PAGE_SIZE - off);
        if ((err = write_chunk(t, va - off, off, src, chunk, &bounce)) != 0)
            break;
        va += chunk;
        src += chunk;
        len -= chunk;
    }
    kfree(bounce);
    task_put(t);
    return err;
}

/* (task h with MAP, rip, rsp, rdi) -> 0: the task's one thread, runnable at
 * the end of the run queue. Only once, for a task TASK_CREATE made. */
int64_t sys_task_start(struct trap_frame *tf)
{
    int err = 0;
    struct task *t = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err);
    if (!t)
        return err;
    if (t->nthreads != 0 || tf->rsi >= MICA_USER_END || tf->rdx > MICA_USER_END)
        return -MICA_EINVAL; /* running already (the caller's own task too) */
    struct thread *th = thread_create_user(t, tf->rsi, tf->rdx, tf->r10);
    if (!th)
        return -MICA_ENOMEM;
    sched_ready(th);
    return 0;
}

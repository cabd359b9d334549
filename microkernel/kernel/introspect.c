/* Looking at the system from ring 3 (introspect.h): task records for ps
 * and the pager's report lines, the server behind an endpoint, and the
 * console's input. */
#include "kernel/introspect.h"

#include <mica/errno.h>
#include <mica/syscall.h>

#include "lib/string.h"
#include "mm/kheap.h"
#include "mm/vmm.h"
#include "object/console_input.h"
#include "object/endpoint.h"
#include "object/handle.h"
#include "object/preempt.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/frame_quota.h"
#include "vm/usercopy.h"

#define CONSOLE_READ_MAX 256 /* bytes per call, read onto the kernel stack */

int64_t sys_console_read(struct trap_frame *tf)
{
    uintptr_t buf = tf->rdi;
    size_t len = MIN(tf->rsi, (uint64_t)CONSOLE_READ_MAX);
    if (tf->rsi == 0)
        return -MICA_EINVAL;
    if (!user_range_ok(buf, tf->rsi))
        return -MICA_EFAULT;
    char chunk[CONSOLE_READ_MAX];
    int64_t n = console_input_read(chunk, len);
    if (n < 0)
        return n;
    /* A bad buffer loses the bytes read: the caller's own doing. */
    return copy_to_user(buf, chunk, (size_t)n) < 0 ? -MICA_EFAULT : n;
}

/* The task of the first thread waiting to receive on ep, or 0. */
static uint32_t endpoint_server(const struct endpoint *ep)
{
    const struct thread *r = ep->receivers;
    return r && r->task ? r->task->id : 0;
}

/* User pages mapped in t, counted with a preemption point every
 * PREEMPT_BUDGET table entries looked at, so that a large task cannot
 * hold interrupts off. The caller holds a reference on t. A task that runs
 * meanwhile may map or unmap: the count is of the walk, not a snapshot.
 * Stops at 0 pages for a task that is not live (any more). */
static uint64_t count_pages(struct task *t)
{
    uint64_t n = 0;
    vaddr_t va = 0;
    unsigned budget = PREEMPT_BUDGET;
    while (t->state == TASK_LIVE) {
        paddr_t pa;
        if (vmm_next_mapped(&t->as, &va, USER_SPACE_END, &pa, &budget)) {
            n++;
            va += PAGE_SIZE;
            if (va >= USER_SPACE_END)
                break;
            if (budget)
                continue;
        } else if (va >= USER_SPACE_END) {
            break;
        }
        budget = PREEMPT_BUDGET; /* spent: *va is where to go on */
        if (preempt_point(t) < 0)
            break; /* t ended, or the caller was killed */
    }
    return t->state == TASK_LIVE ? n : 0;
}

/* Everything about t but its pages, which may take preemption points. */
static void describe(const struct task *t, struct mica_task_info *out)
{
    memset(out, 0, sizeof *out);
    out->id = t->id;
    out->state = t->state == TASK_LIVE    ? MICA_TASK_LIVE
                 : t->state == TASK_DYING ? MICA_TASK_DYING
                                          : MICA_TASK_ZOMBIE;
    memcpy(out->name, t->name, MICA_NAME_MAX);
    out->pager_id = t->pager ? endpoint_server(t->pager) : 0;
    out->nthreads = t->nthreads;
    if (t->state == TASK_LIVE)
        out->frames_charged = task_frames_charged(t);
    out->faults = t->faults;
}

/* The live tasks, described in one pass over the list that never blocks;
 * their pages are counted after it (count_pages may switch away, and the
 * list may change meanwhile), each task held by a reference. */
struct list_cursor {
    struct mica_task_info *info;
    struct task **tasks;
    uint64_t max, n;
};

static bool list_one(struct task *t, void *arg)
{
    struct list_cursor *c = arg;
    if (c->n < c->max) {
        describe(t, &c->info[c->n]);
        task_get(t);
        c->tasks[c->n] = t;
    }
    c->n++;
    return true;
}

int64_t sys_task_list(struct trap_frame *tf)
{
    uintptr_t buf = tf->rdi;
    struct list_cursor c = {.max = MIN(tf->rsi, (uint64_t)task_count())};
    if (!user_range_ok(buf, c.max * sizeof(struct mica_task_info)))
        return -MICA_EFAULT; /* max is bounded: no overflow */
    if (c.max) {
        c.info = kmalloc(c.max * sizeof *c.info);
        c.tasks = kmalloc(c.max * sizeof *c.tasks);
        if (!c.info || !c.tasks) {
            kfree(c.info);
            kfree(c.tasks);
            return -MICA_ENOMEM;
        }
    }
    task_for_each_live(list_one, &c);
    uint64_t filled = MIN(c.n, c.max);
    for (uint64_t i = 0; i < filled; i++) {
        c.info[i].pages_mapped = count_pages(c.tasks[i]);
        task_put(c.tasks[i]);
    }
    int rc = filled ? copy_to_user(buf, c.info, filled * sizeof *c.info) : 0;
    kfree(c.info);
    kfree(c.tasks);
    return rc < 0 ? -MICA_EFAULT : (int64_t)c.n;
}

int64_t sys_task_info(struct trap_frame *tf)
{
    int err = 0;
    struct handle *e = handle_lookup(&sched_current()->task->handles, tf->rdi, HANDLE_TASK, 0,
                                     &err);
    if (!e)
        return err;
    struct task *t = e->object;
    struct mica_task_info info;
    describe(t, &info);
    task_get(t); /* the handle may be closed while count_pages is preempted */
    info.pages_mapped = count_pages(t);
    task_put(t);
    return copy_to_user(tf->rsi, &info, sizeof info) < 0 ? -MICA_EFAULT : 0;
}

int64_t sys_endpoint_server(struct trap_frame *tf)
{
    int err = 0;
    struct handle *e = handle_lookup(&sched_current()->task->handles, tf->rdi, HANDLE_ENDPOINT,
                                     0, &err);
    if (!e)
        return err;
    uint32_t id = endpoint_server(e->object);
    return id ? (int64_t)id : -MICA_ENOENT;
}

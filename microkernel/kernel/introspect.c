/* Looking at the system from ring 3 (introspect.h): task records for ps
 * and the pager's report lines, the server behind an endpoint, and the
 * console's input. */
#include "kernel/introspect.h"

#include <mica/errno.h>
#include <mica/syscall.h>

#include "lib/string.h"
#include "mm/vmm.h"
#include "object/console_input.h"
#include "object/endpoint.h"
#include "object/handle.h"
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

/* vmm_for_each_user_page counts the pages itself: nothing to do per page. */
static void count_page(vaddr_t va, paddr_t pa, void *arg)
{
    (void)va;
    (void)pa;
    (void)arg;
}

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
    if (t->state == TASK_LIVE) {
        out->pages_mapped = (uint64_t)vmm_for_each_user_page(&t->as, count_page, NULL);
        out->frames_charged = task_frames_charged(t);
    }
    out->faults = t->faults;
}

struct list_cursor {
    uintptr_t buf;
    uint64_t max, n;
    int err;
};

static bool list_one(struct task *t, void *arg)
{
    struct list_cursor *c = arg;
    if (c->n < c->max) {
        struct mica_task_info info;
        describe(t, &info);
        if (copy_to_user(c->buf + c->n * sizeof info, &info, sizeof info) < 0) {
            c->err = -MICA_EFAULT;
            return false;
        }
    }
    c->n++;
    return true;
}

int64_t sys_task_list(struct trap_frame *tf)
{
    struct list_cursor c = {.buf = tf->rdi, .max = tf->rsi};
    if (c.max > task_count())
        c.max = task_count(); /* no overflow in the range check below */
    if (!user_range_ok(c.buf, c.max * sizeof(struct mica_task_info)))
        return -MICA_EFAULT;
    task_for_each_live(list_one, &c);
    return c.err ? c.err : (int64_t)c.n;
}

int64_t sys_task_info(struct trap_frame *tf)
{
    int err = 0;
    struct handle *e = handle_lookup(&sched_current()->task->handles, tf->rdi, HANDLE_TASK, 0,
                                     &err);
    if (!e)
        return err;
    struct mica_task_info info;
    describe(e->object, &info);
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

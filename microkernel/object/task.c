/* Tasks: creation, references, and the end of a task.
 *
 * A task holds one reference on itself while it is live and one for every
 * task handle naming it (handle_install takes them). task_exit turns it into
 * a zombie that keeps only its id, name and exit status for waiters; the
 * last task_put frees the object.
 *
 * task_exit must give back every byte the task held (a leak test spawns and
 * ends tasks and compares the allocators' counters): thread objects and
 * their kernel stacks, the handle table, the frames mapped in the user half,
 * the page tables, and finally the task object itself. */
#include "object/task.h"

#include <stdarg.h>

#include <mica/errno.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/pte.h"
#include "object/death_note.h"
#include "object/endpoint.h"
#include "object/console_input.h"
#include "lib/console.h"
#include "lib/assert.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/frame_account.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "object/preempt.h"
#include "object/sched.h"
#include "object/thread.h"

static struct slab_cache *task_cache;
static uint32_t next_task_id = 1;
static struct task *live_tasks; /* through live_next */
static unsigned live_count;

void task_init(void)
{
    if (task_cache)
        return; /* already set up (tests may call it first) */
    task_cache = slab_cache_create("task", sizeof(struct task), 16);
    KASSERT(task_cache != NULL, "no memory for the task cache");
}

struct task *task_create(const char *name)
{
    struct task *t = slab_alloc(task_cache);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    if (vmm_space_create(&t->as) < 0)
        goto fail_task;
    if (handle_table_init(&t->handles) < 0)
        goto fail_space;
    size_t n = strnlen(name, MICA_NAME_MAX - 1);
    memcpy(t->name, name, n);
    t->name[n] = '\0';
    t->id = next_task_id++;
    t->state = TASK_LIVE;
    t->refs = 1;
    t->live_next = live_tasks;
    live_tasks = t;
    live_count++;
    return t;

fail_space:
    vmm_space_destroy(&t->as);
fail_task:
    slab_free(task_cache, t);
    return NULL;
}

void task_get(struct task *t)
{
    KASSERT(t->refs > 0, "task_get of freed task %u", t->id);
    t->refs++;
}

void task_put(struct task *t)
{
    KASSERT(t->refs > 0, "task_put of task %u without references", t->id);
    if (--t->refs > 0)
        return;
    KASSERT(t->state == TASK_ZOMBIE, "last reference to live task %u dropped", t->id);
    slab_free(task_cache, t);
}

void task_handle_get(struct task *t)
{
    task_get(t);
    t->handle_refs++;
}

void task_handle_put(struct task *t)
{
    KASSERT(t->handle_refs > 0, "task %u: handle closed that was never counted", t->id);
    if (--t->handle_refs == 0 && t->state == TASK_LIVE) {
        if (t->nthreads == 0) { /* still being built (MICA_SYS_TASK_CREATE): dropped */
            task_exit(t, MICA_EXIT_KILLED);
        } else {
            task_kill_cause(t, MICA_DEATH_ORPHANED, 0);
            task_kill(t, "no handle to it is left (nobody could wait for, page or end it)");
        }
    }
    task_put(t);
}

void task_set_pager(struct task *t, struct endpoint *ep, uint64_t badge)
{
    if (ep)
        endpoint_handle_get(ep, MICA_RIGHT_SEND);
    if (t->pager)
        endpoint_handle_put(t->pager, MICA_RIGHT_SEND);
    t->pager = ep;
    t->pager_badge = ep ? badge : 0;
}

unsigned task_count(void)
{
    return live_count;
}

void task_for_each_live(bool (*fn)(struct task *t, void *arg), void *arg)
{
    for (struct task *t = live_tasks; t; t = t->live_next)
        if (!fn(t, arg))
            return;
}

/* Take a thread in MICA_SYS_TASK_WAIT off the waiter list it is on. */
static void unwait(struct thread *th)
{
    for (struct task *t = live_tasks; t; t = t->live_next) {
        for (struct thread **pp = &t->waiters; *pp; pp = &(*pp)->qnext) {
            if (*pp == th) {
                *pp = th->qnext;
                th->qnext = NULL;
                return;
            }
        }
    }
    panic("thread %u waits for a task but is on no waiter list", th->id);
}

/* Stop every thread of t: off the run queue, out of IPC (partners are woken
 * with -MICA_EDEAD) and waits, marked dead. Threads that are not running
 * are freed now; the running one (t is exiting itself) is left to the
 * scheduler, detached from t. */
static void stop_threads(struct task *t, struct thread *cur)
{
    struct thread *th = t->threads;
    while (th) {
        struct thread *next = th->task_next;
        switch (th->state) {
        case THREAD_READY:
            sched_remove(th);
            break;
        case THREAD_BLOCKED_WAIT:
            unwait(th);
            break;
        case THREAD_BLOCKED_INPUT:
            console_input_cancel(th);
            break;
        case THREAD_RUNNING:
            KASSERT(th == cur, "thread %u of task %u runs but is not current", th->id, t->id);
            break;
        case THREAD_DEAD:
            panic("task %u has dead thread %u on its list", t->id, th->id);
        default: /* new, or blocked in IPC: endpoint_cancel_ipc handles it */
            break;
        }
        endpoint_cancel_ipc(th);
        th->state = THREAD_DEAD;
        if (th != cur)
            thread_destroy(th); /* unlinks it from t */
        th = next;
    }
    if (cur && cur->task == t) {
        KASSERT(t->threads == cur && t->nthreads == 1, "task %u: threads left after teardown",
                t->id);
        t->threads = NULL;
        t->nthreads = 0;
        cur->task = NULL;
        cur->task_next = NULL;
    }
}

/* The frame of one user page goes: drop the mapping's reference (the last
 * one gives the charge back to the pager that paid; boot modules mapped
 * into init are reserved memory, not the allocator's, and left alone). */
static void drop_frame(paddr_t pa, void *arg)
{
    (void)arg;
    frame_release(pa);
}

/* Empty the dying task t's user half, its page tables with it. Each step
 * empties what its budget allows and leaves the rest consistent: the
 * preemption point between two may switch away, and nothing can stop a
 * teardown (other threads may run, none of them in t). */
static void release_user(struct task *t)
{
    KASSERT(t->state == TASK_DYING, "release of the memory of task %u, which is not dying",
            t->id);
    for (;;) {
        unsigned budget = PREEMPT_BUDGET;
        if (vmm_clear_user(&t->as, drop_frame, NULL, PREEMPT_COST_PAGE, &budget))
            return;
        preempt_point(NULL);
    }
}

/* Free the user half: every page (its frame reference dropped, the last
 * one giving the charge back to the pager that paid), the tables with
 * them, then the PML4. The space must not stay loaded while its tables are
 * freed, so the CPU moves to the kernel space if t's is current; the
 * release stops at preemption points, and no thread switched to there
 * loads t's space again (t has no threads left; the exiting one has no
 * task). */
static void release_memory(struct task *t)
{
    if ((read_cr3() & PTE_ADDR_MASK) == t->as.pml4)
        vmm_activate(vmm_kernel_space());
    release_user(t);
    vmm_space_destroy(&t->as);
}

static void unlink_live(struct task *t)
{
    struct task **pp = &live_tasks;
    while (*pp != t) {
        KASSERT(*pp != NULL, "task %u is not on the live list", t->id);
        pp = &(*pp)->live_next;
    }
    *pp = t->live_next;
    t->live_next = NULL;
    live_count--;
}

void task_exit(struct task *t, int64_t status)
{
    KASSERT(t->state == TASK_LIVE, "task_exit of task %u that already exited", t->id);
    struct thread *cur = sched_current();
    bool self = cur && cur->task == t;
    t->state = TASK_DYING; /* no call targets it from here on */

    stop_threads(t, cur);
    task_set_pager(t, NULL, 0);
    handle_table_destroy(&t->handles);
    release_memory(t);
    if (t->frame_account) { /* its charges may still be mapped elsewhere */
        frame_account_close(t->frame_account);
        t->frame_account = 0;
    }
    unlink_live(t);
    t->exit_status = status;
    t->state = TASK_ZOMBIE;
    /* Notes before waiters: a supervisor hears of the death no later than
     * whoever waits for it. */
    death_notes_post(t);
    while (t->waiters) {
        struct thread *w = t->waiters;
        t->waiters = w->qnext;
        w->qnext = NULL;
        sched_wake(w, status);
    }
    task_put(t); /* the reference of the live task */
    if (self)
        sched_exit_current();
}

/* Make thread th of a killed task leave the kernel: whatever it waits for
 * is given up, and it runs again to unwind its system call. */
static void kick_thread(struct thread *th)
{
    switch (th->state) {
    case THREAD_BLOCKED_SEND:
    case THREAD_BLOCKED_RECV:
    case THREAD_BLOCKED_REPLY:
        endpoint_cancel_ipc(th);
        sched_wake(th, -MICA_EDEAD);
        break;
    case THREAD_BLOCKED_WAIT:
        unwait(th);
        sched_wake(th, -MICA_EDEAD);
        break;
    case THREAD_BLOCKED_INPUT:
        console_input_cancel(th);
        sched_wake(th, -MICA_EDEAD);
        break;
    case THREAD_DEAD:
        panic("task %u has dead thread %u on its list", th->task->id, th->id);
    default:
        /* Ready or running: it exits at its next return towards ring 3.
         * New: whoever is starting it makes it ready; its first entry to
         * ring 3 (arch_user_thread_start) exits instead. */
        break;
    }
}

void task_kill(struct task *t, const char *fmt, ...)
{
    if (t->killed || t->state != TASK_LIVE)
        return; /* one report, one end */
    char reason[192];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    kprintf("task %s (id %u) killed: %s\n", t->name, t->id, reason);
    t->killed = true;
    if (t->death_cause == MICA_DEATH_EXITED)
        t->death_cause = MICA_DEATH_KERNEL;
    if (t->nthreads == 0) {
        /* Nothing runs in it that could unwind: a task still being built. */
        task_exit(t, MICA_EXIT_KILLED);
        return;
    }
    for (struct thread *th = t->threads; th; th = th->task_next)
        kick_thread(th);
}

void task_kill_cause(struct task *t, unsigned cause, uint32_t killer)
{
    if (t->killed || t->state != TASK_LIVE)
        return;
    t->death_cause = (uint8_t)cause;
    t->killer_id = killer;
}

void task_exit_if_killed(void)
{
    struct thread *cur = sched_current();
    struct task *t = cur->task;
    if (t && unlikely(t->killed) && t->state == TASK_LIVE)
        task_exit(t, MICA_EXIT_KILLED);
}

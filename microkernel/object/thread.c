/* Threads: allocation of the thread object and its kernel stack, the
 * ring-3 entry frame of a user thread, and this CPU's idle thread.
 *
 * A kernel stack is 2^THREAD_KSTACK_ORDER contiguous frames reached through
 * the direct map; the thread's user registers live in the trap frame at its
 * top (thread->utf). A thread is freed by thread_destroy, which for an
 * exited thread the scheduler calls only after switching away from it. */
#include "object/thread.h"

#include "lib/assert.h"
#include "lib/string.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "object/sched.h"
#include "object/task.h"

static struct slab_cache *thread_cache;
static uint32_t next_thread_id;

/* A zeroed thread with a kernel stack, in state THREAD_NEW. */
static struct thread *thread_alloc(struct task *task)
{
    struct thread *t = slab_alloc(thread_cache);
    if (!t)
        return NULL;
    paddr_t stack;
    if (pmm_alloc_pages(THREAD_KSTACK_ORDER, &stack) < 0) {
        slab_free(thread_cache, t);
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->kstack = (uintptr_t)phys_to_virt(stack);
    t->task = task;
    t->id = next_thread_id++;
    t->state = THREAD_NEW;
    return t;
}

struct thread *thread_create_user(struct task *task, uintptr_t entry, uintptr_t stack,
                                  uint64_t arg)
{
    KASSERT(task != NULL, "thread_create_user without a task");
    struct thread *t = thread_alloc(task);
    if (!t)
        return NULL;
    t->utf = arch_thread_setup_user(&t->ctx, thread_kstack_top(t));
    t->utf->rip = entry;
    t->utf->rsp = stack;
    t->utf->rdi = arg;
    t->task_next = task->threads;
    task->threads = t;
    task->nthreads++;
    return t;
}

/* Take t off its task's thread list. */
static void thread_unlink(struct thread *t)
{
    struct task *task = t->task;
    struct thread **pp = &task->threads;
    while (*pp && *pp != t)
        pp = &(*pp)->task_next;
    KASSERT(*pp == t, "thread %u is not on the thread list of task %u", t->id, task->id);
    *pp = t->task_next;
    task->nthreads--;
    t->task = NULL;
}

void thread_destroy(struct thread *t)
{
    KASSERT(t != sched_current(), "thread_destroy of the running thread %u", t->id);
    KASSERT(t != this_cpu()->idle, "thread_destroy of the idle thread");
    KASSERT(t->state == THREAD_DEAD || t->state == THREAD_NEW,
            "thread_destroy of thread %u in state %d (still schedulable)", t->id, t->state);
    KASSERT(t->ep == NULL, "thread_destroy of thread %u still queued on an endpoint", t->id);
    if (t->task)
        thread_unlink(t);
    pmm_free_pages(virt_to_phys((void *)t->kstack), THREAD_KSTACK_ORDER);
    slab_free(thread_cache, t);
}

/* The idle thread: runs whatever became ready, otherwise sleeps until an
 * interrupt. `sti; hlt` cannot lose a wakeup: sti takes effect only after
 * the next instruction, so an interrupt pending at sti ends the hlt. */
static __noreturn void idle_loop(void *arg)
{
    (void)arg;
    for (;;) {
        sched_yield();
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    }
}

void thread_init(void)
{
    if (thread_cache)
        return; /* already set up (tests may call it first) */
    thread_cache = slab_cache_create("thread", sizeof(struct thread), 16);
    KASSERT(thread_cache != NULL, "no memory for the thread cache");
    struct thread *idle = thread_alloc(NULL);
    KASSERT(idle != NULL, "no memory for the idle thread");
    arch_thread_setup_kernel(&idle->ctx, thread_kstack_top(idle), idle_loop, NULL);
    idle->state = THREAD_READY;
    this_cpu()->idle = idle;
}

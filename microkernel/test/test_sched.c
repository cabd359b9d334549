/* In-kernel tests of tasks and threads without running them: anonymous
 * memory is charged and given back exactly, mapping arguments are checked,
 * the user-half walk sees every page, and a task with an unstarted thread
 * is torn down without a leak. */
#include <mica/errno.h>

#include "mm/kheap.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "object/sched.h"
#include "object/task.h"
#include "object/thread.h"
#include "mm/mm_usage.h"
#include "test/ktest.h"
#include "vm/user_mem.h"

#define VA 0x400000ull

static void expect_same(struct ktest_ctx *t, const struct mm_usage *a, const struct mm_usage *b)
{
    KEXPECT_EQ(t, a->free_frames, b->free_frames);
    KEXPECT_EQ(t, a->slab_objs, b->slab_objs);
    KEXPECT_EQ(t, a->heap_bytes, b->heap_bytes);
}

/* Create and end one task, so that caches and heap arenas exist before a
 * baseline is taken. */
static void warm_up(void)
{
    task_init();
    thread_init();
    struct task *w = task_create("ktest-warm");
    if (w) {
        task_map_anon(w, VA, PAGE_SIZE, MICA_PROT_READ);
        thread_create_user(w, VA, VA, 0);
        task_exit(w, 0);
    }
}

KTEST(task_memory_returns_to_baseline)
{
    struct mm_usage base, now;
    warm_up();
    mm_usage_get(&base);
    unsigned live = task_count();
    struct task *task = task_create("ktest-mem");
    KREQUIRE(t, task != NULL);
    KEXPECT_EQ(t, task_count(), live + 1);

    struct pmm_stats p0, p1;
    pmm_get_stats(&p0);
    KEXPECT_EQ(t, task_map_anon(task, VA, 16 * PAGE_SIZE, MICA_PROT_READ | MICA_PROT_WRITE), 0);
    pmm_get_stats(&p1);
    /* 16 frames plus a PDPT, a PD and a PT. */
    KEXPECT_EQ(t, p0.free - p1.free, 16 + 3);
    paddr_t pa;
    unsigned prot;
    KREQUIRE(t, vmm_translate(&task->as, VA + 5 * PAGE_SIZE, &pa, &prot) == 0);
    KEXPECT_EQ(t, prot & (VM_USER | VM_WRITE), VM_USER | VM_WRITE);
    const uint64_t *words = phys_to_virt(pa);
    uint64_t or_all = 0;
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        or_all |= words[i];
    KEXPECT_EQ(t, or_all, 0); /* zeroed */

    /* Overlap: refused, and nothing of the attempt is left behind. */
    KEXPECT_EQ(t, task_map_anon(task, VA - 4 * PAGE_SIZE, 8 * PAGE_SIZE, MICA_PROT_READ),
               -MICA_EEXIST);
    pmm_get_stats(&p0);
    KEXPECT_EQ(t, p0.free, p1.free);
    KEXPECT_EQ(t, vmm_translate(&task->as, VA - PAGE_SIZE, NULL, NULL), -MICA_ENOENT);

    KEXPECT_EQ(t, task_unmap(task, VA, 8 * PAGE_SIZE), 0);
    pmm_get_stats(&p0);
    KEXPECT_EQ(t, p0.free - p1.free, 8);
    KEXPECT_EQ(t, task_unmap(task, VA, 8 * PAGE_SIZE), 0); /* holes are fine */

    task_exit(task, 0); /* no handle: freed at once */
    KEXPECT_EQ(t, task_count(), live);
    mm_usage_get(&now);
    expect_same(t, &base, &now);
}

KTEST(task_map_rejects_bad_arguments)
{
    task_init();
    struct task *task = task_create("ktest-args");
    KREQUIRE(t, task != NULL);
    const unsigned rw = MICA_PROT_READ | MICA_PROT_WRITE;
    KEXPECT_EQ(t, task_map_anon(task, VA + 1, PAGE_SIZE, rw), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_anon(task, VA, PAGE_SIZE + 1, rw), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_anon(task, VA, 0, rw), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_anon(task, 0, PAGE_SIZE, rw), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_anon(task, MICA_USER_END - PAGE_SIZE, 2 * PAGE_SIZE, rw),
               -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_anon(task, MICA_USER_END, PAGE_SIZE, rw), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_anon(task, VA, ~0ull & ~PAGE_MASK, rw), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_anon(task, VA, PAGE_SIZE, 0x8), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_anon(task, MICA_USER_END - PAGE_SIZE, PAGE_SIZE, MICA_PROT_EXEC), 0);
    unsigned prot;
    KEXPECT_EQ(t, vmm_translate(&task->as, MICA_USER_END - PAGE_SIZE, NULL, &prot), 0);
    KEXPECT_EQ(t, prot & (VM_USER | VM_WRITE | VM_EXEC), VM_USER | VM_EXEC);
    KEXPECT_EQ(t, task_unmap(task, VA + 1, PAGE_SIZE), -MICA_EINVAL);
    task_exit(task, 0);
}

struct walk_log {
    unsigned n;
    vaddr_t va[8];
    paddr_t pa[8];
};

static void log_page(vaddr_t va, paddr_t pa, void *arg)
{
    struct walk_log *w = arg;
    if (w->n < 8) {
        w->va[w->n] = va;
        w->pa[w->n] = pa;
    }
    w->n++;
}

KTEST(vmm_user_walk_sees_every_page)
{
    task_init();
    struct task *task = task_create("ktest-walk");
    KREQUIRE(t, task != NULL);
    /* Ascending, across PT, PD, PDPT and PML4 boundaries. */
    static const vaddr_t vas[] = {0x1000, 0x200000, 0x40000000, 0x8000000000,
                                  0x7ffffffff000};
    for (unsigned i = 0; i < 5; i++)
        KEXPECT_EQ(t, task_map_anon(task, vas[i], PAGE_SIZE, MICA_PROT_READ), 0);
    struct walk_log w = {0};
    KEXPECT_EQ(t, vmm_for_each_user_page(&task->as, log_page, &w), 5);
    KEXPECT_EQ(t, w.n, 5);
    for (unsigned i = 0; i < 5 && i < w.n; i++) {
        paddr_t pa;
        KEXPECT_EQ(t, w.va[i], vas[i]);
        KEXPECT(t, vmm_translate(&task->as, vas[i], &pa, NULL) == 0 && pa == w.pa[i]);
    }
    task_exit(task, 0);
}

KTEST(task_exit_frees_unstarted_threads)
{
    struct mm_usage base, now;
    warm_up();
    mm_usage_get(&base);
    struct task *task = task_create("ktest-threads");
    KREQUIRE(t, task != NULL);
    struct thread *a = thread_create_user(task, VA, 0x7000, 1);
    struct thread *b = thread_create_user(task, VA, 0x8000, 2);
    KREQUIRE(t, a && b);
    KEXPECT_EQ(t, task->nthreads, 2);
    KEXPECT_EQ(t, a->state, THREAD_NEW);
    KEXPECT_EQ(t, a->utf->rip, VA);
    KEXPECT_EQ(t, a->utf->rsp, 0x7000);
    KEXPECT_EQ(t, b->utf->rdi, 2);
    KEXPECT_EQ(t, (uintptr_t)(a->utf + 1), thread_kstack_top(a));
    KEXPECT(t, a->id != b->id);
    /* One of them queued, to be taken off the run queue by the exit. */
    sched_ready(b);
    KEXPECT_EQ(t, b->state, THREAD_READY);
    task_exit(task, 0);
    mm_usage_get(&now);
    expect_same(t, &base, &now);
}

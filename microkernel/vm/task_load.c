/* MICA_SYS_TASK_LOAD: fresh frames for a task being built, filled from the
 * caller's bytes as they are taken, so that a loader pays one pass over
 * each page instead of zeroing it (MAP_ANON) and then overwriting it
 * (TASK_WRITE); the kernel's own loader fills init's segments and the
 * boot modules the same way (task_load.h). Only the part of a frame the
 * bytes do not cover is zeroed: every byte of a frame is written before
 * the frame is mapped, so no frame's old contents can reach the task, and
 * a copy that fails frees the frame unmapped. */
#include <mica/errno.h>

#include "arch/x86_64/user_access.h"
#include "lib/string.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "object/preempt.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/remote_paging.h"
#include "vm/syscalls.h"
#include "vm/task_load.h"
#include "vm/user_mem.h"
#include "vm/usercopy.h"

/* image_src's read for the caller's memory at ctx: the direct copy cannot
 * block; when it faults, the copy is made again through the pager retry,
 * which may (the frame is nobody's yet, so nothing sees it half-filled). */
static int user_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    uintptr_t src = (uintptr_t)ctx + off;
    if (usercopy_bytes(dst, (const void *)src, n) == 0)
        return 0;
    return copy_from_user(dst, src, n);
}

/* Fill the frame at kernel address `page`: bytes [lo, hi) of it from
 * offset off of src, the rest zeroed. Returns 0 or src's read error. */
static inline int fill_frame(uint8_t *page, size_t lo, size_t hi, const struct image_src *src,
                             uint64_t off)
{
    if (lo)
        memset(page, 0, lo);
    if (hi < PAGE_SIZE)
        memset(page + hi, 0, PAGE_SIZE - hi);
    return hi > lo ? src->read(src->ctx, off, page + lo, hi - lo) : 0;
}

/* Frames filled before they are mapped together (vmm_map_run): at most
 * this many, and never across a page table. */
#define RUN_MAX 64

/* task_load_pages, inlined into each caller so that the system call's
 * known source (user_read) is called directly, not through a pointer, for
 * every page. */
static inline __attribute__((always_inline)) int
load_pages(struct task *t, uintptr_t va, uint64_t npages, unsigned prot, size_t skip,
           const struct image_src *src, uint64_t off, size_t len)
{
    unsigned vp = task_vm_prot(prot);
    unsigned budget = PREEMPT_BUDGET;
    uintptr_t at = va, end = va + npages * PAGE_SIZE;
    size_t from = skip, to = skip + len; /* the bytes, as offsets from va */
    paddr_t run[RUN_MAX];
    int rc = 0;
    while (at < end && rc == 0) {
        uintptr_t table_end = ALIGN_DOWN(at, PAGE_SIZE * 512) + PAGE_SIZE * 512;
        unsigned n = (unsigned)MIN((MIN(end, table_end) - at) / PAGE_SIZE, (uintptr_t)RUN_MAX);
        unsigned got = 0, done = 0;
        for (; got < n; got++) {
            if (preempt_due(&budget, PREEMPT_COST_ZERO) && (rc = preempt_point(t)) < 0)
                break;
            size_t pos = at + got * PAGE_SIZE - va;
            size_t lo = from > pos ? MIN(from - pos, (size_t)PAGE_SIZE) : 0;
            size_t hi = to > pos ? MIN(to - pos, (size_t)PAGE_SIZE) : 0;
            if (hi < lo)
                hi = lo;
            if ((rc = pmm_alloc_frame(&run[got])) < 0)
                break;
            rc = fill_frame(phys_to_virt(run[got]), lo, hi, src, off + (pos + lo - from));
            /* A read that blocked let other threads run: t may have died. */
            if (rc == 0 && t->state != TASK_LIVE)
                rc = -MICA_EDEAD;
            if (rc < 0) {
                pmm_free_frame(run[got]);
                break;
            }
        }
        /* After a failure nothing more is mapped: t may be dying. A lone
         * page goes through vmm_map, which costs less than a run's setup. */
        if (got == 1 && rc == 0)
            done = (rc = vmm_map(&t->as, at, run[0], vp)) == 0;
        else if (got && rc == 0)
            rc = vmm_map_run(&t->as, at, run, got, vp, &done);
        for (unsigned i = done; i < got; i++)
            pmm_free_frame(run[i]);
        at += (uintptr_t)done * PAGE_SIZE;
    }
    if (rc < 0 && t->state == TASK_LIVE)
        task_vm_undo(t, va, at);
    return rc;
}

int task_load_pages(struct task *t, uintptr_t va, uint64_t npages, unsigned prot, size_t skip,
                    const struct image_src *src, uint64_t off, size_t len)
{
    return load_pages(t, va, npages, prot, skip, src, off, len);
}

/* (task h with MAP, va, npages, prot, src, len) -> 0. The pages are
 * [va rounded down, + npages pages); the bytes go at va and must end
 * inside them. Only for a task TASK_CREATE made and nobody started, whose
 * image is its own memory, uncharged as MAP_ANON leaves it. */
int64_t sys_task_load(struct trap_frame *tf)
{
    struct task *self = sched_current()->task;
    uintptr_t va = tf->rsi, src = tf->r8;
    uint64_t npages = tf->rdx, len = tf->r9;
    uintptr_t base = va & ~(uintptr_t)PAGE_MASK;
    size_t skip = va & PAGE_MASK;
    int err = 0;

    struct task *t = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err);
    if (!t)
        return err;
    if (t == self || t->nthreads != 0 || (err = task_check_prot(tf->r10)) < 0 ||
        (err = task_vm_range_check(base, npages)) < 0)
        return err ? err : -MICA_EINVAL;
    /* npages fits the user half (checked), so the product cannot wrap. */
    if (len > npages * PAGE_SIZE - skip)
        return -MICA_EINVAL;
    if (!user_range_ok(src, len))
        return -MICA_EFAULT;
    struct image_src from = {.read = user_read, .ctx = (void *)src, .len = len};
    task_get(t);
    err = load_pages(t, base, npages, (unsigned)tf->r10, skip, &from, 0, (size_t)len);
    task_put(t);
    return err;
}

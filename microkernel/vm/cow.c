/* Copy-on-write sharing between address spaces (MICA_SYS_MAP_SHARE) and
 * its resolution (MICA_SYS_MAP_COW).
 *
 * A shared frame is mapped in several places and its allocator reference
 * count counts the mappings, so whichever mapping goes last (unmap, task
 * teardown) frees it. Sharing is always read-only: a page that was
 * writable gets the COW mark (pte.h PTE_COW) in every space, and a write to
 * it faults; the pager then asks for MICA_SYS_MAP_COW, which copies the
 * frame or, when no other mapping is left, makes the same frame writable.
 *
 * Frames with reference count 0 are reserved memory mapped by the kernel
 * (boot modules in init): they are never shared here. */
#include <mica/errno.h>

#include "vm/syscalls.h"
#include "lib/assert.h"
#include "mm/phys.h"
#include "mm/frame_account.h"
#include "mm/pmm.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/cow.h"
#include "vm/frame_quota.h"
#include "vm/remote_paging.h"

/* Page-aligned [va, va + npages pages) inside the user half, page 0 excluded. */
static bool range_ok(uintptr_t va, size_t npages)
{
    return IS_ALIGNED(va, PAGE_SIZE) && va >= PAGE_SIZE && va < MICA_USER_END &&
           npages > 0 && npages <= TASK_VM_NPAGES_MAX &&
           npages <= (MICA_USER_END - va) / PAGE_SIZE;
}

/* Copy one 4 KiB frame: rep movsq moves it in 512 iterations, where a byte
 * loop would take 4096; the copy is most of a copy-on-write fault. */
static void frame_copy(paddr_t dst, paddr_t src)
{
    void *d = phys_to_virt(dst);
    const void *s = phys_to_virt(src);
    uint64_t n = PAGE_SIZE / 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* Undo the first `upto` pages of a share that was mapping dst. */
static void unshare(struct task *dst, uintptr_t dst_va, struct task *src, uintptr_t src_va,
                    size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        if (vmm_translate(&src->as, src_va + i * PAGE_SIZE, NULL, NULL) < 0)
            continue;
        paddr_t pa;
        int rc = vmm_unmap(&dst->as, dst_va + i * PAGE_SIZE, &pa);
        KASSERT(rc == 0, "share rollback: page 0x%lx of task %u not mapped: %d",
                (unsigned long)(dst_va + i * PAGE_SIZE), dst->id, rc);
        frame_release(pa);
    }
}

int64_t task_map_share(struct task *dst, uintptr_t dst_va, struct task *src, uintptr_t src_va,
                       size_t npages, unsigned prot)
{
    if (!range_ok(dst_va, npages) || !range_ok(src_va, npages))
        return -MICA_EINVAL;
    if (task_check_prot(prot) < 0 || (prot & MICA_PROT_WRITE))
        return -MICA_EINVAL;
    /* Within one space the ranges may not overlap (the bounds above keep
     * npages * PAGE_SIZE from overflowing). */
    size_t len = npages * PAGE_SIZE;
    if (dst == src && dst_va < src_va + len && src_va < dst_va + len)
        return -MICA_EINVAL;
    /* Check everything first, so that a refusal changes nothing. */
    for (size_t i = 0; i < npages; i++) {
        paddr_t pa;
        unsigned sp;
        if (vmm_translate(&src->as, src_va + i * PAGE_SIZE, &pa, &sp) < 0)
            continue; /* a hole: skipped */
        if (!(sp & VM_USER) || pmm_refcount(pa) == 0)
            return -MICA_EINVAL;
        if (vmm_translate(&dst->as, dst_va + i * PAGE_SIZE, NULL, NULL) == 0)
            return -MICA_EEXIST;
    }
    /* Map in dst; only page tables can run out, and that is undone. */
    unsigned vp = task_vm_prot(prot);
    int64_t shared = 0;
    for (size_t i = 0; i < npages; i++) {
        uintptr_t s = src_va + i * PAGE_SIZE, d = dst_va + i * PAGE_SIZE;
        paddr_t pa;
        if (vmm_translate(&src->as, s, &pa, NULL) < 0)
            continue;
        pmm_ref(pa);
        int rc = vmm_map(&dst->as, d, pa, vp);
        if (rc < 0) {
            pmm_free_frame(pa);
            unshare(dst, dst_va, src, src_va, i);
            return rc;
        }
        shared++;
    }
    /* Nothing can fail from here: mark what was writable in both spaces. */
    for (size_t i = 0; i < npages; i++) {
        uintptr_t s = src_va + i * PAGE_SIZE, d = dst_va + i * PAGE_SIZE;
        unsigned sp;
        if (vmm_translate(&src->as, s, NULL, &sp) < 0)
            continue;
        if ((sp & VM_WRITE) || vmm_is_cow(&src->as, s)) {
            int rs = vmm_mark_cow(&src->as, s), rd = vmm_mark_cow(&dst->as, d);
            KASSERT(rs == 0 && rd == 0, "share: marking page 0x%lx failed (%d, %d)",
                    (unsigned long)s, rs, rd);
        }
    }
    return shared;
}

int task_map_cow(struct task *t, uintptr_t va, unsigned prot)
{
    return task_map_cow_for(t, NULL, va, prot);
}

int task_map_cow_for(struct task *t, struct task *payer, uintptr_t va, unsigned prot)
{
    if (!range_ok(va, 1) || task_check_prot(prot) < 0 || !(prot & MICA_PROT_WRITE))
        return -MICA_EINVAL;
    if (!vmm_is_cow(&t->as, va))
        return -MICA_EINVAL;
    paddr_t pa, old;
    int rc = vmm_translate(&t->as, va, &pa, NULL);
    KASSERT(rc == 0, "marked page 0x%lx of task %u does not translate", (unsigned long)va, t->id);
    uint32_t refs = pmm_refcount(pa);
    KASSERT(refs > 0, "marked page 0x%lx of task %u maps a reserved frame", (unsigned long)va,
            t->id);
    unsigned vp = task_vm_prot(prot);
    if (refs == 1) {
        /* The last mapping: the frame is this task's alone now. */
        rc = vmm_remap(&t->as, va, pa, vp, NULL);
        KASSERT(rc == 0, "taking over page 0x%lx failed: %d", (unsigned long)va, rc);
        return 0;
    }
    paddr_t copy;
    if (task_frame_reserve(payer, 1) < 0 || pmm_alloc_frame(&copy) < 0)
        return -MICA_ENOMEM;
    frame_copy(copy, pa);
    rc = vmm_remap(&t->as, va, copy, vp, &old);
    KASSERT(rc == 0 && old == pa, "replacing page 0x%lx failed: %d", (unsigned long)va, rc);
    task_frame_charge(payer, copy);
    frame_release(old); /* this mapping's reference; others keep the frame */
    return 1;
}

/* (dst task h MAP, dst va, src task h MAP, src va, npages, prot) -> pages shared. */
int64_t sys_map_share(struct trap_frame *tf)
{
    int err = 0;
    struct task *dst = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err);
    if (!dst)
        return err;
    struct task *src = task_lookup_handle(tf->rdx, MICA_RIGHT_MAP, &err);
    if (!src)
        return err;
    if (tf->r9 != (unsigned)tf->r9)
        return -MICA_EINVAL;
    return task_map_share(dst, tf->rsi, src, tf->r10, tf->r8, (unsigned)tf->r9);
}

/* (task h MAP, va, prot) -> 1 copied, 0 taken over. */
int64_t sys_map_cow(struct trap_frame *tf)
{
    int err = 0;
    struct task *t = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err);
    if (!t)
        return err;
    if (tf->rdx != (unsigned)tf->rdx)
        return -MICA_EINVAL;
    /* A copy is charged to the calling pager. */
    return task_map_cow_for(t, sched_current()->task, tf->rsi, (unsigned)tf->rdx);
}

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
#include "mm/pmm.h"
#include "mm/frame_account.h"
#include "object/preempt.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/cow.h"
#include "vm/frame_quota.h"
#include "vm/remote_paging.h"
#include "vm/user_mem.h"
#include "inject/inject.h"

/* Copy one 4 KiB frame: rep movsq moves it in 512 iterations, where a byte
 * loop would take 4096; the copy is most of a copy-on-write fault. */
static void frame_copy(paddr_t dst, paddr_t src)
{
    void *d = phys_to_virt(dst);
    const void *s = phys_to_virt(src);
    uint64_t n = PAGE_SIZE / 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* May src's page at va be shared? Mapped in the user half on a frame of
 * the allocator (reserved frames, boot modules, are not shared). */
static bool shareable(struct task *src, uintptr_t va, paddr_t pa)
{
    unsigned sp;
    return vmm_translate(&src->as, va, NULL, &sp) == 0 && (sp & VM_USER) &&
           pmm_refcount(pa) != 0;
}

/* Share src's page s (frame pa) at dst's d, and mark both copy-on-write
 * when src's was writable or marked, at once: src never writes a frame dst
 * already maps, even if the call stops at a preemption point right after. */
static int share_page(struct task *dst, uintptr_t d, struct task *src, uintptr_t s, paddr_t pa,
                      unsigned vp)
{
    unsigned sp;
    int rc = vmm_translate(&src->as, s, NULL, &sp);
    KASSERT(rc == 0, "share: source page 0x%lx vanished", (unsigned long)s);
    bool cow = (sp & VM_WRITE) || vmm_is_cow(&src->as, s);
    pmm_ref(pa);
    if ((rc = vmm_map(&dst->as, d, pa, vp)) < 0) {
        pmm_free_frame(pa); /* the reference taken above */
        return rc;
    }
    if (cow) {
        int rs = vmm_mark_cow(&src->as, s), rd = vmm_mark_cow(&dst->as, d);
        KASSERT(rs == 0 && rd == 0, "share: marking page 0x%lx failed (%d, %d)",
                (unsigned long)s, rs, rd);
    }
    return 0;
}

/* A preemption point in a share: 0, or -MICA_EDEAD when either task died
 * or the caller was killed. */
static int share_preempt(const struct task *dst, const struct task *src)
{
    int rc = preempt_point(dst);
    return rc < 0 ? rc : src->state == TASK_LIVE ? 0 : -MICA_EDEAD;
}

int64_t task_map_share(struct task *dst, uintptr_t dst_va, struct task *src, uintptr_t src_va,
                       size_t npages, unsigned prot)
{
    if (task_vm_range_check(dst_va, npages) < 0 || task_vm_range_check(src_va, npages) < 0)
        return -MICA_EINVAL;
    if (task_check_prot(prot) < 0 || (prot & MICA_PROT_WRITE))
        return -MICA_EINVAL;
    /* Within one space the ranges may not overlap (the range check keeps
     * npages * PAGE_SIZE from overflowing). */
    size_t len = npages * PAGE_SIZE;
    if (dst == src && dst_va < src_va + len && src_va < dst_va + len)
        return -MICA_EINVAL;
    /* Check everything first, so that a refusal changes nothing. Only the
     * source's mapped pages are visited: holes are skipped a table at a
     * time. */
    unsigned budget = PREEMPT_BUDGET;
    int rc;
    for (uintptr_t off = 0; off < len;) {
        uintptr_t s = src_va + off;
        paddr_t pa;
        unsigned cost = 0;
        if (vmm_next_mapped(&src->as, &s, src_va + len, &pa, &budget)) {
            if (!shareable(src, s, pa))
                return -MICA_EINVAL;
            if (vmm_translate(&dst->as, dst_va + (s - src_va), NULL, NULL) == 0)
                return -MICA_EEXIST;
            s += PAGE_SIZE;
            cost = PREEMPT_COST_PAGE;
        }
        off = s - src_va;
        if (off < len && preempt_due(&budget, cost) && (rc = share_preempt(dst, src)) < 0)
            return rc;
    }
    /* Map in dst; only page tables can run out, and that is undone. Pages
     * changed by others at a preemption point are taken as they are now. */
    unsigned vp = task_vm_prot(prot);
    int64_t shared = 0;
    rc = 0;
    uintptr_t off;
    for (off = 0; off < len;) {
        uintptr_t s = src_va + off;
        paddr_t pa;
        unsigned cost = 0;
        if (vmm_next_mapped(&src->as, &s, src_va + len, &pa, &budget)) {
            if (!shareable(src, s, pa))
                rc = -MICA_EINVAL;
            else
                rc = share_page(dst, dst_va + (s - src_va), src, s, pa, vp);
            if (rc < 0) {
                off = s - src_va;
                break;
            }
            shared++;
            s += PAGE_SIZE;
            cost = PREEMPT_COST_PAGE;
        }
        off = s - src_va;
        if (off < len && preempt_due(&budget, cost) && (rc = share_preempt(dst, src)) < 0)
            break;
    }
    if (rc < 0) {
        /* What this call mapped in dst goes (src's marks stay: the next
         * write to such a page faults once and its frame is taken over). */
        if (dst->state == TASK_LIVE)
            task_vm_undo(dst, dst_va, dst_va + off);
        return rc;
    }
    return shared;
}

int task_map_cow(struct task *t, uintptr_t va, unsigned prot)
{
    return task_map_cow_for(t, NULL, va, prot);
}

int task_map_cow_for(struct task *t, struct task *payer, uintptr_t va, unsigned prot)
{
    if (task_vm_range_check(va, 1) < 0 || task_check_prot(prot) < 0 || !(prot & MICA_PROT_WRITE))
        return -MICA_EINVAL;
    paddr_t pa, old;
    struct vmm_leaf leaf;
    if (!vmm_cow_frame(&t->as, va, &pa, &leaf))
        return -MICA_EINVAL;
    uint32_t refs = pmm_refcount(pa);
    KASSERT(refs > 0, "marked page 0x%lx of task %u maps a reserved frame", (unsigned long)va,
            t->id);
    unsigned vp = task_vm_prot(prot);
    /* Nothing below changes t's tables before the remap (no preemption
     * point, no allocation of page tables), so the leaf found stays good. */
    if (refs == 1) {
        /* The last mapping: the frame is this task's alone now. */
        vmm_leaf_remap(&t->as, va, leaf, pa, vp);
        return 0;
    }
    paddr_t copy;
    if (task_frame_reserve(payer, 1) < 0 || pmm_alloc_frame(&copy) < 0)
        return -MICA_ENOMEM;
    frame_copy(copy, pa);
    old = vmm_leaf_remap(&t->as, va, leaf, copy, vp);
    KASSERT(old == pa, "replacing page 0x%lx: frame 0x%lx became 0x%lx", (unsigned long)va,
            (unsigned long)pa, (unsigned long)old);
    task_frame_charge(payer, copy);
    frame_release(old); /* this mapping's reference; others keep the frame */
    return 1;
}

/* (dst task h MAP, dst va, src task h MAP, src va, npages, prot) -> pages shared. */
int64_t sys_map_share(struct trap_frame *tf)
{
    struct task *dst, *src;
    int err = paging_task_pair(tf, &dst, &src);
    if (err < 0)
        return err;
    /* Both stay valid across the call's preemption points. */
    task_get(dst);
    task_get(src);
    int64_t rc = task_map_share(dst, tf->rsi, src, tf->r10, tf->r8, (unsigned)tf->r9);
    task_put(src);
    task_put(dst);
    return rc;
}

int64_t paging_map_cow(uint64_t task, uint64_t va, uint64_t prot)
{
    int err = 0;
    struct task *t = task_lookup_handle(task, MICA_RIGHT_MAP, &err);
    if (!t)
        return err;
    if (prot != (unsigned)prot)
        return -MICA_EINVAL;
    if (INJECT(INJECT_PAGER_MAP, t)) {
        inject_report(INJECT_PAGER_MAP, "copy-on-write map at 0x%lx refused (-ENOMEM)",
                      (unsigned long)va);
        return -MICA_ENOMEM;
    }
    /* A copy is charged to the calling pager. */
    return task_map_cow_for(t, sched_current()->task, va, (unsigned)prot);
}

/* (task h MAP, va, prot) -> 1 copied, 0 taken over. */
int64_t sys_map_cow(struct trap_frame *tf)
{
    return paging_map_cow(tf->rdi, tf->rsi, tf->rdx);
}

/* A task's user memory: the one check of a user range for every paging
 * call, anonymous zeroed pages mapped on request, unmapped with their
 * frames' references dropped, the release of the whole user half when a
 * task ends (object/task.c), and the two system calls that expose this to ring 3
 * (MICA_SYS_MEM_MAP, MICA_SYS_MEM_UNMAP).
 *
 * Every loop here may run over the whole user half, so each one skips
 * holes a table at a time (vmm_next_mapped) and stops at a preemption
 * point every PREEMPT_BUDGET units of work (object/preempt.h). */
#include <mica/errno.h>

#include "vm/syscalls.h"
#include "lib/assert.h"
#include "lib/string.h"
#include "mm/page_zero.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/frame_account.h"
#include "object/preempt.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/frame_quota.h"
#include "vm/remote_paging.h"
#include "vm/user_mem.h"

#define PROT_ALL (MICA_PROT_READ | MICA_PROT_WRITE | MICA_PROT_EXEC)

int task_vm_range_check(uintptr_t va, uint64_t npages)
{
    if (!IS_ALIGNED(va, PAGE_SIZE) || va < PAGE_SIZE || va >= MICA_USER_END)
        return -MICA_EINVAL;
    /* npages is compared before it is multiplied: no overflow. */
    if (npages == 0 || npages > TASK_VM_NPAGES_MAX || npages > (MICA_USER_END - va) / PAGE_SIZE)
        return -MICA_EINVAL;
    return 0;
}

/* task_vm_range_check for a length in bytes (a multiple of the page size). */
static int check_len(uintptr_t va, size_t len)
{
    if (!IS_ALIGNED(len, PAGE_SIZE))
        return -MICA_EINVAL;
    return task_vm_range_check(va, len / PAGE_SIZE);
}

/* How an unmap loop treats a preemption point. */
enum unmap_mode {
    UNMAP_CALL,     /* a system call: stops when t dies or the caller is killed */
    UNMAP_ROLLBACK, /* undoing a failed call: stops only when t dies */
};

/* Unmap what is mapped in [va, end) of t and drop the frames' references.
 * Returns 0, or -MICA_EDEAD when it stopped at a preemption point (see
 * enum unmap_mode); the pages above the stop stay mapped, and a dead t's
 * teardown releases them. */
static int unmap_range(struct task *t, uintptr_t va, uintptr_t end, enum unmap_mode mode)
{
    unsigned budget = PREEMPT_BUDGET;
    while (va < end) {
        paddr_t pa;
        unsigned cost = 0;
        if (vmm_next_mapped(&t->as, &va, end, &pa, &budget)) {
            int rc = vmm_unmap(&t->as, va, &pa);
            KASSERT(rc == 0, "task %u: unmap of mapped page 0x%lx failed: %d", t->id,
                    (unsigned long)va, rc);
            frame_release(pa);
            va += PAGE_SIZE;
            cost = PREEMPT_COST_PAGE;
        }
        if (va >= end || !preempt_due(&budget, cost))
            continue;
        int rc = preempt_point(mode == UNMAP_CALL ? t : NULL);
        if (rc < 0)
            return rc;
        if (mode == UNMAP_ROLLBACK && t->state != TASK_LIVE)
            return -MICA_EDEAD;
    }
    return 0;
}

int task_map_anon(struct task *t, uintptr_t va, size_t len, unsigned prot)
{
    return task_map_anon_for(t, NULL, va, len, prot);
}

int task_map_anon_for(struct task *t, struct task *payer, uintptr_t va, size_t len,
                      unsigned prot)
{
    int rc = check_len(va, len);
    if (rc < 0)
        return rc;
    if (prot & ~PROT_ALL)
        return -MICA_EINVAL;
    /* The whole length against the quota before any frame is taken. */
    if ((rc = task_frame_reserve(payer, len / PAGE_SIZE)) < 0)
        return rc;
    unsigned vp = task_vm_prot(prot);
    unsigned budget = PREEMPT_BUDGET;
    uintptr_t at, end = va + len;
    for (at = va; at < end; at += PAGE_SIZE) {
        if (preempt_due(&budget, PREEMPT_COST_ZERO)) {
            rc = preempt_point(t);
            /* Other calls may have charged the payer meanwhile. */
            if (rc == 0)
                rc = task_frame_reserve(payer, (end - at) / PAGE_SIZE);
            if (rc < 0)
                break;
        }
        paddr_t pa;
        rc = pmm_alloc_frame(&pa);
        if (rc < 0)
            break;
        page_zero(phys_to_virt(pa)); /* rep stosq: see mm/page_zero.h */
        rc = vmm_map(&t->as, at, pa, vp);
        if (rc < 0) {
            pmm_free_frame(pa);
            break;
        }
        task_frame_charge(payer, pa);
    }
    /* Exactly the pages this call mapped; a dead t's teardown frees them. */
    if (rc < 0 && t->state == TASK_LIVE)
        task_vm_undo(t, va, at);
    return rc;
}

int task_map_anon_page(struct task *t, struct task *payer, uintptr_t va, unsigned prot)
{
    /* One page is bounded work: no preemption point, so no re-reservation
     * (task_map_anon_for's loop needs both for long ranges). */
    int rc = task_frame_reserve(payer, 1);
    if (rc < 0)
        return rc;
    paddr_t pa;
    if ((rc = pmm_alloc_frame(&pa)) < 0)
        return rc;
    page_zero(phys_to_virt(pa)); /* rep stosq: see mm/page_zero.h */
    if ((rc = vmm_map(&t->as, va, pa, task_vm_prot(prot))) < 0) {
        pmm_free_frame(pa);
        return rc;
    }
    task_frame_charge(payer, pa);
    return 0;
}

int task_unmap(struct task *t, uintptr_t va, size_t len)
{
    int rc = check_len(va, len);
    if (rc < 0)
        return rc;
    return unmap_range(t, va, va + len, UNMAP_CALL);
}

void task_vm_undo(struct task *t, uintptr_t va, uintptr_t end)
{
    unmap_range(t, va, end, UNMAP_ROLLBACK);
}

int64_t sys_mem_map(struct trap_frame *tf)
{
    unsigned prot = (unsigned)tf->rdx;
    if (tf->rdx != prot || prot == 0 || (prot & ~PROT_ALL))
        return -MICA_EINVAL;
    /* W^X for ring 3: a page is never writable and executable at once. */
    if ((prot & MICA_PROT_WRITE) && (prot & MICA_PROT_EXEC))
        return -MICA_EINVAL;
    return task_map_anon(sched_current()->task, tf->rdi, tf->rsi, prot);
}

int64_t sys_mem_unmap(struct trap_frame *tf)
{
    return task_unmap(sched_current()->task, tf->rdi, tf->rsi);
}

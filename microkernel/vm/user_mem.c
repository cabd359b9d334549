/* A task's user memory: anonymous zeroed pages mapped on request, unmapped
 * with their frames' references dropped, and the two system calls that
 * expose this to ring 3 (MICA_SYS_MEM_MAP, MICA_SYS_MEM_UNMAP). */
#include <mica/errno.h>

#include "vm/syscalls.h"
#include "lib/assert.h"
#include "lib/string.h"
#include "mm/page_zero.h"
#include "mm/phys.h"
#include "mm/frame_account.h"
#include "mm/pmm.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/frame_quota.h"
#include "vm/user_mem.h"

#define PROT_ALL (MICA_PROT_READ | MICA_PROT_WRITE | MICA_PROT_EXEC)

/* A non-empty page-aligned range of the user half that leaves page 0
 * unmapped, so that null pointers always fault. */
static int check_range(uintptr_t va, size_t len)
{
    if (!IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(len, PAGE_SIZE) || len == 0)
        return -MICA_EINVAL;
    if (va < PAGE_SIZE || va >= MICA_USER_END || len > MICA_USER_END - va)
        return -MICA_EINVAL;
    return 0;
}

static unsigned vm_prot(unsigned prot)
{
    unsigned vp = VM_USER;
    if (prot & MICA_PROT_WRITE)
        vp |= VM_WRITE;
    if (prot & MICA_PROT_EXEC)
        vp |= VM_EXEC;
    return vp;
}

/* Unmap what is mapped in [va, va+len); holes are skipped. */
static void unmap_range(struct task *t, uintptr_t va, size_t len)
{
    for (size_t off = 0; off < len; off += PAGE_SIZE) {
        paddr_t pa;
        if (vmm_unmap(&t->as, va + off, &pa) == 0)
            frame_release(pa);
    }
}

int task_map_anon(struct task *t, uintptr_t va, size_t len, unsigned prot)
{
    return task_map_anon_for(t, NULL, va, len, prot);
}

int task_map_anon_for(struct task *t, struct task *payer, uintptr_t va, size_t len,
                      unsigned prot)
{
    int rc = check_range(va, len);
    if (rc < 0)
        return rc;
    if (prot & ~PROT_ALL)
        return -MICA_EINVAL;
    /* The whole length against the quota before any frame is taken. */
    if ((rc = task_frame_reserve(payer, len / PAGE_SIZE)) < 0)
        return rc;
    unsigned vp = vm_prot(prot);
    size_t off;
    for (off = 0; off < len; off += PAGE_SIZE) {
        paddr_t pa;
        rc = pmm_alloc_frame(&pa);
        if (rc < 0)
            break;
        page_zero(phys_to_virt(pa)); /* rep stosq: see mm/page_zero.h */
        rc = vmm_map(&t->as, va + off, pa, vp);
        if (rc < 0) {
            pmm_free_frame(pa);
            break;
        }
        task_frame_charge(payer, pa);
    }
    if (rc < 0)
        unmap_range(t, va, off); /* exactly the pages this call mapped */
    return rc;
}

int task_unmap(struct task *t, uintptr_t va, size_t len)
{
    int rc = check_range(va, len);
    if (rc < 0)
        return rc;
    unmap_range(t, va, len);
    return 0;
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

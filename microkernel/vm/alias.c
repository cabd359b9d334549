/* Writable shared memory between two tasks (MICA_SYS_MAP_ALIAS): the
 * frames of one task's pages mapped at a second place, so that both see
 * every write. A supervisor uses it to keep memory a server writes alive
 * across the server's death (docs/design.md §19.1: the pager's checkpoint).
 *
 * Each frame gets one more reference, so it is freed by whichever mapping
 * goes last, as a copy-on-write share is. Unlike MICA_SYS_MAP_SHARE there
 * is no mark and no copy: a page carrying the COW mark is refused (its
 * frame is shared with copies that must not see the writes), and so are
 * reserved frames (boot modules). The call is bounded by
 * MICA_ALIAS_MAX_PAGES, so it needs no preemption point. */
#include <mica/errno.h>

#include "lib/assert.h"
#include "mm/pmm.h"
#include "object/task.h"
#include "vm/remote_paging.h"
#include "vm/syscalls.h"
#include "vm/user_mem.h"

/* May src's page at va be aliased with VM_* protection vp? Present in the
 * user half, on an allocator frame, unmarked, and writable if vp is. */
static bool aliasable(struct task *src, uintptr_t va, unsigned vp, paddr_t *pa)
{
    unsigned sp;
    return vmm_translate(&src->as, va, pa, &sp) == 0 && (sp & VM_USER) &&
           (!(vp & VM_WRITE) || (sp & VM_WRITE)) && pmm_refcount(*pa) != 0 &&
           !vmm_is_cow(&src->as, va);
}

/* Alias npages pages of src at src_va into dst at dst_va with prot.
 * Returns 0; -MICA_EINVAL (ranges, prot, dst == src, npages over the
 * limit, a source page absent, marked, reserved or read-only under a
 * writable prot); -MICA_EEXIST (a destination page is mapped);
 * -MICA_ENOMEM (page tables). Nothing changes on error. */
static int task_map_alias(struct task *dst, uintptr_t dst_va, struct task *src,
                          uintptr_t src_va, uint64_t npages, unsigned prot)
{
    if (npages > MICA_ALIAS_MAX_PAGES || dst == src || task_check_prot(prot) < 0 ||
        task_vm_range_check(dst_va, npages) < 0 || task_vm_range_check(src_va, npages) < 0)
        return -MICA_EINVAL;
    unsigned vp = task_vm_prot(prot);
    paddr_t pa;
    for (uint64_t i = 0; i < npages; i++) {
        if (!aliasable(src, src_va + i * PAGE_SIZE, vp, &pa))
            return -MICA_EINVAL;
        if (vmm_translate(&dst->as, dst_va + i * PAGE_SIZE, NULL, NULL) == 0)
            return -MICA_EEXIST;
    }
    for (uint64_t i = 0; i < npages; i++) {
        int rc = vmm_translate(&src->as, src_va + i * PAGE_SIZE, &pa, NULL);
        KASSERT(rc == 0, "alias: source page 0x%lx vanished",
                (unsigned long)(src_va + i * PAGE_SIZE));
        pmm_ref(pa);
        if ((rc = vmm_map(&dst->as, dst_va + i * PAGE_SIZE, pa, vp)) < 0) {
            pmm_free_frame(pa); /* the reference taken above */
            task_vm_undo(dst, dst_va, dst_va + i * PAGE_SIZE);
            return rc;
        }
    }
    return 0;
}

/* (dst task h MAP, dst va, src task h MAP, src va, npages, prot) -> 0. */
int64_t sys_map_alias(struct trap_frame *tf)
{
    struct task *dst, *src;
    int err = paging_task_pair(tf, &dst, &src);
    if (err < 0)
        return err;
    return task_map_alias(dst, tf->rsi, src, tf->r10, tf->r8, (unsigned)tf->r9);
}

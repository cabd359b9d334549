/* user_layout.h: the stack and start-info page of a task the kernel
 * builds. Only the top of the stack is mapped eagerly: each page mapped
 * at spawn is a frame to allocate, zero, map and free again, the bulk of a
 * small task's cost. Nothing else is placed in the reservation, and the
 * page below it stays unmapped, so an overflow faults. */
#include "vm/user_layout.h"

#include "lib/assert.h"
#include "mm/phys.h"
#include "mm/vmm.h"
#include "object/task.h"
#include "vm/user_mem.h"

STATIC_ASSERT(sizeof(struct mica_start_info) <= PAGE_SIZE, "start info fits one page");
STATIC_ASSERT(MICA_USER_START_INFO == MICA_USER_STACK_TOP, "start info sits on the stack top");
STATIC_ASSERT(MICA_USER_STACK_TOP % 16 == 0, "initial rsp is 16-aligned");
STATIC_ASSERT(MICA_USER_STACK_MAPPED % PAGE_SIZE == 0 && MICA_USER_STACK_MAPPED > 0 &&
              MICA_USER_STACK_MAPPED <= MICA_USER_STACK_SIZE,
              "the stack mapped at spawn is whole pages inside the reserved stack");

int user_layout_map(struct task *t, struct mica_start_info **si)
{
    paddr_t pa;
    int rc = task_map_anon(t, USER_STACK_MAPPED_BOTTOM, MICA_USER_STACK_MAPPED,
                           MICA_PROT_READ | MICA_PROT_WRITE);
    if (rc)
        return rc;
    /* Read-only for ring 3; the direct map stays writable for the kernel. */
    if ((rc = task_map_anon(t, MICA_USER_START_INFO, PAGE_SIZE, MICA_PROT_READ)) != 0)
        return rc;
    rc = vmm_translate(&t->as, MICA_USER_START_INFO, &pa, NULL);
    KASSERT(rc == 0, "start-info page of task %u not mapped after mapping it", t->id);
    *si = phys_to_virt(pa);
    return 0;
}

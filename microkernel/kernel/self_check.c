/* MICA_INFO_SELF_CHECK: run the memory core's own checks in one place. */
#include "kernel/self_check.h"

#include "mm/kheap.h"
#include "mm/pmm.h"
#include "mm/slab.h"

uint64_t kernel_self_check(void)
{
    pmm_check();
    kheap_check();
    return slab_check();
}

/* In-kernel tests of the page tables and the kernel address space: a real
 * mapping written through, W^X of the running image, no identity map, and
 * page-table pages given back after unmapping. */
#include <mica/errno.h>

#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/layout.h"
#include "mm/kernel_space.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "test/ktest.h"

/* Scratch addresses in KERNEL_DYN, away from the benchmark's page at its start. */
#define SCRATCH_VA     (KERNEL_DYN_START + 0x40000000ULL)
#define SCRATCH_USER   0x0000100000000000ULL /* user half, PML4 slot 32 */

static int wx_probe = 1; /* lives in .data */

KTEST(seed_vmm_map_write)
{
    struct vm_space *ks = vmm_kernel_space();
    paddr_t pa, old = 0;
    KREQUIRE(t, vmm_translate(ks, SCRATCH_VA, NULL, NULL) == -MICA_ENOENT);
    KREQUIRE(t, pmm_alloc_frame(&pa) == 0);
    *(volatile uint8_t *)phys_to_virt(pa) = 0;

    KEXPECT_EQ(t, vmm_map(ks, SCRATCH_VA, pa, VM_WRITE), 0);
    *(volatile uint8_t *)SCRATCH_VA = 0x42;
    KEXPECT_EQ(t, *(volatile uint8_t *)phys_to_virt(pa), 0x42);

    KEXPECT_EQ(t, vmm_unmap(ks, SCRATCH_VA, &old), 0);
    KEXPECT_EQ(t, old, pa);
    KEXPECT_EQ(t, vmm_translate(ks, SCRATCH_VA, NULL, NULL), -MICA_ENOENT);
    pmm_free_frame(pa);
}

KTEST(vmm_kernel_wx)
{
    struct vm_space *ks = vmm_kernel_space();
    paddr_t pa;
    unsigned prot;
    const unsigned nx_prot = cpu_features.nx ? 0 : VM_EXEC;

    KREQUIRE(t, vmm_translate(ks, (vaddr_t)__text_start, &pa, &prot) == 0);
    KEXPECT_EQ(t, pa, kernel_image_phys(__text_start));
    KEXPECT_EQ(t, prot & (VM_WRITE | VM_EXEC | VM_USER), VM_EXEC);

    KREQUIRE(t, vmm_translate(ks, (vaddr_t)__rodata_start, &pa, &prot) == 0);
    KEXPECT_EQ(t, pa, kernel_image_phys(__rodata_start));
    KEXPECT_EQ(t, prot & (VM_WRITE | VM_EXEC | VM_USER), nx_prot);

    KREQUIRE(t, vmm_translate(ks, (vaddr_t)&wx_probe, &pa, &prot) == 0);
    KEXPECT_EQ(t, pa, kernel_image_phys(&wx_probe));
    KEXPECT_EQ(t, prot & (VM_WRITE | VM_EXEC | VM_USER), VM_WRITE | nx_prot);

    /* The direct map is data too. */
    KREQUIRE(t, vmm_translate(ks, (vaddr_t)phys_to_virt(0x100000), &pa, &prot) == 0);
    KEXPECT_EQ(t, pa, 0x100000);
    KEXPECT_EQ(t, prot & (VM_WRITE | VM_EXEC | VM_USER), VM_WRITE | nx_prot);
}

KTEST(vmm_no_identity_map)
{
    struct vm_space *ks = vmm_kernel_space();
    KEXPECT_EQ(t, vmm_translate(ks, 0, NULL, NULL), -MICA_ENOENT);
    KEXPECT_EQ(t, vmm_translate(ks, 0x100000, NULL, NULL), -MICA_ENOENT);
    KEXPECT_EQ(t, vmm_translate(ks, KERNEL_LOAD_PHYS, NULL, NULL), -MICA_ENOENT);
}

KTEST(vmm_map_unmap_frees_tables)
{
    struct pmm_stats before, after;
    struct vm_space as;
    paddr_t pa, old;
    KREQUIRE(t, pmm_alloc_frame(&pa) == 0);
    pmm_get_stats(&before);

    KREQUIRE(t, vmm_space_create(&as) == 0);
    KEXPECT_EQ(t, vmm_table_pages(&as), 1);
    KEXPECT_EQ(t, vmm_map(&as, SCRATCH_USER, pa, VM_USER | VM_WRITE), 0);
    KEXPECT_EQ(t, vmm_table_pages(&as), 4); /* PML4, PDPT, PD, PT */
    KEXPECT_EQ(t, vmm_map(&as, SCRATCH_USER + PAGE_SIZE, pa, VM_USER), 0);
    KEXPECT_EQ(t, vmm_table_pages(&as), 4);
    KEXPECT_EQ(t, vmm_unmap(&as, SCRATCH_USER, &old), 0);
    KEXPECT_EQ(t, old, pa);
    KEXPECT_EQ(t, vmm_table_pages(&as), 4);
    KEXPECT_EQ(t, vmm_unmap(&as, SCRATCH_USER + PAGE_SIZE, NULL), 0);
    KEXPECT_EQ(t, vmm_table_pages(&as), 1);
    KEXPECT_EQ(t, vmm_translate(&as, SCRATCH_USER, NULL, NULL), -MICA_ENOENT);
    vmm_space_destroy(&as);

    pmm_get_stats(&after);
    KEXPECT_EQ(t, after.free, before.free);
    pmm_free_frame(pa);
}

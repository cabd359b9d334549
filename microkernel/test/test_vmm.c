/* In-kernel tests of the page tables and the kernel address space: a real
 * mapping written through, W^X of the running image, no identity map, and
 * page-table pages given back after unmapping. */
#include <mica/errno.h>

#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/pte.h"
#include "kernel/boot_state.h"
#include "lib/console.h"
#include "mm/kernel_space.h"
#include "mm/memmap.h"
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

/* The direct map's alias of each image page: never executable, and
 * read-only where the image is (text, rodata), so that a stray kernel
 * write cannot patch code through it. */
KTEST(direct_map_alias_of_image_keeps_protection)
{
    struct vm_space *ks = vmm_kernel_space();
    const unsigned nx_prot = cpu_features.nx ? 0 : VM_EXEC;
    static const struct {
        const char *start, *end;
        unsigned prot;
    } parts[] = {
        {__text_start, __text_end, 0},
        {__rodata_start, __rodata_end, 0},
        {__data_start, __bss_end, VM_WRITE},
    };
    unsigned wrong = 0, pages = 0;
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        for (const char *p = parts[i].start; p < parts[i].end; p += PAGE_SIZE) {
            paddr_t pa;
            unsigned prot;
            void *alias = phys_to_virt(kernel_image_phys(p));
            if (vmm_translate(ks, (vaddr_t)alias, &pa, &prot) != 0 ||
                pa != kernel_image_phys(p) ||
                (prot & (VM_WRITE | VM_EXEC | VM_USER)) != (parts[i].prot | nx_prot)) {
                if (wrong++ == 0)
                    ktest_fail(t, __FILE__, __LINE__, "alias of image page %p: prot 0x%x",
                               (const void *)p, prot);
            }
            pages++;
        }
    }
    KEXPECT_EQ(t, wrong, 0);
    KEXPECT(t, pages > 3);
}

/* RAM as the kernel maps it (mm_init: usable, ACPI data and NVS). */
static bool is_ram_type(uint32_t type)
{
    return type == MEMMAP_USABLE || type == MEMMAP_ACPI_DATA || type == MEMMAP_ACPI_NVS;
}

/* True if the page at pa overlaps an entry of RAM type. */
static bool page_has_ram(const struct memmap *m, paddr_t pa)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct memmap_entry *e = &m->e[i];
        if (is_ram_type(e->type) && e->base < pa + PAGE_SIZE && pa < e->base + e->len)
            return true;
    }
    return false;
}

/* Around every edge of RAM (the 2 MiB chunks holding an entry's first and
 * last byte) exactly the pages with RAM in them are direct-mapped: a large
 * page there would also map the reserved ranges, ACPI tables or device
 * memory next to the RAM, write-back cacheable. */
KTEST(direct_map_covers_only_ram_at_its_edges)
{
    struct vm_space *ks = vmm_kernel_space();
    const struct memmap *m = &boot_state.info.memmap;
    unsigned wrong = 0, holes = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct memmap_entry *e = &m->e[i];
        if (!is_ram_type(e->type) || e->len == 0 || e->base + e->len > DIRECT_MAP_SIZE)
            continue;
        paddr_t edges[2] = {e->base, e->base + e->len - 1};
        for (int k = 0; k < 2; k++) {
            paddr_t c = ALIGN_DOWN(edges[k], PTE_SPAN(2));
            for (paddr_t pa = c; pa < c + PTE_SPAN(2); pa += PAGE_SIZE) {
                bool ram = page_has_ram(m, pa);
                bool mapped = vmm_translate(ks, (vaddr_t)phys_to_virt(pa), NULL, NULL) == 0;
                holes += !ram;
                if (ram != mapped && wrong++ == 0)
                    ktest_fail(t, __FILE__, __LINE__, "page 0x%lx: %s but %s",
                               (unsigned long)pa, ram ? "RAM" : "not RAM",
                               mapped ? "mapped" : "not mapped");
            }
        }
    }
    KEXPECT_EQ(t, wrong, 0);
    if (holes == 0)
        kprintf("# no partly-RAM chunk in this memory map\n");
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

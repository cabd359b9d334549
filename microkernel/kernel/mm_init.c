/* Memory-core bring-up: turns the firmware's map into free ranges, places
 * the frame metadata, and starts each allocator in dependency order. */
#include "kernel/mm_init.h"
#include "lib/console.h"
#include "arch/x86_64/layout.h"
#include "lib/assert.h"
#include "arch/x86_64/lapic.h"
#include "mm/kernel_space.h"
#include "mm/kheap.h"
#include "mm/memmap.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "mm/vmm.h"

#define MAX_RANGES (MEMMAP_MAX * 2 + BOOT_MAX_MODULES + 8)

extern char __kernel_phys_start[];

static size_t collect_reserved(const struct boot_info *bi, paddr_t info_pa,
                               struct pmm_range *res)
{
    size_t n = 0;
    const uint32_t *info = phys_to_virt(info_pa);
    res[n++] = (struct pmm_range){0, 1 * MiB}; /* real-mode IVT, BIOS, EBDA */
    res[n++] = (struct pmm_range){(paddr_t)(uintptr_t)__kernel_phys_start,
                                  kernel_image_phys(__kernel_end)};
    res[n++] = (struct pmm_range){info_pa, info_pa + info[0]};
    for (size_t i = 0; i < bi->nmodules; i++)
        res[n++] = (struct pmm_range){bi->modules[i].start, bi->modules[i].end};
    return n;
}

/* RAM the direct map must cover: usable memory and ACPI tables. */
static size_t collect_ram(const struct memmap *m, struct pmm_range *ram, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n && n < max; i++) {
        const struct memmap_entry *e = &m->e[i];
        if (e->len == 0 || e->base + e->len < e->base)
            continue;
        if (e->type == MEMMAP_USABLE || e->type == MEMMAP_ACPI_DATA || e->type == MEMMAP_ACPI_NVS)
            ram[n++] = (struct pmm_range){e->base, e->base + e->len};
    }
    return n;
}

/* Map the local APIC's registers at LAPIC_VA when they are memory-mapped
 * (xAPIC mode) and tell arch/ where, so that arch/ never maps memory. */
static void map_lapic(void)
{
    if (!lapic_present())
        return;
    paddr_t pa = lapic_mmio_phys();
    if (pa == 0)
        return; /* x2APIC: registers are MSRs */
    int err = vmm_map(vmm_kernel_space(), LAPIC_VA, pa, VM_WRITE | VM_NOCACHE | VM_GLOBAL);
    KASSERT(err == 0, "lapic: cannot map registers at phys %#lx: error %d",
            (unsigned long)pa, err);
    lapic_set_mmio(LAPIC_VA);
}

void mm_init(const struct boot_info *bi, paddr_t info_pa)
{
    static struct pmm_range reserved[BOOT_MAX_MODULES + 4];
    static struct pmm_range free[MAX_RANGES];
    static struct pmm_range ram[MEMMAP_MAX];

    size_t nres = collect_reserved(bi, info_pa, reserved);
    /* At most one range per usable entry plus one per reserved range that
     * splits one, so MAX_RANGES cannot overflow; if it ever did, free
     * memory would be lost without a word, so check anyway. */
    size_t nfree = memmap_free_ranges(&bi->memmap, reserved, nres, free, MAX_RANGES - 1);
    if (nfree > MAX_RANGES - 1)
        panic("mm: %zu free ranges, more than the %d mm_init holds (MAX_RANGES)", nfree,
              MAX_RANGES - 1);
    pfn_t max_pfn = memmap_usable_end(&bi->memmap) >> PAGE_SHIFT;
    if (nfree == 0)
        panic("mm: no usable memory in the memory map");

    /* The metadata must be reachable through the early direct map. */
    size_t meta_bytes = pmm_metadata_bytes(max_pfn);
    paddr_t meta_pa;
    if (memmap_carve(free, &nfree, meta_bytes, PAGE_SIZE, EARLY_MAP_LIMIT, &meta_pa) < 0)
        panic("mm: no room below 4 GiB for %zu KiB of frame metadata", meta_bytes / 1024);
    pmm_init(phys_to_virt(meta_pa), max_pfn, free, nfree);

    struct pmm_stats st;
    pmm_get_stats(&st);
    kprintf("pmm: %llu frames (%llu KiB) free, metadata %zu KiB at 0x%llx, max pfn 0x%llx\n",
            (unsigned long long)st.free, (unsigned long long)st.free * 4,
            meta_bytes / 1024, (unsigned long long)meta_pa, (unsigned long long)max_pfn);

    size_t nram = collect_ram(&bi->memmap, ram, ARRAY_SIZE(ram));
    kernel_space_init(ram, nram);
    map_lapic();
    kheap_init();
    slab_init();
    pmm_get_stats(&st);
    kprintf("mm: memory core up: %llu KiB free of %llu KiB managed\n",
            (unsigned long long)st.free * 4, (unsigned long long)st.total * 4);
}

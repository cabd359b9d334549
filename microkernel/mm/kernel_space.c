/* Building the kernel's address space at boot (see mm/kernel_space.h).
 *
 * The problem: while the new tables are built, the early page tables are
 * active and reach only physical [0, 4 GiB) through the direct map, but
 * pmm_alloc_frame may return a frame anywhere in RAM. Switching early and
 * growing the direct map in address order does not help either: the PD
 * that maps a frame may have to live in a frame that is not mapped yet.
 *
 * The solution: every table page under construction is reached through a
 * boot window, a 4 KiB virtual slot per page-table level whose PTE this
 * file controls. The window tables (PDPT, PD, PT) are static pages of the
 * kernel image, which the early tables map at KERNEL_VMA; they are hooked
 * into a free slot of the early PML4 (BOOT_WINDOW_SLOT) for the duration of
 * the build, so any frame can be reached, whatever its address. One window
 * per level means a parent and a child table are never competing for the
 * same window. Once the tables are complete the windows are unhooked and
 * CR3 switches in one step; from then on the full direct map reaches every
 * table page and mm/vmm.c takes over.
 *
 * Host builds have no windows: phys_to_virt reaches all simulated memory,
 * and only kernel_space_build is compiled. */
#include "mm/kernel_space.h"

#include "arch/x86_64/layout.h"
#include "mm/pt.h"
#include "lib/console.h"
#include "lib/assert.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/tlb.h"
#include "mm/vmm.h"
#ifndef MICA_HOST
#include "arch/x86_64/cpu.h"
#endif

STATIC_ASSERT(DIRECT_MAP_START == VA_KERNEL_HALF, "the direct map opens the kernel half");
STATIC_ASSERT(DIRECT_MAP_START + DIRECT_MAP_SIZE <= KERNEL_DYN_START,
              "KERNEL_DYN region overlaps the direct map");
STATIC_ASSERT(KERNEL_DYN_START + KERNEL_DYN_SIZE <= KERNEL_VMA,
              "KERNEL_DYN region overlaps the kernel image");

#ifdef MICA_HOST

static void windows_reset(void)
{
}

/* The table page at `pa`, being built at `level`. */
static uint64_t *bt_table(int level, paddr_t pa)
{
    (void)level;
    return phys_to_virt(pa);
}

#else

STATIC_ASSERT(DIRECT_MAP_START == DIRECT_MAP_BASE, "layout.h and phys.h disagree");

#define BOOT_WINDOW_SLOT 510u /* PML4 slot unused by the early tables */
#define BOOT_WINDOW_BASE 0xffffff0000000000ULL
#define WINDOW_VA(level) (BOOT_WINDOW_BASE + (vaddr_t)(level) * PAGE_SIZE)

STATIC_ASSERT(BOOT_WINDOW_BASE >> PTE_SHIFT(4) == (0xffff000000000000ULL >> PTE_SHIFT(4)) + BOOT_WINDOW_SLOT,
              "BOOT_WINDOW_BASE is not in BOOT_WINDOW_SLOT");
STATIC_ASSERT(KERNEL_DYN_START + KERNEL_DYN_SIZE <= BOOT_WINDOW_BASE,
              "boot windows overlap the KERNEL_DYN region");

static uint64_t window_pdpt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t window_pd[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t window_pt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static paddr_t window_frame[PT_LEVELS + 1]; /* frame each window shows */

static void windows_reset(void)
{
    for (int l = 0; l <= PT_LEVELS; l++)
        window_frame[l] = ~0ULL;
}

/* The table page at `pa`, being built at `level`, through its window. */
static uint64_t *bt_table(int level, paddr_t pa)
{
    if (window_frame[level] != pa) {
        pte_set(&window_pt[level], pa | PTE_P | PTE_W | pte_nx());
        tlb_flush_page(WINDOW_VA(level));
        window_frame[level] = pa;
    }
    return (uint64_t *)WINDOW_VA(level);
}

/* The active (early) PML4, reached through the early direct map. */
static uint64_t *early_pml4(void)
{
    paddr_t pa = pte_addr(read_cr3());
    KASSERT(pa < EARLY_MAP_LIMIT, "early PML4 at 0x%llx is beyond the early direct map",
            (unsigned long long)pa);
    return phys_to_virt(pa);
}

static void windows_open(void)
{
    uint64_t *pml4 = early_pml4();
    KASSERT(!(pml4[BOOT_WINDOW_SLOT] & PTE_P), "early page tables use PML4 slot %u",
            BOOT_WINDOW_SLOT);
    window_pdpt[pte_index(BOOT_WINDOW_BASE, 3)] =
        kernel_image_phys(window_pd) | PTE_TABLE_KERNEL;
    window_pd[pte_index(BOOT_WINDOW_BASE, 2)] = kernel_image_phys(window_pt) | PTE_TABLE_KERNEL;
    pte_set(&pml4[BOOT_WINDOW_SLOT], kernel_image_phys(window_pdpt) | PTE_TABLE_KERNEL);
    windows_reset();
}

static void windows_close(void)
{
    pte_set(&early_pml4()[BOOT_WINDOW_SLOT], 0);
    for (int l = 1; l <= PT_LEVELS; l++) {
        pte_set(&window_pt[l], 0);
        tlb_flush_page(WINDOW_VA(l));
    }
}

#endif /* MICA_HOST */

/* A new zeroed table page for `level`. */
static paddr_t bt_new_table(int level)
{
    paddr_t pa;
    if (pmm_alloc_frame(&pa) < 0)
        panic("kernel_space: out of memory for kernel page tables");
    pt_zero(bt_table(level, pa));
    pt_count_set(pa, 0);
    return pa;
}

/* The table at `level` on the path of `va`, creating the missing ones. */
static paddr_t bt_descend(paddr_t pml4, vaddr_t va, int level)
{
    paddr_t t = pml4;
    for (int l = PT_LEVELS; l > level; l--) {
        uint64_t e = bt_table(l, t)[pte_index(va, l)];
        if (!(e & PTE_P)) {
            e = bt_new_table(l - 1) | PTE_TABLE_KERNEL;
            pte_set(&bt_table(l, t)[pte_index(va, l)], e);
            pt_count_inc(t);
        }
        KASSERT(!(e & PTE_PS), "kernel_space: 0x%llx is inside a large page at level %d",
                (unsigned long long)va, l);
        t = pte_addr(e);
    }
    return t;
}

/* Set the leaf of `va` in table t at `level` to `leaf`; an identical
 * existing entry is accepted when `may_repeat` (overlapping RAM ranges). */
static void bt_set_leaf(paddr_t t, vaddr_t va, uint64_t leaf, int level, bool may_repeat)
{
    uint64_t *slot = &bt_table(level, t)[pte_index(va, level)];
    if (*slot & PTE_P) {
        KASSERT(may_repeat && *slot == leaf, "kernel_space: 0x%llx mapped twice",
                (unsigned long long)va);
        return;
    }
    pte_set(slot, leaf);
    pt_count_inc(t);
}

/* bt_set_leaf in the table on the path of `va`, created if missing. */
static void bt_map(paddr_t pml4, vaddr_t va, uint64_t leaf, int level, bool may_repeat)
{
    bt_set_leaf(bt_descend(pml4, va, level), va, leaf, level, may_repeat);
}

static void map_image_part(paddr_t pml4, const struct kimage_part *p)
{
    KASSERT(IS_ALIGNED(p->start, PAGE_SIZE) && p->start >= KERNEL_VMA && p->end >= p->start,
            "kernel image part [0x%llx, 0x%llx) is not a page-aligned range in the image",
            (unsigned long long)p->start, (unsigned long long)p->end);
    KASSERT(!(p->prot & (VM_USER | ~VM_PROT_MASK)), "kernel image part prot 0x%x", p->prot);
    uint64_t bits = pte_leaf_bits(p->prot);
    vaddr_t end = ALIGN_UP(p->end, PAGE_SIZE);
    for (vaddr_t va = p->start; va < end; va += PAGE_SIZE)
        bt_map(pml4, va, (va - KERNEL_VMA) | bits, 1, false);
}

/* What the direct map is built from: the RAM ranges and the kernel image. */
struct dm_source {
    const struct pmm_range *ram;
    size_t nram;
    const struct kimage_part *parts;
    size_t nparts;
};

/* True if the union of the RAM ranges covers [base, end) entirely. The
 * ranges may be unsorted and overlap: advance over whichever range holds
 * the point reached so far until none does. */
static bool ram_covers(const struct dm_source *src, paddr_t base, paddr_t end)
{
    paddr_t x = base;
    bool moved = true;
    while (x < end && moved) {
        moved = false;
        for (size_t i = 0; i < src->nram; i++) {
            const struct pmm_range *r = &src->ram[i];
            if (r->base <= x && x < r->end) {
                x = r->end;
                moved = true;
            }
        }
    }
    return x >= end;
}

/* The image part whose frames include the page at physical pa, or NULL. */
static const struct kimage_part *image_part_at(const struct dm_source *src, paddr_t pa)
{
    for (size_t i = 0; i < src->nparts; i++) {
        const struct kimage_part *p = &src->parts[i];
        paddr_t base = p->start - KERNEL_VMA, end = ALIGN_UP(p->end, PAGE_SIZE) - KERNEL_VMA;
        if (base <= pa && pa < end)
            return p;
    }
    return NULL;
}

/* True if some page of [base, end) holds part of the kernel image. */
static bool image_overlaps(const struct dm_source *src, paddr_t base, paddr_t end)
{
    for (size_t i = 0; i < src->nparts; i++) {
        const struct kimage_part *p = &src->parts[i];
        paddr_t pb = p->start - KERNEL_VMA, pe = ALIGN_UP(p->end, PAGE_SIZE) - KERNEL_VMA;
        if (pb < end && base < pe)
            return true;
    }
    return false;
}

/* Direct-map range r. A 2 MiB chunk wholly RAM and free of the kernel
 * image gets one large page. Any other chunk gets 4 KiB pages over its RAM
 * only: a large page would also map, write-back cacheable, whatever else
 * lies there (device memory, firmware ranges), which the CPU may then read
 * speculatively; and the frames of the kernel image get their own
 * protection without exec (text and rodata read-only), so that a stray
 * kernel write cannot patch code or constants through this alias. */
static void map_ram(paddr_t pml4, const struct dm_source *src, const struct pmm_range *r)
{
    paddr_t end = MIN(r->end, (paddr_t)DIRECT_MAP_SIZE);
    if (r->end > DIRECT_MAP_SIZE)
        kprintf("kernel_space: RAM [0x%llx, 0x%llx) beyond the direct map is not mapped\n",
                (unsigned long long)MAX(r->base, (paddr_t)DIRECT_MAP_SIZE),
                (unsigned long long)r->end);
    if (r->base >= end)
        return;
    uint64_t large = pte_leaf_bits(VM_WRITE | VM_GLOBAL) | PTE_PS;
    uint64_t small = pte_leaf_bits(VM_WRITE | VM_GLOBAL);
    for (paddr_t c = ALIGN_DOWN(r->base, PTE_SPAN(2)); c < end; c += PTE_SPAN(2)) {
        paddr_t ce = c + PTE_SPAN(2);
        bool image = image_overlaps(src, c, ce);
        if (!image && ram_covers(src, c, ce)) {
            bt_map(pml4, DIRECT_MAP_START + c, c | large, 2, true);
            continue;
        }
        /* Pages partly RAM are mapped: an ACPI table may start mid-page.
         * One walk to the chunk's page table serves all its pages. */
        paddr_t pt = bt_descend(pml4, DIRECT_MAP_START + c, 1);
        paddr_t pe = ALIGN_UP(MIN(end, ce), PAGE_SIZE);
        for (paddr_t pa = ALIGN_DOWN(MAX(r->base, c), PAGE_SIZE); pa < pe; pa += PAGE_SIZE) {
            const struct kimage_part *part = image ? image_part_at(src, pa) : NULL;
            uint64_t bits = part ? pte_leaf_bits(part->prot & ~VM_EXEC) : small;
            bt_set_leaf(pt, DIRECT_MAP_START + pa, pa | bits, 1, true);
        }
    }
}

paddr_t kernel_space_build(const struct pmm_range *ram, size_t n,
                           const struct kimage_part *parts, size_t nparts)
{
    const struct dm_source src = {ram, n, parts, nparts};
    windows_reset();
    paddr_t pml4 = bt_new_table(PT_LEVELS);
    for (size_t i = 0; i < nparts; i++)
        map_image_part(pml4, &parts[i]);
    for (size_t i = 0; i < n; i++)
        map_ram(pml4, &src, &ram[i]);
    /* Created now so that the region is shared by every later space. */
    bt_descend(pml4, KERNEL_DYN_START, PT_LEVELS - 1);
    return pml4;
}

#ifndef MICA_HOST

void kernel_space_init(const struct pmm_range *ram, size_t n)
{
    struct vm_space *ks = vmm_kernel_space();
    KASSERT(ks->pml4 == 0, "kernel_space_init called twice");
    /* NX bits in the new tables would be reserved-bit faults without NXE. */
    if (cpu_features.nx && !(rdmsr(MSR_EFER) & EFER_NXE))
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);

    const struct kimage_part parts[] = {
        {(vaddr_t)__text_start, (vaddr_t)__text_end, VM_EXEC | VM_GLOBAL},
        {(vaddr_t)__rodata_start, (vaddr_t)__rodata_end, VM_GLOBAL},
        {(vaddr_t)__data_start, (vaddr_t)__bss_end, VM_WRITE | VM_GLOBAL},
    };
    windows_open();
    paddr_t pml4 = kernel_space_build(ram, n, parts, ARRAY_SIZE(parts));
    windows_close();

    write_cr0(read_cr0() | CR0_WP); /* read-only pages bind the kernel too */
    write_cr3(pml4);
    if (cpu_features.pge) {
        /* Toggling PGE also drops any global entry left from the early tables. */
        uint64_t cr4 = read_cr4();
        write_cr4(cr4 & ~CR4_PGE);
        write_cr4(cr4 | CR4_PGE);
    }
    ks->pml4 = pml4;
    kprintf("kernel_space: %llu page-table pages, image %llu KiB W^X, PML4 at 0x%llx\n",
            (unsigned long long)vmm_table_pages(ks),
            (unsigned long long)(__bss_end - __text_start) / KiB, (unsigned long long)pml4);
}

#endif /* !MICA_HOST */

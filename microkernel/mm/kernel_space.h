/* The kernel's address space, built once at boot to replace the early page
 * tables: the direct map of all RAM (RW, NX, global; 2 MiB pages where a
 * chunk is wholly RAM, else 4 KiB pages over its RAM only), the
 * kernel image with 4 KiB pages and W^X, the PDPT of the KERNEL_DYN region,
 * and nothing else (no identity map: a null dereference faults). */
#pragma once

#include "lib/types.h"
#include "mm/pmm.h"

/* Kernel-half region for mappings made after boot (device windows, scratch
 * pages of tests and benchmarks). Its PDPT is created at boot, so the region
 * is shared by every address space. */
#define KERNEL_DYN_START 0xffffc00000000000ULL
#define KERNEL_DYN_SIZE  (512ULL * GiB)

/* The device windows start 1 MiB into KERNEL_DYN (the first MiB is scratch
 * space for tests and benchmarks); their first page holds the local APIC's
 * registers in xAPIC mode (mapped by mm_init). */
#define LAPIC_VA         (KERNEL_DYN_START + 0x100000ULL)

/* A piece of the kernel image [start, end) (virtual, at KERNEL_VMA + phys)
 * and its VM_* protection. `start` must be page aligned; `end` is rounded
 * up to a page. */
struct kimage_part {
    vaddr_t start, end;
    unsigned prot;
};

/* Build the kernel's page tables without loading them and return the
 * PML4's physical address: the `nparts` image parts with 4 KiB pages, and
 * the direct map DIRECT_MAP_START + pa -> pa of the `n` `ram` ranges (any
 * order, overlaps allowed; RAM at or above DIRECT_MAP_SIZE is left out with
 * a warning): a 2 MiB page for each chunk their union covers whole and the
 * image does not touch, 4 KiB pages over just the RAM of the others, and
 * for the image's own frames the image's protection without exec. Panics when frames run out
 * or image parts overlap or are misaligned. Used by kernel_space_init; a
 * separate function so that host tests can check the tables it builds. */
paddr_t kernel_space_build(const struct pmm_range *ram, size_t n,
                           const struct kimage_part *parts, size_t nparts);

/* Build the kernel address space (text R-X, rodata R--, data+bss RW- NX,
 * all global; the direct map over `ram`), switch CR3 to it, enable CR0.WP,
 * EFER.NXE (when the CPU has NX) and CR4.PGE (when it has global pages), and
 * publish it as vmm_kernel_space(). Call once, after pmm_init and before any
 * vmm_space_create, with every physical range that must stay reachable
 * through phys_to_virt (usable RAM and ACPI tables; the boot information
 * and modules lie in usable RAM). Pointers into the identity map are invalid afterwards. */
void kernel_space_init(const struct pmm_range *ram, size_t n);

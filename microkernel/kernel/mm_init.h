/* Bringing up the memory core at boot. */
#pragma once

#include "boot/multiboot2.h"

/* Reserve what must not be allocated (first 1 MiB, kernel image, boot
 * information, modules), start the page-frame allocator over the rest,
 * build the kernel address space (direct map, W^X image, no identity map,
 * the local APIC's registers at LAPIC_VA in xAPIC mode)
 * and start the heap and slab caches. Panics if memory is too small to
 * hold the allocator's metadata. */
void mm_init(const struct boot_info *bi, paddr_t info_pa);

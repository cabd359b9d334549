/* The kernel's virtual memory layout (see docs/design.md). */
#pragma once

#define KERNEL_VMA        0xffffffff80000000ULL /* kernel image: -2 GiB */
#define KERNEL_LOAD_PHYS  0x200000ULL           /* where GRUB loads it */
#define DIRECT_MAP_START  0xffff800000000000ULL /* all RAM, 64 TiB window */
#define DIRECT_MAP_SIZE   (64ULL << 40)
#define EARLY_MAP_LIMIT   (4ULL << 30) /* the boot page tables map phys [0, 4 GiB) */

#ifndef __ASSEMBLER__
#include "lib/types.h"
/* Linker-script symbols bounding the kernel image (virtual addresses). */
extern char __kernel_start[], __text_start[], __text_end[], __rodata_start[],
    __rodata_end[], __data_start[], __data_end[], __bss_start[], __bss_end[],
    __kernel_end[];

/* Physical address of a symbol in the kernel image. */
static inline paddr_t kernel_image_phys(const void *p)
{
    return (paddr_t)((uintptr_t)p - KERNEL_VMA);
}
#endif

/* Parser for the Multiboot2 boot information block. Everything in it comes
 * from the boot loader and is untrusted: every tag is bounds-checked and a
 * corrupt block is reported with a message naming what is wrong. */
#pragma once

#include "lib/memmap_table.h"
#include "lib/types.h"

#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289u
/* Boot modules the kernel accepts: far more than the image carries (the
 * Makefile refuses to build an image with more); a loader passing more
 * fails the boot with a message naming this limit, rather than dropping
 * some (init needs the last one, bootcfg). */
#define BOOT_MAX_MODULES 256
#define MULTIBOOT2_MAX_INFO_SIZE (1u << 20) /* larger blocks are rejected */

struct boot_module {
    paddr_t start, end;  /* [start, end) as loaded by GRUB */
    const char *cmdline; /* points into the information block, NUL-terminated */
};

struct boot_info {
    const char *cmdline;     /* kernel command line ("" when absent) */
    const char *loader_name; /* "" when absent */
    struct memmap memmap;    /* from the mmap tag, else the EFI mmap tag */
    bool memmap_from_efi;    /* memmap was converted from the EFI memory map */
    bool booted_by_efi;      /* an EFI system table tag is present (UEFI boot) */
    struct boot_module modules[BOOT_MAX_MODULES];
    size_t nmodules;
    uint64_t mem_lower_kib, mem_upper_kib; /* basic meminfo tag, 0 when absent */
    /* The RSDP copy inside the information block (tag 15 preferred over
     * tag 14): NULL when absent; acpi_rsdp_len bytes may be read there. */
    const void *acpi_rsdp_ptr;
    size_t acpi_rsdp_len;
};

/* Parse the information block at `info` (whose first 8 bytes give its size)
 * of which at most `avail` bytes may be read. On success fills *out and
 * returns 0. On failure returns -MICA_EINVAL and writes a message naming the
 * problem into err[errlen] (e.g. "tag 6 (memory map) at offset 0x48 runs
 * past the end of the block"); *out is then incomplete. err may be NULL
 * when errlen is 0. String pointers in *out point into `info`. */
int multiboot2_parse(const void *info, size_t avail, struct boot_info *out,
                     char *err, size_t errlen);

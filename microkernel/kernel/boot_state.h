/* What the boot sequence learned, kept for tests, benchmarks and later
 * subsystems (modules for init, the options). Written once by kmain. */
#pragma once

#include "boot/multiboot2.h"
#include "kernel/cmdline.h"

struct boot_state {
    struct boot_info info;        /* parsed Multiboot2 information */
    uint32_t info_pa;             /* its physical address */
    struct kernel_options opts;   /* parsed command line */
    uint64_t entry_tsc;           /* rdtsc at the first kernel instruction */
    uint64_t boot_to_main_insns;  /* rdtsc at the end of mm_init minus at entry */
    uint64_t selftest_insns;      /* rdtsc spent in the kernel's own test and
                                   * benchmark runs before init (test, bench) */
};

extern struct boot_state boot_state;

/* rdtsc at the first kernel instruction (boot/entry.asm). */
extern uint64_t boot_entry_tsc;

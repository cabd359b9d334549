/* kmain: the boot sequence of the memory core, from the trampoline's jump
 * to the higher half to the point where the kernel runs its tests or
 * benchmarks (later: starts init). Each step depends on the one before. */
#include "kernel/boot_state.h"
#include "kernel/cmdline.h"
#include "inject/inject.h"
#include "lib/console.h"
#include "arch/x86_64/machine.h"
#include "kernel/mm_init.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/layout.h"
#include "boot/multiboot2.h"
#include "lib/assert.h"
#include "mm/memmap.h"
#include "mm/phys.h"
#include "arch/x86_64/context.h"
#include "arch/x86_64/timer.h"
#include "object/endpoint.h"
#include "object/sched.h"
#include "vm/init_task.h"
#include "object/task.h"
#include "object/thread.h"
#include "kernel/selftest.h"

struct boot_state boot_state;
static struct cpu boot_cpu;

/* The information block is read through the early direct map, which covers
 * physical [0, EARLY_MAP_LIMIT); GRUB places it in low memory. */
static void parse_boot_info(uint32_t magic, uint32_t info_pa, struct boot_info *bi)
{
    char err[160];
    if (magic != MULTIBOOT2_BOOTLOADER_MAGIC)
        panic("boot: not started by a Multiboot2 loader (EAX 0x%x, expected 0x%x)", magic,
              MULTIBOOT2_BOOTLOADER_MAGIC);
    if (info_pa == 0 || info_pa % 8 || info_pa >= EARLY_MAP_LIMIT - 16)
        panic("boot: multiboot2 information block at 0x%x is not usable "
              "(null, misaligned or above the early map)", info_pa);
    size_t avail = MIN((uint64_t)MULTIBOOT2_MAX_INFO_SIZE, EARLY_MAP_LIMIT - info_pa);
    if (multiboot2_parse(phys_to_virt(info_pa), avail, bi, err, sizeof err) < 0)
        panic("boot: corrupt multiboot2 information block at 0x%x: %s", info_pa, err);
}

void kmain(uint32_t magic, uint32_t info_pa);

void kmain(uint32_t magic, uint32_t info_pa)
{
    /* Read now: boot_entry_tsc lives in the low boot image, which is no
     * longer mapped once mm_init has built the kernel address space. */
    uint64_t entry_tsc = boot_entry_tsc;
    boot_state.entry_tsc = entry_tsc;
    console_init();
    percpu_install(&boot_cpu, 0);
    cpu_features_detect();
    gdt_init(&boot_cpu);
    idt_init();
    kprintf("\nMica microkernel (x86-64), built " __DATE__ "\n");

    struct boot_info *bi = &boot_state.info;
    parse_boot_info(magic, info_pa, bi);
    boot_state.info_pa = info_pa;
    inject_set_epoch(entry_tsc); /* before the command line arms any point */
    cmdline_parse(bi->cmdline, &boot_state.opts);
    machine_test_mode = boot_state.opts.test || boot_state.opts.bench || boot_state.opts.workload ||
                        boot_state.opts.crash[0];
    kprintf("boot: loader '%s', command line '%s'\n", bi->loader_name, bi->cmdline);
    kprintf("cpu: %s, nx %s, smep %s, smap %s, pge %s, 1g-pages %s\n", cpu_features.vendor,
            cpu_features.nx ? "yes" : "no", cpu_features.smep ? "yes" : "no",
            cpu_features.smap ? "yes" : "no", cpu_features.pge ? "yes" : "no",
            cpu_features.pdpe1gb ? "yes" : "no");

    memmap_print(&bi->memmap);
    mm_init(bi, info_pa);
    boot_state.boot_to_main_insns = rdtsc_ordered() - entry_tsc;

    /* Ring 3: kernel objects, the syscall entry, the clock, then SMEP/SMAP
     * once the kernel touches user memory only through the copy routines. */
    thread_init();
    task_init();
    endpoint_init();
    arch_syscall_init();
    timer_init();
    arch_user_protection_init();

    if (boot_state.opts.crash[0])
        crash_on_purpose(boot_state.opts.crash);
    uint64_t flags = 0;
    uint64_t selftest_start = rdtsc_ordered();
    if (boot_state.opts.test) {
        ktest_run_all();
        flags |= MICA_START_TEST_MODE;
    }
    if (boot_state.opts.bench) {
        bench_run_all();
        flags |= MICA_START_BENCH_MODE;
    }
    /* Not part of booting: boot_to_init leaves it out (MICA_INFO_SELFTEST). */
    boot_state.selftest_insns = rdtsc_ordered() - selftest_start;
    if (boot_state.opts.workload)
        flags |= MICA_START_WORKLOAD_MODE;
    if (boot_start_init(bi, flags) < 0) {
        /* Without init there is nothing to run: report and stop. */
        unsigned passed = 0, failed = 0;
        ktest_totals(&passed, &failed);
        if (machine_test_mode)
            kprintf("%u passed, %u failed\n", passed, failed + 1);
        kprintf("Mica: no init task; halting.\n");
        machine_stop(1);
    }
    sched_start();
}

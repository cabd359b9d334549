/* Boot tests: the firmware memory map as the kernel sees it, cross-checked
 * against QEMU's CMOS memory-size registers (an independent source). */
#include "test/ktest.h"
#include "arch/x86_64/cpu.h"
#include "kernel/boot_state.h"
#include "lib/console.h"
#include "mm/memmap.h"

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

/* RAM size QEMU configured (-m), from CMOS: 16 MiB + 64 KiB units above
 * 16 MiB (regs 0x34/0x35) + 64 KiB units above 4 GiB (regs 0x5b..0x5d). */
static uint64_t cmos_ram_bytes(void)
{
    uint64_t below = (uint64_t)cmos_read(0x34) | (uint64_t)cmos_read(0x35) << 8;
    uint64_t above = (uint64_t)cmos_read(0x5b) | (uint64_t)cmos_read(0x5c) << 8 |
                     (uint64_t)cmos_read(0x5d) << 16;
    if (below == 0)
        return 0;
    return 16 * MiB + below * 64 * KiB + above * 64 * KiB;
}

KTEST(seed_e820_total_ram)
{
    uint64_t usable = memmap_usable_bytes(&boot_state.info.memmap);
    uint64_t ram = cmos_ram_bytes();
    kprintf("    # usable %llu KiB, RAM configured %llu KiB\n", (unsigned long long)usable / KiB,
            (unsigned long long)ram / KiB);
    if (ram == 0)
        KSKIP(t, "no QEMU CMOS memory size");
    /* Firmware keeps some RAM for itself: the BIOS area below 1 MiB, ACPI
     * tables, and under UEFI its runtime services. With 128 MiB and SeaBIOS
     * the usable total is about 127 MiB. */
    KEXPECT(t, usable <= ram);
    KEXPECT(t, usable >= ram - ram / 8);
    if (!boot_state.info.booted_by_efi && ram == 128 * MiB) {
        KEXPECT(t, usable >= 126 * MiB);
        KEXPECT(t, usable < 128 * MiB);
    }
}

KTEST(e820_map_has_low_and_high_memory)
{
    const struct memmap *m = &boot_state.info.memmap;
    KEXPECT(t, m->n > 0);
    /* The kernel lives at 2 MiB: that memory must be usable RAM. */
    KEXPECT(t, memmap_usable_end(m) > 4 * MiB);
}

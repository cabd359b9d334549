/* machine_stop() on a PC: QEMU's isa-debug-exit device, or cli; hlt. */
#include "arch/x86_64/cpu.h"
#include "lib/console.h"
#include "arch/x86_64/machine.h"

#define DEBUG_EXIT_PORT 0xf4

bool machine_test_mode;

void machine_stop(int status)
{
    __asm__ volatile("cli" : : : "memory");
    if (machine_test_mode) {
        outl(DEBUG_EXIT_PORT, (uint32_t)status);
        /* Still running: the write went nowhere. */
        kprintf("machine: no exit device, halting\n");
    }
    cpu_halt_forever();
    __builtin_unreachable();
}

void machine_stop_failure(void)
{
    machine_stop(1);
}

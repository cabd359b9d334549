/* Stopping the machine: at the end of a test run, or after a panic.
 *
 * In test mode (kernel command line, parsed elsewhere) the kernel runs under
 * QEMU with `-device isa-debug-exit,iobase=0xf4,iosize=0x04`; writing a
 * status there makes QEMU exit with code (status << 1) | 1. Otherwise the
 * machine halts, leaving the console readable. */
#pragma once

#include "lib/types.h"

/* True when the kernel should power QEMU off instead of halting. Set once by
 * kmain from the parsed command line (test, bench or crash=), right after
 * parsing it; a panic before that point halts. */
extern bool machine_test_mode;

/* Stop for good with `status` (0 = success). In test mode, exits QEMU via
 * the debug-exit port; if that device is missing, says so and halts. Outside
 * test mode, halts with interrupts disabled. Never returns. */
__noreturn void machine_stop(int status);

/* machine_stop(1): the stop after a panic or a failed test run. */
__noreturn void machine_stop_failure(void);

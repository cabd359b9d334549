/* The boot CPU's local APIC: enough of it for the scheduler's clock (its
 * timer), end-of-interrupt, and the spurious vector. Works in xAPIC mode
 * (MMIO) or, when the firmware left it in x2APIC mode, through MSRs.
 *
 * The MMIO page is mapped at LAPIC_VA, the first page of the device
 * windows, which start 1 MiB into KERNEL_DYN (the first MiB is scratch
 * space for tests and benchmarks). */
#pragma once

#include "lib/types.h"
#include "mm/kernel_space.h"

#define LAPIC_VA              (KERNEL_DYN_START + 0x100000ULL)
#define LAPIC_SPURIOUS_VECTOR 0xff

/* True if CPUID reports a local APIC. */
bool lapic_present(void);

/* Map the registers (xAPIC mode), enable the APIC with the spurious vector
 * LAPIC_SPURIOUS_VECTOR and accept every priority. Needs the kernel address
 * space (vmm) and a registered handler for the spurious vector. Panics if
 * the page cannot be mapped. Returns the registers' physical address. */
paddr_t lapic_init(void);

/* Signal end of interrupt for the interrupt being handled. */
void lapic_eoi(void);

/* Timer divider applied to the APIC bus clock (the value lapic_timer_*
 * program into the divide-configuration register). */
#define LAPIC_TIMER_DIVIDE 16

/* Start the timer counting down from `count`, masked (no interrupt), once. */
void lapic_timer_start_masked(uint32_t count);

/* The timer's current count. */
uint32_t lapic_timer_current(void);

/* Interrupt on `vector` every `count` timer ticks. */
void lapic_timer_periodic(unsigned vector, uint32_t count);

/* Stop the timer (count 0, masked). */
void lapic_timer_stop(void);

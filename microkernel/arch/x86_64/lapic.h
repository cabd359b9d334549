/* The boot CPU's local APIC: enough of it for the scheduler's clock (its
 * timer), end-of-interrupt, and the spurious vector. Works in xAPIC mode
 * (MMIO) or, when the firmware left it in x2APIC mode, through MSRs.
 *
 * This file maps nothing: in xAPIC mode the kernel maps the register page
 * (mm_init, at LAPIC_VA in mm/kernel_space.h) and hands its address to
 * lapic_set_mmio before lapic_init. */
#pragma once

#include "lib/types.h"

#define LAPIC_SPURIOUS_VECTOR 0xff

/* True if CPUID reports a local APIC. */
bool lapic_present(void);

/* Physical address of the register page when the APIC is in xAPIC mode,
 * or 0 in x2APIC mode (the registers are MSRs; nothing to map). Needs
 * lapic_present(). */
paddr_t lapic_mmio_phys(void);

/* Reach the xAPIC registers at kernel address `va`, where the caller has
 * mapped lapic_mmio_phys() uncached. */
void lapic_set_mmio(uintptr_t va);

/* Enable the APIC with the spurious vector LAPIC_SPURIOUS_VECTOR and accept
 * every priority. Needs a registered handler for the spurious vector and,
 * in xAPIC mode, lapic_set_mmio (panics otherwise). Returns the registers'
 * physical address. */
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

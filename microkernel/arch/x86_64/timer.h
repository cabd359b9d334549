/* The scheduler's clock: the local APIC timer in periodic mode (calibrated
 * against the PIT), or the PIT itself where there is no APIC. Each tick
 * calls sched_tick() with the interrupted frame. */
#pragma once

#include "lib/types.h"

#define TIMER_VECTOR 32
#define TIMER_HZ     100

/* Start periodic ticks at TIMER_HZ. Interrupts stay disabled in the kernel;
 * ticks arrive while ring 3 or the idle thread runs. */
void timer_init(void);

/* Ticks since timer_init. */
uint64_t timer_ticks(void);

/* How long timer interrupts waited while pending, in ns of the guest's
 * clock (under -icount shift=0, guest instructions): the longest wait and
 * the sum and number of waits, over the ticks since boot or the last
 * timer_latency_reset. All zero without a local APIC (the PIT cannot
 * tell) or when its rate could not be measured. */
struct timer_latency {
    uint64_t max_ns, sum_ns, count;
};

/* The figures of the current window. */
struct timer_latency timer_latency(void);

/* Start a new window. */
void timer_latency_reset(void);

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

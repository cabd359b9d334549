/* Software-implemented transient faults at a timer preemption of a ring-3
 * thread (inject/inject.h): reg_flip, mem_flip, code_flip and kill_random. */
#pragma once

#include "arch/x86_64/trap.h"
#include "inject/inject.h"

struct thread;

/* The points swifi_tick serves. */
#define SWIFI_POINTS                                                                  \
    (INJECT_BIT(INJECT_REG_FLIP) | INJECT_BIT(INJECT_MEM_FLIP) |                      \
     INJECT_BIT(INJECT_CODE_FLIP) | INJECT_BIT(INJECT_KILL_RANDOM))

/* A timer tick interrupted thread `cur` in ring 3 (tf is its saved frame):
 * inject what the armed points say into its registers, memory or code, or
 * kill its task. Never faults: memory is reached through the page tables
 * and the direct map, and only pages the task alone may write (data,
 * stack) or alone maps (code) are touched. */
void swifi_tick(struct thread *cur, struct trap_frame *tf);

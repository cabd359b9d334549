/* Software-implemented transient faults (inject/inject.h): reg_flip,
 * mem_flip, code_flip and kill_random, at a timer preemption of a ring-3
 * thread or when a thread receives a message. */
#pragma once

#include "arch/x86_64/trap.h"
#include "inject/inject.h"

struct thread;

/* A timer tick interrupted thread `cur` in ring 3 (tf is its saved frame):
 * inject what the armed points say into its registers, memory or code, or
 * kill its task. Never faults: memory is reached through the page tables
 * and the direct map, and only pages the task alone may write (data,
 * stack) or alone maps (code) are touched. */
void swifi_tick(struct thread *cur, struct trap_frame *tf);

/* Thread `cur` has just received a message and returns to ring 3 from
 * that system call (its ring-3 registers in cur->utf): the same faults as
 * at a tick. A server spends most of its time waiting in the kernel, where
 * no tick finds it in ring 3; it always passes here between two
 * requests. */
void swifi_received(struct thread *cur);

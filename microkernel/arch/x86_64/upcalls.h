/* Every call the arch layer makes upward: the functions that the entry
 * stubs (syscall_entry.asm, switch.asm, trap_entry.asm through trap.c) and
 * the timer interrupt call in higher layers. They are declared here, and
 * only here, so that arch/ includes no header of a layer above it; the
 * layers that implement them include this header. Each comment names the
 * implementing file. */
#pragma once

#include "arch/x86_64/trap.h"
#include "lib/types.h"

/* object/sched.c */
/* Finish the system call of a thread resumed after
 * sched_switch_from_syscall: free a parked dead thread, return the thread's
 * wake_result (called by switch.asm only). */
int64_t sched_syscall_resume(void);

/* object/sched.c */
/* Free the last thread that exited on this CPU once it is no longer the one
 * running (its kernel stack was in use until the switch away from it). Every
 * resume point calls it: the end of a switch, the start stubs of new
 * threads and the syscall resume stub (switch.asm), so no system call runs
 * while a dead thread is parked. */
void sched_reap(void);

/* object/sched.c */
/* Timer tick from `tf` (ring 3, idle, or a preemption point's window):
 * preempt a thread that used its time slice. */
void sched_tick(struct trap_frame *tf);

/* object/task.c */
/* On every way back to ring 3 (system-call return, trap return, a new
 * thread's first entry): if the current task was killed, it exits here and
 * this does not return. Cheap when it was not: one load and a branch. */
void task_exit_if_killed(void);

/* vm/fault_forward.c */
/* A CPU exception in ring 3 (tf from user mode). A page fault in a task
 * with a pager is sent to the pager and returns once the pager answered
 * "resume" (the instruction is retried); anything else kills the current
 * task with a reason naming the exception, the address and the access, and
 * does not return. */
void task_user_exception(struct trap_frame *tf);

/* kernel/syscall.c */
/* Called by the syscall entry with interrupts disabled. */
void syscall_dispatch(struct trap_frame *tf);

/* ipc/ipc.c: the two IPC calls syscall_entry.asm sends straight here, by
 * number (MICA_SYS_IPC_CALL, MICA_SYS_IPC_REPLY_RECV); the other system
 * calls go through syscall_dispatch. Arguments and results as for any
 * handler (ipc/syscalls.h). */
int64_t sys_ipc_call(struct trap_frame *tf);
int64_t sys_ipc_reply_recv(struct trap_frame *tf);
/* sys_ipc_reply_recv for a bare call number (rax has no flag bits, so the
 * call cannot be non-blocking): what the entry calls. */
int64_t sys_ipc_reply_recv_bare(struct trap_frame *tf);

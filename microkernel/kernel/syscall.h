/* System-call dispatch. The entry stub saves the ring-3 registers in a
 * trap_frame and calls syscall_dispatch, which looks the number up in the
 * table and stores the handler's result in rax. Handlers read their
 * arguments from the frame (rdi, rsi, rdx, r10, r8, r9) and may write
 * further results into it (IPC messages). */
#pragma once

#include <mica/syscall.h>

#include "arch/x86_64/upcalls.h"
#include "lib/types.h"
#include "arch/x86_64/trap.h"

typedef int64_t (*syscall_fn)(struct trap_frame *tf);


/* The kernel layer's own handlers (kernel/syscall.c, which owns the table;
 * the other layers declare theirs in object/, ipc/ and vm/syscalls.h). */
int64_t sys_null(struct trap_frame *tf);
int64_t sys_debug_write(struct trap_frame *tf);
int64_t sys_exit(struct trap_frame *tf);
int64_t sys_yield(struct trap_frame *tf);
int64_t sys_info(struct trap_frame *tf);
int64_t sys_shutdown(struct trap_frame *tf);

/* kernel/inject_calls.c: the fault-injection control object. */
int64_t sys_inject_open(struct trap_frame *tf);
int64_t sys_inject_ctl(struct trap_frame *tf);

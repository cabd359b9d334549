/* The system calls of the IPC layer, for kernel/syscall.c's table. Each
 * reads its arguments from the frame and returns its result (rax).
 * sys_ipc_call and sys_ipc_reply_recv are in arch/x86_64/upcalls.h: the
 * syscall entry calls them directly, by number. */
#pragma once

#include <mica/syscall.h>

#include "arch/x86_64/trap.h"
#include "arch/x86_64/upcalls.h"
#include "lib/types.h"

int64_t sys_ipc_send(struct trap_frame *tf);       /* ipc/ipc.c */
int64_t sys_ipc_recv(struct trap_frame *tf);
int64_t sys_ipc_reply(struct trap_frame *tf);
int64_t sys_set_ipc_buffer(struct trap_frame *tf); /* ipc/ipc_transfer.c */

/* System-call dispatch. The entry stub saves the ring-3 registers in a
 * trap_frame and calls syscall_dispatch, which looks the number up in the
 * table and stores the handler's result in rax. Handlers read their
 * arguments from the frame (rdi, rsi, rdx, r10, r8, r9) and may write
 * further results into it (IPC messages). */
#pragma once

#include <mica/syscall.h>

#include "lib/types.h"
#include "arch/x86_64/trap.h"

typedef int64_t (*syscall_fn)(struct trap_frame *tf);

/* Called by the syscall entry with interrupts disabled. */
void syscall_dispatch(struct trap_frame *tf);

/* Handlers, by subsystem (kernel/syscall.c owns the table). */
int64_t sys_null(struct trap_frame *tf);
int64_t sys_debug_write(struct trap_frame *tf);
int64_t sys_exit(struct trap_frame *tf);
int64_t sys_yield(struct trap_frame *tf);
int64_t sys_info(struct trap_frame *tf);
int64_t sys_shutdown(struct trap_frame *tf);
int64_t sys_ipc_send(struct trap_frame *tf);       /* ipc/ipc.c */
int64_t sys_ipc_recv(struct trap_frame *tf);
int64_t sys_ipc_call(struct trap_frame *tf);
int64_t sys_ipc_reply(struct trap_frame *tf);
int64_t sys_ipc_reply_recv(struct trap_frame *tf);
int64_t sys_endpoint_create(struct trap_frame *tf);
int64_t sys_handle_mint(struct trap_frame *tf);    /* object/handle.c */
int64_t sys_handle_close(struct trap_frame *tf);
int64_t sys_set_ipc_buffer(struct trap_frame *tf);
int64_t sys_mem_map(struct trap_frame *tf);        /* vm/user_mem.c */
int64_t sys_mem_unmap(struct trap_frame *tf);
int64_t sys_task_spawn(struct trap_frame *tf);     /* vm/spawn.c */
int64_t sys_task_wait(struct trap_frame *tf);      /* vm/task_calls.c */
int64_t sys_task_kill(struct trap_frame *tf);
int64_t sys_task_set_pager(struct trap_frame *tf); /* vm/remote_paging.c */
int64_t sys_map_anon(struct trap_frame *tf);
int64_t sys_unmap(struct trap_frame *tf);
int64_t sys_protect(struct trap_frame *tf);
int64_t sys_map_share(struct trap_frame *tf);      /* vm/cow.c */
int64_t sys_map_cow(struct trap_frame *tf);
int64_t sys_task_fork(struct trap_frame *tf);      /* vm/fork.c */
int64_t sys_set_frame_quota(struct trap_frame *tf); /* vm/frame_quota.c */

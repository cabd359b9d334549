/* The system calls of the user-memory services, for kernel/syscall.c's
 * table. Each reads its arguments from the frame and returns its result
 * (rax). */
#pragma once

#include <mica/syscall.h>

#include "arch/x86_64/trap.h"
#include "lib/types.h"

int64_t sys_mem_map(struct trap_frame *tf);        /* vm/user_mem.c */
int64_t sys_mem_unmap(struct trap_frame *tf);
int64_t sys_task_create(struct trap_frame *tf);    /* vm/task_build.c */
int64_t sys_task_write(struct trap_frame *tf);
int64_t sys_task_start(struct trap_frame *tf);
int64_t sys_task_load(struct trap_frame *tf);      /* vm/task_load.c */
int64_t sys_task_wait(struct trap_frame *tf);      /* vm/task_wait.c */
int64_t sys_task_kill(struct trap_frame *tf);      /* vm/task_kill.c */
int64_t sys_task_set_pager(struct trap_frame *tf); /* vm/remote_paging.c */
int64_t sys_map_anon(struct trap_frame *tf);
int64_t sys_unmap(struct trap_frame *tf);
int64_t sys_protect(struct trap_frame *tf);
int64_t sys_map_share(struct trap_frame *tf);      /* vm/cow.c */
int64_t sys_map_cow(struct trap_frame *tf);
int64_t sys_task_fork(struct trap_frame *tf);      /* vm/fork.c */
int64_t sys_set_frame_quota(struct trap_frame *tf); /* vm/frame_quota.c */
int64_t sys_map_alias(struct trap_frame *tf);      /* vm/alias.c */
int64_t sys_map_reply_recv(struct trap_frame *tf); /* vm/fault_reply.c */

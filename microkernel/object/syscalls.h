/* The system calls of the object layer, for kernel/syscall.c's table. Each
 * reads its arguments from the frame and returns its result (rax). */
#pragma once

#include <mica/syscall.h>

#include "arch/x86_64/trap.h"
#include "lib/types.h"

int64_t sys_endpoint_create(struct trap_frame *tf); /* object/endpoint.c */
int64_t sys_handle_mint(struct trap_frame *tf);     /* object/handle.c */
int64_t sys_handle_close(struct trap_frame *tf);
int64_t sys_task_notify(struct trap_frame *tf);     /* object/death_note.c */

/* The system calls that let ring 3 look at the system and read the console
 * (MICA_SYS_CONSOLE_READ, MICA_SYS_TASK_LIST, MICA_SYS_TASK_INFO,
 * MICA_SYS_ENDPOINT_SERVER): what the console server's shell needs for
 * ps, servers and its input, and what the pager uses to name its clients.
 * Read-only apart from the console input they take. */
#pragma once

#include "arch/x86_64/trap.h"
#include "lib/types.h"

/* (buf, len) -> bytes read (>= 1); -MICA_EINVAL for len 0, -MICA_EFAULT,
 * -MICA_EAGAIN when another thread waits already, -MICA_EDEAD if killed. */
int64_t sys_console_read(struct trap_frame *tf);

/* (struct mica_task_info *buf, n) -> live tasks (may exceed n; the first
 * min(n, count) entries are filled); -MICA_EFAULT, -MICA_ENOMEM. Long
 * page counts pass preemption points. */
int64_t sys_task_list(struct trap_frame *tf);

/* (task h, struct mica_task_info *out) -> 0; -MICA_EBADH, -MICA_EFAULT. Any
 * task handle will do, whatever its rights and its task's state. */
int64_t sys_task_info(struct trap_frame *tf);

/* (endpoint h) -> id of the task of the first thread waiting to receive
 * on it now, -MICA_ENOENT (none waits), -MICA_EBADH. Any rights will do. */
int64_t sys_endpoint_server(struct trap_frame *tf);

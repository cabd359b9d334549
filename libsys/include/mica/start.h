/* Program entry. The kernel starts a task at `_start` (libsys crt0) with
 * rdi = the start-info page (MICA_USER_START_INFO) and rsp =
 * MICA_USER_STACK_TOP; crt0 calls main and passes its return value to
 * mica_exit. Every user program defines main. */
#pragma once

#include <mica/syscall.h>

/* Defined by the program. The return value becomes the task's exit status
 * (test programs return ktap_end()). */
int main(const struct mica_start_info *si);

/* The time stamp counter at this program's first instruction (_start):
 * under QEMU -icount, guest instructions since the machine started. With
 * MICA_INFO_BOOT_TSC it gives the time from the kernel's first instruction
 * to the program's first (init reports it in bench mode). */
extern uint64_t mica_start_tsc;

/* The start info the task was started with (valid for its whole life). */
const struct mica_start_info *mica_get_start_info(void);

/* Find the boot module called name in si->modules (init only). Returns
 * it, or NULL if absent. */
const struct mica_module *mica_find_module(const struct mica_start_info *si, const char *name);

/* The user layout of a task the kernel builds (init; see mica/syscall.h
 * and docs/syscalls.md §7 for the constants, which libsys's loader follows
 * for every other program):
 *   program segments        below MICA_USER_MODULES
 *   boot modules (init)     MICA_USER_MODULES: their table, then each module
 *   stack                   [MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE, TOP)
 *                           reserved, its top MICA_USER_STACK_MAPPED bytes mapped RW
 *   start info              one read-only page at MICA_USER_START_INFO (= TOP)
 * Entry state (crt0 relies on it): rip = the ELF entry point, rsp =
 * MICA_USER_STACK_TOP, 16-aligned with no return address pushed (as at a
 * System V process entry): the entry stub must not return and must `call`
 * its C code; rdi = MICA_USER_START_INFO; other registers 0. */
#pragma once

#include <mica/syscall.h>

#include "lib/types.h"

struct task;

#define USER_STACK_BOTTOM (MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE)
#define USER_STACK_MAPPED_BOTTOM (MICA_USER_STACK_TOP - MICA_USER_STACK_MAPPED)

/* Map the top of t's stack (RW) and its start-info page (read-only for
 * ring 3); *si points at the zeroed start info through the direct map, for
 * the kernel to fill. Returns 0, or the error of task_map_anon
 * (-MICA_ENOMEM, -MICA_EEXIST, -MICA_EDEAD); on failure what was mapped
 * stays for the task's teardown. */
int user_layout_map(struct task *t, struct mica_start_info **si);

/* Starting init, the one program the kernel loads (init_task.c). */
#pragma once

#include "boot/multiboot2.h"
#include "lib/types.h"

struct task;

/* Start the first ring-3 task from the boot module named "init", giving it
 * every module mapped read-only at MICA_USER_MODULES and the
 * MICA_START_MACHINE right. Returns 0, or a negative error after printing
 * a line naming the problem (no init module, bad ELF). */
int boot_start_init(const struct boot_info *bi, uint64_t flags);

/* Copy every module of bi into the prepared task t (its start-info page
 * mapped: user_layout_map) read-only at MICA_USER_MODULES, after their
 * table, and list them in its start info. Returns 0, or -MICA_ENOMEM (a
 * module does not fit below the stack, or no memory) and other mapping
 * errors with a reason in why[whylen]. */
int init_map_modules(struct task *t, const struct boot_info *bi, char *why, size_t whylen);

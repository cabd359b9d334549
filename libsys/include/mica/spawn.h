/* libsys's ELF loader (libsys/src/spawn.c): every program but init is built
 * by its parent in ring 3, from an ELF64 executable in the parent's memory,
 * through the task-building calls (MICA_SYS_TASK_CREATE, MICA_SYS_TASK_LOAD,
 * MICA_SYS_MAP_ANON, MICA_SYS_TASK_START). mica_task_spawn (mica/sys.h)
 * does it in one call; the two steps here let the parent do something
 * between building the task and starting it, such as introducing it to its
 * pager with the layout (init does: servers/init/pager_link.c). */
#pragma once

#include <stdint.h>
#include <mica/syscall.h>
#include <mica/vm.h>

/* Regions of a layout: two per segment (its filled pages, then its bss
 * pages beyond them) and the stack. */
#define MICA_LAYOUT_MAX (2 * 16 + 1)

/* A built task's address space and entry point. */
struct mica_task_layout {
    uint64_t entry;
    uint32_t nregions;
    struct mica_region region[MICA_LAYOUT_MAX];
};

/* Build the task *a describes (as mica_task_spawn) without starting it:
 * its segments, the top of its stack and its start-info page mapped and
 * filled, its handles given. With MICA_SPAWN_PAGER in a->flags the bss
 * pages beyond those holding file bytes are left unmapped: the caller
 * must introduce the task to that pager with *out (where they are anon)
 * before mica_task_launch, or the task dies on its first touch of them. Returns a task handle with every task right
 * (MICA_RIGHT_WAIT | GRANT | MAP | KILL) and fills *out, or the errors of
 * mica_task_spawn. Closing the handle before mica_task_launch discards the
 * task without a trace. */
long mica_task_build(const struct mica_spawn_args *a, struct mica_task_layout *out);

/* Start task h built by mica_task_build with layout l. Returns 0, or
 * -MICA_ENOMEM (no memory for its thread), -MICA_EINVAL (started already)
 * and the handle errors of MICA_SYS_TASK_START. */
long mica_task_launch(uint64_t h, const struct mica_task_layout *l);

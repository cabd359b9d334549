/* The kernel's ELF loader (elf_load.c): builds a task from an ELF64
 * executable in kernel-readable memory. Only init is built this way (from
 * its boot module, init_task.c), and the kernel tests; ring 3 builds every
 * other program itself (task_build.c, libsys's loader). */
#pragma once

#include <mica/syscall.h>

#include "lib/types.h"

struct task;

/* Where the image bytes come from: read(ctx, off, dst, n) copies n bytes at
 * offset off of the image, returning 0 or a negative error. */
struct image_src {
    int (*read)(void *ctx, uint64_t off, void *dst, size_t n);
    void *ctx;
    uint64_t len;
};

struct spawn_request {
    struct image_src src;
    const char *name;            /* kernel copy */
    const char *args;            /* kernel copy, may be "" */
    uint64_t flags;              /* MICA_START_* */
    struct task *parent;         /* handles are copied from its table; may be NULL */
    const uint64_t *handles;     /* parent's handle numbers */
    size_t nhandles;
};

/* Build a task: address space with the ELF's PT_LOAD segments (W^X
 * enforced: a segment both writable and executable is refused), the stack
 * and start-info page of the user layout (user_layout.h), the handles, and
 * one thread at the entry point, made runnable. Returns 0 and *out, or
 * -MICA_ENOEXEC (the image is not a valid ELF64 x86-64 executable; a line
 * naming what is wrong is printed), -MICA_ENOMEM, -MICA_EBADH (a handle to
 * pass is bad). Entry state: user_layout.h. Program segments must lie
 * below MICA_USER_MODULES. */
int task_spawn(const struct spawn_request *req, struct task **out);

/* task_spawn without its last step: the task is complete but has no
 * thread, so it cannot run yet; *entry is its entry point. Finish with
 * task_spawn_start or throw it away with task_spawn_abort. Same errors. */
int task_spawn_prepare(const struct spawn_request *req, struct task **out, uint64_t *entry);

/* Give a prepared task its thread and make it runnable. Returns 0 or
 * -MICA_ENOMEM (the task is left prepared). */
int task_spawn_start(struct task *t, uint64_t entry);

/* Tear down a prepared task that never ran: memory, tables, handles. */
void task_spawn_abort(struct task *t);

/* Copy n bytes at `off` of `src` to `va` in t's space, whose pages are
 * mapped. A large image stops at preemption points (t is not visible to
 * anyone yet, so only the caller's own kill ends the copy: -MICA_EDEAD).
 * Returns 0 or the error of src's read. */
int image_copy_into_task(struct task *t, uint64_t va, const struct image_src *src,
                         uint64_t off, uint64_t n);

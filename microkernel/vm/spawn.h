/* Creating tasks from ELF64 executables: from a boot module (init) or from
 * an image in the calling task's memory (MICA_SYS_TASK_SPAWN). */
#pragma once

#include <mica/syscall.h>

#include "lib/types.h"
#include "boot/multiboot2.h"

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
    const struct boot_info *bi;  /* init (and tests): every module of bi is mapped
                                  * and listed in the start info; else NULL */
};

/* Build a task: address space with the ELF's PT_LOAD segments (W^X
 * enforced: a segment both writable and executable is refused), a stack
 * reserving MICA_USER_STACK_SIZE below MICA_USER_STACK_TOP of which the top
 * MICA_USER_STACK_MAPPED bytes are mapped, the start-info page, the
 * handles, and one thread at the entry point, made runnable. Returns 0 and
 * *out, or -MICA_ENOEXEC (the image is not a valid ELF64 x86-64
 * executable; a line naming what is wrong is printed), -MICA_ENOMEM,
 * -MICA_EBADH (a handle to pass is bad).
 *
 * Entry state (crt0 relies on it): rip = the ELF entry point, rsp =
 * MICA_USER_STACK_TOP, which is 16-aligned with no return address pushed
 * (as at a System V process entry, not as after a call): the entry stub
 * must not return and must `call` its C code so that the callee sees the
 * usual rsp = 8 mod 16; rdi = MICA_USER_START_INFO; other registers 0.
 * Program segments must lie below MICA_USER_MODULES. */
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

/* Start the first ring-3 task from the boot module named "init", giving it
 * every module mapped read-only at MICA_USER_MODULES and the
 * MICA_START_MACHINE right. Returns 0, or a negative error after printing
 * a line naming the problem (no init module, bad ELF). */
int boot_start_init(const struct boot_info *bi, uint64_t flags);

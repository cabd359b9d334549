/* Handle tables: per-task capabilities naming kernel objects with rights
 * and a badge. A task can use only the handles it holds. */
#pragma once

#include <mica/syscall.h>

#include "lib/types.h"

/* HANDLE_INJECT names the one fault-injection control object
 * (kernel/inject_calls.c), which is never freed and holds no references. */
enum handle_type { HANDLE_FREE = 0, HANDLE_ENDPOINT, HANDLE_TASK, HANDLE_INJECT };

struct handle {
    enum handle_type type;
    uint32_t rights;   /* MICA_RIGHT_* */
    uint64_t badge;    /* delivered to receivers of messages sent through it */
    void *object;      /* struct endpoint *, struct task * or the inject control */
};

struct handle_table {
    struct handle *slots; /* MICA_HANDLE_MAX entries, from kmalloc */
    unsigned used_end;    /* slots at or above it have never been used */
};

/* Allocate an empty table. Returns 0 or -MICA_ENOMEM. */
int handle_table_init(struct handle_table *ht);

/* Close every handle and free the table. */
void handle_table_destroy(struct handle_table *ht);

/* Install a handle in the lowest free slot, taking a reference on the
 * object. Returns the handle number, or -MICA_ENOSPC. */
long handle_install(struct handle_table *ht, enum handle_type type, void *object,
                    uint32_t rights, uint64_t badge);

/* Look up handle `h` of `type` having all of `rights`. Returns the entry,
 * or NULL with *err = -MICA_EBADH (no such handle, wrong type) or
 * -MICA_EPERM (missing rights). */
struct handle *handle_lookup(struct handle_table *ht, uint64_t h, enum handle_type type,
                             uint32_t rights, int *err);

/* Number of handles in ht naming `object` with all of `rights`. Walks the
 * used part of the table (at most MICA_HANDLE_MAX slots): for rare checks,
 * not for fast paths. */
unsigned handle_count(const struct handle_table *ht, const void *object, uint32_t rights);

/* Copy every handle of src into the same slot of the empty table dst, with
 * the same rights and badge, taking the references each handle holds
 * (fork). */
void handle_table_copy(struct handle_table *dst, const struct handle_table *src);

/* Close handle h, dropping its reference. Returns 0 or -MICA_EBADH. */
int handle_close(struct handle_table *ht, uint64_t h);

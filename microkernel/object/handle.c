/* Handle tables and the handle system calls (mint, close).
 *
 * A table is MICA_HANDLE_MAX slots from the kernel heap; a slot of type
 * HANDLE_FREE is empty, and slots at or above used_end were never used. Every used slot holds one reference on its object
 * (endpoint_handle_get / task_handle_get), dropped when the slot is closed. A slot
 * is cleared before its reference is dropped, because the drop may end the
 * object and wake threads that look at tables. */
#include "object/handle.h"

#include <mica/errno.h>

#include "object/endpoint.h"
#include "object/syscalls.h"
#include "lib/assert.h"
#include "mm/kheap.h"
#include "mm/page_zero.h"
#include "object/sched.h"
#include "object/task.h"

static void object_get(const struct handle *h)
{
    switch (h->type) {
    case HANDLE_ENDPOINT:
        endpoint_handle_get(h->object, h->rights);
        break;
    case HANDLE_TASK:
        task_handle_get(h->object);
        break;
    case HANDLE_INJECT:
        break; /* a static object */
    default:
        panic("handle of unknown type %d", h->type);
    }
}

static void object_put(const struct handle *h)
{
    switch (h->type) {
    case HANDLE_ENDPOINT:
        endpoint_handle_put(h->object, h->rights);
        break;
    case HANDLE_TASK:
        task_handle_put(h->object);
        break;
    case HANDLE_INJECT:
        break; /* a static object */
    default:
        panic("handle of unknown type %d", h->type);
    }
}

/* Every task creation pays for zeroing the table: word stores are 8 times
 * fewer than memset's byte stores, and the free-slot type is 0. */
STATIC_ASSERT(HANDLE_FREE == 0 && sizeof(struct handle) % 8 == 0,
              "a zeroed table is a table of free slots");

int handle_table_init(struct handle_table *ht)
{
    ht->used_end = 0;
    ht->slots = kmalloc(MICA_HANDLE_MAX * sizeof *ht->slots);
    if (!ht->slots)
        return -MICA_ENOMEM;
    words_zero(ht->slots, MICA_HANDLE_MAX * sizeof *ht->slots / 8);
    return 0;
}

void handle_table_destroy(struct handle_table *ht)
{
    /* Only slots below used_end can hold handles: most tasks use a few. */
    for (unsigned h = 0; h < ht->used_end; h++)
        if (ht->slots[h].type != HANDLE_FREE)
            handle_close(ht, h);
    kfree(ht->slots);
    ht->slots = NULL;
}

long handle_install(struct handle_table *ht, enum handle_type type, void *object,
                    uint32_t rights, uint64_t badge)
{
    KASSERT(type == HANDLE_ENDPOINT || type == HANDLE_TASK || type == HANDLE_INJECT,
            "handle_install of type %d", type);
    KASSERT(object != NULL, "handle_install of a null object");
    KASSERT((rights & ~MICA_RIGHTS_ALL) == 0, "handle_install with unknown rights 0x%x", rights);
    for (unsigned h = 0; h < MICA_HANDLE_MAX; h++) {
        struct handle *s = &ht->slots[h];
        if (s->type != HANDLE_FREE)
            continue;
        *s = (struct handle){.type = type, .rights = rights, .badge = badge, .object = object};
        if (h >= ht->used_end)
            ht->used_end = h + 1;
        object_get(s);
        return h;
    }
    return -MICA_ENOSPC;
}

/* The used slot h, or NULL. */
static struct handle *slot(struct handle_table *ht, uint64_t h)
{
    if (h >= MICA_HANDLE_MAX || ht->slots[h].type == HANDLE_FREE)
        return NULL;
    return &ht->slots[h];
}

struct handle *handle_lookup(struct handle_table *ht, uint64_t h, enum handle_type type,
                             uint32_t rights, int *err)
{
    struct handle *s = slot(ht, h);
    if (!s || s->type != type) {
        *err = -MICA_EBADH;
        return NULL;
    }
    if (rights & ~s->rights) {
        *err = -MICA_EPERM;
        return NULL;
    }
    return s;
}

void handle_table_copy(struct handle_table *dst, const struct handle_table *src)
{
    KASSERT(dst->used_end == 0, "handle_table_copy into a table that is not empty");
    for (unsigned h = 0; h < src->used_end; h++) {
        const struct handle *s = &src->slots[h];
        if (s->type == HANDLE_FREE)
            continue;
        object_get(s);
        dst->slots[h] = *s;
    }
    dst->used_end = src->used_end;
}

unsigned handle_count(const struct handle_table *ht, const void *object, uint32_t rights)
{
    unsigned n = 0;
    for (unsigned h = 0; h < ht->used_end; h++) {
        const struct handle *e = &ht->slots[h];
        n += e->type != HANDLE_FREE && e->object == object && (e->rights & rights) == rights;
    }
    return n;
}

int handle_close(struct handle_table *ht, uint64_t h)
{
    struct handle *s = slot(ht, h);
    if (!s)
        return -MICA_EBADH;
    struct handle old = *s;
    *s = (struct handle){.type = HANDLE_FREE};
    object_put(&old);
    return 0;
}

/* (h, rights, badge) -> a new handle to the same object with `rights`, a
 * subset of h's. h needs MICA_RIGHT_GRANT. Badge 0 keeps h's badge; a
 * non-zero badge may be set only on an unbadged endpoint handle. */
int64_t sys_handle_mint(struct trap_frame *tf)
{
    struct handle_table *ht = &sched_current()->task->handles;
    uint64_t rights = tf->rsi, badge = tf->rdx;
    struct handle *src = slot(ht, tf->rdi);
    if (!src)
        return -MICA_EBADH;
    if (!(src->rights & MICA_RIGHT_GRANT))
        return -MICA_EPERM;
    if (rights & ~(uint64_t)MICA_RIGHTS_ALL)
        return -MICA_EINVAL;
    if (rights & ~(uint64_t)src->rights)
        return -MICA_EPERM;
    if (badge != 0 && src->type != HANDLE_ENDPOINT)
        return -MICA_EINVAL;
    if (badge != 0 && src->badge != 0)
        return -MICA_EPERM;
    return handle_install(ht, src->type, src->object, (uint32_t)rights,
                          badge ? badge : src->badge);
}

int64_t sys_handle_close(struct trap_frame *tf)
{
    return handle_close(&sched_current()->task->handles, tf->rdi);
}

/* Moving one message between two threads: registers, the optional data
 * bytes and the optional handle, through the threads' registered IPC
 * buffers (MICA_SYS_SET_IPC_BUFFER).
 *
 * The two buffers are in different address spaces and at most one of them
 * is loaded, so both are reached the same way: each user page is translated
 * in its owner's page tables and accessed through the direct map. The
 * translation also checks the page is a user page (and writable, on the
 * receiving side), which is what makes a buffer "good": the registered
 * address was checked to lie in the user half, and nothing else about it is
 * trusted. A message is at most MICA_IPC_BUF_MAX bytes, two pages at most.
 *
 * Each buffer page is looked up at most once per transfer: the sender's
 * when its half is checked (ipc_send_prepare keeps the pointers), the
 * receiver's when the message is delivered, which follows at once, with no
 * preemption in between, so the pages cannot change. A thread keeps the
 * last lookup of its buffer's data area until its task's mappings change
 * (get_data), so a client and a server that talk repeatedly walk no page
 * tables at all. */
#include <mica/errno.h>

#include "ipc/ipc_priv.h"
#include "ipc/syscalls.h"
#include "arch/x86_64/user_access.h"
#include "lib/assert.h"
#include "lib/string.h"
#include "mm/vmm.h"
#include "object/sched.h"
#include "object/task.h"
#include "inject/inject.h"

#define BUF_DATA   offsetof(struct mica_ipc_buffer, data)
#define BUF_HANDLE offsetof(struct mica_ipc_buffer, handle)

STATIC_ASSERT(MICA_IPC_BUF_MAX <= PAGE_SIZE, "a message spans at most two pages of a buffer");

/* Direct-map pointer to user address va of t, if mapped user (and writable
 * when `write`). */
static inline void *user_ptr(const struct thread *t, uintptr_t va, bool write)
{
    return vmm_user_ptr(&t->task->as, va, write);
}

/* Map the len data bytes (0 < len <= MICA_IPC_BUF_MAX) of t's registered
 * buffer: false if a page of them is not mapped with the access. */
static inline bool map_data(const struct thread *t, size_t len, bool write, struct ipc_bytes *b)
{
    uintptr_t va = t->ipc_buffer + BUF_DATA;
    size_t first = PAGE_SIZE - (va & PAGE_MASK);
    b->piece[1] = NULL;
    if (!(b->piece[0] = user_ptr(t, va, write)))
        return false;
    if (likely(len <= first)) {
        b->first = len;
        return true;
    }
    b->first = first;
    return (b->piece[1] = user_ptr(t, va + first, write)) != NULL;
}

/* Copy len bytes between two mapped buffers, piece by piece (memcpy moves
 * 8 bytes at a time). */
static void copy_data(const struct ipc_bytes *d, const struct ipc_bytes *s, size_t len)
{
    if (likely(s->first == len && d->first == len)) {
        memcpy(d->piece[0], s->piece[0], len);
        return;
    }
    size_t done = 0;
    while (done < len) {
        bool s0 = done < s->first, d0 = done < d->first;
        const uint8_t *sp = s0 ? s->piece[0] + done : s->piece[1] + (done - s->first);
        uint8_t *dp = d0 ? d->piece[0] + done : d->piece[1] + (done - d->first);
        size_t n = MIN(s0 ? s->first - done : len - done, d0 ? d->first - done : len - done);
        memcpy(dp, sp, n);
        done += n;
    }
}

/* The len data bytes of t's buffer (t->ipc_buffer set, 0 < len <=
 * MICA_IPC_BUF_MAX) with the access: from the cache when it is valid,
 * else looked up. The cache holds the whole data area mapped writable
 * (enough for either access), so a hit needs no walk; a buffer that is
 * read-only or shorter than the area is looked up every time. */
static bool get_data(struct thread *t, size_t len, bool write, struct ipc_bytes *b)
{
    uintptr_t va = t->ipc_buffer + BUF_DATA;
    if (unlikely(t->ipc_buf_va != t->ipc_buffer || t->ipc_buf_changes != t->task->as.changes)) {
        struct ipc_bytes whole;
        if (!map_data(t, MICA_IPC_BUF_MAX, true, &whole))
            return map_data(t, len, write, b);
        KASSERT(t->ipc_buffer != 0, "IPC buffer cache filled for thread %u without a buffer",
                t->id);
        t->ipc_buf_va = t->ipc_buffer;
        t->ipc_buf_changes = t->task->as.changes;
        t->ipc_buf_piece[0] = whole.piece[0];
        t->ipc_buf_piece[1] = whole.piece[1];
    }
    b->piece[0] = t->ipc_buf_piece[0];
    b->piece[1] = t->ipc_buf_piece[1];
    b->first = MIN(len, PAGE_SIZE - (va & PAGE_MASK));
    return true;
}

bool ipc_copy_data_lookup(struct thread *r, struct thread *s, size_t len)
{
    struct ipc_bytes sb, db;
    if (unlikely(len > MICA_IPC_BUF_MAX || !s->ipc_buffer || !r->ipc_buffer) ||
        !get_data(s, len, false, &sb) || !get_data(r, len, true, &db))
        return false;
    copy_data(&db, &sb, len);
    return true;
}

int ipc_send_check(const struct thread *sender, uint64_t label)
{
    if (MICA_MSG_LEN(label) > MICA_IPC_BUF_MAX)
        return -MICA_E2BIG;
    if ((MICA_MSG_LEN(label) || (label & MICA_MSG_XFER_HANDLE)) && !sender->ipc_buffer)
        return -MICA_EFAULT;
    return 0;
}

/* The handle the sender names in its buffer, if it may be granted. */
static int lookup_grant(struct thread *sender, struct handle *out)
{
    const uint64_t *slot = user_ptr(sender, sender->ipc_buffer + BUF_HANDLE, false);
    if (!slot)
        return -MICA_EFAULT;
    uint64_t h = *slot;
    struct handle_table *ht = &sender->task->handles;
    int err;
    struct handle *e = handle_lookup(ht, h, HANDLE_ENDPOINT, MICA_RIGHT_GRANT, &err);
    if (!e && err == -MICA_EBADH)
        e = handle_lookup(ht, h, HANDLE_TASK, MICA_RIGHT_GRANT, &err);
    if (!e)
        return err;
    *out = *e;
    return 0;
}

int ipc_send_prepare(struct thread *sender, const struct ipc_msg *msg, struct ipc_send *out)
{
    int rc = ipc_send_check(sender, msg->label);
    if (rc < 0)
        return rc;
    out->sender = sender;
    out->msg = msg;
    out->len = MICA_MSG_LEN(msg->label);
    out->xfer = (msg->label & MICA_MSG_XFER_HANDLE) != 0;
    if (out->len && !get_data(sender, out->len, false, &out->data))
        return -MICA_EFAULT;
    if (out->xfer)
        return lookup_grant(sender, &out->handle);
    return 0;
}

/* The ipc_flip point: one bit of one of the four words, or of one data
 * byte, of the message r has just been given, flipped in r's copy. */
static __attribute__((noinline)) void flip_delivered(const struct ipc_send *s, struct thread *r)
{
    if (!INJECT(INJECT_IPC_FLIP, r->task))
        return;
    struct trap_frame *f = r->utf;
    uint64_t *words[4] = {&f->rdx, &f->r10, &f->r8, &f->r9};
    uint64_t k = inject_rand(INJECT_IPC_FLIP) % (4 + s->len);
    if (k < 4) {
        unsigned bit = (unsigned)(inject_rand(INJECT_IPC_FLIP) % 64);
        *words[k] ^= 1ull << bit;
        inject_report(INJECT_IPC_FLIP, "bit %u of word %lu flipped (label 0x%lx)", bit,
                      (unsigned long)k, (unsigned long)MICA_MSG_LABEL(f->rsi));
        return;
    }
    uint8_t *byte = user_ptr(r, r->ipc_buffer + BUF_DATA + (k - 4), true);
    unsigned bit = (unsigned)(inject_rand(INJECT_IPC_FLIP) % 8);
    if (byte)
        *byte ^= (uint8_t)(1u << bit);
    inject_report(INJECT_IPC_FLIP, "bit %u of data byte %lu flipped (label 0x%lx)", bit,
                  (unsigned long)(k - 4), (unsigned long)MICA_MSG_LABEL(f->rsi));
}

static int deliver(const struct ipc_send *s, struct thread *r);

int ipc_deliver(const struct ipc_send *s, struct thread *r)
{
    int rc = deliver(s, r);
    if (INJECT_ANY(INJECT_BIT(INJECT_IPC_FLIP)) && rc == 0)
        flip_delivered(s, r);
    return rc;
}

static int deliver(const struct ipc_send *s, struct thread *r)
{
    struct trap_frame *f = r->utf;
    f->rdi = s->msg->badge;
    f->rsi = s->msg->label;
    f->rdx = s->msg->w[0];
    f->r10 = s->msg->w[1];
    f->r8 = s->msg->w[2];
    f->r9 = s->msg->w[3];
    if (!s->len && !s->xfer)
        return 0;

    /* Every check before the first write, so that a failure leaves the
     * receiver's buffer as it was. */
    uintptr_t buf = r->ipc_buffer;
    struct ipc_bytes data;
    uint64_t *slot = NULL;
    if (!buf)
        return -MICA_EFAULT;
    if (s->len && !get_data(r, s->len, true, &data))
        return -MICA_EFAULT;
    if (s->xfer && !(slot = user_ptr(r, buf + BUF_HANDLE, true)))
        return -MICA_EFAULT;
    if (s->len)
        copy_data(&data, &s->data, s->len);
    if (s->xfer) {
        long h = handle_install(&r->task->handles, s->handle.type, s->handle.object,
                                s->handle.rights, s->handle.badge);
        if (h < 0)
            return (int)h;
        *slot = (uint64_t)h;
    }
    return 0;
}

/* (va or 0) -> 0: register the calling thread's IPC buffer. The buffer is
 * checked only for alignment and range here; its pages are checked at each
 * use, since the task may map and unmap them at will. */
int64_t sys_set_ipc_buffer(struct trap_frame *tf)
{
    uintptr_t va = tf->rdi;
    if (va != 0) {
        if (!IS_ALIGNED(va, _Alignof(struct mica_ipc_buffer)))
            return -MICA_EINVAL;
        if (!user_range_ok(va, sizeof(struct mica_ipc_buffer)))
            return -MICA_EFAULT;
    }
    sched_current()->ipc_buffer = va;
    return 0;
}

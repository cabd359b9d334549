/* Internal to ipc/: the endpoint queues and the transfer of one message
 * (registers, optional data bytes, optional handle) between two threads.
 *
 * A transfer has two halves. ipc_send_prepare checks everything that is the
 * sender's business (its buffer is mapped, the handle it passes exists and
 * may be granted); a failure there is the sender's error and nothing has
 * happened yet. ipc_deliver then writes the receiver's registers and buffer;
 * a failure there is the receiver's error (its registers still carry the
 * badge, label and words, so it can tell who called and answer). */
#pragma once

#include "object/endpoint.h"
#include "object/handle.h"
#include "object/task.h"
#include "object/thread.h"
#include "lib/string.h"

/* Bytes of a user buffer reached through the direct map: at most two
 * pieces, since a message (MICA_IPC_BUF_MAX) is shorter than a page. Valid
 * until the owner's page tables change, that is until the owner runs. */
struct ipc_bytes {
    uint8_t *piece[2]; /* piece[1] is NULL when the bytes lie in one page */
    size_t first;      /* bytes in piece[0] */
};

/* A sender's half of a transfer, checked. Valid until the sender runs. */
struct ipc_send {
    struct thread *sender;
    const struct ipc_msg *msg;
    size_t len;            /* data bytes to copy (MICA_MSG_LEN of the label) */
    bool xfer;             /* a handle travels with the message */
    struct ipc_bytes data; /* the sender's data bytes, when len > 0 */
    struct handle handle;  /* that handle, as the sender holds it */
};

/* Checks that need only the label, done before any rendezvous: the data
 * length fits (-MICA_E2BIG) and a buffer is registered when the message
 * uses it (-MICA_EFAULT). */
int ipc_send_check(const struct thread *sender, uint64_t label);

/* The sender's half: -MICA_EFAULT (data or handle slot not readable),
 * -MICA_EBADH / -MICA_EPERM (the handle to pass is bad or lacks
 * MICA_RIGHT_GRANT). */
int ipc_send_prepare(struct thread *sender, const struct ipc_msg *msg, struct ipc_send *out);

/* The receiver's half: registers rdi (badge), rsi (label), rdx, r10, r8, r9
 * of r's trap frame, then data and handle. Returns the receiver's result:
 * 0, -MICA_EFAULT (no buffer, or not mapped writable) or -MICA_ENOSPC
 * (handle table full; the data was delivered). */
int ipc_deliver(const struct ipc_send *s, struct thread *r);

/* The fast paths' data copy: `len` bytes (0 < len) from the data of
 * sender s's IPC buffer to receiver r's, when len <= MICA_IPC_BUF_MAX, both
 * buffers are registered and their pages mapped (readable for s, writable
 * for r). Returns false, with nothing written, otherwise: the slow path
 * then finds the error and gives it to the party at fault. The common case
 * is inline below; this is the rest. */
bool ipc_copy_data_lookup(struct thread *r, struct thread *s, size_t len);

/* Thread t has a buffer and its cached lookup of the data area is valid
 * (thread.h). */
static inline bool ipc_buf_cached(const struct thread *t)
{
    return t->ipc_buffer && t->ipc_buf_va == t->ipc_buffer &&
           t->ipc_buf_changes == t->task->as.changes;
}

/* ipc_copy_data_lookup, with the case of two cached buffers whose data
 * areas each lie in one page done inline: one copy, no page-table walk. */
static inline bool ipc_copy_data_fast(struct thread *r, struct thread *s, size_t len)
{
    if (likely(len <= MICA_IPC_BUF_MAX && ipc_buf_cached(s) && ipc_buf_cached(r) &&
               !s->ipc_buf_piece[1] && !r->ipc_buf_piece[1])) {
        memcpy(r->ipc_buf_piece[0], s->ipc_buf_piece[0], len);
        return true;
    }
    return ipc_copy_data_lookup(r, s, len);
}

/* `caller`, which sent a call that `server` has taken, now waits in
 * THREAD_BLOCKED_REPLY for server's reply (ipc.c; used by ipc_kernel.c). */
void ipc_set_caller(struct thread *server, struct thread *caller);

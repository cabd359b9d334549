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
#include "object/thread.h"

/* A sender's half of a transfer, checked. Valid until the sender runs. */
struct ipc_send {
    struct thread *sender;
    const struct ipc_msg *msg;
    size_t len;            /* data bytes to copy (MICA_MSG_LEN of the label) */
    bool xfer;             /* a handle travels with the message */
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

/* `caller`, which sent a call that `server` has taken, now waits in
 * THREAD_BLOCKED_REPLY for server's reply (ipc.c; used by ipc_kernel.c). */
void ipc_set_caller(struct thread *server, struct thread *caller);

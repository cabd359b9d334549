/* Synchronous IPC endpoints (L4/seL4 style): a rendezvous point with a
 * queue of blocked senders or of blocked receivers. Messages are copied
 * register to register; the optional data buffer and a transferred handle
 * go between the two threads' registered IPC buffers. */
#pragma once

#include "lib/types.h"
#include "object/thread.h"

struct endpoint {
    struct thread *senders, *senders_tail;     /* blocked in send or call */
    struct thread *receivers, *receivers_tail; /* blocked in receive */
    uint32_t refs;                             /* handles naming it */
    uint32_t recv_refs;                        /* of those, with MICA_RIGHT_RECV */
    bool dead;
};

/* Set up the endpoint slab cache. Idempotent. */
void endpoint_init(void);

/* A new endpoint with one reference. NULL on exhaustion. */
struct endpoint *endpoint_create(void);

/* Take / drop a reference; the last drop kills the endpoint: every thread
 * queued on it is woken with -MICA_EDEAD, then it is freed. */
void endpoint_get(struct endpoint *ep);
void endpoint_put(struct endpoint *ep);

/* Take / drop the reference of a handle with `rights`. Dropping the last
 * handle that may receive wakes every queued sender with -MICA_EDEAD; later
 * sends fail with -MICA_EDEAD (nobody can ever receive them). */
void endpoint_handle_get(struct endpoint *ep, uint32_t rights);
void endpoint_handle_put(struct endpoint *ep, uint32_t rights);

/* Remove `t` from whatever endpoint queue it is on (task teardown). */
void endpoint_dequeue(struct thread *t);

/* Detach `t` from all IPC before it dies: off its endpoint queue, its
 * pending call forgotten by the callee, and a caller waiting for t's reply
 * woken with -MICA_EDEAD (label MICA_LABEL_ERROR). */
void ipc_cancel(struct thread *t);

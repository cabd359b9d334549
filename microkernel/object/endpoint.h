/* Synchronous IPC endpoints (L4/seL4 style): a rendezvous point with a
 * queue of blocked senders or of blocked receivers. Messages are copied
 * register to register; the optional data buffer and a transferred handle
 * go between the two threads' registered IPC buffers. */
#pragma once

#include "lib/types.h"
#include "object/thread.h"

struct death_note;

struct endpoint {
    struct thread *senders, *senders_tail;     /* blocked in send or call */
    struct thread *receivers, *receivers_tail; /* blocked in receive */
    struct death_note *notes;                  /* death notes waiting for a receiver */
    uint32_t refs;                             /* handles naming it */
    uint32_t recv_refs;                        /* of those, with MICA_RIGHT_RECV */
    bool dead;
};

/* Whether anyone can still receive on ep (a handle with MICA_RIGHT_RECV
 * exists), so that a message sent there may yet be taken. */
static inline bool endpoint_may_receive(const struct endpoint *ep)
{
    return !ep->dead && ep->recv_refs > 0;
}

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

/* Endpoint queues (FIFO), linked through thread.qnext. Inline: the IPC
 * fast path takes and queues one thread per message. */
static inline void ep_push(struct thread **head, struct thread **tail, struct thread *t)
{
    t->qnext = NULL;
    if (*tail)
        (*tail)->qnext = t;
    else
        *head = t;
    *tail = t;
}

static inline struct thread *ep_pop(struct thread **head, struct thread **tail)
{
    struct thread *t = *head;
    if (!t)
        return NULL;
    *head = t->qnext;
    if (!*head)
        *tail = NULL;
    t->qnext = NULL;
    t->ep = NULL;
    return t;
}

/* Queueing sets t->ep and t's blocked state. */
static inline void ep_queue_sender(struct endpoint *ep, struct thread *t)
{
    t->state = THREAD_BLOCKED_SEND;
    t->ep = ep;
    ep_push(&ep->senders, &ep->senders_tail, t);
}

static inline void ep_queue_receiver(struct endpoint *ep, struct thread *t)
{
    t->state = THREAD_BLOCKED_RECV;
    t->ep = ep;
    ep_push(&ep->receivers, &ep->receivers_tail, t);
}

/* The first queued sender / receiver, taken off the queue; NULL if none. */
static inline struct thread *ep_take_sender(struct endpoint *ep)
{
    return ep_pop(&ep->senders, &ep->senders_tail);
}

static inline struct thread *ep_take_receiver(struct endpoint *ep)
{
    return ep_pop(&ep->receivers, &ep->receivers_tail);
}

/* Remove `t` from whatever endpoint queue it is on (task teardown). */
void endpoint_dequeue(struct thread *t);

/* Detach `t` from all IPC before it dies: off its endpoint queue, its
 * pending call forgotten by the callee, and a caller waiting for t's reply
 * woken with -MICA_EDEAD (label MICA_LABEL_ERROR). */
void endpoint_cancel_ipc(struct thread *t);

/* The caller c, blocked waiting for a reply, will never get it: its
 * message registers are cleared, its label set to MICA_LABEL_ERROR, and it
 * is woken with -MICA_EDEAD. */
void endpoint_fail_caller(struct thread *c);

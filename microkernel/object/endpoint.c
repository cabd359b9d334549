/* Endpoint objects: their slab cache, references, death, and the two FIFO
 * queues of blocked threads (senders or receivers; never both at once in
 * practice, since a rendezvous empties one against the other).
 *
 * An endpoint lives while a handle names it. It is useless once no handle
 * with MICA_RIGHT_RECV remains: receive rights only come from the creator's
 * handle, by minting or transfer, so none can appear again. At that point
 * queued senders are woken with -MICA_EDEAD rather than left blocked. */
#include "object/endpoint.h"

#include <mica/errno.h>

#include "object/death_note.h"
#include "object/handle.h"
#include "object/syscalls.h"
#include "lib/assert.h"
#include "lib/string.h"
#include "mm/slab.h"
#include "object/sched.h"
#include "object/task.h"

static struct slab_cache *endpoint_cache;

void endpoint_init(void)
{
    if (endpoint_cache)
        return; /* already set up (tests may call it first) */
    endpoint_cache = slab_cache_create("endpoint", sizeof(struct endpoint), 8);
    KASSERT(endpoint_cache != NULL, "no memory for the endpoint cache");
}

struct endpoint *endpoint_create(void)
{
    struct endpoint *ep = slab_alloc(endpoint_cache);
    if (!ep)
        return NULL;
    memset(ep, 0, sizeof *ep);
    ep->refs = 1;
    return ep;
}

static void remove_from(struct thread **head, struct thread **tail, struct thread *t)
{
    struct thread *prev = NULL;
    for (struct thread *q = *head; q; prev = q, q = q->qnext) {
        if (q != t)
            continue;
        if (prev)
            prev->qnext = q->qnext;
        else
            *head = q->qnext;
        if (*tail == q)
            *tail = prev;
        t->qnext = NULL;
        t->ep = NULL;
        return;
    }
    panic("thread %u claims endpoint %p but is not on its queue", t->id, (void *)t->ep);
}

/* Wake every thread of a queue with -MICA_EDEAD. */
static void wake_all_dead(struct thread **head, struct thread **tail)
{
    struct thread *t;
    while ((t = ep_pop(head, tail)) != NULL)
        sched_wake(t, -MICA_EDEAD);
}

void endpoint_dequeue(struct thread *t)
{
    struct endpoint *ep = t->ep;
    if (!ep)
        return;
    if (t->state == THREAD_BLOCKED_SEND)
        remove_from(&ep->senders, &ep->senders_tail, t);
    else if (t->state == THREAD_BLOCKED_RECV)
        remove_from(&ep->receivers, &ep->receivers_tail, t);
    else
        panic("thread %u on endpoint %p in state %d", t->id, (void *)ep, t->state);
}

void endpoint_get(struct endpoint *ep)
{
    KASSERT(ep->refs > 0 && !ep->dead, "endpoint_get of a dead endpoint %p", (void *)ep);
    ep->refs++;
}

void endpoint_put(struct endpoint *ep)
{
    KASSERT(ep->refs > 0, "endpoint_put of endpoint %p without references", (void *)ep);
    if (--ep->refs > 0)
        return;
    ep->dead = true;
    death_notes_drop(ep);
    wake_all_dead(&ep->senders, &ep->senders_tail);
    wake_all_dead(&ep->receivers, &ep->receivers_tail);
    slab_free(endpoint_cache, ep);
}

void endpoint_handle_get(struct endpoint *ep, uint32_t rights)
{
    endpoint_get(ep);
    if (rights & MICA_RIGHT_RECV)
        ep->recv_refs++;
}

void endpoint_handle_put(struct endpoint *ep, uint32_t rights)
{
    if (rights & MICA_RIGHT_RECV) {
        KASSERT(ep->recv_refs > 0, "endpoint %p: receive handle closed twice", (void *)ep);
        if (--ep->recv_refs == 0) {
            wake_all_dead(&ep->senders, &ep->senders_tail);
            death_notes_drop(ep); /* nobody can ever take them */
        }
    }
    endpoint_put(ep);
}

/* () -> a handle with all rights to a new endpoint. */
int64_t sys_endpoint_create(struct trap_frame *tf)
{
    (void)tf;
    struct endpoint *ep = endpoint_create();
    if (!ep)
        return -MICA_ENOMEM;
    long h = handle_install(&sched_current()->task->handles, HANDLE_ENDPOINT, ep,
                            MICA_RIGHTS_ALL, 0);
    endpoint_put(ep); /* the handle holds it now, or nothing does */
    return h;
}

void endpoint_fail_caller(struct thread *c)
{
    struct trap_frame *f = c->utf;
    c->callee = NULL;
    f->rdi = 0;
    f->rsi = MICA_LABEL_ERROR;
    f->rdx = f->r10 = f->r8 = f->r9 = 0;
    sched_wake(c, -MICA_EDEAD);
}

void endpoint_cancel_ipc(struct thread *t)
{
    endpoint_dequeue(t);
    if (t->callee) {
        KASSERT(t->callee->caller == t, "thread %u: callee %u does not hold the call", t->id,
                t->callee->id);
        t->callee->caller = NULL;
        t->callee = NULL;
    }
    struct thread *c = t->caller;
    if (c) {
        t->caller = NULL;
        endpoint_fail_caller(c);
    }
}

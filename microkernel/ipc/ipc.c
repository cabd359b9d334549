/* The IPC system calls: send, receive, call, reply and reply-receive over
 * endpoints, L4 style. A rendezvous copies the message straight into the
 * partner's saved registers (ipc_priv.h).
 *
 * Fast paths: when a call finds a receiver already waiting, the caller
 * blocks for its reply and the CPU goes straight to the receiver; when a
 * reply-receive finds no sender queued, the server blocks in receive and
 * the CPU goes straight back to the caller. Neither passes through the run
 * queue. Everything else (queueing, plain sends and replies, which wake the
 * partner and keep running) is the slow path.
 *
 * Calls and replies: a receiver that takes a call becomes the caller's
 * callee (thread.caller / thread.callee) and the caller waits in
 * THREAD_BLOCKED_REPLY. A thread holds at most one caller: taking a second
 * call before answering the first abandons the first, whose caller is woken
 * with -MICA_EDEAD, as when the callee dies. A reply-receive without a
 * pending caller just receives.
 *
 * Errors go to the party at fault (ipc_priv.h); -MICA_EDEAD reaches every
 * thread blocked on an endpoint that dies or that nobody can receive on. */
#include <mica/errno.h>

#include "ipc/endpoint.h"
#include "ipc/handle.h"
#include "ipc/ipc_priv.h"
#include "kernel/syscall.h"
#include "lib/assert.h"
#include "task/sched.h"
#include "task/task.h"

static inline bool nonblocking(const struct trap_frame *tf)
{
    return (tf->rax & MICA_SYS_FLAG_NONBLOCK) != 0;
}

/* The endpoint behind handle h of the current task, with `right`. */
static struct endpoint *lookup_ep(struct thread *cur, uint64_t h, uint32_t right, int *err)
{
    struct handle *e = handle_lookup(&cur->task->handles, h, HANDLE_ENDPOINT, right, err);
    return e ? e->object : NULL;
}

/* The caller c will never get its reply. */
static void fail_caller(struct thread *c)
{
    struct trap_frame *f = c->utf;
    c->callee = NULL;
    f->rdi = 0;
    f->rsi = MICA_LABEL_ERROR;
    f->rdx = f->r10 = f->r8 = f->r9 = 0;
    sched_wake(c, -MICA_EDEAD);
}

/* `caller` (blocked sending a call) now waits for `server`'s reply. */
static void set_caller(struct thread *server, struct thread *caller)
{
    if (server->caller)
        fail_caller(server->caller);
    server->caller = caller;
    caller->callee = server;
    caller->state = THREAD_BLOCKED_REPLY;
}

/* Take the current thread's pending caller (NULL if none). */
static struct thread *take_caller(struct thread *cur)
{
    struct thread *c = cur->caller;
    if (c) {
        KASSERT(c->callee == cur && c->state == THREAD_BLOCKED_REPLY,
                "thread %u: caller %u is not waiting for its reply", cur->id, c->id);
        cur->caller = NULL;
        c->callee = NULL;
    }
    return c;
}

void ipc_cancel(struct thread *t)
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
        fail_caller(c);
    }
}

/* ---- receive ---- */

/* Take a message from the first queued sender whose half of the transfer
 * is good (senders at fault are woken with their error). Returns false if
 * no sender is queued. */
static bool recv_from_queue(struct thread *cur, struct endpoint *ep, int64_t *result)
{
    struct thread *s;
    while ((s = ep_take_sender(ep)) != NULL) {
        struct ipc_send st;
        int rc = ipc_send_prepare(s, &s->msg, &st);
        if (rc < 0) {
            sched_wake(s, rc);
            continue;
        }
        *result = ipc_deliver(&st, cur);
        if (s->is_call)
            set_caller(cur, s);
        else
            sched_wake(s, 0);
        return true;
    }
    return false;
}

static int64_t do_recv(struct thread *cur, struct endpoint *ep, bool nonblock)
{
    int64_t result;
    if (recv_from_queue(cur, ep, &result))
        return result;
    if (nonblock)
        return -MICA_EAGAIN;
    ep_queue_receiver(ep, cur);
    return sched_block();
}

int64_t sys_ipc_recv(struct trap_frame *tf)
{
    struct thread *cur = sched_current();
    int err;
    struct endpoint *ep = lookup_ep(cur, tf->rdi, MICA_RIGHT_RECV, &err);
    if (!ep)
        return err;
    return do_recv(cur, ep, nonblocking(tf));
}

/* ---- send and call ---- */

/* Fast path: a receiver waits. A call blocks for its reply and runs the
 * receiver at once; a send wakes it and carries on. */
static int64_t send_to_waiting(struct thread *cur, struct endpoint *ep, bool call)
{
    struct ipc_send st;
    int rc = ipc_send_prepare(cur, &cur->msg, &st);
    if (rc < 0)
        return rc;
    struct thread *r = ep_take_receiver(ep);
    int64_t r_result = ipc_deliver(&st, r);
    if (!call) {
        sched_wake(r, r_result);
        return 0;
    }
    r->wake_result = r_result;
    set_caller(r, cur);
    sched_switch_to(r);
    return cur->wake_result;
}

static int64_t do_send(struct trap_frame *tf, bool call)
{
    struct thread *cur = sched_current();
    int err;
    struct handle *h = handle_lookup(&cur->task->handles, tf->rdi, HANDLE_ENDPOINT,
                                     MICA_RIGHT_SEND, &err);
    if (!h)
        return err;
    struct endpoint *ep = h->object;
    if (ep->recv_refs == 0)
        return -MICA_EDEAD;
    cur->msg = (struct ipc_msg){
        .badge = h->badge, .label = tf->rsi, .w = {tf->rdx, tf->r10, tf->r8, tf->r9}};
    int rc = ipc_send_check(cur, cur->msg.label);
    if (rc < 0)
        return rc;
    if (ep->receivers)
        return send_to_waiting(cur, ep, call);
    if (nonblocking(tf))
        return -MICA_EAGAIN;
    /* Slow path: wait for a receiver. It checks our half when it comes. */
    cur->is_call = call;
    ep_queue_sender(ep, cur);
    return sched_block();
}

int64_t sys_ipc_send(struct trap_frame *tf)
{
    return do_send(tf, false);
}

int64_t sys_ipc_call(struct trap_frame *tf)
{
    return do_send(tf, true);
}

/* ---- reply ---- */

int64_t sys_ipc_reply(struct trap_frame *tf)
{
    struct thread *cur = sched_current();
    if (!cur->caller)
        return -MICA_ENOENT;
    cur->msg = (struct ipc_msg){.label = tf->rdi, .w = {tf->rsi, tf->rdx, tf->r10, tf->r8}};
    struct ipc_send st;
    int rc = ipc_send_prepare(cur, &cur->msg, &st);
    if (rc < 0)
        return rc; /* the caller keeps waiting; the reply may be retried */
    struct thread *c = take_caller(cur);
    sched_wake(c, ipc_deliver(&st, c));
    return 0;
}

int64_t sys_ipc_reply_recv(struct trap_frame *tf)
{
    struct thread *cur = sched_current();
    int err;
    struct endpoint *ep = lookup_ep(cur, tf->rdi, MICA_RIGHT_RECV, &err);
    if (!ep)
        return err;
    bool nonblock = nonblocking(tf);
    if (!cur->caller)
        return do_recv(cur, ep, nonblock);

    cur->msg = (struct ipc_msg){.label = tf->rsi, .w = {tf->rdx, tf->r10, tf->r8, tf->r9}};
    struct ipc_send st;
    int rc = ipc_send_prepare(cur, &cur->msg, &st);
    if (rc < 0)
        return rc;
    struct thread *c = take_caller(cur);
    int64_t c_result = ipc_deliver(&st, c);
    if (ep->senders || nonblock) {
        sched_wake(c, c_result);
        return do_recv(cur, ep, nonblock);
    }
    /* Fast path: nothing to receive yet, so wait and run the caller now. */
    c->wake_result = c_result;
    ep_queue_receiver(ep, cur);
    sched_switch_to(c);
    return cur->wake_result;
}

/* The IPC system calls: send, receive, call, reply and reply-receive over
 * endpoints, L4 style. A rendezvous copies the message straight into the
 * partner's saved registers (ipc_priv.h).
 *
 * Fast paths (seL4 style): a call that finds a receiver waiting, and a
 * reply-receive that finds its caller waiting and no sender queued, when
 * the message carries no handle and its data bytes, if any, can be copied
 * (both buffers registered and mapped). They check only what can fail
 * there, copy the words frame to frame and the bytes buffer to buffer, and
 * switch straight to the partner: no run queue, no ipc_send / ipc_deliver.
 * Anything else, including every error, takes the slow path, which
 * re-checks from the start and so gives the same results.
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

#include "object/death_note.h"
#include "object/endpoint.h"
#include "object/handle.h"
#include "object/swifi.h"
#include "ipc/ipc_priv.h"
#include "ipc/syscalls.h"
#include "lib/assert.h"
#include "object/sched.h"
#include "object/sched_ipc.h"
#include "object/task.h"
#include "object/preempt.h"
#include "arch/x86_64/timer.h"
#include "inject/inject.h"

/* syscall_entry.asm sends these two straight here, by number. */
STATIC_ASSERT(MICA_SYS_IPC_CALL == 6 && MICA_SYS_IPC_REPLY_RECV == 8,
              "syscall_entry.asm: MICA_SYS_IPC_CALL / MICA_SYS_IPC_REPLY_RECV");

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

/* `caller` (blocked sending a call) now waits for `server`'s reply. */
static void set_caller(struct thread *server, struct thread *caller)
{
    if (server->caller)
        endpoint_fail_caller(server->caller);
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

/* ---- fast paths ---- */

/* The message carries no handle to transfer (data bytes may come along). */
static inline bool no_handle(uint64_t label)
{
    return (label & MICA_MSG_XFER_HANDLE) == 0;
}

/* The message carries data bytes or a handle: it leaves the registers-only
 * fast path. One test of the label, not one per field. */
static inline bool beyond_registers(uint64_t label)
{
    return unlikely((label & ((MICA_MSG_LEN_MASK << MICA_MSG_LEN_SHIFT) |
                              MICA_MSG_XFER_HANDLE)) != 0);
}

/* Handle h of cur if it names an endpoint and has `right`, else NULL (the
 * slow path then finds and reports the error). While an IPC injection
 * point is armed the bound is 0, so every call takes the slow path, where
 * the points are (inject/inject.h). */
static inline struct handle *fast_handle(struct thread *cur, uint64_t h, uint32_t right)
{
    if (h >= inject_ipc_fast_handles)
        return NULL;
    struct handle *s = &cur->task->handles.slots[h];
    return s->type == HANDLE_ENDPOINT && (s->rights & right) ? s : NULL;
}

/* Write a message into the registers of blocked thread t, to be returned
 * from its system call with result 0. */
static inline void fast_deliver(struct thread *t, uint64_t badge, const struct trap_frame *tf,
                                uint64_t label)
{
    struct trap_frame *f = t->utf;
    f->rdi = badge;
    f->rsi = label;
    f->rdx = tf->rdx;
    f->r10 = tf->r10;
    f->r8 = tf->r8;
    f->r9 = tf->r9;
    t->wake_result = 0;
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

/* The current thread has just received a message (rc >= 0). kill_nth:
 * on its task's nth one the task is killed. It unwinds like any killed
 * task, so a call it had taken fails with -MICA_EDEAD. The transient
 * faults (object/swifi.h) may fire here too. */
static __attribute__((noinline)) int64_t received_injected(struct thread *cur, int64_t rc)
{
    if (rc >= 0 && INJECT(INJECT_KILL_NTH, NULL)) {
        inject_report(INJECT_KILL_NTH, "killed on receiving label 0x%lx",
                      (unsigned long)MICA_MSG_LABEL(cur->utf->rsi));
        task_kill(cur->task, "fault injection (kill_nth)");
    }
    if (rc >= 0 && INJECT_ANY(INJECT_SWIFI_POINTS))
        swifi_received(cur);
    return rc;
}

static inline int64_t received(struct thread *cur, int64_t rc)
{
    if (INJECT_ANY(INJECT_BIT(INJECT_KILL_NTH) | INJECT_SWIFI_POINTS))
        return received_injected(cur, rc);
    return rc;
}

static int64_t do_recv(struct thread *cur, struct endpoint *ep, bool nonblock)
{
    int64_t result;
    if (unlikely(ep->notes) && death_note_take(ep, cur))
        return 0;
    if (recv_from_queue(cur, ep, &result))
        return received(cur, result);
    if (nonblock)
        return -MICA_EAGAIN;
    ep_queue_receiver(ep, cur);
    return received(cur, sched_block());
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

/* Out of line, as every slow path here, so that the fast paths need no
 * callee-saved registers of their own. */
static __attribute__((noinline)) int64_t send_once(struct trap_frame *tf, bool call)
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

/* ---- injection points of the sending side (inject/inject.h) ---- */

#define SEND_POINTS \
    (INJECT_BIT(INJECT_IPC_DROP) | INJECT_BIT(INJECT_IPC_DELAY) | INJECT_BIT(INJECT_IPC_DUP))

/* Hold the current thread back for `n` timer ticks, letting others run.
 * The kernel runs with interrupts off, so the ticks are taken at
 * preemption points. -MICA_EDEAD if the task is killed meanwhile. */
static int delay_ticks(uint64_t n)
{
    uint64_t until = timer_ticks() + n;
    while (timer_ticks() < until) {
        int rc = preempt_point(NULL);
        if (rc < 0)
            return rc;
        sched_yield();
    }
    return 0;
}

/* A send or call with a sending-side point armed: ipc_delay holds it back
 * before anything is looked at (the handle may change meanwhile),
 * ipc_drop loses it (the sender gets -MICA_EAGAIN and may send again),
 * ipc_dup sends a one-way message twice (a call has only one reply to wait
 * for, so it is never duplicated). */
static __attribute__((noinline)) int64_t send_injected(struct trap_frame *tf, bool call)
{
    const char *what = call ? "call" : "send";
    if (INJECT(INJECT_IPC_DELAY, NULL)) {
        uint32_t n = inject_ticks(INJECT_IPC_DELAY);
        inject_report(INJECT_IPC_DELAY, "%s label 0x%lx held back %u ticks", what,
                      (unsigned long)MICA_MSG_LABEL(tf->rsi), n);
        int rc = delay_ticks(n);
        if (rc < 0)
            return rc;
    }
    if (INJECT(INJECT_IPC_DROP, NULL)) {
        inject_report(INJECT_IPC_DROP, "%s label 0x%lx dropped (-EAGAIN)", what,
                      (unsigned long)MICA_MSG_LABEL(tf->rsi));
        return -MICA_EAGAIN;
    }
    if (!call && INJECT(INJECT_IPC_DUP, NULL)) {
        inject_report(INJECT_IPC_DUP, "send label 0x%lx delivered twice",
                      (unsigned long)MICA_MSG_LABEL(tf->rsi));
        int64_t rc = send_once(tf, false);
        if (rc < 0)
            return rc;
    }
    return send_once(tf, call);
}

static int64_t do_send(struct trap_frame *tf, bool call)
{
    if (INJECT_ANY(SEND_POINTS))
        return send_injected(tf, call);
    return send_once(tf, call);
}

int64_t sys_ipc_send(struct trap_frame *tf)
{
    return do_send(tf, false);
}

/* The call fast path. Instantiated twice: for registers only, and, out of
 * line, for messages with data bytes, whose copy needs registers kept
 * across a call that the shortest path should not pay for. */
static inline __attribute__((always_inline)) int64_t call_fast(struct trap_frame *tf, bool data)
{
    struct thread *cur = sched_current();
    uint64_t label = tf->rsi;
    struct handle *h = fast_handle(cur, tf->rdi, MICA_RIGHT_SEND);
    /* Without data the caller has checked the label: it carries no handle. */
    if (unlikely(!h || (data && !no_handle(label))))
        return do_send(tf, true);
    struct endpoint *ep = h->object;
    struct thread *r = ep->receivers;
    /* A receiver still holding an unanswered call, or an endpoint nobody
     * can receive on any more, is the slow path's business. */
    if (unlikely(!r || r->caller || ep->recv_refs == 0))
        return do_send(tf, true);
    if (data && !ipc_copy_data_fast(r, cur, MICA_MSG_LEN(label)))
        return do_send(tf, true);

    /* Fast path: the data bytes, if any, are in the receiver's buffer; hand
     * it the words, wait for its reply, and run it now. A receiver that
     * blocked on a fast path takes the words in its registers. */
    ep_take_receiver(ep);
    r->caller = cur;
    cur->callee = r;
    cur->state = THREAD_BLOCKED_REPLY;
    if (likely(sched_saved_at_syscall_end(r)))
        sched_switch_ipc(h->badge, label, cur, r);
    fast_deliver(r, h->badge, tf, label);
    sched_switch_from_syscall(cur, r);
}

static __attribute__((noinline)) int64_t call_with_data(struct trap_frame *tf)
{
    return call_fast(tf, true);
}

int64_t sys_ipc_call(struct trap_frame *tf)
{
    if (beyond_registers(tf->rsi))
        return call_with_data(tf);
    return call_fast(tf, false);
}

/* ---- reply ---- */

static __attribute__((noinline)) int64_t reply_recv_slow(struct trap_frame *tf);

/* The reply_withhold point: the current thread's reply is swallowed. Its
 * caller stays blocked, answered by nobody, until it is killed (a hung
 * server, as its clients see it). True when the reply was withheld. */
static bool reply_withheld(struct thread *cur)
{
    if (!INJECT(INJECT_REPLY_WITHHOLD, NULL))
        return false;
    struct thread *c = take_caller(cur);
    inject_report(INJECT_REPLY_WITHHOLD, "reply to %s(%u) withheld", c->task->name,
                  c->task->id);
    return true;
}

int64_t sys_ipc_reply(struct trap_frame *tf)
{
    struct thread *cur = sched_current();
    if (!cur->caller)
        return -MICA_ENOENT;
    if (INJECT_ANY(INJECT_BIT(INJECT_REPLY_WITHHOLD)) && reply_withheld(cur))
        return 0;
    cur->msg = (struct ipc_msg){.label = tf->rdi, .w = {tf->rsi, tf->rdx, tf->r10, tf->r8}};
    struct ipc_send st;
    int rc = ipc_send_prepare(cur, &cur->msg, &st);
    if (rc < 0)
        return rc; /* the caller keeps waiting; the reply may be retried */
    struct thread *c = take_caller(cur);
    sched_wake(c, ipc_deliver(&st, c));
    return 0;
}

/* Nothing waits on ep to be received: no sender, no death note. One test
 * of both pointers. */
static inline bool nothing_queued(const struct endpoint *ep)
{
    return ((uintptr_t)ep->senders | (uintptr_t)ep->notes) == 0;
}

/* The reply-receive fast path, instantiated as call_fast is; `flags`: rax
 * may carry flag bits (the call came through syscall_dispatch). */
static inline __attribute__((always_inline)) int64_t reply_recv_fast(struct trap_frame *tf,
                                                                     bool data, bool flags)
{
    struct thread *cur = sched_current();
    struct thread *c = cur->caller;
    uint64_t label = tf->rsi;
    struct handle *h = fast_handle(cur, tf->rdi, MICA_RIGHT_RECV);
    if (likely(c && h && (!data || no_handle(label)) && !(flags && nonblocking(tf)))) {
        struct endpoint *ep = h->object;
        if (likely(nothing_queued(ep)) &&
            (!data || ipc_copy_data_fast(c, cur, MICA_MSG_LEN(label)))) {
            /* Fast path: the reply's data bytes, if any, are in the
             * caller's buffer; answer the caller, wait for the next message
             * and run the caller now. */
            KASSERT(c->callee == cur && c->state == THREAD_BLOCKED_REPLY,
                    "thread %u: caller %u is not waiting for its reply", cur->id, c->id);
            cur->caller = NULL;
            c->callee = NULL;
            ep_queue_receiver(ep, cur);
            if (likely(sched_saved_at_syscall_end(c)))
                sched_switch_ipc(0, label, cur, c);
            fast_deliver(c, 0, tf, label);
            sched_switch_from_syscall(cur, c);
        }
    }
    return reply_recv_slow(tf);
}

static __attribute__((noinline)) int64_t reply_recv_with_data(struct trap_frame *tf)
{
    return reply_recv_fast(tf, true, true);
}

int64_t sys_ipc_reply_recv(struct trap_frame *tf)
{
    if (beyond_registers(tf->rsi))
        return reply_recv_with_data(tf);
    return reply_recv_fast(tf, false, true);
}

int64_t sys_ipc_reply_recv_bare(struct trap_frame *tf)
{
    if (beyond_registers(tf->rsi))
        return reply_recv_with_data(tf);
    return reply_recv_fast(tf, false, false);
}

/* Everything the fast path above does not cover, and every error. */
static __attribute__((noinline)) int64_t reply_recv_slow(struct trap_frame *tf)
{
    struct thread *cur = sched_current();
    int err;
    struct endpoint *ep = lookup_ep(cur, tf->rdi, MICA_RIGHT_RECV, &err);
    if (!ep)
        return err;
    bool nonblock = nonblocking(tf);
    if (!cur->caller || (INJECT_ANY(INJECT_BIT(INJECT_REPLY_WITHHOLD)) && reply_withheld(cur)))
        return do_recv(cur, ep, nonblock);

    cur->msg = (struct ipc_msg){.label = tf->rsi, .w = {tf->rdx, tf->r10, tf->r8, tf->r9}};
    struct ipc_send st;
    int rc = ipc_send_prepare(cur, &cur->msg, &st);
    if (rc < 0)
        return rc;
    struct thread *c = take_caller(cur);
    int64_t c_result = ipc_deliver(&st, c);
    if (ep->senders || ep->notes || nonblock) {
        sched_wake(c, c_result);
        return do_recv(cur, ep, nonblock);
    }
    /* Fast path: nothing to receive yet, so wait and run the caller now. */
    c->wake_result = c_result;
    ep_queue_receiver(ep, cur);
    sched_switch_to(c);
    return received(cur, cur->wake_result);
}

/* For kernel-made calls (ipc_kernel.c): the same bookkeeping as a call. */
void ipc_set_caller(struct thread *server, struct thread *caller)
{
    set_caller(server, caller);
}

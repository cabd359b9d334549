/* Kernel-made calls (ipc_kernel.h). The thread is queued or handed to a
 * receiver exactly as a call from MICA_SYS_IPC_CALL would be, so the
 * server's reply, the callee's death and the endpoint's death all reach it
 * through the ordinary paths of ipc.c and endpoint.c.
 *
 * Two things differ from a system call. The reply is written into the
 * thread's saved ring-3 registers (thread.utf), which here hold the state
 * of an interrupted instruction, not a call's results: they are saved
 * before and put back after. And the thread has no IPC buffer for the
 * duration, so a reply with data or a handle fails in delivery (the
 * receiver's error, -MICA_EFAULT) instead of writing into a task that never
 * asked for it. */
#include "ipc/ipc_kernel.h"

#include <mica/errno.h>

#include "arch/x86_64/trap.h"
#include "object/endpoint.h"
#include "ipc/ipc_priv.h"
#include "lib/assert.h"
#include "object/sched.h"

int64_t ipc_kernel_call(struct thread *t, struct endpoint *ep, const struct ipc_msg *msg,
                        struct ipc_msg *reply)
{
    KASSERT(t == sched_current(), "kernel call from thread %u, which is not running", t->id);
    KASSERT(!MICA_MSG_LEN(msg->label) && !(msg->label & MICA_MSG_XFER_HANDLE),
            "kernel call with label 0x%lx carries data or a handle", (unsigned long)msg->label);
    if (ep->dead || ep->recv_refs == 0)
        return -MICA_EDEAD;

    struct trap_frame *f = t->utf;
    const uint64_t saved[6] = {f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9};
    uintptr_t buffer = t->ipc_buffer;
    t->ipc_buffer = 0;

    int64_t rc;
    if (ep->receivers) {
        /* Like the call fast path: the message is registers only, so it
         * goes straight into the receiver's frame (what ipc_deliver would
         * write, with nothing that can fail), and the CPU straight to the
         * receiver. */
        struct thread *r = ep_take_receiver(ep);
        struct trap_frame *rf = r->utf;
        rf->rdi = msg->badge;
        rf->rsi = msg->label;
        rf->rdx = msg->w[0];
        rf->r10 = msg->w[1];
        rf->r8 = msg->w[2];
        rf->r9 = msg->w[3];
        r->wake_result = 0;
        ipc_set_caller(r, t);
        sched_switch_to(r);
        rc = t->wake_result;
    } else {
        t->msg = *msg; /* the receiver takes it from here when it comes */
        t->is_call = true;
        ep_queue_sender(ep, t);
        rc = sched_block();
    }

    *reply = (struct ipc_msg){.badge = f->rdi, .label = f->rsi,
                              .w = {f->rdx, f->r10, f->r8, f->r9}};
    f->rdi = saved[0];
    f->rsi = saved[1];
    f->rdx = saved[2];
    f->r10 = saved[3];
    f->r8 = saved[4];
    f->r9 = saved[5];
    t->ipc_buffer = buffer;
    return rc;
}

/* death_note.h: binding, sending and receiving death notes, and the
 * system call MICA_SYS_TASK_NOTIFY. */
#include "object/death_note.h"

#include <mica/errno.h>

#include "arch/x86_64/trap.h"
#include "lib/assert.h"
#include "mm/kheap.h"
#include "object/handle.h"
#include "object/sched.h"
#include "object/syscalls.h"

/* Write note n into r's saved registers (its receive returns 0 with them)
 * and free it. */
static void deliver(struct death_note *n, struct thread *r)
{
    struct trap_frame *f = r->utf;
    f->rdi = n->badge;
    f->rsi = MICA_LABEL_DEATH;
    f->rdx = n->w[0];
    f->r10 = n->w[1];
    f->r8 = n->w[2];
    f->r9 = n->w[3];
    kfree(n);
}

/* Queue note n on ep, or hand it to a waiting receiver; the binding's
 * reference on ep goes either way. */
static void post(struct death_note *n)
{
    struct endpoint *ep = n->ep;
    n->ep = NULL;
    n->next = NULL;
    if (!endpoint_may_receive(ep)) {
        kfree(n);
    } else if (ep->receivers) {
        KASSERT(!ep->notes, "endpoint %p: a receiver waits while notes are queued", (void *)ep);
        struct thread *r = ep_take_receiver(ep);
        deliver(n, r);
        sched_wake(r, 0);
    } else {
        struct death_note **pp = &ep->notes;
        while (*pp)
            pp = &(*pp)->next;
        *pp = n;
    }
    endpoint_put(ep);
}

/* What note d says of t, which has ended. */
static void fill(struct death_note *d, const struct task *t)
{
    d->w[0] = t->id;
    d->w[1] = (uint64_t)t->exit_status;
    d->w[2] = t->death_cause;
    d->w[3] = t->death_cause == MICA_DEATH_KILLED ? t->killer_id : 0;
}

int death_note_bind(struct task *t, struct endpoint *ep, uint64_t badge)
{
    if (!endpoint_may_receive(ep))
        return -MICA_EDEAD;
    unsigned n = 0;
    for (struct death_note *d = t->notes; d; d = d->next)
        n++;
    if (n >= MICA_NOTIFY_MAX)
        return -MICA_ENOSPC;
    struct death_note *d = kmalloc(sizeof *d);
    if (!d)
        return -MICA_ENOMEM;
    *d = (struct death_note){.ep = ep, .badge = badge};
    endpoint_get(ep);
    if (t->state == TASK_ZOMBIE) {
        /* Ended before the bind (a supervisor binds right after the
         * spawn, and the child may have run): tell at once. */
        fill(d, t);
        post(d);
        return 0;
    }
    d->next = t->notes;
    t->notes = d;
    return 0;
}

void death_notes_post(struct task *t)
{
    KASSERT(t->state == TASK_ZOMBIE, "death notes of task %u, which has not ended", t->id);
    while (t->notes) {
        struct death_note *d = t->notes;
        t->notes = d->next;
        fill(d, t);
        post(d);
    }
}

bool death_note_take(struct endpoint *ep, struct thread *r)
{
    struct death_note *n = ep->notes;
    if (!n)
        return false;
    ep->notes = n->next;
    deliver(n, r);
    return true;
}

void death_notes_drop(struct endpoint *ep)
{
    while (ep->notes) {
        struct death_note *n = ep->notes;
        ep->notes = n->next;
        kfree(n);
    }
}

/* (task h with WAIT, endpoint h with SEND, badge) -> 0. The badge follows
 * the rule of minting: a non-zero one only through an unbadged handle,
 * which could mint that badge anyway; badge 0 takes the handle's own. */
int64_t sys_task_notify(struct trap_frame *tf)
{
    struct task *self = sched_current()->task;
    int err = 0;
    struct handle *th = handle_lookup(&self->handles, tf->rdi, HANDLE_TASK, MICA_RIGHT_WAIT,
                                      &err);
    if (!th)
        return err;
    struct handle *eh = handle_lookup(&self->handles, tf->rsi, HANDLE_ENDPOINT, MICA_RIGHT_SEND,
                                      &err);
    if (!eh)
        return err;
    uint64_t badge = tf->rdx;
    if (badge && eh->badge)
        return -MICA_EPERM;
    return death_note_bind(th->object, eh->object, badge ? badge : eh->badge);
}

/* Death notification: a task bound to an endpoint (MICA_SYS_TASK_NOTIFY)
 * makes the kernel send one MICA_LABEL_DEATH message there when it ends,
 * so a supervisor learns of a death by receiving, not by polling.
 *
 * A note is allocated at the bind, so sending it can never fail: at the
 * task's end it goes to a receiver waiting on the endpoint, or waits in
 * the endpoint's queue of notes until one comes (IPC_RECV takes notes
 * before queued senders). It is dropped, silently, only when nobody can
 * ever receive on the endpoint. Message layout in mica/syscall.h. */
#pragma once

#include "lib/types.h"
#include "object/endpoint.h"
#include "object/task.h"
#include "object/thread.h"

struct death_note {
    struct death_note *next;   /* in the task's list, then in the endpoint's queue */
    struct endpoint *ep;       /* while bound: holds a reference */
    uint64_t badge;
    uint64_t w[4];             /* filled at the death: id, status, cause, killer */
};

/* Bind t to ep: one note with `badge` when t ends (at once if t is a
 * zombie already). Returns 0, -MICA_ENOMEM, -MICA_ENOSPC (MICA_NOTIFY_MAX
 * bindings on t) or -MICA_EDEAD (nobody can receive on ep). */
int death_note_bind(struct task *t, struct endpoint *ep, uint64_t badge);

/* t has just become a zombie: send each of its notes (task_exit). */
void death_notes_post(struct task *t);

/* Deliver the oldest note queued on ep into r's registers (badge, label,
 * words; r's system call then returns 0). False when ep holds none. */
bool death_note_take(struct endpoint *ep, struct thread *r);

/* Free every note queued on ep: nobody can receive them any more. */
void death_notes_drop(struct endpoint *ep);

/* Tasks: an address space, a handle table and the threads that run in it.
 * Task objects come from a slab cache; ids are never reused. */
#pragma once

#include <mica/syscall.h>

#include "arch/x86_64/upcalls.h"
#include "lib/types.h"
#include "mm/vmm.h"
#include "object/handle.h"

struct thread;
struct endpoint;
struct death_note;

/* LIVE -> DYING (task_exit has begun: the task takes no new work, its
 * memory may be in the middle of being released) -> ZOMBIE (exited, kept
 * for a waiter). Only a LIVE task may be the target of a call. */
enum task_state { TASK_LIVE, TASK_DYING, TASK_ZOMBIE };

struct task {
    uint32_t id;
    char name[MICA_NAME_MAX];
    enum task_state state;
    struct vm_space as;          /* user half private, kernel half shared */
    struct handle_table handles;
    struct thread *threads;      /* list through thread.task_next */
    unsigned nthreads;
    int64_t exit_status;
    struct thread *waiters;      /* threads in MICA_SYS_TASK_WAIT, via qnext */
    uint32_t refs;               /* task handles + 1 while live */
    uint32_t handle_refs;        /* task handles naming it (the last one closed kills it) */
    uint64_t start_flags;        /* MICA_START_* given at spawn */
    struct task *live_next;      /* link in the list of live tasks */
    struct endpoint *pager;      /* page faults are sent here, or NULL (remote_paging.c) */
    uint64_t pager_badge;        /* badge of the handle that registered it */
    uint64_t frame_quota;        /* frames it may have charged as a pager; 0: no limit */
    uint16_t frame_account;      /* its charge account (frame_quota.c), 0 before the first */
    uint64_t faults;             /* ring-3 page faults taken (MICA_SYS_TASK_LIST) */
    bool killed;                 /* a kill is pending: its threads unwind and exit */
    uint8_t death_cause;         /* MICA_DEATH_*, for death notes (death_note.h) */
    uint32_t killer_id;          /* MICA_DEATH_KILLED: the task that asked */
    struct death_note *notes;    /* bound by MICA_SYS_TASK_NOTIFY, sent at its end */
};

/* True once t was killed: a thread of t inside a system call must stop
 * blocking and unwind through its error path; it exits on its way out. */
static inline bool task_killed(const struct task *t)
{
    return t->killed;
}

/* Set up the task slab cache. Idempotent. */
void task_init(void);

/* Create an empty task (new address space, empty handle table, no thread).
 * `name` is copied (truncated to MICA_NAME_MAX-1). NULL on exhaustion. */
struct task *task_create(const char *name);

/* End the task: every thread stops, threads blocked on its endpoints or
 * waiting for its replies are woken with -MICA_EDEAD, its handles are
 * closed, its memory and tables freed; waiters get `status`. Called for
 * the current task, does not return to it. */
void task_exit(struct task *t, int64_t status);

/* Kill the task for a reason. The first kill prints one report line
 * "task <name> (id N) killed: <reason>" and marks the task; later ones do
 * nothing. A kill never ends a thread in the middle of kernel code: a
 * blocked thread of t is taken out of its IPC or wait and woken with
 * -MICA_EDEAD, a running one (t is current) carries on, and each returns
 * through its system call's normal error path, releasing what the call
 * held; it exits (MICA_EXIT_KILLED) on its way back to ring 3
 * (task_exit_if_killed). A task with no thread yet is torn down at once.
 * Returns to the caller in every case; any context may call it. */
void task_kill(struct task *t, const char *fmt, ...) __printf(2, 3);

/* Record why t is about to be killed (MICA_DEATH_*; killer: the task id
 * behind MICA_DEATH_KILLED, else 0), for its death notes. Only before the
 * first kill: a later one changes nothing, as task_kill itself. A kill with
 * no cause recorded is MICA_DEATH_KERNEL. */
void task_kill_cause(struct task *t, unsigned cause, uint32_t killer);

/* Take / drop a reference that keeps the task object (not the task) alive;
 * the last drop frees a zombie. */
void task_get(struct task *t);
void task_put(struct task *t);

/* Take / drop the reference of a task handle (handle.c, fork's copy of a
 * handle table). Closing the last handle to a live task kills it: nobody
 * could wait for it, kill it or page it any more, and it would hold its
 * memory for ever (a report line says so). A task that never ran (no
 * thread yet: MICA_SYS_TASK_CREATE's, whose builder gave up or died) is
 * torn down without a report; one the kernel builds, which never had a
 * handle, is not affected. */
void task_handle_get(struct task *t);
void task_handle_put(struct task *t);

/* Register endpoint ep (badge) as t's pager, replacing any previous one;
 * ep == NULL removes it. Takes a sending reference on ep. */
void task_set_pager(struct task *t, struct endpoint *ep, uint64_t badge);

/* Number of live tasks (for MICA_INFO_TASKS). */
unsigned task_count(void);

/* Call fn(t, arg) for every live task, newest first, until fn returns
 * false. fn must not create or end tasks. */
void task_for_each_live(bool (*fn)(struct task *t, void *arg), void *arg);

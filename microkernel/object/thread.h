/* Threads: a kernel stack, a saved context and the IPC state of one flow
 * of control in a task. Thread objects come from a slab cache. */
#pragma once

#include "lib/types.h"
#include "arch/x86_64/context.h"

struct task;
struct endpoint;

#define THREAD_KSTACK_ORDER 2 /* 16 KiB kernel stacks */

enum thread_state {
    THREAD_READY,        /* on the run queue */
    THREAD_RUNNING,      /* this_cpu()->current */
    THREAD_BLOCKED_SEND, /* queued on an endpoint to send or call */
    THREAD_BLOCKED_RECV, /* queued on an endpoint to receive */
    THREAD_BLOCKED_REPLY,/* called, waiting for the reply */
    THREAD_BLOCKED_WAIT, /* waiting for a task to exit */
    THREAD_BLOCKED_INPUT,/* waiting for console input (object/console_input.c) */
    THREAD_DEAD,         /* exited; freed by its task */
    THREAD_NEW,          /* created, not yet made runnable (sched_ready) */
};

/* A message in flight: what the registers carry. */
struct ipc_msg {
    uint64_t badge, label, w[4];
};

struct thread {
    struct arch_context ctx;   /* kernel context while not running */
    struct task *task;
    uint32_t id;
    enum thread_state state;
    uintptr_t kstack;          /* base of the kernel stack (direct map) */
    struct trap_frame *utf;    /* ring-3 registers at the top of the stack */
    struct thread *qnext;      /* link in the run queue or an endpoint queue */
    struct thread *task_next;  /* link in the task's thread list */

    /* IPC */
    struct endpoint *ep;       /* endpoint this thread is queued on */
    bool is_call;              /* blocked sending as a call */
    struct ipc_msg msg;        /* outgoing message while blocked sending,
                                * incoming while being received into */
    struct thread *caller;     /* the caller this thread must reply to */
    struct thread *callee;     /* while BLOCKED_REPLY: who holds our reply */
    uintptr_t ipc_buffer;      /* user address of its mica_ipc_buffer, or 0 */
    /* ipc_transfer.c's cache: the buffer's data bytes in the direct map
     * (two pieces at most), valid while ipc_buf_va == ipc_buffer and
     * ipc_buf_changes == task->as.changes, which every change to a mapping
     * of the task bumps. Zero (no cache) when the thread is made. */
    uintptr_t ipc_buf_va;
    uint64_t ipc_buf_changes;
    uint8_t *ipc_buf_piece[2];
    int64_t wake_result;       /* result delivered by whoever wakes it */
    uint64_t xfer_handle;      /* handle to transfer with the pending send */
};

/* First address above t's kernel stack (where its trap frame ends). */
static inline uintptr_t thread_kstack_top(const struct thread *t)
{
    return t->kstack + (PAGE_SIZE << THREAD_KSTACK_ORDER);
}

/* Create a thread in `task` that will enter ring 3 at `entry` with rsp =
 * `stack` and rdi = `arg`; it is not yet runnable (see sched_ready).
 * Returns NULL when memory runs out. */
struct thread *thread_create_user(struct task *task, uintptr_t entry, uintptr_t stack,
                                  uint64_t arg);

/* Free a thread that is not running and not queued anywhere. */
void thread_destroy(struct thread *t);

/* Set up the thread slab cache and this CPU's idle thread. Idempotent. */
void thread_init(void);

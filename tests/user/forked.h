/* Children made with vm_fork (mica/vm.h) for the pager tests: the child is
 * a copy-on-write clone of the test program, a client of servers/pager
 * like its parent, so it can do what the test needs (fault, grow its
 * stack, break a region's rules) and report through its exit status. A
 * child never uses KTAP (its expectations would land in its own copy of
 * the counters); it returns a status, 0 for success. */
#pragma once

#include <stdint.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

/* Exit statuses a child body returns besides 0. */
#define FORKED_BAD_DATA 11 /* read back something it did not expect */
#define FORKED_NO_MEM   12 /* a vm_alloc failed */
#define FORKED_ALIVE    13 /* survived a violation that should have killed it */

/* How often the parent retries a rendezvous with a child before it gives
 * up (a child that died early must fail the test, not hang the run). */
#define FORKED_TRIES 200000u

/* Send m on ep to a child that will receive it, without blocking forever.
 * Returns 0 or the last error (-MICA_EAGAIN: nobody came). */
static inline long forked_send(uint64_t ep, const struct mica_msg *m)
{
    long rc = -MICA_EAGAIN;
    for (unsigned i = 0; i < FORKED_TRIES && rc == -MICA_EAGAIN; i++) {
        rc = mica_ipc_send(ep, m, MICA_IPC_NONBLOCK);
        if (rc == -MICA_EAGAIN)
            mica_yield();
    }
    return rc;
}

/* Receive on ep from a child that will send, without blocking forever. */
static inline long forked_recv(uint64_t ep, struct mica_msg *m)
{
    long rc = -MICA_EAGAIN;
    for (unsigned i = 0; i < FORKED_TRIES && rc == -MICA_EAGAIN; i++) {
        rc = mica_ipc_recv(ep, m, MICA_IPC_NONBLOCK);
        if (rc == -MICA_EAGAIN)
            mica_yield();
    }
    return rc;
}

/* Start a child running fn(arg), whose return value is its exit status.
 * Returns the child's task handle (parent), or a negative error (no child). */
static inline long forked_start(int64_t (*fn)(void *), void *arg)
{
    stdio_flush(); /* or the child would print our half-written line again */
    long child = -MICA_EAGAIN;
    /* The pager answers -MICA_EAGAIN until init has introduced this
     * program to it (mica/vm.h), which may come after our first call. */
    for (unsigned i = 0; i < FORKED_TRIES && child == -MICA_EAGAIN; i++) {
        child = vm_fork();
        if (child == -MICA_EAGAIN)
            mica_yield();
    }
    if (child == 0)
        mica_exit(fn(arg));
    return child;
}

/* Wait for a child from forked_start, then release it (the pager forgets
 * it, its handle is closed). Returns its exit status (MICA_EXIT_KILLED if
 * it was killed). */
static inline int64_t forked_collect(long child)
{
    int64_t status = mica_task_wait((uint64_t)child);
    vm_release((uint64_t)child);
    return status;
}

/* forked_start then forked_collect; a failed fork returns its error. */
static inline int64_t forked_run(int64_t (*fn)(void *), void *arg)
{
    long child = forked_start(fn, arg);
    return child < 0 ? child : forked_collect(child);
}

/* In-kernel tests of handle tables: install, lookup with types and rights,
 * close, exhaustion, the references handles hold on endpoints and tasks,
 * and the mint/close system calls' rules. */
#include <mica/errno.h>

#include "object/endpoint.h"
#include "object/handle.h"
#include "object/syscalls.h"
#include "kernel/syscall.h"
#include "mm/kheap.h"
#include "object/sched.h"
#include "object/task.h"
#include "test/ktest.h"

KTEST(handle_install_lookup_close)
{
    struct handle_table ht;
    int err = 0;
    endpoint_init();
    KREQUIRE(t, handle_table_init(&ht) == 0);
    struct endpoint *ep = endpoint_create();
    KREQUIRE(t, ep != NULL);

    long h = handle_install(&ht, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND | MICA_RIGHT_RECV, 7);
    KEXPECT_EQ(t, h, 0);
    KEXPECT_EQ(t, ep->refs, 2);
    KEXPECT_EQ(t, ep->recv_refs, 1);
    struct handle *e = handle_lookup(&ht, 0, HANDLE_ENDPOINT, MICA_RIGHT_SEND, &err);
    KREQUIRE(t, e != NULL);
    KEXPECT(t, e->object == ep);
    KEXPECT_EQ(t, e->badge, 7);
    KEXPECT(t, handle_lookup(&ht, 0, HANDLE_ENDPOINT, MICA_RIGHT_GRANT, &err) == NULL);
    KEXPECT_EQ(t, err, -MICA_EPERM);
    KEXPECT(t, handle_lookup(&ht, 0, HANDLE_TASK, 0, &err) == NULL);
    KEXPECT_EQ(t, err, -MICA_EBADH);
    KEXPECT(t, handle_lookup(&ht, 1, HANDLE_ENDPOINT, 0, &err) == NULL);
    KEXPECT_EQ(t, err, -MICA_EBADH);
    KEXPECT(t, handle_lookup(&ht, MICA_HANDLE_MAX, HANDLE_ENDPOINT, 0, &err) == NULL);
    KEXPECT_EQ(t, err, -MICA_EBADH);
    KEXPECT(t, handle_lookup(&ht, ~0ull, HANDLE_ENDPOINT, 0, &err) == NULL);

    KEXPECT_EQ(t, handle_close(&ht, 0), 0);
    KEXPECT_EQ(t, ep->refs, 1);
    KEXPECT_EQ(t, ep->recv_refs, 0);
    KEXPECT_EQ(t, handle_close(&ht, 0), -MICA_EBADH);
    KEXPECT_EQ(t, handle_close(&ht, MICA_HANDLE_MAX), -MICA_EBADH);
    handle_table_destroy(&ht);
    endpoint_put(ep);
}

KTEST(handle_exhaustion_and_lowest_free)
{
    struct handle_table ht;
    struct kheap_stats before, after;
    endpoint_init();
    kheap_get_stats(&before);
    KREQUIRE(t, handle_table_init(&ht) == 0);
    struct endpoint *ep = endpoint_create();
    KREQUIRE(t, ep != NULL);

    for (long i = 0; i < MICA_HANDLE_MAX; i++)
        KEXPECT_EQ(t, handle_install(&ht, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND, 0), i);
    KEXPECT_EQ(t, handle_install(&ht, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND, 0), -MICA_ENOSPC);
    KEXPECT_EQ(t, ep->refs, MICA_HANDLE_MAX + 1);
    KEXPECT_EQ(t, handle_close(&ht, 17), 0);
    KEXPECT_EQ(t, handle_close(&ht, 3), 0);
    KEXPECT_EQ(t, handle_install(&ht, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND, 0), 3);
    KEXPECT_EQ(t, handle_install(&ht, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND, 0), 17);
    handle_table_destroy(&ht);
    KEXPECT_EQ(t, ep->refs, 1);
    endpoint_put(ep);
    kheap_get_stats(&after);
    KEXPECT_EQ(t, after.bytes_in_use, before.bytes_in_use);
}

/* Run fn as if `task` were current (KTESTs run before the scheduler). */
static int64_t call_as(struct task *task, int64_t (*fn)(struct trap_frame *),
                       struct trap_frame *tf)
{
    struct thread fake = {.task = task, .state = THREAD_RUNNING};
    struct thread *saved = this_cpu()->current;
    this_cpu()->current = &fake;
    int64_t rc = fn(tf);
    this_cpu()->current = saved;
    return rc;
}

static int64_t mint(struct task *task, uint64_t h, uint64_t rights, uint64_t badge)
{
    struct trap_frame tf = {.rdi = h, .rsi = rights, .rdx = badge};
    return call_as(task, sys_handle_mint, &tf);
}

KTEST(handle_mint_rules)
{
    endpoint_init();
    task_init();
    struct task *task = task_create("ktest-mint");
    KREQUIRE(t, task != NULL);
    struct endpoint *ep = endpoint_create();
    KREQUIRE(t, ep != NULL);
    struct handle_table *ht = &task->handles;
    long all = handle_install(ht, HANDLE_ENDPOINT, ep, MICA_RIGHTS_ALL, 0);
    long nogrant = handle_install(ht, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND, 0);
    endpoint_put(ep); /* the handles hold it now */
    KREQUIRE(t, all == 0 && nogrant == 1);
    int err;

    KEXPECT_EQ(t, mint(task, nogrant, MICA_RIGHT_SEND, 0), -MICA_EPERM);
    KEXPECT_EQ(t, mint(task, 99, MICA_RIGHT_SEND, 0), -MICA_EBADH);
    KEXPECT_EQ(t, mint(task, all, MICA_RIGHTS_ALL + 1u, 0), -MICA_EINVAL);
    long badged = mint(task, all, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 42);
    KEXPECT_EQ(t, badged, 2);
    struct handle *e = handle_lookup(ht, 2, HANDLE_ENDPOINT, MICA_RIGHT_SEND, &err);
    KREQUIRE(t, e != NULL);
    KEXPECT_EQ(t, e->badge, 42);
    KEXPECT_EQ(t, e->rights, MICA_RIGHT_SEND | MICA_RIGHT_GRANT);
    KEXPECT_EQ(t, mint(task, badged, MICA_RIGHT_RECV, 0), -MICA_EPERM); /* not a subset */
    KEXPECT_EQ(t, mint(task, badged, MICA_RIGHT_SEND, 43), -MICA_EPERM); /* re-badge */
    long kept = mint(task, badged, MICA_RIGHT_SEND, 0);
    KEXPECT_EQ(t, kept, 3);
    e = handle_lookup(ht, 3, HANDLE_ENDPOINT, MICA_RIGHT_SEND, &err);
    KEXPECT(t, e != NULL && e->badge == 42 && e->rights == MICA_RIGHT_SEND);
    KEXPECT_EQ(t, ep->refs, 4);
    KEXPECT_EQ(t, ep->recv_refs, 1);

    struct trap_frame tf = {.rdi = 3};
    KEXPECT_EQ(t, call_as(task, sys_handle_close, &tf), 0);
    KEXPECT_EQ(t, call_as(task, sys_handle_close, &tf), -MICA_EBADH);
    KEXPECT_EQ(t, ep->refs, 3);
    task_exit(task, 0); /* closes the rest and frees the endpoint */
}

KTEST(handle_task_references)
{
    task_init();
    struct task *child = task_create("ktest-child");
    struct task *parent = task_create("ktest-parent");
    KREQUIRE(t, child && parent);
    long h = handle_install(&parent->handles, HANDLE_TASK, child, MICA_RIGHT_WAIT, 0);
    KEXPECT_EQ(t, h, 0);
    KEXPECT_EQ(t, child->refs, 2);
    unsigned live = task_count();
    task_exit(child, 5);
    KEXPECT_EQ(t, task_count(), live - 1);
    KEXPECT_EQ(t, child->state, TASK_ZOMBIE); /* the handle keeps it */
    KEXPECT_EQ(t, child->exit_status, 5);
    KEXPECT_EQ(t, child->refs, 1);
    task_exit(parent, 0); /* its handle was the last reference to the child */
}

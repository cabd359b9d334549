/* Per-pager frame quotas: the frames a pager obtains for other tasks
 * (MICA_SYS_MAP_ANON, MICA_SYS_MAP_COW) are charged to the pager, and the
 * charge comes back when the frame's last mapping goes, wherever that is
 * (unmap, copy-on-write replacement, teardown of any task holding it).
 *
 * The counting itself is mm's (mm/frame_account.h): a task takes an
 * account slot on its first charge (task->frame_account) and closes it when
 * it ends; the quota check against that count is here. */
#include <mica/errno.h>

#include "lib/console.h"
#include "lib/assert.h"
#include "mm/frame_account.h"
#include "object/task.h"
#include "vm/frame_quota.h"
#include "vm/remote_paging.h"
#include "object/sched.h"
#include "vm/syscalls.h"

/* t's account slot, taken on first use; 0 when the table is full. */
static uint16_t account_of(struct task *t)
{
    if (!t->frame_account)
        t->frame_account = frame_account_open();
    return t->frame_account;
}

uint64_t task_frames_charged(const struct task *t)
{
    return frame_account_charged(t->frame_account);
}

void task_set_frame_quota(struct task *t, uint64_t quota)
{
    t->frame_quota = quota;
}

int task_frame_reserve(struct task *payer, uint64_t n)
{
    if (!payer)
        return 0;
    uint16_t a = account_of(payer);
    if (!a) {
        /* Not a shortage of memory, though it fails the same way: say so
         * once, naming the limit, rather than on every refused call. */
        static bool reported;
        if (!reported)
            kprintf("task_frames: all %d frame accounts in use; task %u (%s) cannot be "
                    "charged, its MAP_ANON and MAP_COW fail with ENOMEM (FRAME_ACCOUNTS_MAX)\n",
                    FRAME_ACCOUNTS_MAX - 1, payer->id, payer->name);
        reported = true;
        return -MICA_ENOMEM;
    }
    if (!payer->frame_quota)
        return 0; /* no limit: the count need not be read */
    uint64_t c = frame_account_charged(a);
    if (n > payer->frame_quota || c > payer->frame_quota - n)
        return -MICA_ENOMEM;
    return 0;
}

void task_frame_charge(struct task *payer, paddr_t pa)
{
    if (!payer)
        return;
    KASSERT(payer->frame_account != 0, "charging a frame to task %u without a reservation",
            payer->id);
    frame_account_charge(payer->frame_account, pa);
}

/* (task h with MAP, frames) -> 0. A task may not set its own quota (a
 * pager would lift its own limit): -MICA_EINVAL for the caller's task.
 * Handle errors as for every MAP call. */
int64_t sys_set_frame_quota(struct trap_frame *tf)
{
    int err = 0;
    struct task *t = task_lookup_handle(tf->rdi, MICA_RIGHT_MAP, &err);
    if (!t)
        return err;
    if (t == sched_current()->task)
        return -MICA_EINVAL;
    task_set_frame_quota(t, tf->rsi);
    return 0;
}

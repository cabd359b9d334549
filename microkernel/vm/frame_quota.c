/* Per-pager frame quotas: the frames a pager obtains for other tasks
 * (MICA_SYS_MAP_ANON, MICA_SYS_MAP_COW) are charged to the pager, and the
 * charge comes back when the frame's last mapping goes, wherever that is
 * (unmap, copy-on-write replacement, teardown of any task holding it).
 *
 * A charged frame names its payer in the allocator's 16-bit aux word (user
 * data frames do not use it otherwise; page tables keep their entry count
 * there). Task ids are 32 bits and never reused, so the word holds the
 * index of an account slot instead: a slot is taken on the first charge of
 * a task, outlives the task while frames charged to it are still mapped
 * somewhere (its owner is then NULL), and is given back when both are gone.
 * A slot is therefore never reused while a frame names it, which keeps
 * every charge exact. */
#include <mica/errno.h>

#include "lib/console.h"
#include "lib/assert.h"
#include "mm/pmm.h"
#include "object/task.h"
#include "vm/task_vm.h"
#include "object/sched.h"
#include "vm/syscalls.h"

/* Slot 0 means "uncharged"; the table bounds the number of tasks that hold
 * charges at once, not the number of tasks. */
#define ACCOUNTS_MAX 1024

struct frame_account {
    struct task *owner; /* NULL: free, or orphaned while charged > 0 */
    uint64_t charged;
};

static struct frame_account accounts[ACCOUNTS_MAX];

/* t's account slot, taken on first use; 0 when the table is full. */
static uint16_t account_of(struct task *t)
{
    if (t->frame_account)
        return t->frame_account;
    for (uint16_t i = 1; i < ACCOUNTS_MAX; i++) {
        if (!accounts[i].owner && accounts[i].charged == 0) {
            accounts[i].owner = t;
            t->frame_account = i;
            return i;
        }
    }
    return 0;
}

uint64_t task_frames_charged(const struct task *t)
{
    return t->frame_account ? accounts[t->frame_account].charged : 0;
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
                    "charged, its MAP_ANON and MAP_COW fail with ENOMEM (ACCOUNTS_MAX)\n",
                    ACCOUNTS_MAX - 1, payer->id, payer->name);
        reported = true;
        return -MICA_ENOMEM;
    }
    uint64_t c = accounts[a].charged;
    if (payer->frame_quota && (n > payer->frame_quota || c > payer->frame_quota - n))
        return -MICA_ENOMEM;
    return 0;
}

void task_frame_charge(struct task *payer, paddr_t pa)
{
    if (!payer)
        return;
    uint16_t a = payer->frame_account;
    KASSERT(a != 0, "charging a frame to task %u without a reservation", payer->id);
    /* A fresh frame: aux 0. (Its count of 1 is the caller's contract; not
     * checked here, this is on every demand-zero and copy fault.) */
    KASSERT(pmm_frame_aux(pa) == 0, "charging frame 0x%lx that is already charged",
            (unsigned long)pa);
    accounts[a].charged++;
    pmm_frame_set_aux(pa, a);
}

void task_frame_release(paddr_t pa)
{
    uint32_t refs = pmm_refcount(pa);
    if (refs == 0)
        return; /* reserved memory (boot modules): not the allocator's */
    uint16_t a = pmm_frame_aux(pa);
    if (refs == 1 && a) {
        KASSERT(a < ACCOUNTS_MAX && accounts[a].charged > 0,
                "frame 0x%lx names account %u that holds no charge", (unsigned long)pa, a);
        accounts[a].charged--;
        pmm_frame_set_aux(pa, 0); /* the allocator frees only aux == 0 frames */
    }
    pmm_free_frame(pa);
}

void task_frames_detach(struct task *t)
{
    uint16_t a = t->frame_account;
    if (!a)
        return;
    KASSERT(accounts[a].owner == t, "account %u does not belong to task %u", a, t->id);
    accounts[a].owner = NULL; /* free once its frames are (charged == 0) */
    t->frame_account = 0;
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

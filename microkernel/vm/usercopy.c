/* Copies to and from user memory that survive a pager-resolved fault
 * (vm/usercopy.h), on top of the fault-tolerant copy loops of
 * arch/x86_64/usercopy.asm and their range check (arch/x86_64/user_access.h).
 *
 * A copy that faults on a user page of a task with a pager is not lost:
 * the copy routine returns its error (the fixup runs in the trap handler
 * and only redirects the copy), and the wrapper here, back in the system
 * call, finds the first page the copy could not use, sends the pager a
 * MICA_FAULT_KERNEL fault for it (task_copy_fault) and, on "resume",
 * continues from that page: everything before it was already copied, since
 * the copy loops go forward. The copy routines open and close user access
 * (stac/clac) themselves on every path, so the pager call runs with AC
 * clear and each retry opens it again. */
#include "vm/usercopy.h"

#include <mica/errno.h>
#include <mica/syscall.h>

#include "arch/x86_64/trap.h"
#include "arch/x86_64/user_access.h"
#include "mm/vmm.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/fault_forward.h"

STATIC_ASSERT(MICA_USER_END == USER_SPACE_END, "the ABI and the page tables disagree on the user half");

/* Consecutive faults on one page before a copy gives up: a pager that
 * answers "resume" without mapping the page must not hang the call. */
#define COPY_FAULT_RETRIES 16

/* Progress of one copy through pager-resolved faults. */
struct copy_retry {
    uintptr_t base;  /* user address of byte 0 of the copy */
    size_t done;     /* bytes known to be copied */
    bool write;      /* the copy writes user memory */
    uintptr_t page;  /* page of the last fault, or 1 (none yet) */
    unsigned faults; /* consecutive faults on it */
};

/* The copy of [base + done, base + end) faulted. Find the first user page
 * it cannot use, ask the pager for it and advance `done` to it. Returns 0
 * to retry, -MICA_EFAULT to give up (no pager, no such page, too many
 * faults); a pager's "kill" does not return. */
static int copy_fault(struct copy_retry *r, size_t end)
{
    struct thread *cur = sched_current();
    if (!cur || !cur->task || !cur->task->pager)
        return -MICA_EFAULT; /* nobody to ask: the fault is the caller's error */
    unsigned need = VM_USER | (r->write ? VM_WRITE : 0);
    struct vm_space *as = &cur->task->as;
    uintptr_t first = r->base + r->done, last = r->base + end;
    for (uintptr_t p = ALIGN_DOWN(first, PAGE_SIZE); p < last; p += PAGE_SIZE) {
        unsigned prot;
        bool present = vmm_translate(as, p, NULL, &prot) == 0;
        if (present && (prot & need) == need)
            continue;
        uintptr_t at = p < first ? first : p;
        if (p == r->page) {
            if (++r->faults >= COPY_FAULT_RETRIES)
                return -MICA_EFAULT;
        } else {
            r->page = p;
            r->faults = 1;
        }
        r->done = at - r->base;
        uint64_t err = (r->write ? PF_ERR_W : 0) | (present ? PF_ERR_P : 0);
        return task_copy_fault(at, fault_access(cur->task, at, err));
    }
    return -MICA_EFAULT; /* every page is usable: not a fault a pager can fix */
}

/* usercopy_bytes with pager-resolved faults. */
static int copy_bytes(char *kbuf, uintptr_t ubase, size_t n, bool to_user)
{
    struct copy_retry r = {.base = ubase, .write = to_user, .page = 1};
    for (;;) {
        char *k = kbuf + r.done;
        void *u = (void *)(ubase + r.done);
        int rc = to_user ? usercopy_bytes(u, k, n - r.done) : usercopy_bytes(k, u, n - r.done);
        if (rc == 0)
            return 0;
        if (copy_fault(&r, n) < 0)
            return -MICA_EFAULT;
    }
}

int copy_from_user(void *dst, uintptr_t usrc, size_t n)
{
    if (!user_range_ok(usrc, n))
        return -MICA_EFAULT;
    if (n == 0)
        return 0;
    return copy_bytes(dst, usrc, n, false);
}

int copy_to_user(uintptr_t udst, const void *src, size_t n)
{
    if (!user_range_ok(udst, n))
        return -MICA_EFAULT;
    if (n == 0)
        return 0;
    /* The kernel buffer is only read on this path. */
    return copy_bytes((char *)(uintptr_t)src, udst, n, true);
}

long copy_string_from_user(char *dst, uintptr_t usrc, size_t max)
{
    if (max == 0)
        return -MICA_E2BIG;
    if (usrc >= MICA_USER_END)
        return -MICA_EFAULT;

    /* The string may end well before max bytes, so only the bytes up to the
     * end of the user half are off limits, not the whole [usrc, usrc+max). */
    size_t room = MICA_USER_END - usrc;
    size_t limit = max < room ? max : room;
    struct copy_retry r = {.base = usrc, .page = 1};
    int64_t len;
    for (;;) {
        len = usercopy_string(dst + r.done, (const char *)(usrc + r.done), limit - r.done);
        if (len >= 0)
            break;
        if (copy_fault(&r, limit) < 0)
            return -MICA_EFAULT;
    }
    len += (int64_t)r.done;
    if ((size_t)len < limit)
        return (long)len;
    if (limit < max)
        return -MICA_EFAULT; /* ran into the end of the user half */
    dst[max - 1] = '\0';     /* callers may print what they got */
    return -MICA_E2BIG;
}

/* Moving one message between two threads: registers, the optional data
 * bytes and the optional handle, through the threads' registered IPC
 * buffers (MICA_SYS_SET_IPC_BUFFER).
 *
 * The two buffers are in different address spaces and at most one of them
 * is loaded, so both are reached the same way: each user page is translated
 * in its owner's page tables and accessed through the direct map. The
 * translation also checks the page is a user page (and writable, on the
 * receiving side), which is what makes a buffer "good": the registered
 * address was checked to lie in the user half, and nothing else about it is
 * trusted. A message is at most MICA_IPC_BUF_MAX bytes, two pages at most. */
#include <mica/errno.h>

#include "ipc/ipc_priv.h"
#include "ipc/syscalls.h"
#include "arch/x86_64/user_access.h"
#include "lib/assert.h"
#include "lib/string.h"
#include "mm/phys.h"
#include "mm/vmm.h"
#include "object/sched.h"
#include "object/task.h"
#include "inject/inject.h"

#define BUF_DATA   offsetof(struct mica_ipc_buffer, data)
#define BUF_HANDLE offsetof(struct mica_ipc_buffer, handle)
#define USER_R     VM_USER
#define USER_RW    (VM_USER | VM_WRITE)

/* Physical address of user address va of t, if mapped with rights `need`. */
static int user_pa(const struct thread *t, uintptr_t va, unsigned need, paddr_t *pa)
{
    unsigned prot;
    if (vmm_translate(&t->task->as, va, pa, &prot) < 0 || (prot & need) != need)
        return -MICA_EFAULT;
    return 0;
}

/* Every page of [va, va+len) is mapped in t with `need`. */
static int user_range_mapped(const struct thread *t, uintptr_t va, size_t len, unsigned need)
{
    paddr_t pa;
    for (uintptr_t p = ALIGN_DOWN(va, PAGE_SIZE); p < va + len; p += PAGE_SIZE)
        if (user_pa(t, p, need, &pa) < 0)
            return -MICA_EFAULT;
    return 0;
}

/* Copy len bytes from src's va `sva` to dst's va `dva`, both checked. */
static void copy_between(const struct thread *dst, uintptr_t dva, const struct thread *src,
                         uintptr_t sva, size_t len)
{
    while (len > 0) {
        size_t n = MIN(len, MIN(PAGE_SIZE - (sva & PAGE_MASK), PAGE_SIZE - (dva & PAGE_MASK)));
        paddr_t spa, dpa;
        int rs = user_pa(src, sva, USER_R, &spa), rd = user_pa(dst, dva, USER_RW, &dpa);
        KASSERT(rs == 0 && rd == 0, "IPC buffer page unmapped between check and copy");
        memcpy(phys_to_virt(dpa), phys_to_virt(spa), n);
        sva += n;
        dva += n;
        len -= n;
    }
}

int ipc_send_check(const struct thread *sender, uint64_t label)
{
    if (MICA_MSG_LEN(label) > MICA_IPC_BUF_MAX)
        return -MICA_E2BIG;
    if ((MICA_MSG_LEN(label) || (label & MICA_MSG_XFER_HANDLE)) && !sender->ipc_buffer)
        return -MICA_EFAULT;
    return 0;
}

/* The handle the sender names in its buffer, if it may be granted. */
static int lookup_grant(struct thread *sender, struct handle *out)
{
    paddr_t pa;
    if (user_pa(sender, sender->ipc_buffer + BUF_HANDLE, USER_R, &pa) < 0)
        return -MICA_EFAULT;
    uint64_t h = *(const uint64_t *)phys_to_virt(pa);
    struct handle_table *ht = &sender->task->handles;
    int err;
    struct handle *e = handle_lookup(ht, h, HANDLE_ENDPOINT, MICA_RIGHT_GRANT, &err);
    if (!e && err == -MICA_EBADH)
        e = handle_lookup(ht, h, HANDLE_TASK, MICA_RIGHT_GRANT, &err);
    if (!e)
        return err;
    *out = *e;
    return 0;
}

int ipc_send_prepare(struct thread *sender, const struct ipc_msg *msg, struct ipc_send *out)
{
    int rc = ipc_send_check(sender, msg->label);
    if (rc < 0)
        return rc;
    out->sender = sender;
    out->msg = msg;
    out->len = MICA_MSG_LEN(msg->label);
    out->xfer = (msg->label & MICA_MSG_XFER_HANDLE) != 0;
    if (out->len && user_range_mapped(sender, sender->ipc_buffer + BUF_DATA, out->len, USER_R) < 0)
        return -MICA_EFAULT;
    if (out->xfer)
        return lookup_grant(sender, &out->handle);
    return 0;
}

/* The ipc_flip point: one bit of one of the four words, or of one data
 * byte, of the message r has just been given, flipped in r's copy. */
static __attribute__((noinline)) void flip_delivered(const struct ipc_send *s, struct thread *r)
{
    if (!INJECT(INJECT_IPC_FLIP, r->task))
        return;
    struct trap_frame *f = r->utf;
    uint64_t *words[4] = {&f->rdx, &f->r10, &f->r8, &f->r9};
    uint64_t k = inject_rand(INJECT_IPC_FLIP) % (4 + s->len);
    if (k < 4) {
        unsigned bit = (unsigned)(inject_rand(INJECT_IPC_FLIP) % 64);
        *words[k] ^= 1ull << bit;
        inject_report(INJECT_IPC_FLIP, "bit %u of word %lu flipped (label 0x%lx)", bit,
                      (unsigned long)k, (unsigned long)MICA_MSG_LABEL(f->rsi));
        return;
    }
    paddr_t pa;
    uintptr_t va = r->ipc_buffer + BUF_DATA + (k - 4);
    unsigned bit = (unsigned)(inject_rand(INJECT_IPC_FLIP) % 8);
    if (user_pa(r, va, USER_RW, &pa) == 0)
        *(uint8_t *)phys_to_virt(pa) ^= (uint8_t)(1u << bit);
    inject_report(INJECT_IPC_FLIP, "bit %u of data byte %lu flipped (label 0x%lx)", bit,
                  (unsigned long)(k - 4), (unsigned long)MICA_MSG_LABEL(f->rsi));
}

static int deliver(const struct ipc_send *s, struct thread *r);

int ipc_deliver(const struct ipc_send *s, struct thread *r)
{
    int rc = deliver(s, r);
    if (INJECT_ANY(INJECT_BIT(INJECT_IPC_FLIP)) && rc == 0)
        flip_delivered(s, r);
    return rc;
}

static int deliver(const struct ipc_send *s, struct thread *r)
{
    struct trap_frame *f = r->utf;
    f->rdi = s->msg->badge;
    f->rsi = s->msg->label;
    f->rdx = s->msg->w[0];
    f->r10 = s->msg->w[1];
    f->r8 = s->msg->w[2];
    f->r9 = s->msg->w[3];
    if (!s->len && !s->xfer)
        return 0;

    uintptr_t buf = r->ipc_buffer;
    paddr_t hpa = 0;
    if (!buf)
        return -MICA_EFAULT;
    if (s->len && user_range_mapped(r, buf + BUF_DATA, s->len, USER_RW) < 0)
        return -MICA_EFAULT;
    if (s->xfer && user_pa(r, buf + BUF_HANDLE, USER_RW, &hpa) < 0)
        return -MICA_EFAULT;
    if (s->len)
        copy_between(r, buf + BUF_DATA, s->sender, s->sender->ipc_buffer + BUF_DATA, s->len);
    if (s->xfer) {
        long h = handle_install(&r->task->handles, s->handle.type, s->handle.object,
                                s->handle.rights, s->handle.badge);
        if (h < 0)
            return (int)h;
        *(uint64_t *)phys_to_virt(hpa) = (uint64_t)h;
    }
    return 0;
}

/* (va or 0) -> 0: register the calling thread's IPC buffer. The buffer is
 * checked only for alignment and range here; its pages are checked at each
 * use, since the task may map and unmap them at will. */
int64_t sys_set_ipc_buffer(struct trap_frame *tf)
{
    uintptr_t va = tf->rdi;
    if (va != 0) {
        if (!IS_ALIGNED(va, _Alignof(struct mica_ipc_buffer)))
            return -MICA_EINVAL;
        if (!user_range_ok(va, sizeof(struct mica_ipc_buffer)))
            return -MICA_EFAULT;
    }
    sched_current()->ipc_buffer = va;
    return 0;
}

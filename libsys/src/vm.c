/* mica/vm.h: the client side of the pager protocol and the system-call
 * stubs for paging (MICA_SYS_TASK_SET_PAGER, MAP_ANON, UNMAP, PROTECT,
 * MAP_SHARE, MAP_COW, TASK_FORK). */
#include <mica/grant.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

/* How often vm_alloc asks again while the pager has not heard of us. */
#define ALLOC_RETRIES 10000
/* How often vm_fork sends a lost fork request again. */
#define FORK_AGAIN_TRIES 16
/* Children from vm_fork this task can name to the pager at once. */
#define VM_CHILDREN 64

/* The pager's handle: the grant called "pager" until vm_use_pager or a
 * fork sets another; looked up on first use (UNSET). */
#define UNSET (~0ull)
static uint64_t pager_handle = UNSET;
static struct mica_ipc_buffer own_buffer;
static struct mica_ipc_buffer *ipc_buf; /* registered for this thread, or NULL */

/* Task handle -> pager badge of each child from vm_fork: the pager names
 * clients by badge, the program by handle. */
static struct {
    uint64_t handle, badge; /* badge 0: free */
} children[VM_CHILDREN];

static inline long sys6(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                        uint64_t a4, uint64_t a5)
{
    register uint64_t rdi __asm__("rdi") = a0;
    register uint64_t rsi __asm__("rsi") = a1;
    register uint64_t rdx __asm__("rdx") = a2;
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    register uint64_t r9 __asm__("r9") = a5;
    long rax = (long)nr;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    return rax;
}

long mica_task_set_pager(uint64_t task, uint64_t ep)
{
    return sys6(MICA_SYS_TASK_SET_PAGER, task, ep, 0, 0, 0, 0);
}

long mica_map_anon(uint64_t task, uint64_t va, uint64_t npages, unsigned prot)
{
    return sys6(MICA_SYS_MAP_ANON, task, va, npages, prot, 0, 0);
}

long mica_unmap(uint64_t task, uint64_t va, uint64_t npages)
{
    return sys6(MICA_SYS_UNMAP, task, va, npages, 0, 0, 0);
}

long mica_set_frame_quota(uint64_t task, uint64_t frames)
{
    return sys6(MICA_SYS_SET_FRAME_QUOTA, task, frames, 0, 0, 0, 0);
}

long mica_protect(uint64_t task, uint64_t va, uint64_t npages, unsigned prot)
{
    return sys6(MICA_SYS_PROTECT, task, va, npages, prot, 0, 0);
}

long mica_map_share(uint64_t dst, uint64_t dst_va, uint64_t src, uint64_t src_va,
                    uint64_t npages, unsigned prot)
{
    return sys6(MICA_SYS_MAP_SHARE, dst, dst_va, src, src_va, npages, prot);
}

long mica_map_alias(uint64_t dst, uint64_t dst_va, uint64_t src, uint64_t src_va,
                    uint64_t npages, unsigned prot)
{
    return sys6(MICA_SYS_MAP_ALIAS, dst, dst_va, src, src_va, npages, prot);
}

long mica_map_cow(uint64_t task, uint64_t va, unsigned prot)
{
    return sys6(MICA_SYS_MAP_COW, task, va, prot, 0, 0, 0);
}

long mica_task_fork(uint64_t task, uint64_t pager)
{
    return sys6(MICA_SYS_TASK_FORK, task, pager, 0, 0, 0, 0);
}

void vm_use_pager(uint64_t h)
{
    pager_handle = h;
}

void vm_use_ipc_buffer(struct mica_ipc_buffer *buf)
{
    ipc_buf = buf;
}

/* A registered IPC buffer to receive handles in: the program's, or ours. */
static long need_buffer(void)
{
    if (ipc_buf)
        return 0;
    long rc = mica_set_ipc_buffer(&own_buffer);
    if (rc == 0)
        ipc_buf = &own_buffer;
    return rc;
}

/* Call the pager; returns the IPC error, or the reply's status word. A
 * program may run before init has introduced it to the pager, which then
 * answers -MICA_EAGAIN: every request yields and retries a bounded number
 * of times, whichever request comes first. */
static long call(uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2, struct mica_msg *r)
{
    if (pager_handle == UNSET) {
        long h = mica_grant(MICA_VM_PAGER_GRANT);
        if (h < 0)
            return h;
        pager_handle = (uint64_t)h;
    }
    long rc = -MICA_EAGAIN;
    for (unsigned i = 0; i < ALLOC_RETRIES && rc == -MICA_EAGAIN; i++) {
        if (i)
            mica_yield();
        struct mica_msg m = {.label = label, .w = {w0, w1, w2}};
        rc = mica_ipc_call(pager_handle, &m, r, MICA_IPC_BLOCK);
        if (rc == 0)
            rc = MICA_MSG_LABEL(r->label) != 0 ? -MICA_EINVAL : (long)r->w[0];
    }
    return rc;
}

void *vm_alloc(size_t len, unsigned prot)
{
    struct mica_msg r;
    long rc = call(PAGER_VM_ALLOC, len, prot, 0, &r);
    return rc < 0 ? NULL : (void *)rc;
}

long vm_free(void *va, size_t len)
{
    struct mica_msg r;
    return call(PAGER_VM_FREE, (uint64_t)va, len, 0, &r);
}

long vm_protect(void *va, size_t len, unsigned prot)
{
    struct mica_msg r;
    return call(PAGER_VM_PROTECT, (uint64_t)va, len, prot, &r);
}

static int child_slot(uint64_t handle)
{
    for (int i = 0; i < VM_CHILDREN; i++)
        if (children[i].badge && children[i].handle == handle)
            return i;
    return -1;
}

long vm_share_cow(void *va, size_t len, uint64_t child)
{
    int i = child_slot(child);
    if (i < 0)
        return -MICA_ENOENT;
    struct mica_msg r;
    long rc = call(PAGER_VM_SHARE_COW, (uint64_t)va, len, children[i].badge, &r);
    return rc < 0 ? rc : (long)r.w[1];
}

/* One vm_fork: PAGER_VM_FORK_PREP, then PAGER_VM_FORK. Returns as
 * vm_fork does; sets *again when the pager died during the fork and its
 * next instance knows of no child: nothing was started for us. */
static long fork_once(int slot, bool *again)
{
    /* First a pager handle with the child's badge, so that the child finds
     * it in its copy of our handle table. */
    struct mica_msg r;
    long rc = call(PAGER_VM_FORK_PREP, 0, 0, 0, &r);
    if (rc < 0)
        return rc;
    uint64_t child_pager = ipc_buf->handle, badge = r.w[1];
    /* A fork request lost on the way (-MICA_EAGAIN) never reached the
     * pager: send it again while the prepared handle is still valid. */
    struct mica_msg m = {.label = PAGER_VM_FORK, .w = {(uint64_t)ipc_buf, badge}};
    rc = -MICA_EAGAIN;
    for (unsigned i = 0; i < FORK_AGAIN_TRIES && rc == -MICA_EAGAIN; i++)
        rc = mica_ipc_call(pager_handle, &m, &r, MICA_IPC_BLOCK);
    if (rc == 0 && MICA_MSG_LABEL(r.label) == MICA_LABEL_FORK_CHILD) {
        pager_handle = child_pager;
        for (int i = 0; i < VM_CHILDREN; i++)
            children[i].badge = 0; /* the parent's children are not ours */
        mica_set_ipc_buffer(ipc_buf); /* in case the kernel did not copy it */
        /* Receiving writes the buffer through the kernel, which needs the
         * page writable: take our private copy of it now. */
        *(volatile uint64_t *)&ipc_buf->handle = 0;
        return 0;
    }
    mica_handle_close(child_pager);
    if (rc == -MICA_EDEAD) {
        /* The pager died holding the request, perhaps after the fork: ask
         * its next instance for the child by its badge. A child it does not
         * know is ended at its first fault, and nobody holds it. */
        rc = call(PAGER_VM_FORK, (uint64_t)ipc_buf, badge, 0, &r);
        *again = rc == -MICA_EINVAL;
        if (rc < 0)
            return rc;
        r.label = 0;
    }
    if (rc < 0)
        return rc;
    if (MICA_MSG_LABEL(r.label) != 0)
        return -MICA_EINVAL;
    if ((long)r.w[0] < 0)
        return (long)r.w[0];
    children[slot].handle = ipc_buf->handle;
    children[slot].badge = r.w[1];
    return (long)children[slot].handle;
}

long vm_fork(void)
{
    int slot = -1;
    for (int i = 0; i < VM_CHILDREN && slot < 0; i++)
        if (!children[i].badge)
            slot = i;
    if (slot < 0)
        return -MICA_ENOSPC;
    long rc = need_buffer();
    if (rc < 0)
        return rc;
    bool again = true;
    for (unsigned i = 0; i < FORK_AGAIN_TRIES && again; i++) {
        again = false;
        rc = fork_once(slot, &again);
    }
    return rc;
}

/* The pager handle, looked up once; -MICA_ENOENT when there is none. A
 * silent lookup: a program without a pager spawns without one. */
static long pager(void)
{
    if (pager_handle == UNSET) {
        long h = mica_grant_find(MICA_VM_PAGER_GRANT);
        if (h < 0)
            return h;
        pager_handle = (uint64_t)h;
    }
    return (long)pager_handle;
}

bool vm_has_pager(void)
{
    return pager() >= 0;
}

long vm_spawn_prep(uint64_t *handle)
{
    if (pager() < 0)
        return -MICA_ENOENT;
    struct mica_ipc_buffer *b = ipc_buf ? ipc_buf : mica_ipc_buffer();
    if (!b)
        return -MICA_EFAULT;
    struct mica_msg r;
    long rc = call(PAGER_VM_FORK_PREP, 0, 0, 0, &r);
    if (rc < 0)
        return rc;
    *handle = b->handle;
    return (long)r.w[1];
}

long vm_spawn_introduce(uint64_t task, uint64_t badge, const struct mica_region *regions,
                        unsigned n)
{
    size_t len = n * sizeof *regions;
    if (len > MICA_IPC_BUF_MAX)
        return -MICA_E2BIG;
    struct mica_ipc_buffer *b = ipc_buf ? ipc_buf : mica_ipc_buffer();
    if (!b)
        return -MICA_EFAULT;
    memcpy(b->data, regions, len);
    b->handle = task;
    struct mica_msg r;
    return call(MICA_MSG_MAKE(PAGER_VM_SPAWN, len) | MICA_MSG_XFER_HANDLE, badge, 0, 0, &r);
}

long vm_spawn_forget(uint64_t badge)
{
    struct mica_msg r;
    return call(PAGER_VM_RELEASE, badge, 0, 0, &r);
}

long vm_release(uint64_t child)
{
    int i = child_slot(child);
    if (i < 0)
        return -MICA_ENOENT;
    struct mica_msg r;
    long rc = call(PAGER_VM_RELEASE, children[i].badge, 0, 0, &r);
    children[i].badge = 0;
    mica_handle_close(child);
    return rc;
}

long vm_verbose(bool on)
{
    struct mica_msg r;
    return call(PAGER_VM_VERBOSE, on, 0, 0, &r);
}

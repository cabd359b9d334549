/* System-call stubs: load the ABI registers (mica/syscall.h), execute
 * `syscall`, and hand back rax (and, for IPC, the message registers). */
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "sys_ipc.h"

static inline long sys0(uint64_t nr)
{
    long rax = (long)nr;
    __asm__ volatile("syscall" : "+a"(rax) : : "rcx", "r11", "memory");
    return rax;
}

static inline long sys3(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    register uint64_t rdi __asm__("rdi") = a0;
    register uint64_t rsi __asm__("rsi") = a1;
    register uint64_t rdx __asm__("rdx") = a2;
    long rax = (long)nr;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx)
                     :
                     : "rcx", "r11", "r8", "r9", "r10", "memory");
    return rax;
}

static inline long sys4(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t rdi __asm__("rdi") = a0;
    register uint64_t rsi __asm__("rsi") = a1;
    register uint64_t rdx __asm__("rdx") = a2;
    register uint64_t r10 __asm__("r10") = a3;
    long rax = (long)nr;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10)
                     :
                     : "rcx", "r11", "r8", "r9", "memory");
    return rax;
}

long mica_null(void)
{
    return sys0(MICA_SYS_NULL);
}

long mica_debug_write(const char *buf, size_t len)
{
    return sys3(MICA_SYS_DEBUG_WRITE, (uint64_t)buf, len, 0);
}

void mica_exit(int64_t status)
{
    stdio_flush();
    for (;;)
        sys3(MICA_SYS_EXIT, (uint64_t)status, 0, 0);
}

long mica_yield(void)
{
    return sys0(MICA_SYS_YIELD);
}

long mica_ipc_send(uint64_t h, const struct mica_msg *m, unsigned flags)
{
    struct ipc_regs io;
    regs_from_msg(&io, h, m);
    return sys_ipc(nr_flags(MICA_SYS_IPC_SEND, flags), &io);
}

long mica_ipc_recv(uint64_t h, struct mica_msg *out, unsigned flags)
{
    struct ipc_regs io = { { h, 0, 0, 0, 0, 0 } };
    long rc = sys_ipc(nr_flags(MICA_SYS_IPC_RECV, flags), &io);
    if (rc >= 0)
        msg_from_regs(out, &io);
    return rc;
}

long mica_ipc_call(uint64_t h, const struct mica_msg *m, struct mica_msg *reply,
                   unsigned flags)
{
    struct ipc_regs io;
    regs_from_msg(&io, h, m);
    long rc = sys_ipc(nr_flags(MICA_SYS_IPC_CALL, flags), &io);
    if (rc >= 0)
        msg_from_regs(reply, &io);
    return rc;
}

long mica_ipc_reply(const struct mica_msg *m)
{
    /* No handle: the label goes in rdi and the words follow. */
    struct ipc_regs io = { { m->label, m->w[0], m->w[1], m->w[2], m->w[3], 0 } };
    return sys_ipc(MICA_SYS_IPC_REPLY, &io);
}

long mica_ipc_reply_recv(uint64_t h, const struct mica_msg *reply, struct mica_msg *out,
                         unsigned flags)
{
    return ipc_reply_recv(h, reply, out, flags);
}

long mica_map_reply_recv(uint64_t ep, uint64_t task, uint64_t va, uint64_t npages,
                         unsigned prot, unsigned op, struct mica_msg *out)
{
    struct ipc_regs io = { { ep, task, va, npages, prot, op } };
    long rc = sys_ipc(MICA_SYS_MAP_REPLY_RECV, &io);
    if (rc >= 0)
        msg_from_regs(out, &io);
    return rc;
}

long mica_endpoint_create(void)
{
    return sys0(MICA_SYS_ENDPOINT_CREATE);
}

long mica_handle_mint(uint64_t h, unsigned rights, uint64_t badge)
{
    return sys3(MICA_SYS_HANDLE_MINT, h, rights, badge);
}

long mica_handle_close(uint64_t h)
{
    return sys3(MICA_SYS_HANDLE_CLOSE, h, 0, 0);
}

long mica_mem_map(void *va, size_t len, unsigned prot)
{
    return sys3(MICA_SYS_MEM_MAP, (uint64_t)va, len, prot);
}

long mica_mem_unmap(void *va, size_t len)
{
    return sys3(MICA_SYS_MEM_UNMAP, (uint64_t)va, len, 0);
}

long mica_task_create(const struct mica_task_args *a)
{
    return sys3(MICA_SYS_TASK_CREATE, (uint64_t)a, 0, 0);
}

long mica_task_write(uint64_t h, uint64_t va, const void *src, uint64_t len)
{
    return sys4(MICA_SYS_TASK_WRITE, h, va, (uint64_t)src, len);
}

long mica_task_load(uint64_t h, uint64_t va, uint64_t npages, unsigned prot, const void *src,
                    uint64_t len)
{
    /* Six argument registers: the IPC block carries them (it is one). */
    struct ipc_regs io = {{h, va, npages, prot, (uint64_t)src, len}};
    return sys_ipc(MICA_SYS_TASK_LOAD, &io);
}

long mica_task_start(uint64_t h, uint64_t rip, uint64_t rsp, uint64_t rdi)
{
    return sys4(MICA_SYS_TASK_START, h, rip, rsp, rdi);
}

int64_t mica_task_wait(uint64_t h)
{
    return sys3(MICA_SYS_TASK_WAIT, h, 0, 0);
}

long mica_task_kill(uint64_t h)
{
    return sys3(MICA_SYS_TASK_KILL, h, 0, 0);
}

long mica_task_notify(uint64_t h, uint64_t ep, uint64_t badge)
{
    return sys3(MICA_SYS_TASK_NOTIFY, h, ep, badge);
}

/* The buffer last registered (a task has one thread), for library code
 * that needs one without replacing the program's (mica/names.h). */
static struct mica_ipc_buffer *registered_buffer;

long mica_set_ipc_buffer(struct mica_ipc_buffer *buf)
{
    long rc = sys3(MICA_SYS_SET_IPC_BUFFER, (uint64_t)buf, 0, 0);
    if (rc == 0)
        registered_buffer = buf;
    return rc;
}

struct mica_ipc_buffer *mica_ipc_buffer(void)
{
    static struct mica_ipc_buffer own __attribute__((aligned(4096)));
    if (!registered_buffer)
        mica_set_ipc_buffer(&own);
    return registered_buffer;
}

long mica_shutdown(int64_t status, uint64_t passed, uint64_t failed)
{
    stdio_flush();
    return sys3(MICA_SYS_SHUTDOWN, (uint64_t)status, passed, failed);
}

int64_t mica_task_id(uint64_t h)
{
    return sys3(MICA_SYS_INFO, MICA_INFO_TASK_ID, h, 0);
}

int64_t mica_task_threads(uint64_t h)
{
    return sys3(MICA_SYS_INFO, MICA_INFO_TASK_THREADS, h, 0);
}

int64_t mica_info(unsigned what)
{
    return sys3(MICA_SYS_INFO, what, 0, 0);
}

long mica_console_read(char *buf, size_t len)
{
    return sys3(MICA_SYS_CONSOLE_READ, (uint64_t)buf, len, 0);
}

long mica_task_list(struct mica_task_info *buf, size_t n)
{
    return sys3(MICA_SYS_TASK_LIST, (uint64_t)buf, n, 0);
}

long mica_task_info(uint64_t h, struct mica_task_info *out)
{
    return sys3(MICA_SYS_TASK_INFO, h, (uint64_t)out, 0);
}

long mica_endpoint_server(uint64_t h)
{
    return sys3(MICA_SYS_ENDPOINT_SERVER, h, 0, 0);
}

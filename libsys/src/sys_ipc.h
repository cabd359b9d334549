/* Internal to libsys: the IPC system-call register block and the inline
 * `syscall` that carries it, shared by the stubs (syscall.c) and the server
 * loop (server.c), which inlines it to keep the per-request path short. */
#pragma once

#include <mica/sys.h>

/* The IPC register block: in, the first argument and five more words;
 * out, badge, label and four words (the kernel writes them only when it
 * delivers a message, so they are copied out only on success). */
struct ipc_regs {
    uint64_t r[6]; /* rdi, rsi, rdx, r10, r8, r9 */
};

static inline long sys_ipc(uint64_t nr, struct ipc_regs *io)
{
    register uint64_t rdi __asm__("rdi") = io->r[0];
    register uint64_t rsi __asm__("rsi") = io->r[1];
    register uint64_t rdx __asm__("rdx") = io->r[2];
    register uint64_t r10 __asm__("r10") = io->r[3];
    register uint64_t r8 __asm__("r8") = io->r[4];
    register uint64_t r9 __asm__("r9") = io->r[5];
    long rax = (long)nr;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8),
                       "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    io->r[0] = rdi;
    io->r[1] = rsi;
    io->r[2] = rdx;
    io->r[3] = r10;
    io->r[4] = r8;
    io->r[5] = r9;
    return rax;
}

static inline void regs_from_msg(struct ipc_regs *io, uint64_t first, const struct mica_msg *m)
{
    io->r[0] = first;
    io->r[1] = m->label;
    for (int i = 0; i < 4; i++)
        io->r[2 + i] = m->w[i];
}

static inline void msg_from_regs(struct mica_msg *m, const struct ipc_regs *io)
{
    m->badge = io->r[0];
    m->label = io->r[1];
    for (int i = 0; i < 4; i++)
        m->w[i] = io->r[2 + i];
}

static inline uint64_t nr_flags(unsigned nr, unsigned flags)
{
    return (uint64_t)nr | (flags & ~MICA_SYS_NUMBER_MASK);
}


/* mica_ipc_reply_recv (mica/sys.h), inline. */
static inline long ipc_reply_recv(uint64_t h, const struct mica_msg *reply, struct mica_msg *out,
                                  unsigned flags)
{
    struct ipc_regs io;
    regs_from_msg(&io, h, reply);
    long rc = sys_ipc(nr_flags(MICA_SYS_IPC_REPLY_RECV, flags), &io);
    if (rc >= 0)
        msg_from_regs(out, &io);
    return rc;
}

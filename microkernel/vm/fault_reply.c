/* MICA_SYS_MAP_REPLY_RECV: a pager's answer to a page fault in one kernel
 * entry. The pager has decided (policy stays in ring 3); the kernel does
 * exactly what the separate calls would do, in their order: the map
 * (MAP_ANON or MAP_COW, every check and charge of theirs, through the same
 * functions), then IPC_REPLY_RECV with an empty reply (label 0: resume).
 * So a pager can do nothing with it that it could not do with the two
 * calls, and it saves one kernel entry and exit and the second dispatch.
 *
 * The receive handle is checked before the map, so a bad handle changes
 * nothing. A failed map returns its error with nothing replied: the call
 * stays held and the pager may try another plan (one page instead of a
 * cluster) or answer "kill" with IPC_REPLY_RECV. */
#include <mica/errno.h>

#include "ipc/syscalls.h"
#include "object/handle.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/remote_paging.h"
#include "vm/syscalls.h"

/* (endpoint h RECV, task h MAP, va, npages, prot, op) -> 0 and the next
 * message in registers, as IPC_REPLY_RECV; the map's error with nothing
 * replied; -MICA_EINVAL for an unknown op or a COW map of more than a page. */
int64_t sys_map_reply_recv(struct trap_frame *tf)
{
    int err = 0;
    if (!handle_lookup(&sched_current()->task->handles, tf->rdi, HANDLE_ENDPOINT,
                       MICA_RIGHT_RECV, &err))
        return err;
    int64_t rc;
    if (tf->r9 == MICA_MAP_REPLY_ANON)
        rc = paging_map_anon(tf->rsi, tf->rdx, tf->r10, tf->r8);
    else if (tf->r9 == MICA_MAP_REPLY_COW && tf->r10 == 1)
        rc = paging_map_cow(tf->rsi, tf->rdx, tf->r8);
    else
        return -MICA_EINVAL;
    if (rc < 0)
        return rc;
    /* The empty reply: label 0 and zero words, whoever the caller is. */
    tf->rsi = 0;
    tf->rdx = 0;
    tf->r10 = 0;
    tf->r8 = 0;
    tf->r9 = 0;
    return sys_ipc_reply_recv(tf);
}

/* pager_link.h: two control calls to the pager, and two to the name
 * service. Handles and names travel through init's IPC buffer
 * (mica_ipc_buffer: registered on first use). */
#include "pager_link.h"
#include "supervise.h"

#include <mica/names.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

/* A call that never leaves init blocked on another server: while nobody
 * waits to receive it (the server is busy, or dead and about to be
 * restarted), init serves its own endpoint and tries again. */
static long control_call(uint64_t pager_ep, struct mica_msg *m)
{
    struct mica_msg r;
    long rc;
    while ((rc = mica_ipc_call(pager_ep, m, &r, MICA_IPC_NONBLOCK)) == -MICA_EAGAIN) {
        supervise_poll();
        mica_yield();
    }
    if (rc < 0)
        return rc;
    return r.label != 0 ? -MICA_EINVAL : (long)r.w[0];
}

long pager_link_add(uint64_t pager_ep, uint64_t badge, uint64_t task,
                    const struct mica_region *regions, unsigned nregions)
{
    struct mica_ipc_buffer *buffer = mica_ipc_buffer();
    size_t len = nregions * sizeof *regions;
    if (!buffer)
        return -MICA_EFAULT;
    if (len > MICA_IPC_BUF_MAX)
        return -MICA_E2BIG;
    buffer->handle = task;
    memcpy(buffer->data, regions, len);
    struct mica_msg m = {.label = MICA_MSG_MAKE(PAGER_ADD_CLIENT, len) | MICA_MSG_XFER_HANDLE,
                         .w = {badge}};
    return control_call(pager_ep, &m);
}

long pager_link_drop(uint64_t pager_ep, uint64_t badge)
{
    struct mica_msg m = {.label = PAGER_DROP_CLIENT, .w = {badge}};
    return control_call(pager_ep, &m);
}

long names_link_allow(uint64_t names_ep, uint64_t badge, const char *name)
{
    struct mica_ipc_buffer *buffer = mica_ipc_buffer();
    if (!buffer)
        return -MICA_EFAULT;
    size_t n = strlen(name);
    memcpy(buffer->data, name, n);
    struct mica_msg m = {.label = MICA_MSG_MAKE(NAMES_ALLOW, n), .w = {badge}};
    return control_call(names_ep, &m);
}

long names_link_forget(uint64_t names_ep, uint64_t badge)
{
    struct mica_msg m = {.label = NAMES_FORGET, .w = {badge}};
    return control_call(names_ep, &m);
}

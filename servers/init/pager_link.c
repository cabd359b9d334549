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
 * restarted), init serves its own endpoint and tries again. The reply
 * goes to *r. */
static long control_call(uint64_t pager_ep, struct mica_msg *m, struct mica_msg *r)
{
    long rc;
    while ((rc = mica_ipc_call(pager_ep, m, r, MICA_IPC_NONBLOCK)) == -MICA_EAGAIN) {
        supervise_poll();
        mica_yield();
    }
    if (rc < 0)
        return rc;
    return r->label != 0 ? -MICA_EINVAL : (long)r->w[0];
}

/* One PAGER_ADD_CLIENT. The pager answers with the badge it recorded: one
 * that differs means the message was damaged on the way in, and the
 * client, under the wrong badge, would be told "not introduced" for ever. */
static long add_once(uint64_t pager_ep, uint64_t badge, uint64_t task,
                     const struct mica_region *regions, size_t len)
{
    struct mica_ipc_buffer *buffer = mica_ipc_buffer();
    if (!buffer)
        return -MICA_EFAULT;
    buffer->handle = task;
    memcpy(buffer->data, regions, len);
    struct mica_msg m = {.label = MICA_MSG_MAKE(PAGER_ADD_CLIENT, len) | MICA_MSG_XFER_HANDLE,
                         .w = {badge}};
    struct mica_msg r;
    long rc = control_call(pager_ep, &m, &r);
    return rc == 0 && r.w[1] != badge ? -MICA_EINVAL : rc;
}

long pager_link_add(uint64_t pager_ep, uint64_t badge, uint64_t task,
                    const struct mica_region *regions, unsigned nregions)
{
    size_t len = nregions * sizeof *regions;
    if (len > MICA_IPC_BUF_MAX)
        return -MICA_E2BIG;
    long rc = add_once(pager_ep, badge, task, regions, len);
    /* A refusal may be a message damaged in either direction (the client
     * recorded, the reply lost): forget whatever the pager kept and ask
     * again. A layout the pager really refuses is refused every time. */
    for (unsigned i = 1; i < PAGER_LINK_TRIES && rc < 0 && rc != -MICA_EFAULT; i++) {
        pager_link_drop(pager_ep, badge);
        rc = add_once(pager_ep, badge, task, regions, len);
    }
    if (rc < 0)
        pager_link_drop(pager_ep, badge); /* nothing half-kept for a task that never runs */
    return rc;
}

long pager_link_drop(uint64_t pager_ep, uint64_t badge)
{
    struct mica_msg m = {.label = PAGER_DROP_CLIENT, .w = {badge}}, r;
    return control_call(pager_ep, &m, &r);
}

long names_link_allow(uint64_t names_ep, uint64_t badge, const char *name)
{
    struct mica_ipc_buffer *buffer = mica_ipc_buffer();
    if (!buffer)
        return -MICA_EFAULT;
    size_t n = strlen(name);
    memcpy(buffer->data, name, n);
    struct mica_msg m = {.label = MICA_MSG_MAKE(NAMES_ALLOW, n), .w = {badge}}, r;
    return control_call(names_ep, &m, &r);
}

long names_link_forget(uint64_t names_ep, uint64_t badge)
{
    struct mica_msg m = {.label = NAMES_FORGET, .w = {badge}}, r;
    return control_call(names_ep, &m, &r);
}

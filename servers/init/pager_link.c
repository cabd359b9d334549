/* pager_link.h: two control calls to the pager. The task handle travels
 * through init's IPC buffer, registered on first use. */
#include "pager_link.h"

#include <mica/sys.h>
#include <mica/vm.h>

static struct mica_ipc_buffer buffer;

static long control_call(uint64_t pager_ep, struct mica_msg *m)
{
    struct mica_msg r;
    long rc = mica_ipc_call(pager_ep, m, &r, MICA_IPC_BLOCK);
    if (rc < 0)
        return rc;
    return r.label != 0 ? -MICA_EINVAL : (long)r.w[0];
}

long pager_link_add(uint64_t pager_ep, uint64_t badge, uint64_t task)
{
    static int registered;
    if (!registered) {
        long rc = mica_set_ipc_buffer(&buffer);
        if (rc < 0)
            return rc;
        registered = 1;
    }
    buffer.handle = task;
    struct mica_msg m = {.label = PAGER_ADD_CLIENT | MICA_MSG_XFER_HANDLE, .w = {badge}};
    return control_call(pager_ep, &m);
}

long pager_link_drop(uint64_t pager_ep, uint64_t badge)
{
    struct mica_msg m = {.label = PAGER_DROP_CLIENT, .w = {badge}};
    return control_call(pager_ep, &m);
}

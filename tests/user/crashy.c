/* crashy: a server on the grant "crashy" that dies when asked (crashy.h),
 * so that test_supervise can watch init restart it. */
#include <mica/grant.h>
#include <mica/start.h>
#include <mica/sys.h>

#include "crashy.h"

int main(const struct mica_start_info *si)
{
    long ep = mica_grant("crashy");
    if (ep < 0)
        return 1;
    struct mica_msg req, reply = {0};
    long rc = mica_ipc_recv((uint64_t)ep, &req, MICA_IPC_BLOCK);
    for (;;) {
        if (rc < 0) {
            rc = mica_ipc_recv((uint64_t)ep, &req, MICA_IPC_BLOCK);
            continue;
        }
        reply = (struct mica_msg){0};
        switch (MICA_MSG_LABEL(req.label)) {
        case CRASHY_PING:
            reply.w[0] = si->task_id;
            break;
        case CRASHY_EXIT:
            mica_ipc_reply(&reply);
            return (int)req.w[0];
        case CRASHY_DIE_HOLDING:
            for (int i = 0; i < 8; i++)
                mica_yield();
            return 3;
        default:
            reply.w[0] = (uint64_t)-MICA_ENOSYS;
            break;
        }
        rc = mica_ipc_reply_recv((uint64_t)ep, &reply, &req, MICA_IPC_BLOCK);
    }
}

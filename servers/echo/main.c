/* echo: the smallest request/reply server, an example to copy. It makes
 * an endpoint, registers it with the name service as "echo" (boot.cfg:
 * server echo send:names provides:echo) and answers the one request of
 * echo.h until the machine stops. */
#include <mica/names.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>

#include "echo.h"

/* Request data arrives here; the reply leaves from here too. */
static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));

static int on_say(const struct mica_msg *req, struct mica_msg *reply)
{
    *reply = *req; /* the words, and the data length in the label */
    reply->label = MICA_MSG_MAKE(ECHO_SAY, MICA_MSG_LEN(req->label));
    return MICA_SERVER_REPLY; /* the bytes are still in ipcbuf.data */
}

static const struct mica_server_op ops[] = {
    {ECHO_SAY, on_say},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    long rc = mica_set_ipc_buffer(&ipcbuf);
    long ep = rc < 0 ? rc : mica_endpoint_create();
    if (ep >= 0)
        rc = mica_name_register("echo", (uint64_t)ep);
    if (rc < 0 || ep < 0) {
        printf("echo: cannot start: %s\n", mica_error_name(rc < 0 ? rc : ep));
        return 1;
    }
    rc = mica_server_run((uint64_t)ep, ops, sizeof ops / sizeof ops[0]);
    printf("echo: server loop ended: %s\n", mica_error_name(rc));
    return 1;
}

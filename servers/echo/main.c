/* echo: the smallest request/reply server, an example to copy. It makes
 * an endpoint, registers it with the name service as "echo" (boot.cfg:
 * server echo send:names provides:echo) and answers the one request of
 * echo.h until the machine stops. */
#include <mica/log.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>

#include "echo.h"

/* Request data arrives here; the reply leaves from here too. */
static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));

static int on_say(const struct mica_msg *req, struct mica_msg *reply)
{
    mica_log_debug("say: %llu bytes from client %llu", (unsigned long long)MICA_MSG_LEN(req->label),
                   (unsigned long long)req->badge);
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
    if (rc < 0) {
        mica_log_error("cannot register the IPC buffer: %s", mica_error_name(rc));
        return 1;
    }
    mica_server_run_named("echo", ops, sizeof ops / sizeof ops[0]); /* prints why it ended */
    return 1;
}

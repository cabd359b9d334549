/* ipc_echo: a small server answering the calls of ipc_echo.h on the grant
 * "ipc_echo",
 * for the IPC tests and benchmarks. It runs until the machine stops. */
#include <mica/grant.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>

#include "ipc_echo.h"

static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));

/* A handle this server transferred in its last reply. Closed at the next
 * request, after the reply went out, unless the kernel moved it and has
 * since reused the number for a handle this request carries. */
static long transferred = -1;

static void close_transferred(const struct mica_msg *req)
{
    if (transferred < 0)
        return;
    if (!((req->label & MICA_MSG_XFER_HANDLE) && ipcbuf.handle == (uint64_t)transferred))
        mica_handle_close((uint64_t)transferred);
    transferred = -1;
}

static int op_words(const struct mica_msg *req, struct mica_msg *reply)
{
    close_transferred(req);
    reply->label = MICA_MSG_LABEL(req->label);
    for (int i = 0; i < 4; i++)
        reply->w[i] = req->w[i] + 1;
    return MICA_SERVER_REPLY;
}

static int op_badge(const struct mica_msg *req, struct mica_msg *reply)
{
    close_transferred(req);
    reply->label = ECHO_BADGE;
    reply->w[0] = req->badge;
    return MICA_SERVER_REPLY;
}

static int op_buffer(const struct mica_msg *req, struct mica_msg *reply)
{
    close_transferred(req);
    uint64_t len = MICA_MSG_LEN(req->label);
    if (len > MICA_IPC_BUF_MAX)
        len = MICA_IPC_BUF_MAX;
    for (uint64_t i = 0; i < len; i++)
        ipcbuf.data[i] ^= ECHO_BUFFER_XOR;
    reply->label = MICA_MSG_MAKE(ECHO_BUFFER, len);
    reply->w[0] = len;
    return MICA_SERVER_REPLY;
}

static int op_handle_back(const struct mica_msg *req, struct mica_msg *reply)
{
    close_transferred(req);
    reply->label = ECHO_HANDLE_BACK;
    if (req->label & MICA_MSG_XFER_HANDLE) {
        transferred = (long)ipcbuf.handle;
        reply->label |= MICA_MSG_XFER_HANDLE;
        reply->w[0] = 1;
    }
    return MICA_SERVER_REPLY;
}

static int op_new_endpoint(const struct mica_msg *req, struct mica_msg *reply)
{
    close_transferred(req);
    long ep = mica_endpoint_create();
    reply->label = ECHO_NEW_ENDPOINT;
    if (ep < 0) {
        reply->w[0] = (uint64_t)ep;
        return MICA_SERVER_REPLY;
    }
    ipcbuf.handle = (uint64_t)ep;
    transferred = ep;
    reply->label |= MICA_MSG_XFER_HANDLE;
    return MICA_SERVER_REPLY;
}

/* The shortest handler, for the benchmark; a transferred handle still
 * pending is closed at the next request of another kind. */
static int op_ping(const struct mica_msg *req, struct mica_msg *reply)
{
    (void)req;
    reply->label = ECHO_PING;
    return MICA_SERVER_REPLY;
}

/* The data benchmark: the request's bytes are in our buffer; send the same
 * bytes back without touching them, so only the kernel's copies count. */
static int op_data(const struct mica_msg *req, struct mica_msg *reply)
{
    reply->label = MICA_MSG_MAKE(ECHO_DATA, MICA_MSG_LEN(req->label));
    return MICA_SERVER_REPLY;
}

static const struct mica_server_op ops[] = {
    /* In label order, so that the server loop indexes it directly. */
    {ECHO_WORDS, op_words},
    {ECHO_BADGE, op_badge},
    {ECHO_BUFFER, op_buffer},
    {ECHO_HANDLE_BACK, op_handle_back},
    {ECHO_NEW_ENDPOINT, op_new_endpoint},
    {ECHO_PING, op_ping},
    {ECHO_DATA, op_data},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    long ep = mica_grant("ipc_echo"); /* boot.cfg: server ipc_echo recv:ipc_echo */
    if (ep < 0)
        return 1;
    long rc = mica_set_ipc_buffer(&ipcbuf);
    if (rc < 0) {
        printf("ipc_echo: cannot register the IPC buffer: %s\n", mica_error_name(rc));
        return 1;
    }
    rc = mica_server_run((uint64_t)ep, ops, sizeof ops / sizeof ops[0]);
    printf("ipc_echo: stopped: %s\n", mica_error_name(rc));
    return 1;
}

/* The generic server loop (see mica/server.h). */
#include <mica/log.h>
#include <mica/names.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>

#include "sys_ipc.h"

static const struct mica_server_op *find_op(const struct mica_server_op *table, size_t n,
                                            uint64_t label)
{
    /* A table in label order without gaps is indexed directly (one test
     * whatever the label); any other is searched. */
    uint64_t l = MICA_MSG_LABEL(label), first = n ? table[0].label : 0;
    if (l - first < n && table[l - first].label == l)
        return &table[l - first];
    for (size_t i = 0; i < n; i++)
        if (table[i].label == l)
            return &table[i];
    return NULL;
}

/* Run the handler for req; fills *reply and returns the action. */
static int dispatch(const struct mica_server_op *table, size_t n, const struct mica_msg *req,
                    struct mica_msg *reply)
{
    /* Field by field rather than memset: six stores instead of a byte
     * loop, on the path of every request. */
    reply->badge = reply->label = 0;
    for (int i = 0; i < 4; i++)
        reply->w[i] = 0;
    if (MICA_MSG_LABEL(req->label) == MICA_LOG_LABEL) {
        mica_log_answer(req->w[0], &reply->w[0]);
        return MICA_SERVER_REPLY;
    }
    const struct mica_server_op *op = find_op(table, n, req->label);
    if (!op) {
        reply->label = MICA_SERVER_BAD_LABEL;
        reply->w[0] = (uint64_t)-MICA_ENOSYS;
        return MICA_SERVER_REPLY;
    }
    return op->fn(req, reply);
}

long mica_server_run(uint64_t ep, const struct mica_server_op *table, size_t n)
{
    struct mica_msg req, reply;
    long rc = mica_ipc_recv(ep, &req, MICA_IPC_BLOCK);
    for (;;) {
        if (rc < 0)
            return rc;
        int action = dispatch(table, n, &req, &reply);
        if (action == MICA_SERVER_STOP) {
            mica_ipc_reply(&reply);
            return 0;
        }
        if (action == MICA_SERVER_REPLY) {
            rc = ipc_reply_recv(ep, &reply, &req, MICA_IPC_BLOCK);
            /* A reply the kernel refused (caller gone) must not stop the
             * server: drop it and receive normally. */
            if (rc == -MICA_EDEAD || rc == -MICA_EINVAL)
                rc = mica_ipc_recv(ep, &req, MICA_IPC_BLOCK);
        } else {
            rc = mica_ipc_recv(ep, &req, MICA_IPC_BLOCK);
        }
    }
}

long mica_server_run_named(const char *name, const struct mica_server_op *table, size_t n)
{
    long ep = mica_endpoint_create();
    long rc = ep < 0 ? ep : mica_name_register(name, (uint64_t)ep);
    if (rc < 0) {
        mica_log_error("cannot register as \"%s\": %s%s", name, mica_error_name(rc),
                       rc == -MICA_EPERM ? " (its boot.cfg line needs provides:NAME)" : "");
        if (ep >= 0)
            mica_handle_close((uint64_t)ep);
        return rc;
    }
    mica_log_info("serving \"%s\"", name);
    rc = mica_server_run((uint64_t)ep, table, n);
    if (rc < 0)
        mica_log_error("server loop for \"%s\" ended: %s", name, mica_error_name(rc));
    mica_handle_close((uint64_t)ep);
    return rc;
}

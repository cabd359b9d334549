/* A minimal server loop: receive a message, dispatch on its label
 * (MICA_MSG_LABEL) through a table, reply, receive the next one (one
 * mica_ipc_reply_recv per request). */
#pragma once

#include <stddef.h>
#include <mica/sys.h>

/* What a handler wants done after it returns. */
enum mica_server_action {
    MICA_SERVER_REPLY = 0,    /* send *reply to the caller */
    MICA_SERVER_NO_REPLY = 1, /* no reply (the message was a send, not a call) */
    MICA_SERVER_STOP = 2,     /* reply, then mica_server_run returns 0 */
};

/* req is the received message (badge identifies the client); *reply is
 * zeroed before the call. Returns an enum mica_server_action. */
typedef int (*mica_server_fn)(const struct mica_msg *req, struct mica_msg *reply);

struct mica_server_op {
    uint32_t label;     /* matched against MICA_MSG_LABEL(req->label) */
    mica_server_fn fn;
};

/* Reply label and first word sent for a label that has no handler. */
#define MICA_SERVER_BAD_LABEL MICA_LABEL_ERROR

/* Serve endpoint handle ep forever with table[0..n): MICA_LOG_LABEL
 * (mica/log.h) is answered by the loop itself; an unknown label is
 * answered with label MICA_SERVER_BAD_LABEL and w[0] = -MICA_ENOSYS; a
 * reply that fails (the caller died) is dropped. Returns 0 when a handler
 * returns MICA_SERVER_STOP, or the error of a failed receive
 * (-MICA_EBADH, -MICA_EPERM, -MICA_EDEAD). A table listed in label order
 * without gaps is indexed directly; any other order works, searched. */
long mica_server_run(uint64_t ep, const struct mica_server_op *table, size_t n);

/* The whole life of a named server: create an endpoint, register it with
 * the name service as name (mica/names.h; the program's boot.cfg line
 * needs send:names and provides:NAME), print "PROGRAM: serving "name"",
 * and serve it with mica_server_run. Returns 0 after MICA_SERVER_STOP, or
 * the error of the creation, the registration or the loop after printing
 * one line naming it. Register the IPC buffer first if requests carry
 * data. */
long mica_server_run_named(const char *name, const struct mica_server_op *table, size_t n);

/* The name service (servers/names): servers register an endpoint under a
 * name, clients look it up by name, and calls survive a server restart.
 *
 * A program talks to the service through its grant "names" (boot.cfg:
 * send:names, mica/grant.h). Who may register which name is stated in
 * boot.cfg: `server kv send:names provides:kv` lets that program, and
 * the children it forks, register "kv"; nobody else can. A later
 * registration of a name replaces the earlier one (a restarted server),
 * and a name whose endpoint has lost its server (nobody holds a receive
 * handle any more) stops resolving at once.
 *
 * A server:                          A client:
 *     long ep = mica_endpoint_create();     struct mica_service kv = MICA_SERVICE("kv");
 *     mica_name_register("kv", ep);         mica_service_call(&kv, &req, &reply);
 *     mica_server_run(ep, ops, n);
 *
 * Names are 1 to MICA_NAME_MAX - 1 characters. The calls move handles
 * through the thread's IPC buffer (mica_ipc_buffer(): the program's, or
 * one of libsys' own if it registered none); they overwrite its `handle`
 * field, never its data. The protocol is in docs/design.md ("The name
 * service"). */
#pragma once

#include <stdint.h>
#include <mica/sys.h>

/* Labels on the names endpoint. Requests carry the name in w[0..3]
 * (mica_name_pack); every reply has label 0 and a status in w[0]. */
#define NAMES_REGISTER 1  /* name, an endpoint handle with SEND|GRANT transferred -> 0,
                           * -MICA_EPERM (no provides: for the caller), -MICA_EINVAL,
                           * -MICA_ENOSPC */
#define NAMES_LOOKUP   2  /* name -> 0 and a send handle (SEND|GRANT, badged with the
                           * caller's badge) transferred, or -MICA_ENOENT */
#define NAMES_LIST     3  /* w[0] = first slot to look at -> 0, w[1] = slot of the next
                           * registered name, w[2] = id of its server's task (0: busy,
                           * not waiting now), data = the name; -MICA_ENOENT past the end */
#define NAMES_ALLOW   16  /* control (init, badge 0): w[0] = badge, data = name -> 0 or
                           * -MICA_ENOSPC: that badge may register that name */
#define NAMES_FORGET  17  /* control: w[0] = badge -> 0: drop its permissions */

/* The grant through which the calls below reach the service. */
#define MICA_NAMES_GRANT "names"

/* How long mica_service_call waits for a name to (re)appear, in timer
 * ticks (100 per second), and how often it retries a call that failed
 * with -MICA_EDEAD. */
#define MICA_SERVICE_WAIT_TICKS 500
#define MICA_SERVICE_RETRIES    3
/* How often the calls below send a request again that a blocking call
 * reports lost (-MICA_EAGAIN: dropped before any rendezvous). */
#define MICA_IPC_AGAIN_TRIES 16

/* Put name into w[0..3], NUL-padded. Returns 0, or -MICA_EINVAL if it is
 * empty or MICA_NAME_MAX characters or longer. */
long mica_name_pack(const char *name, uint64_t w[4]);

/* Read a name from w[0..3] into out[MICA_NAME_MAX]. Returns 0, or
 * -MICA_EINVAL if it is empty or not NUL-terminated. */
long mica_name_unpack(const uint64_t w[4], char out[MICA_NAME_MAX]);

/* Register endpoint handle ep (the caller's, with GRANT) under name: the
 * service gets a SEND|GRANT copy, never the right to receive. Register an
 * unbadged handle (as mica_endpoint_create gives) so that each client's
 * calls carry the client's own badge. Returns 0, or -MICA_EPERM (the
 * boot.cfg line has no provides:NAME), -MICA_EINVAL, -MICA_ENOSPC, or the
 * error of the grant or the call (-MICA_ENOENT: no grant "names"). */
long mica_name_register(const char *name, uint64_t ep);

/* Look name up, asking again until it appears or timeout_ticks timer
 * ticks have passed (0: ask once). Returns a send handle (SEND|GRANT,
 * badged for this program; close it when done), or -MICA_ENOENT (not
 * registered in time), -MICA_EINVAL (bad name), or an IPC error. */
long mica_name_lookup(const char *name, unsigned timeout_ticks);

/* A client's view of a named server, for mica_service_call. */
struct mica_service {
    const char *name;
    long handle; /* from the last lookup, or -1 */
};
#define MICA_SERVICE(n) {.name = (n), .handle = -1}

/* mica_ipc_call(m, reply) to the server registered as s->name, looking it
 * up first (waiting up to MICA_SERVICE_WAIT_TICKS) and, when the call
 * fails with -MICA_EDEAD (the server died), closing the handle, looking
 * up the new instance and calling again, up to MICA_SERVICE_RETRIES
 * times; a call lost with -MICA_EAGAIN is sent again, up to
 * MICA_IPC_AGAIN_TRIES times. A request is therefore delivered at least once: make requests
 * that may be retried idempotent. Returns 0 with *reply filled, or the
 * last error (-MICA_ENOENT: no server registered in time, -MICA_EDEAD). */
long mica_service_call(struct mica_service *s, const struct mica_msg *m,
                       struct mica_msg *reply);

/* names: the name service. Servers register an endpoint under a name and
 * clients look names up (protocol in mica/names.h and docs/design.md, "The
 * name service"). Who may register which name comes from boot.cfg
 * (provides:NAME), told by init on the control channel (badge 0) before
 * the program starts. The service holds only send copies, so a server's
 * death kills its endpoint and the name stops resolving: each lookup
 * probes the endpoint first. Started by init with its endpoint as the
 * grant "names" (boot.cfg: server names recv:names). */
#include <mica/grant.h>
#include <mica/log.h>
#include <mica/names.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#define NAMES_MAX   32 /* registered names */
#define ALLOWED_MAX 64 /* (badge, name) permissions */

static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));

static struct {
    char name[MICA_NAME_MAX]; /* "" when free */
    uint64_t handle;          /* a SEND|GRANT copy of the server's endpoint */
} names[NAMES_MAX];

static struct {
    uint64_t badge; /* 0 when free */
    char name[MICA_NAME_MAX];
} allowed[ALLOWED_MAX];

/* A handle sent with the last reply: closed once the reply is out, i.e.
 * when the next request arrives. */
static long sent = -1;

static void close_sent(void)
{
    if (sent >= 0)
        mica_handle_close((uint64_t)sent);
    sent = -1;
}

/* A handle that came with a request we do not keep. */
static void drop_received(const struct mica_msg *req)
{
    if (req->label & MICA_MSG_XFER_HANDLE)
        mica_handle_close(ipcbuf.handle);
}

static int find_name(const char *name)
{
    for (int i = 0; i < NAMES_MAX; i++)
        if (names[i].name[0] && strcmp(names[i].name, name) == 0)
            return i;
    return -1;
}

static int may_register(uint64_t badge, const char *name)
{
    for (int i = 0; i < ALLOWED_MAX; i++)
        if (badge && allowed[i].badge == badge && strcmp(allowed[i].name, name) == 0)
            return 1;
    return 0;
}

/* Whether anybody can still receive on endpoint h. A send is checked for
 * a dead endpoint before anything else (docs/syscalls.md, IPC_SEND), so a
 * message too long to be valid answers -MICA_EDEAD for a dead endpoint
 * and -MICA_E2BIG for a live one, and is never delivered. */
static int alive(uint64_t h)
{
    struct mica_msg probe = {.label = MICA_MSG_MAKE(0, MICA_IPC_BUF_MAX + 1)};
    return mica_ipc_send(h, &probe, MICA_IPC_NONBLOCK) != -MICA_EDEAD;
}

static int status(struct mica_msg *reply, long rc)
{
    reply->w[0] = (uint64_t)rc;
    return MICA_SERVER_REPLY;
}

static int on_register(const struct mica_msg *req, struct mica_msg *reply)
{
    close_sent();
    char name[MICA_NAME_MAX];
    if (!(req->label & MICA_MSG_XFER_HANDLE))
        return status(reply, -MICA_EINVAL);
    uint64_t h = ipcbuf.handle;
    long rc = mica_name_unpack(req->w, name);
    if (rc == 0 && !may_register(req->badge, name)) {
        mica_log_warn("client %llu may not register \"%s\" (no provides:%s on its boot.cfg "
                      "line)", (unsigned long long)req->badge, name, name);
        rc = -MICA_EPERM;
    }
    /* Keep only a send copy, whatever rights came. */
    long copy = rc < 0 ? rc : mica_handle_mint(h, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0);
    mica_handle_close(h);
    if (copy < 0)
        return status(reply, rc < 0 ? rc : -MICA_EINVAL);
    int slot = find_name(name);
    if (slot >= 0) {
        mica_handle_close(names[slot].handle); /* the previous instance's */
    } else {
        for (int i = 0; i < NAMES_MAX && slot < 0; i++)
            if (!names[i].name[0])
                slot = i;
        if (slot < 0) {
            mica_handle_close((uint64_t)copy);
            return status(reply, -MICA_ENOSPC);
        }
        strlcpy(names[slot].name, name, MICA_NAME_MAX);
    }
    names[slot].handle = (uint64_t)copy;
    mica_log_info("\"%s\" registered by client %llu", name, (unsigned long long)req->badge);
    return status(reply, 0);
}

static int on_lookup(const struct mica_msg *req, struct mica_msg *reply)
{
    close_sent();
    drop_received(req);
    char name[MICA_NAME_MAX];
    if (mica_name_unpack(req->w, name) < 0)
        return status(reply, -MICA_EINVAL);
    int slot = find_name(name);
    if (slot >= 0 && !alive(names[slot].handle)) {
        mica_log_info("\"%s\" dropped: its server is gone", name);
        mica_handle_close(names[slot].handle);
        names[slot].name[0] = '\0';
        slot = -1;
    }
    if (slot < 0)
        return status(reply, -MICA_ENOENT);
    /* Badged for the caller, so the server can tell its clients apart; a
     * handle registered with a badge keeps it. */
    long h = mica_handle_mint(names[slot].handle, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, req->badge);
    if (h == -MICA_EPERM)
        h = mica_handle_mint(names[slot].handle, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0);
    if (h < 0)
        return status(reply, h);
    sent = h;
    ipcbuf.handle = (uint64_t)h;
    reply->label = MICA_MSG_XFER_HANDLE;
    return status(reply, 0);
}

static int on_allow(const struct mica_msg *req, struct mica_msg *reply)
{
    close_sent();
    drop_received(req);
    size_t n = MICA_MSG_LEN(req->label);
    if (req->badge != 0)
        return status(reply, -MICA_EPERM); /* only init speaks for boot.cfg */
    if (req->w[0] == 0 || n == 0 || n >= MICA_NAME_MAX)
        return status(reply, -MICA_EINVAL);
    for (int i = 0; i < ALLOWED_MAX; i++)
        if (!allowed[i].badge) {
            allowed[i].badge = req->w[0];
            memcpy(allowed[i].name, ipcbuf.data, n);
            allowed[i].name[n] = '\0';
            return status(reply, 0);
        }
    return status(reply, -MICA_ENOSPC);
}

static int on_forget(const struct mica_msg *req, struct mica_msg *reply)
{
    close_sent();
    drop_received(req);
    if (req->badge != 0)
        return status(reply, -MICA_EPERM);
    for (int i = 0; i < ALLOWED_MAX; i++)
        if (allowed[i].badge == req->w[0])
            allowed[i].badge = 0;
    return status(reply, 0);
}

/* w[0] = first slot to look at -> w[0] = 0, w[1] = the slot of the next
 * registered name, w[2] = the id of its server's task (0: not waiting for
 * requests now), data = the name; or w[0] = -MICA_ENOENT past the last. */
static int on_list(const struct mica_msg *req, struct mica_msg *reply)
{
    close_sent();
    drop_received(req);
    for (uint64_t i = req->w[0]; i < NAMES_MAX; i++) {
        if (!names[i].name[0])
            continue;
        long server = mica_endpoint_server(names[i].handle);
        size_t n = strlen(names[i].name);
        memcpy(ipcbuf.data, names[i].name, n);
        reply->label = MICA_MSG_MAKE(0, n);
        reply->w[1] = i;
        reply->w[2] = server < 0 ? 0 : (uint64_t)server;
        return status(reply, 0);
    }
    return status(reply, -MICA_ENOENT);
}

static const struct mica_server_op ops[] = {
    {NAMES_REGISTER, on_register},
    {NAMES_LOOKUP, on_lookup},
    {NAMES_ALLOW, on_allow},
    {NAMES_FORGET, on_forget},
    {NAMES_LIST, on_list},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    long ep = mica_grant("names"); /* boot.cfg: server names recv:names */
    if (ep < 0)
        return 1;
    long rc = mica_set_ipc_buffer(&ipcbuf);
    if (rc < 0) {
        mica_log_error("cannot register the IPC buffer: %s", mica_error_name(rc));
        return 1;
    }
    rc = mica_server_run((uint64_t)ep, ops, sizeof ops / sizeof ops[0]);
    mica_log_error("server loop ended: %s", mica_error_name(rc));
    return 1;
}

/* The client side of the name service (mica/names.h). */
#include <mica/grant.h>
#include <mica/names.h>
#include <mica/string.h>
#include <mica/sys.h>

long mica_name_pack(const char *name, uint64_t w[4])
{
    size_t n = strnlen(name, MICA_NAME_MAX);
    if (n == 0 || n == MICA_NAME_MAX)
        return -MICA_EINVAL;
    char bytes[32] = {0};
    _Static_assert(MICA_NAME_MAX <= sizeof bytes, "a name fits in four words");
    memcpy(bytes, name, n);
    memcpy(w, bytes, sizeof bytes);
    return 0;
}

long mica_name_unpack(const uint64_t w[4], char out[MICA_NAME_MAX])
{
    char bytes[32];
    memcpy(bytes, w, sizeof bytes);
    size_t n = strnlen(bytes, sizeof bytes);
    if (n == 0 || n >= MICA_NAME_MAX)
        return -MICA_EINVAL;
    memcpy(out, bytes, n + 1);
    return 0;
}

/* A blocking call, made again while it fails with -MICA_EAGAIN: a message
 * lost before it reached anyone (docs/fault-injection.md, ipc_drop) may be
 * sent again, and nothing else makes a blocking call return that. */
static long ipc_call_again(uint64_t ep, const struct mica_msg *m, struct mica_msg *r)
{
    long rc = -MICA_EAGAIN;
    for (unsigned i = 0; i < MICA_IPC_AGAIN_TRIES && rc == -MICA_EAGAIN; i++) {
        if (i)
            mica_yield();
        rc = mica_ipc_call(ep, m, r, MICA_IPC_BLOCK);
    }
    return rc;
}

/* Call the service with label and the packed name; the reply's status. */
static long names_call(uint64_t label, const char *name, struct mica_msg *r)
{
    long names = mica_grant(MICA_NAMES_GRANT);
    if (names < 0)
        return names;
    struct mica_msg m = {.label = label};
    long rc = mica_name_pack(name, m.w);
    if (rc < 0)
        return rc;
    rc = ipc_call_again((uint64_t)names, &m, r);
    if (rc < 0)
        return rc;
    return MICA_MSG_LABEL(r->label) != 0 ? -MICA_EINVAL : (long)r->w[0];
}

long mica_name_register(const char *name, uint64_t ep)
{
    struct mica_ipc_buffer *buf = mica_ipc_buffer();
    if (!buf)
        return -MICA_EFAULT;
    /* The service must never hold a receive right: it would keep the
     * endpoint alive after our death, and a dead name must stop resolving. */
    long copy = mica_handle_mint(ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0);
    if (copy < 0)
        return copy;
    buf->handle = (uint64_t)copy;
    struct mica_msg r;
    long rc = names_call(NAMES_REGISTER | MICA_MSG_XFER_HANDLE, name, &r);
    mica_handle_close((uint64_t)copy); /* the service has its own */
    return rc;
}

long mica_name_lookup(const char *name, unsigned timeout_ticks)
{
    struct mica_ipc_buffer *buf = mica_ipc_buffer();
    if (!buf)
        return -MICA_EFAULT;
    /* Receiving a handle writes the buffer, whose page must be writable
     * (after vm_fork it may still be shared copy-on-write). */
    *(volatile uint64_t *)&buf->handle = 0;
    int64_t start = mica_info(MICA_INFO_TICKS);
    for (;;) {
        struct mica_msg r;
        long rc = names_call(NAMES_LOOKUP, name, &r);
        if (rc == 0)
            return (r.label & MICA_MSG_XFER_HANDLE) ? (long)buf->handle : -MICA_EINVAL;
        if (rc != -MICA_ENOENT || mica_info(MICA_INFO_TICKS) - start >= (int64_t)timeout_ticks)
            return rc;
        mica_yield(); /* let the server that will register run */
    }
}

long mica_service_call(struct mica_service *s, const struct mica_msg *m,
                       struct mica_msg *reply)
{
    long rc = -MICA_EDEAD;
    for (unsigned attempt = 0; attempt <= MICA_SERVICE_RETRIES && rc == -MICA_EDEAD; attempt++) {
        if (s->handle < 0) {
            s->handle = mica_name_lookup(s->name, MICA_SERVICE_WAIT_TICKS);
            if (s->handle < 0) {
                rc = s->handle;
                s->handle = -1;
                return rc;
            }
        }
        rc = ipc_call_again((uint64_t)s->handle, m, reply);
        if (rc == -MICA_EDEAD) { /* the server died: find its successor */
            mica_handle_close((uint64_t)s->handle);
            s->handle = -1;
        }
    }
    return rc;
}

/* kv: a key-value store (protocol in kv.h) whose table lives in memory
 * from the pager: one vm_alloc region of KV_ENTRIES slots, mapped page by
 * page as slots are first touched, so storing megabytes faults in
 * hundreds of pages. An open-addressing hash table (FNV-1a, linear
 * probing, tombstones for deleted keys). boot.cfg: server kv pager:pager
 * send:names provides:kv. */
#include <mica/log.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "kv.h"

enum slot_state { SLOT_FREE = 0, SLOT_USED, SLOT_DELETED };

struct slot {
    uint32_t state, key_len, value_len, pad;
    uint8_t key[KV_KEY_MAX];
    uint8_t value[KV_VALUE_MAX];
};

static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));
static struct slot *table; /* KV_ENTRIES slots from vm_alloc */
static uint64_t keys_held, bytes_held;

static uint32_t hash(const uint8_t *key, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

/* The slot holding key, or (want_free) the slot to put it in; NULL when
 * absent (or the table is full). */
static struct slot *find(const uint8_t *key, size_t n, int want_free)
{
    struct slot *first_free = NULL;
    uint32_t i = hash(key, n) % KV_ENTRIES;
    for (uint32_t probes = 0; probes < KV_ENTRIES; probes++, i = (i + 1) % KV_ENTRIES) {
        struct slot *s = &table[i];
        if (s->state == SLOT_USED && s->key_len == n && memcmp(s->key, key, n) == 0)
            return s;
        if (s->state != SLOT_USED && !first_free)
            first_free = s;
        if (s->state == SLOT_FREE)
            break; /* the key would have been put before here */
    }
    return want_free ? first_free : NULL;
}

static int status(struct mica_msg *reply, uint64_t label, long rc)
{
    reply->label = label;
    reply->w[0] = (uint64_t)rc;
    return MICA_SERVER_REPLY;
}

/* The key of a GET or DEL: the whole data. NULL if its length is bad. */
static const uint8_t *key_of(const struct mica_msg *req, size_t *n)
{
    *n = MICA_MSG_LEN(req->label);
    return *n == 0 || *n > KV_KEY_MAX ? NULL : ipcbuf.data;
}

static int on_put(const struct mica_msg *req, struct mica_msg *reply)
{
    size_t len = MICA_MSG_LEN(req->label), key_len = req->w[1];
    if (key_len == 0 || key_len > KV_KEY_MAX || key_len > len)
        return status(reply, KV_PUT, -MICA_EINVAL);
    size_t value_len = len - key_len;
    if (value_len > KV_VALUE_MAX) {
        mica_log_warn("client %llu: value of %zu bytes refused (at most %u)",
                      (unsigned long long)req->badge, value_len, (unsigned)KV_VALUE_MAX);
        return status(reply, KV_PUT, -MICA_E2BIG);
    }
    struct slot *s = find(ipcbuf.data, key_len, 1);
    if (!s)
        return status(reply, KV_PUT, -MICA_ENOSPC);
    if (s->state == SLOT_USED) {
        bytes_held -= s->value_len;
    } else {
        s->state = SLOT_USED;
        s->key_len = (uint32_t)key_len;
        memcpy(s->key, ipcbuf.data, key_len);
        keys_held++;
    }
    mica_log_debug("put: %zu-byte key, %zu-byte value from client %llu", key_len, value_len,
                   (unsigned long long)req->badge);
    s->value_len = (uint32_t)value_len;
    memcpy(s->value, ipcbuf.data + key_len, value_len);
    bytes_held += value_len;
    return status(reply, KV_PUT, 0);
}

static int on_get(const struct mica_msg *req, struct mica_msg *reply)
{
    size_t n;
    const uint8_t *key = key_of(req, &n);
    if (!key)
        return status(reply, KV_GET, -MICA_EINVAL);
    struct slot *s = find(key, n, 0);
    if (!s)
        return status(reply, KV_GET, -MICA_ENOENT);
    memcpy(ipcbuf.data, s->value, s->value_len); /* the key is read: overwrite it */
    return status(reply, MICA_MSG_MAKE(KV_GET, s->value_len), 0);
}

static int on_del(const struct mica_msg *req, struct mica_msg *reply)
{
    size_t n;
    const uint8_t *key = key_of(req, &n);
    if (!key)
        return status(reply, KV_DEL, -MICA_EINVAL);
    struct slot *s = find(key, n, 0);
    if (!s)
        return status(reply, KV_DEL, -MICA_ENOENT);
    s->state = SLOT_DELETED; /* probes for other keys go on past it */
    keys_held--;
    bytes_held -= s->value_len;
    return status(reply, KV_DEL, 0);
}

static int on_stats(const struct mica_msg *req, struct mica_msg *reply)
{
    (void)req;
    reply->w[1] = keys_held;
    reply->w[2] = bytes_held;
    return status(reply, KV_STATS, 0);
}

static const struct mica_server_op ops[] = {
    {KV_PUT, on_put},
    {KV_GET, on_get},
    {KV_DEL, on_del},
    {KV_STATS, on_stats},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    long rc = mica_set_ipc_buffer(&ipcbuf);
    if (rc < 0) {
        mica_log_error("cannot register the IPC buffer: %s", mica_error_name(rc));
        return 1;
    }
    vm_use_ipc_buffer(&ipcbuf);
    table = vm_alloc((size_t)KV_ENTRIES * sizeof(struct slot), MICA_PROT_READ | MICA_PROT_WRITE);
    if (!table) {
        mica_log_error("no memory from the pager (boot.cfg: pager:pager)");
        return 1;
    }
    mica_server_run_named("kv", ops, sizeof ops / sizeof ops[0]); /* prints why it ended */
    return 1;
}

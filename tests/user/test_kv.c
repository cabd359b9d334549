/* test_kv: the client of servers/kv, found through the name service
 * (boot.cfg: test test_kv send:names). Puts, gets, overwrites and deletes;
 * every bad request refused with its error; and 3 MiB stored and read
 * back, which the server's pager must fault in page by page (the free
 * frames go down by at least that much). */
#include <mica/ktap.h>
#include <mica/names.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "../../servers/kv/kv.h"

#define BIG_KEYS  1600u /* values of KV_VALUE_MAX bytes: 3.0 MiB */
#define PAGE      4096u

static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));
static struct mica_service kv = MICA_SERVICE("kv");

/* PUT key (n bytes) = value (vn bytes). Returns the status. */
static long put(const void *key, size_t n, const void *value, size_t vn)
{
    memcpy(ipcbuf.data, key, n);
    memcpy(ipcbuf.data + n, value, vn);
    struct mica_msg m = {.label = MICA_MSG_MAKE(KV_PUT, n + vn), .w = {0, n}}, r;
    long rc = mica_service_call(&kv, &m, &r);
    return rc < 0 ? rc : (long)r.w[0];
}

/* GET or DEL key; a GET's value lands in ipcbuf.data, its length in *vn. */
static long keyed(unsigned op, const void *key, size_t n, size_t *vn)
{
    memcpy(ipcbuf.data, key, n);
    struct mica_msg m = {.label = MICA_MSG_MAKE(op, n)}, r;
    long rc = mica_service_call(&kv, &m, &r);
    if (vn)
        *vn = MICA_MSG_LEN(r.label);
    return rc < 0 ? rc : (long)r.w[0];
}

static void put_get_overwrite_delete(void)
{
    size_t vn;
    KTAP_EXPECT_EQ(put("colour", 6, "blue", 4), 0);
    KTAP_EXPECT_EQ(keyed(KV_GET, "colour", 6, &vn), 0);
    KTAP_EXPECT(vn == 4 && memcmp(ipcbuf.data, "blue", 4) == 0);
    KTAP_EXPECT_EQ(put("colour", 6, "turquoise", 9), 0);
    KTAP_EXPECT_EQ(keyed(KV_GET, "colour", 6, &vn), 0);
    KTAP_EXPECT(vn == 9 && memcmp(ipcbuf.data, "turquoise", 9) == 0);
    KTAP_EXPECT_EQ(put("empty", 5, "", 0), 0);
    KTAP_EXPECT_EQ(keyed(KV_GET, "empty", 5, &vn), 0);
    KTAP_EXPECT_EQ(vn, 0);
    KTAP_EXPECT_EQ(keyed(KV_DEL, "colour", 6, NULL), 0);
    KTAP_EXPECT_EQ(keyed(KV_GET, "colour", 6, &vn), -MICA_ENOENT);
    KTAP_EXPECT_EQ(keyed(KV_DEL, "colour", 6, NULL), -MICA_ENOENT);
    KTAP_EXPECT_EQ(keyed(KV_DEL, "empty", 5, NULL), 0);
}

static void bad_requests_are_refused(void)
{
    static uint8_t zeros[KV_VALUE_MAX + 1];
    KTAP_EXPECT_EQ(put("", 0, "v", 1), -MICA_EINVAL);           /* no key */
    KTAP_EXPECT_EQ(put(zeros, KV_KEY_MAX + 1, "", 0), -MICA_EINVAL); /* key too long */
    KTAP_EXPECT_EQ(put("k", 1, zeros, KV_VALUE_MAX), 0);        /* the largest value */
    struct mica_msg m = {.label = MICA_MSG_MAKE(KV_PUT, 2), .w = {0, 3}}, r;
    KTAP_EXPECT_EQ(mica_service_call(&kv, &m, &r), 0);          /* key past the data */
    KTAP_EXPECT_EQ((long)r.w[0], -MICA_EINVAL);
    KTAP_EXPECT_EQ(put("k", 1, zeros, KV_VALUE_MAX + 1), -MICA_E2BIG);
    KTAP_EXPECT_EQ(keyed(KV_GET, "", 0, NULL), -MICA_EINVAL);
    KTAP_EXPECT_EQ(keyed(KV_GET, zeros, KV_KEY_MAX + 1, NULL), -MICA_EINVAL);
    KTAP_EXPECT_EQ(keyed(KV_DEL, "", 0, NULL), -MICA_EINVAL);
    KTAP_EXPECT_EQ(keyed(KV_DEL, "k", 1, NULL), 0);
}

static void fill_value(uint8_t *v, unsigned key)
{
    for (unsigned i = 0; i < KV_VALUE_MAX; i++)
        v[i] = (uint8_t)(key * 31 + i * 7 + (i >> 8));
}

static void megabytes_stored_fault_pages_in_and_read_back(void)
{
    static uint8_t value[KV_VALUE_MAX];
    char key[16];
    int64_t free0 = mica_info(MICA_INFO_FREE_FRAMES);
    unsigned put_fails = 0, get_fails = 0;
    for (unsigned k = 0; k < BIG_KEYS; k++) {
        fill_value(value, k);
        int n = snprintf(key, sizeof key, "big%u", k);
        put_fails += put(key, (size_t)n, value, KV_VALUE_MAX) != 0;
    }
    KTAP_EXPECT_EQ(put_fails, 0);
    int64_t used = free0 - mica_info(MICA_INFO_FREE_FRAMES);
    KTAP_EXPECT(used >= (int64_t)(BIG_KEYS * KV_VALUE_MAX / PAGE)); /* faulted in */
    struct mica_msg m = {.label = KV_STATS}, r;
    KTAP_EXPECT_EQ(mica_service_call(&kv, &m, &r), 0);
    KTAP_EXPECT_EQ(r.w[1], BIG_KEYS);
    KTAP_EXPECT_EQ(r.w[2], (uint64_t)BIG_KEYS * KV_VALUE_MAX);
    for (unsigned k = 0; k < BIG_KEYS; k++) {
        fill_value(value, k);
        int n = snprintf(key, sizeof key, "big%u", k);
        size_t vn = 0;
        get_fails += keyed(KV_GET, key, (size_t)n, &vn) != 0 || vn != KV_VALUE_MAX ||
                     memcmp(ipcbuf.data, value, KV_VALUE_MAX) != 0;
    }
    KTAP_EXPECT_EQ(get_fails, 0);
    for (unsigned k = 0; k < BIG_KEYS; k++) {
        int n = snprintf(key, sizeof key, "big%u", k);
        keyed(KV_DEL, key, (size_t)n, NULL);
    }
    KTAP_EXPECT_EQ(mica_service_call(&kv, &m, &r), 0);
    KTAP_EXPECT_EQ(r.w[1], 0);
}

static const struct ktap_case tests[] = {
    {"put_get_overwrite_delete", put_get_overwrite_delete},
    {"bad_requests_are_refused", bad_requests_are_refused},
    {"megabytes_stored_fault_pages_in_and_read_back",
     megabytes_stored_fault_pages_in_and_read_back},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    if (mica_set_ipc_buffer(&ipcbuf) < 0)
        return 1; /* no KTAP document: the run reports this program as broken */
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

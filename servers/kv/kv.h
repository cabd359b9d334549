/* The protocol of servers/kv, a key-value store whose memory comes from
 * the pager. It registers with the name service as "kv"; a client calls
 * it through mica_service_call (mica/names.h) with MICA_SERVICE("kv"),
 * the key (and value) in its IPC buffer's data.
 *
 * Keys are 1..KV_KEY_MAX bytes, values 0..KV_VALUE_MAX bytes, both
 * arbitrary bytes. Every reply has label MICA_MSG_MAKE(request, data
 * length) and a status in w[0]: 0 or -MICA_E*. Requests may be repeated
 * (mica_service_call retries across a restart): a PUT sets, a DEL of a
 * missing key answers -MICA_ENOENT. A restarted kv starts empty. */
#pragma once

#define KV_KEY_MAX     64u
#define KV_VALUE_MAX   1984u   /* KV_KEY_MAX + KV_VALUE_MAX = MICA_IPC_BUF_MAX */
#define KV_ENTRIES     4096u   /* keys the store holds at once */

#define KV_PUT   1u /* w[1] = key length, data = key then value -> w[0]: 0, -MICA_EINVAL
                     * (key length 0, over KV_KEY_MAX or past the data), -MICA_E2BIG
                     * (value over KV_VALUE_MAX), -MICA_ENOSPC (KV_ENTRIES keys held) */
#define KV_GET   2u /* data = key -> w[0]: 0 and data = the value, -MICA_ENOENT,
                     * -MICA_EINVAL (bad key length) */
#define KV_DEL   3u /* data = key -> w[0]: 0, -MICA_ENOENT, -MICA_EINVAL */
#define KV_STATS 4u /* -> w[0] = 0, w[1] = keys held, w[2] = value bytes held */

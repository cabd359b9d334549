/* pager: placeholder for the user-space pager. It creates its endpoint
 * and answers PING until the real pager (page-fault handling for other
 * tasks) replaces it. */
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>

#define PAGER_PING 1u /* reply: label 0, w[0] = the request's w[0] + 1 */

static int on_ping(const struct mica_msg *req, struct mica_msg *reply)
{
    reply->w[0] = req->w[0] + 1;
    return MICA_SERVER_REPLY;
}

static const struct mica_server_op ops[] = {
    { PAGER_PING, on_ping },
};

int main(const struct mica_start_info *si)
{
    (void)si;
    long ep = mica_endpoint_create();
    if (ep < 0) {
        printf("pager: cannot create endpoint: %s\n", mica_error_name(ep));
        return 1;
    }
    printf("pager: ready (placeholder)\n");
    long rc = mica_server_run((uint64_t)ep, ops, sizeof(ops) / sizeof(ops[0]));
    printf("pager: server loop ended: %s\n", mica_error_name(rc));
    return 1;
}

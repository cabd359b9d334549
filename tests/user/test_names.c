/* The name service (servers/names, mica/names.h): lookups that time out,
 * bad names, registration only with provides: on the boot.cfg line, a
 * name that stops resolving when its server dies, the liveness probe the
 * service relies on (a send on a dead endpoint fails -MICA_EDEAD before
 * the message is checked), a client call that follows a server restart
 * (mica_service_call), and grants asked for by a name the line does not
 * give. init starts it with "send:names pager:pager provides:test_names_a
 * provides:test_names_b"; the restarted servers are forked children
 * (forked.h). */
#include <mica/grant.h>
#include <mica/ktap.h>
#include <mica/names.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "forked.h"

#define SVC_PING 1 /* -> w[0] = the instance's generation, w[1] = caller's badge */
#define SVC_QUIT 2 /* -> reply, then the instance exits */

static void lookup_of_an_unknown_name_times_out(void)
{
    KTAP_EXPECT_EQ(mica_name_lookup("nobody_has_this", 0), -MICA_ENOENT);
    int64_t t0 = mica_info(MICA_INFO_TICKS);
    KTAP_EXPECT_EQ(mica_name_lookup("nobody_has_this", 3), -MICA_ENOENT);
    KTAP_EXPECT(mica_info(MICA_INFO_TICKS) - t0 >= 3);
}

static void bad_names_are_refused(void)
{
    char long_name[MICA_NAME_MAX + 1];
    memset(long_name, 'n', MICA_NAME_MAX);
    long_name[MICA_NAME_MAX] = '\0';
    KTAP_EXPECT_EQ(mica_name_lookup("", 0), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_name_lookup(long_name, 0), -MICA_EINVAL);
    long_name[MICA_NAME_MAX - 1] = '\0'; /* the longest name */
    KTAP_EXPECT_EQ(mica_name_lookup(long_name, 0), -MICA_ENOENT);
}

static void register_needs_provides_on_the_boot_cfg_line(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    KTAP_EXPECT_EQ(mica_name_register("not_ours", (uint64_t)ep), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_name_lookup("not_ours", 0), -MICA_ENOENT);
    mica_handle_close((uint64_t)ep);
}

static void a_name_resolves_until_its_server_is_gone(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    KTAP_EXPECT_EQ(mica_name_register("test_names_a", (uint64_t)ep), 0);
    long h = mica_name_lookup("test_names_a", 0);
    KTAP_REQUIRE(h >= 0);
    struct mica_msg m = {.label = 7};
    KTAP_EXPECT_EQ(mica_ipc_send((uint64_t)h, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_ipc_recv((uint64_t)h, &m, MICA_IPC_NONBLOCK), -MICA_EPERM);
    mica_handle_close((uint64_t)ep); /* the only receive handle: the "server" is gone */
    KTAP_EXPECT_EQ(mica_name_lookup("test_names_a", 0), -MICA_ENOENT);
    mica_handle_close((uint64_t)h);
}

/* The ABI fact the service's liveness probe rests on. */
static void a_send_on_a_dead_endpoint_fails_before_the_message_is_checked(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long send = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 0);
    KTAP_REQUIRE(send >= 0);
    struct mica_msg probe = {.label = MICA_MSG_MAKE(0, MICA_IPC_BUF_MAX + 1)};
    KTAP_EXPECT_EQ(mica_ipc_send((uint64_t)send, &probe, MICA_IPC_NONBLOCK), -MICA_E2BIG);
    mica_handle_close((uint64_t)ep);
    KTAP_EXPECT_EQ(mica_ipc_send((uint64_t)send, &probe, MICA_IPC_NONBLOCK), -MICA_EDEAD);
    mica_handle_close((uint64_t)send);
}

/* One instance of the restartable server: the generation it answers with. */
static uint64_t generation;

static int svc_ping(const struct mica_msg *req, struct mica_msg *reply)
{
    reply->w[0] = generation;
    reply->w[1] = req->badge;
    return MICA_SERVER_REPLY;
}

static int svc_quit(const struct mica_msg *req, struct mica_msg *reply)
{
    (void)req;
    (void)reply;
    return MICA_SERVER_STOP;
}

static int64_t serve_b(void *arg)
{
    static const struct mica_server_op ops[] = {{SVC_PING, svc_ping}, {SVC_QUIT, svc_quit}};
    generation = (uint64_t)arg;
    return mica_server_run_named("test_names_b", ops, 2) == 0 ? 0 : 1;
}

static void a_service_call_follows_a_restarted_server(void)
{
    struct mica_service svc = MICA_SERVICE("test_names_b");
    struct mica_msg ping = {.label = SVC_PING}, quit = {.label = SVC_QUIT}, r;
    long first = forked_start(serve_b, (void *)1);
    KTAP_REQUIRE(first >= 0);
    KTAP_EXPECT_EQ(mica_service_call(&svc, &ping, &r), 0);
    KTAP_EXPECT_EQ(r.w[0], 1);
    KTAP_EXPECT(r.w[1] != 0); /* our own badge, not the service's */
    KTAP_EXPECT_EQ(mica_service_call(&svc, &quit, &r), 0);
    KTAP_EXPECT_EQ(forked_collect(first), 0);

    long second = forked_start(serve_b, (void *)2);
    KTAP_REQUIRE(second >= 0);
    KTAP_EXPECT_EQ(mica_service_call(&svc, &ping, &r), 0); /* EDEAD, look up, retry */
    KTAP_EXPECT_EQ(r.w[0], 2);
    KTAP_EXPECT_EQ(mica_service_call(&svc, &quit, &r), 0);
    KTAP_EXPECT_EQ(forked_collect(second), 0);
    mica_handle_close((uint64_t)svc.handle);
}

static void a_missing_grant_is_an_error(void)
{
    KTAP_EXPECT_EQ(mica_grant_find("no_such_grant"), -MICA_ENOENT);
    KTAP_EXPECT(mica_grant("names") >= 0);
    KTAP_EXPECT(mica_grant("pager") >= 0);
    printf("# the next line, about no_such_grant, is expected\n");
    KTAP_EXPECT_EQ(mica_grant("no_such_grant"), -MICA_ENOENT);
}

static const struct ktap_case tests[] = {
    {"lookup_of_an_unknown_name_times_out", lookup_of_an_unknown_name_times_out},
    {"bad_names_are_refused", bad_names_are_refused},
    {"register_needs_provides_on_the_boot_cfg_line",
     register_needs_provides_on_the_boot_cfg_line},
    {"a_name_resolves_until_its_server_is_gone", a_name_resolves_until_its_server_is_gone},
    {"a_send_on_a_dead_endpoint_fails_before_the_message_is_checked",
     a_send_on_a_dead_endpoint_fails_before_the_message_is_checked},
    {"a_service_call_follows_a_restarted_server", a_service_call_follows_a_restarted_server},
    {"a_missing_grant_is_an_error", a_missing_grant_is_an_error},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

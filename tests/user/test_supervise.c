/* test_supervise: init's supervision of servers marked restart (boot.cfg:
 * `server crashy recv:crashy restart=3,backoff=1`, `server echo ...
 * restart=3,backoff=1`; servers/init/supervise.h). A server killed through
 * a task: grant comes back on the same endpoint; a call the dead instance
 * had taken fails -MICA_EDEAD and succeeds when made again, a call still
 * queued is answered by the next instance; a server found through the name
 * service is found again after its restart; after its restart limit a
 * server is given up and its clients get -MICA_EDEAD instead of waiting
 * for ever. Each instance is told apart by its task id. */
#include <mica/grant.h>
#include <mica/ktap.h>
#include <mica/names.h>
#include <mica/start.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "../../servers/echo/echo.h"
#include "crashy.h"
#include "forked.h"

static long crashy, crashy_task, echo_task;
static uint64_t first_id; /* the instance started at boot */
static uint64_t last_id;  /* the latest instance seen */

/* A call to crashy; its result, the answering instance's id in *id. */
static long call(uint32_t label, uint64_t w0, uint64_t *id)
{
    struct mica_msg m = {.label = label, .w = {w0}}, r;
    long rc = mica_ipc_call((uint64_t)crashy, &m, &r, MICA_IPC_BLOCK);
    if (id)
        *id = rc == 0 ? r.w[0] : 0;
    return rc;
}

static void the_server_answers(void)
{
    KTAP_EXPECT_EQ(call(CRASHY_PING, 0, &first_id), 0);
    KTAP_EXPECT(first_id != 0);
    last_id = first_id;
}

/* Killed by us (task:crashy with KILL and WAIT): restart 1 of 3. */
static void a_killed_server_is_restarted_on_its_endpoint(void)
{
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)crashy_task), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)crashy_task), MICA_EXIT_KILLED);
    uint64_t id;
    KTAP_EXPECT_EQ(call(CRASHY_PING, 0, &id), 0); /* waits for the new instance */
    KTAP_EXPECT(id != 0 && id != first_id);
    last_id = id;
}

/* Restart 2 of 3: the instance takes a call and dies holding it. */
static int64_t caller_holding(void *arg)
{
    (void)arg;
    uint64_t id;
    if (call(CRASHY_DIE_HOLDING, 0, NULL) != -MICA_EDEAD)
        return 1;
    if (call(CRASHY_PING, 0, &id) != 0) /* made again: the next instance answers */
        return 2;
    return id == last_id ? 3 : 0;
}

static int64_t caller_queued(void *arg)
{
    (void)arg;
    uint64_t id;
    if (call(CRASHY_PING, 0, &id) != 0)
        return 1;
    return id == last_id ? 3 : 0;
}

static void a_call_taken_by_the_dead_instance_fails_and_queued_ones_wait(void)
{
    long holder = forked_start(caller_holding, NULL);
    long queued = forked_start(caller_queued, NULL);
    KTAP_REQUIRE(holder > 0 && queued > 0);
    KTAP_EXPECT_EQ(forked_collect(holder), 0);
    KTAP_EXPECT_EQ(forked_collect(queued), 0);
    uint64_t id;
    KTAP_EXPECT_EQ(call(CRASHY_PING, 0, &id), 0);
    KTAP_EXPECT(id != last_id);
    last_id = id;
}

/* A server reached by name (echo): killed, restarted, registered again,
 * and mica_service_call finds the new instance on its retry. */
static void a_named_server_is_found_again_after_its_restart(void)
{
    static struct mica_service echo = MICA_SERVICE("echo");
    struct mica_msg m = {.label = ECHO_SAY, .w = {7, 8, 9, 10}}, r;
    KTAP_EXPECT_EQ(mica_service_call(&echo, &m, &r), 0);
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)echo_task), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)echo_task), MICA_EXIT_KILLED);
    r = (struct mica_msg){0};
    KTAP_EXPECT_EQ(mica_service_call(&echo, &m, &r), 0);
    KTAP_EXPECT(r.w[0] == 7 && r.w[1] == 8 && r.w[2] == 9 && r.w[3] == 10);
}

/* Restart 3 of 3, then a fourth death: init gives up and closes its
 * receive right, so a call fails at once instead of waiting. */
static void the_restart_limit_is_honoured(void)
{
    uint64_t id;
    KTAP_EXPECT_EQ(call(CRASHY_EXIT, 5, NULL), 0);
    KTAP_EXPECT_EQ(call(CRASHY_PING, 0, &id), 0);
    KTAP_EXPECT(id != last_id);
    last_id = id;
    KTAP_EXPECT_EQ(call(CRASHY_EXIT, 6, NULL), 0);
    KTAP_EXPECT_EQ(call(CRASHY_PING, 0, &id), -MICA_EDEAD);
}

static const struct ktap_case tests[] = {
    {"the_server_answers", the_server_answers},
    {"a_killed_server_is_restarted_on_its_endpoint",
     a_killed_server_is_restarted_on_its_endpoint},
    {"a_call_taken_by_the_dead_instance_fails_and_queued_ones_wait",
     a_call_taken_by_the_dead_instance_fails_and_queued_ones_wait},
    {"a_named_server_is_found_again_after_its_restart",
     a_named_server_is_found_again_after_its_restart},
    {"the_restart_limit_is_honoured", the_restart_limit_is_honoured},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    crashy = mica_grant("crashy");
    crashy_task = mica_grant("crashy_task");
    echo_task = mica_grant("echo_task");
    if (crashy < 0 || crashy_task < 0 || echo_task < 0)
        return 1;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

/* test_introspect: what the console is built on. The task list and task
 * records (MICA_SYS_TASK_LIST, _TASK_INFO), the fault count, the server
 * of an endpoint (MICA_SYS_ENDPOINT_SERVER), console input's argument
 * checks, its one-reader rule and a kill of a waiting reader
 * (MICA_SYS_CONSOLE_READ), the log level from boot.cfg and at run time
 * (mica/log.h), the name service's list and the pager's recent decisions.
 * boot.cfg: test test_introspect pager:pager send:names log=debug */
#include <mica/grant.h>
#include <mica/ktap.h>
#include <mica/log.h>
#include <mica/names.h>
#include <mica/start.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"

#define TASKS_MAX 64
#define BAD_POINTER ((void *)0xffff800000001000ull) /* kernel half */

static struct mica_task_info tasks[TASKS_MAX];
static const struct mica_start_info *me;

/* The record of the live task called name (the newest), or NULL. */
static const struct mica_task_info *find(const char *name)
{
    long n = mica_task_list(tasks, TASKS_MAX);
    for (long i = 0; i < n && i < TASKS_MAX; i++)
        if (strcmp(tasks[i].name, name) == 0)
            return &tasks[i];
    return NULL;
}

static void the_task_list_holds_me_and_my_pager(void)
{
    const struct mica_task_info *self = find(me->name), *pager;
    KTAP_REQUIRE(self != NULL);
    KTAP_EXPECT_EQ(self->id, me->task_id);
    KTAP_EXPECT_EQ(self->state, MICA_TASK_LIVE);
    KTAP_EXPECT_EQ(self->nthreads, 1);
    KTAP_EXPECT(self->pages_mapped > 0);
    uint32_t pager_id = self->pager_id;
    KTAP_REQUIRE((pager = find("pager")) != NULL);
    KTAP_EXPECT_EQ(pager_id, pager->id);
    KTAP_EXPECT(find("init") != NULL);
}

static void the_list_counts_what_does_not_fit(void)
{
    long all = mica_task_list(NULL, 0);
    KTAP_EXPECT_EQ(all, mica_info(MICA_INFO_TASKS));
    KTAP_EXPECT(all > 2);
    memset(tasks, 0xff, sizeof tasks);
    KTAP_EXPECT_EQ(mica_task_list(tasks, 1), all);
    KTAP_EXPECT(tasks[0].id != 0xffffffffu); /* the first was filled */
    KTAP_EXPECT_EQ(tasks[1].id, 0xffffffffu); /* the second was not */
}

static void bad_arguments_get_errors(void)
{
    KTAP_EXPECT_EQ(mica_task_list(BAD_POINTER, 4), -MICA_EFAULT);
    struct mica_task_info info;
    KTAP_EXPECT_EQ(mica_task_info(MICA_HANDLE_MAX + 5, &info), -MICA_EBADH);
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    KTAP_EXPECT_EQ(mica_task_info((uint64_t)ep, &info), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_endpoint_server((uint64_t)ep), -MICA_ENOENT); /* nobody received */
    mica_handle_close((uint64_t)ep);
    KTAP_EXPECT_EQ(mica_endpoint_server(MICA_HANDLE_MAX + 5), -MICA_EBADH);
    char c;
    KTAP_EXPECT_EQ(mica_console_read(&c, 0), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_console_read(BAD_POINTER, 8), -MICA_EFAULT);
}

static void faults_are_counted(void)
{
    uint64_t before = find(me->name)->faults;
    volatile char *p = vm_alloc(64 * 4096, MICA_PROT_READ | MICA_PROT_WRITE);
    KTAP_REQUIRE(p != NULL);
    p[0] = 1;          /* a fault */
    p[40 * 4096] = 1;  /* another, away from the first's cluster */
    KTAP_EXPECT(find(me->name)->faults >= before + 2);
}

static int64_t exit_at_once(void *arg)
{
    (void)arg;
    return 7;
}

static void a_child_is_described_through_its_handle(void)
{
    long child = forked_start(exit_at_once, NULL);
    KTAP_REQUIRE(child >= 0);
    struct mica_task_info info;
    KTAP_EXPECT_EQ(mica_task_info((uint64_t)child, &info), 0);
    KTAP_EXPECT_EQ(strcmp(info.name, me->name), 0); /* a fork keeps the name */
    KTAP_EXPECT(info.id != me->task_id);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)child), 7);
    KTAP_EXPECT_EQ(mica_task_info((uint64_t)child, &info), 0);
    KTAP_EXPECT_EQ(info.state, MICA_TASK_ZOMBIE);
    KTAP_EXPECT_EQ(info.pages_mapped, 0);
    KTAP_EXPECT_EQ(mica_task_info((uint64_t)child, BAD_POINTER), -MICA_EFAULT);
    vm_release((uint64_t)child);
}

static uint64_t shared_ep;

static int64_t receive_once(void *arg)
{
    (void)arg;
    struct mica_msg m;
    return mica_ipc_recv(shared_ep, &m, MICA_IPC_BLOCK) == 0 ? 0 : 1;
}

static void an_endpoint_names_its_receiver(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    shared_ep = (uint64_t)ep;
    long child = forked_start(receive_once, NULL);
    KTAP_REQUIRE(child >= 0);
    struct mica_task_info info;
    KTAP_EXPECT_EQ(mica_task_info((uint64_t)child, &info), 0);
    long server = -MICA_ENOENT;
    for (unsigned i = 0; i < FORKED_TRIES && server == -MICA_ENOENT; i++) {
        server = mica_endpoint_server(shared_ep); /* once the child waits */
        if (server == -MICA_ENOENT)
            mica_yield();
    }
    KTAP_EXPECT_EQ(server, (long)info.id);
    struct mica_msg m = {.label = 1};
    KTAP_EXPECT_EQ(forked_send(shared_ep, &m), 0);
    KTAP_EXPECT_EQ(mica_endpoint_server(shared_ep), -MICA_ENOENT); /* it took the message */
    KTAP_EXPECT_EQ(forked_collect(child), 0);
    mica_handle_close(shared_ep);
}

/* Console readers: in test mode nothing is typed, so a reader waits until
 * it is killed. Returns 20 if the read was refused as a second reader. */
static int64_t read_console(void *arg)
{
    (void)arg;
    char buf[16];
    long rc = mica_console_read(buf, sizeof buf);
    return rc == -MICA_EAGAIN ? 20 : 21;
}

static void yield_a_while(void)
{
    for (int i = 0; i < 50; i++)
        mica_yield();
}

static void one_console_reader_and_a_kill_frees_its_place(void)
{
    long first = forked_start(read_console, NULL);
    KTAP_REQUIRE(first >= 0);
    yield_a_while(); /* it blocks in the read */
    long second = forked_start(read_console, NULL);
    KTAP_REQUIRE(second >= 0);
    yield_a_while(); /* it is refused at once and exits */
    /* Kill both before waiting, so that a wrong order fails, never hangs. */
    mica_task_kill((uint64_t)second);
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)first), 0);
    KTAP_EXPECT_EQ(forked_collect(second), 20);
    KTAP_EXPECT_EQ(forked_collect(first), MICA_EXIT_KILLED);
    /* The killed reader's place is free: a new reader waits again. */
    long third = forked_start(read_console, NULL);
    KTAP_REQUIRE(third >= 0);
    yield_a_while();
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)third), 0);
    KTAP_EXPECT_EQ(forked_collect(third), MICA_EXIT_KILLED);
}

static void the_log_level_comes_from_boot_cfg(void)
{
    KTAP_EXPECT_EQ(mica_log_level(), MICA_LOG_DEBUG); /* log=debug on its line */
    KTAP_EXPECT_EQ(mica_log_set_level(MICA_LOG_WARN), MICA_LOG_DEBUG);
    KTAP_EXPECT(!mica_log_enabled(MICA_LOG_INFO) && mica_log_enabled(MICA_LOG_ERROR));
    KTAP_EXPECT_EQ(mica_log_set_level(7), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_log_level(), MICA_LOG_WARN);
    KTAP_EXPECT_EQ(mica_log_level_parse("info"), MICA_LOG_INFO);
    KTAP_EXPECT_EQ(mica_log_level_parse("loud"), -1);
    mica_log_set_level(MICA_LOG_DEBUG);
}

/* A MICA_LOG_LABEL call to h; the reply's w[0]. */
static long log_call(uint64_t h, uint64_t level)
{
    struct mica_msg m = {.label = MICA_LOG_LABEL, .w = {level}};
    long rc = mica_ipc_call(h, &m, &m, MICA_IPC_BLOCK);
    return rc < 0 ? rc : (long)m.w[0];
}

static void a_server_changes_its_level_on_request(void)
{
    long echo = mica_name_lookup("echo", MICA_SERVICE_WAIT_TICKS);
    KTAP_REQUIRE(echo >= 0);
    KTAP_EXPECT_EQ(log_call((uint64_t)echo, MICA_LOG_QUERY), MICA_LOG_INFO);
    KTAP_EXPECT_EQ(log_call((uint64_t)echo, MICA_LOG_ERROR), MICA_LOG_INFO);
    KTAP_EXPECT_EQ(log_call((uint64_t)echo, MICA_LOG_QUERY), MICA_LOG_ERROR);
    KTAP_EXPECT_EQ(log_call((uint64_t)echo, 9), -MICA_EINVAL);
    KTAP_EXPECT_EQ(log_call((uint64_t)echo, MICA_LOG_INFO), MICA_LOG_ERROR);
    mica_handle_close((uint64_t)echo);
    long pager = mica_grant(MICA_VM_PAGER_GRANT); /* the pager answers too */
    KTAP_EXPECT_EQ(log_call((uint64_t)pager, MICA_LOG_QUERY), MICA_LOG_INFO);
}

static void the_name_service_lists_names_and_servers(void)
{
    long names = mica_grant(MICA_NAMES_GRANT);
    KTAP_REQUIRE(names >= 0);
    long echo = mica_name_lookup("echo", MICA_SERVICE_WAIT_TICKS); /* registered by now */
    KTAP_REQUIRE(echo >= 0);
    mica_handle_close((uint64_t)echo);
    const struct mica_task_info *server = find("echo");
    KTAP_REQUIRE(server != NULL);
    uint32_t echo_id = server->id;
    int seen = 0;
    for (uint64_t slot = 0, i = 0; i < 64; i++) {
        struct mica_msg m = {.label = NAMES_LIST, .w = {slot}};
        KTAP_REQUIRE(mica_ipc_call((uint64_t)names, &m, &m, MICA_IPC_BLOCK) == 0);
        if ((long)m.w[0] == -MICA_ENOENT)
            break;
        size_t n = MICA_MSG_LEN(m.label);
        if (n == 4 && memcmp(mica_ipc_buffer()->data, "echo", 4) == 0) {
            seen++;
            KTAP_EXPECT_EQ(m.w[2], echo_id);
        }
        slot = m.w[1] + 1;
    }
    KTAP_EXPECT_EQ(seen, 1);
}

static void the_pager_keeps_its_recent_decisions(void)
{
    volatile char *p = vm_alloc(4096, MICA_PROT_READ | MICA_PROT_WRITE);
    KTAP_REQUIRE(p != NULL);
    p[0] = 1; /* the newest decision: ours */
    long pager = mica_grant(MICA_VM_PAGER_GRANT);
    struct mica_msg m = {.label = PAGER_VM_FAULTS, .w = {0}};
    KTAP_REQUIRE(mica_ipc_call((uint64_t)pager, &m, &m, MICA_IPC_BLOCK) == 0);
    KTAP_EXPECT_EQ(m.w[0], 0);
    KTAP_EXPECT(m.w[1] > 0);
    char line[256], want[64];
    size_t n = MICA_MSG_LEN(m.label);
    KTAP_REQUIRE(n > 0 && n < sizeof line);
    memcpy(line, mica_ipc_buffer()->data, n);
    line[n] = '\0';
    snprintf(want, sizeof want, "client %s (id %llu): write at ", me->name,
             (unsigned long long)me->task_id);
    KTAP_EXPECT(strncmp(line, want, strlen(want)) == 0);
    m = (struct mica_msg){.label = PAGER_VM_FAULTS, .w = {1000}};
    KTAP_REQUIRE(mica_ipc_call((uint64_t)pager, &m, &m, MICA_IPC_BLOCK) == 0);
    KTAP_EXPECT_EQ((long)m.w[0], -MICA_ENOENT);
}

static const struct ktap_case tests[] = {
    {"the_task_list_holds_me_and_my_pager", the_task_list_holds_me_and_my_pager},
    {"the_list_counts_what_does_not_fit", the_list_counts_what_does_not_fit},
    {"bad_arguments_get_errors", bad_arguments_get_errors},
    {"faults_are_counted", faults_are_counted},
    {"a_child_is_described_through_its_handle", a_child_is_described_through_its_handle},
    {"an_endpoint_names_its_receiver", an_endpoint_names_its_receiver},
    {"one_console_reader_and_a_kill_frees_its_place",
     one_console_reader_and_a_kill_frees_its_place},
    {"the_log_level_comes_from_boot_cfg", the_log_level_comes_from_boot_cfg},
    {"a_server_changes_its_level_on_request", a_server_changes_its_level_on_request},
    {"the_name_service_lists_names_and_servers", the_name_service_lists_names_and_servers},
    {"the_pager_keeps_its_recent_decisions", the_pager_keeps_its_recent_decisions},
};

int main(const struct mica_start_info *si)
{
    me = si;
    struct mica_ipc_buffer *buf = mica_ipc_buffer();
    if (!buf)
        return 1;
    vm_use_ipc_buffer(buf);
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

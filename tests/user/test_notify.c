/* test_notify: the two calls supervision is built on. MICA_SYS_TASK_NOTIFY
 * (38): one MICA_LABEL_DEATH message per binding, with the task's status,
 * the cause and the killer, delivered to a waiting receiver or kept in the
 * endpoint until one comes, sent at once for a task already ended, freed
 * when nobody can receive it; its argument and rights checks.
 * MICA_SYS_MAP_ALIAS (39): the same frames writable in two tasks, and its
 * refusals. Kernel counters end at their baseline. The children are tiny
 * ELF images (tiny_elf.h) spawned without a pager. */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "snippet.h"
#include "tiny_elf.h"
#include "usage.h"

MB_SNIPPET(quit, "");
MB_SNIPPET(quit42, "movl $42, %edi\n movl $2, %eax\n syscall\n");
MB_SNIPPET(spin, "1: jmp 1b\n");

#define PAGE 4096u
#define RW   (MICA_PROT_READ | MICA_PROT_WRITE)
#define ALIAS_BASE 0x0000210000000000ull /* where an_alias_shares_writes maps */

static const struct mica_start_info *self;
static struct usage base;

static long spawn(const uint8_t *start, const uint8_t *end, const char *name)
{
    static struct tiny_image img;
    size_t len = tiny_elf_build(&img, start, (size_t)(end - start));
    struct mica_spawn_args a = {.image = &img, .image_len = len, .name = name, .args = "",
                                .flags = MICA_SPAWN_NO_PAGER};
    return mica_task_spawn(&a);
}

#define SPAWN(snippet) spawn(mb_##snippet##_start, mb_##snippet##_end, #snippet)

/* Receive the one note bound with `badge` on ep (blocking); expect its
 * status and cause. Returns w3 (the killer). */
static uint64_t expect_note(long ep, uint64_t badge, int64_t status, uint64_t cause)
{
    struct mica_msg m = {0};
    KTAP_EXPECT_EQ(mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_BLOCK), 0);
    KTAP_EXPECT_EQ(m.badge, badge);
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(m.label), MICA_LABEL_DEATH);
    KTAP_EXPECT(m.w[0] != 0); /* a task id */
    KTAP_EXPECT_EQ((int64_t)m.w[1], status);
    KTAP_EXPECT_EQ(m.w[2], cause);
    return m.w[3];
}

static void warm_up_and_baseline(void)
{
    long h = SPAWN(quit);
    KTAP_REQUIRE(h >= 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), 0);
    mica_handle_close((uint64_t)h);
    /* The page tables of the ranges an_alias_shares_writes maps in us
     * stay once made: make them now. */
    uint8_t *a = (uint8_t *)ALIAS_BASE;
    KTAP_EXPECT_EQ(mica_mem_map(a, 33 * PAGE, RW), 0);
    mica_mem_unmap(a, 33 * PAGE);
    base = usage_now();
}

static void an_exit_is_told_with_its_status(void)
{
    long ep = mica_endpoint_create(), h = SPAWN(quit42);
    KTAP_REQUIRE(ep >= 0 && h >= 0);
    /* Bound before or after the child ran: either way one note. */
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)ep, 77), 0);
    KTAP_EXPECT_EQ(expect_note(ep, 77, 42, MICA_DEATH_EXITED), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), 42);
    /* A task that has ended: the note comes at once. */
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)ep, 78), 0);
    expect_note(ep, 78, 42, MICA_DEATH_EXITED);
    mica_handle_close((uint64_t)h);
    mica_handle_close((uint64_t)ep);
}

static void a_kill_is_told_with_its_killer(void)
{
    long ep = mica_endpoint_create(), h = SPAWN(spin);
    KTAP_REQUIRE(ep >= 0 && h >= 0);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)ep, 5), 0);
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)h), 0);
    KTAP_EXPECT_EQ(expect_note(ep, 5, MICA_EXIT_KILLED, MICA_DEATH_KILLED), self->task_id);
    mica_handle_close((uint64_t)h);

    /* The last handle closed ends a task: cause "orphaned". */
    h = SPAWN(spin);
    KTAP_REQUIRE(h >= 0);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)ep, 6), 0);
    mica_handle_close((uint64_t)h);
    KTAP_EXPECT_EQ(expect_note(ep, 6, MICA_EXIT_KILLED, MICA_DEATH_ORPHANED), 0);
    mica_handle_close((uint64_t)ep);
}

/* Nobody receives while three children end: their notes wait in the
 * endpoint, each taken by one receive, then nothing is left. */
static void notes_wait_in_the_endpoint(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long h[3];
    for (int i = 0; i < 3; i++) {
        h[i] = SPAWN(quit);
        KTAP_REQUIRE(h[i] >= 0);
        KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h[i], (uint64_t)ep, 100 + (uint64_t)i), 0);
    }
    for (int i = 0; i < 3; i++)
        KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h[i]), 0);
    uint64_t seen = 0;
    struct mica_msg m;
    for (int i = 0; i < 3; i++) {
        KTAP_EXPECT_EQ(mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_NONBLOCK), 0);
        KTAP_EXPECT_EQ(MICA_MSG_LABEL(m.label), MICA_LABEL_DEATH);
        if (m.badge >= 100 && m.badge < 103)
            seen |= 1u << (m.badge - 100);
    }
    KTAP_EXPECT_EQ(seen, 7);
    KTAP_EXPECT_EQ(mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    for (int i = 0; i < 3; i++)
        mica_handle_close((uint64_t)h[i]);
    mica_handle_close((uint64_t)ep);
}

static void bad_binds_are_refused(void)
{
    long ep = mica_endpoint_create(), h = SPAWN(spin);
    KTAP_REQUIRE(ep >= 0 && h >= 0);
    long no_wait = mica_handle_mint((uint64_t)h, MICA_RIGHT_KILL, 0);
    long recv_only = mica_handle_mint((uint64_t)ep, MICA_RIGHT_RECV, 0);
    long badged = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 9);
    KTAP_REQUIRE(no_wait >= 0 && recv_only >= 0 && badged >= 0);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)ep, (uint64_t)ep, 1), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)h, 1), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_task_notify(MICA_HANDLE_MAX + 5, (uint64_t)ep, 1), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)no_wait, (uint64_t)ep, 1), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)recv_only, 1), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)badged, 1), -MICA_EPERM);
    /* Badge 0 takes the handle's badge. */
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)badged, 0), 0);
    for (int i = 1; i < MICA_NOTIFY_MAX; i++)
        KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)ep, 200 + (uint64_t)i), 0);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)ep, 300), -MICA_ENOSPC);
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)h), 0);
    struct mica_msg m;
    unsigned notes = 0, with_handle_badge = 0;
    while (notes < MICA_NOTIFY_MAX &&
           mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_BLOCK) == 0) {
        notes++;
        with_handle_badge += m.badge == 9;
    }
    KTAP_EXPECT_EQ(notes, MICA_NOTIFY_MAX);
    KTAP_EXPECT_EQ(with_handle_badge, 1);
    /* Nobody can receive on a send-only endpoint: -MICA_EDEAD. */
    long send_only = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0);
    long h2 = SPAWN(spin);
    KTAP_REQUIRE(send_only >= 0 && h2 >= 0);
    mica_handle_close((uint64_t)recv_only);
    mica_handle_close((uint64_t)ep);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h2, (uint64_t)send_only, 1), -MICA_EDEAD);
    mica_task_kill((uint64_t)h2);
    mica_task_wait((uint64_t)h2);
    mica_handle_close((uint64_t)h2);
    mica_handle_close((uint64_t)send_only);
    mica_handle_close((uint64_t)badged);
    mica_handle_close((uint64_t)no_wait);
    mica_handle_close((uint64_t)h);
}

/* A note nobody will take is freed with its endpoint; one bound to a task
 * that outlives the endpoint is freed at the task's end. */
static void unreceived_notes_are_freed(void)
{
    long ep = mica_endpoint_create(), h = SPAWN(quit), s = SPAWN(spin);
    KTAP_REQUIRE(ep >= 0 && h >= 0 && s >= 0);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)h, (uint64_t)ep, 1), 0);
    KTAP_EXPECT_EQ(mica_task_notify((uint64_t)s, (uint64_t)ep, 2), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), 0);
    mica_handle_close((uint64_t)ep); /* the queued note goes with it */
    mica_task_kill((uint64_t)s);
    mica_task_wait((uint64_t)s);
    mica_handle_close((uint64_t)s);
    mica_handle_close((uint64_t)h);
    KTAP_EXPECT(tasks_drop_to(base.tasks, 1000));
    expect_baseline(&base);
}

/* MAP_ALIAS: our page A at X in a child, the child's X back at B in us:
 * A and B are one frame. */
static void an_alias_shares_writes(void)
{
    uint8_t *a = (uint8_t *)ALIAS_BASE, *b = a + 16 * PAGE;
    uint8_t *ro = a + 32 * PAGE;
    const uint64_t x = 0x0000310000000000ull;
    long c = SPAWN(spin);
    KTAP_REQUIRE(c >= 0);
    KTAP_REQUIRE(mica_mem_map(a, 2 * PAGE, RW) == 0);
    KTAP_REQUIRE(mica_mem_map(ro, PAGE, MICA_PROT_READ) == 0);
    KTAP_EXPECT_EQ(mica_map_alias((uint64_t)c, x, MICA_HANDLE_SELF, (uint64_t)a, 2, RW), 0);
    KTAP_EXPECT_EQ(mica_map_alias(MICA_HANDLE_SELF, (uint64_t)b, (uint64_t)c, x, 2, RW), 0);
    a[10] = 0x5a;
    a[PAGE + 7] = 0xa5;
    KTAP_EXPECT_EQ(b[10], 0x5a);
    KTAP_EXPECT_EQ(b[PAGE + 7], 0xa5);
    b[20] = 0x33;
    KTAP_EXPECT_EQ(a[20], 0x33);

    /* Refusals: nothing changes. */
    KTAP_EXPECT_EQ(mica_map_alias(MICA_HANDLE_SELF, (uint64_t)(b + 4 * PAGE), MICA_HANDLE_SELF,
                                  (uint64_t)a, 1, RW), -MICA_EINVAL); /* one task */
    KTAP_EXPECT_EQ(mica_map_alias((uint64_t)c, x, MICA_HANDLE_SELF, (uint64_t)a, 1, RW),
                   -MICA_EEXIST);
    KTAP_EXPECT_EQ(mica_map_alias((uint64_t)c, x + 8 * PAGE, MICA_HANDLE_SELF,
                                  (uint64_t)(a + 4 * PAGE), 1, RW), -MICA_EINVAL); /* absent */
    KTAP_EXPECT_EQ(mica_map_alias((uint64_t)c, x + 8 * PAGE, MICA_HANDLE_SELF, (uint64_t)ro, 1,
                                  RW), -MICA_EINVAL); /* read-only source, writable alias */
    KTAP_EXPECT_EQ(mica_map_alias((uint64_t)c, x + 8 * PAGE, MICA_HANDLE_SELF, (uint64_t)a,
                                  MICA_ALIAS_MAX_PAGES + 1, RW), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_map_alias((uint64_t)c, x + 8 * PAGE, MICA_HANDLE_SELF, (uint64_t)a, 1,
                                  RW | MICA_PROT_EXEC), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_map_alias((uint64_t)c, x + 8 * PAGE, MICA_HANDLE_SELF, (uint64_t)ro, 1,
                                  MICA_PROT_READ), 0);
    /* A copy-on-write share is not aliased: its frame has other copies. */
    KTAP_EXPECT(mica_map_share((uint64_t)c, x + 12 * PAGE, MICA_HANDLE_SELF,
                               (uint64_t)(a + PAGE), 1, MICA_PROT_READ) == 1);
    KTAP_EXPECT_EQ(mica_map_alias((uint64_t)c, x + 13 * PAGE, MICA_HANDLE_SELF,
                                  (uint64_t)(a + PAGE), 1, MICA_PROT_READ), -MICA_EINVAL);

    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)c), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)c), MICA_EXIT_KILLED);
    mica_handle_close((uint64_t)c);
    KTAP_EXPECT_EQ(b[10], 0x5a); /* still ours after the child is gone */
    mica_mem_unmap(a, 2 * PAGE);
    mica_mem_unmap(b, 2 * PAGE);
    mica_mem_unmap(ro, PAGE);
    KTAP_EXPECT(tasks_drop_to(base.tasks, 1000));
    expect_baseline(&base);
}

static const struct ktap_case tests[] = {
    {"warm_up_and_baseline", warm_up_and_baseline},
    {"an_exit_is_told_with_its_status", an_exit_is_told_with_its_status},
    {"a_kill_is_told_with_its_killer", a_kill_is_told_with_its_killer},
    {"notes_wait_in_the_endpoint", notes_wait_in_the_endpoint},
    {"bad_binds_are_refused", bad_binds_are_refused},
    {"unreceived_notes_are_freed", unreceived_notes_are_freed},
    {"an_alias_shares_writes", an_alias_shares_writes},
};

int main(const struct mica_start_info *si)
{
    self = si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

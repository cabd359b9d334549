/* Kernel resource accounting: whatever a task held (frames for its page
 * tables, stack, image and start info; slab objects for the task, its
 * thread and handles; heap bytes) must come back when it exits, whether
 * it exits by itself or is killed, and when a spawn fails half-way. Each
 * test takes a baseline of MICA_INFO_FREE_FRAMES, _SLAB_OBJECTS and
 * _HEAP_BYTES after a warm-up (so caches that grow once are already
 * grown), repeats the operation, and requires the exact baseline again. */
#include <mica/grant.h>
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>

#include "ipc_echo.h"
#include "misbehaviours.h"
#include "tiny_elf.h"
#include "usage.h"

#define SHORT_LIVED 100
#define KILLED      20
#define WARM_UP     4
#define SCRATCH_VA  0x0000300000000000ull
static uint64_t echo_ep; /* boot.cfg: send:ipc_echo, looked up in main */
#define PAGE        4096ull

static int64_t run(const struct misbehaviour *m)
{
    return tiny_run(m->start, mb_len(m), "leaker", NULL);
}

static const struct misbehaviour exit0 = {"exit0", mb_exit0_start, mb_exit0_end, false};

static void spawn_exit_returns_every_resource(void)
{
    for (int i = 0; i < WARM_UP; i++)
        run(&exit0);
    struct usage base = usage_now();
    KTAP_EXPECT(base.frames > 0 && base.slab > 0 && base.heap >= 0);
    unsigned bad = 0;
    for (int i = 0; i < SHORT_LIVED; i++)
        bad += run(&exit0) != 0;
    KTAP_EXPECT_EQ(bad, 0);
    expect_baseline(&base);
}

static void killed_tasks_return_every_resource(void)
{
    for (size_t i = 0; i < MISBEHAVIOURS && i < WARM_UP; i++)
        run(&misbehaviours[i]);
    struct usage base = usage_now();
    unsigned survived = 0;
    for (size_t i = 0; i < KILLED; i++) {
        const struct misbehaviour *m = &misbehaviours[i % MISBEHAVIOURS];
        if (m->needs_nx && !(mica_info(MICA_INFO_CPU_FEATURES) & 4))
            m = &misbehaviours[0];
        survived += run(m) != MICA_EXIT_KILLED;
    }
    KTAP_EXPECT_EQ(survived, 0);
    expect_baseline(&base);
}

/* A task handle kept after the task exited pins only the zombie; closing
 * it releases that too. */
static void zombie_released_on_handle_close(void)
{
    static struct tiny_image img;
    size_t len = tiny_elf_build(&img, mb_exit0_start, mb_len(&exit0));
    run(&exit0);
    struct usage base = usage_now();
    long h[8];
    for (int i = 0; i < 8; i++) {
        h[i] = tiny_spawn_image(&img, len, "zombie");
        KTAP_EXPECT(h[i] >= 0);
    }
    for (int i = 0; i < 8; i++)
        if (h[i] >= 0)
            KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h[i]), 0);
    /* Waiting twice gives the same status: the zombie keeps it. */
    if (h[0] >= 0)
        KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h[0]), 0);
    for (int i = 0; i < 8; i++)
        if (h[i] >= 0)
            KTAP_EXPECT_EQ(mica_handle_close((uint64_t)h[i]), 0);
    expect_baseline(&base);
}

/* A spawn that fails after the kernel began building the task: the image
 * header is readable but the code page behind it is not mapped, so the
 * copy of the segment faults. Everything built so far must be undone. */
static void failed_spawn_returns_every_resource(void)
{
    void *page = (void *)SCRATCH_VA;
    if (!KTAP_EXPECT_EQ(mica_mem_map(page, PAGE, MICA_PROT_READ | MICA_PROT_WRITE), 0))
        return;
    struct tiny_image *img = page; /* only its first page is mapped */
    static struct tiny_image full;
    size_t len = tiny_elf_build(&full, mb_exit0_start, mb_len(&exit0));
    memcpy(img, &full, PAGE);
    struct usage base = usage_now();
    unsigned succeeded = 0;
    for (int i = 0; i < 20; i++) {
        long h = tiny_spawn_image(img, len, "halfway");
        if (h >= 0) {
            succeeded++;
            mica_task_wait((uint64_t)h);
            mica_handle_close((uint64_t)h);
        }
    }
    KTAP_EXPECT_EQ(succeeded, 0);
    /* A bad handle to pass fails the spawn after the image is loaded. */
    struct mica_spawn_args a = {.image = &full, .image_len = len, .name = "badh", .args = "",
                                .handles = {echo_ep, MICA_HANDLE_MAX - 1}, .nhandles = 2};
    for (int i = 0; i < 20; i++)
        KTAP_EXPECT_EQ(mica_task_spawn(&a), -MICA_EBADH);
    expect_baseline(&base);
    mica_mem_unmap(page, PAGE);
}

static void endpoints_and_handles_return_every_resource(void)
{
    long warm = mica_endpoint_create();
    if (warm >= 0)
        mica_handle_close((uint64_t)warm);
    struct usage base = usage_now();
    for (int i = 0; i < 100; i++) {
        long ep = mica_endpoint_create();
        if (!KTAP_EXPECT(ep >= 0))
            break;
        long m = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, (uint64_t)i);
        KTAP_EXPECT(m >= 0);
        /* Close the original first: the minted copy keeps the endpoint alive. */
        KTAP_EXPECT_EQ(mica_handle_close((uint64_t)ep), 0);
        if (m >= 0)
            KTAP_EXPECT_EQ(mica_handle_close((uint64_t)m), 0);
    }
    expect_baseline(&base);
}

/* Handles sent through ipc_echo: the server keeps the last handle it
 * transferred until its next request other than a ping (ipc_echo.c),
 * which is retention by a server, not a kernel leak (one endpoint object
 * stays while it does); after one more such request every object is back. */
static void handles_through_a_server_return_after_its_next_request(void)
{
    static struct mica_ipc_buffer buf __attribute__((aligned(4096)));
    KTAP_REQUIRE(mica_set_ipc_buffer(&buf) == 0);
    struct mica_msg words = {.label = ECHO_WORDS}, r;
    KTAP_REQUIRE(mica_ipc_call(echo_ep, &words, &r, MICA_IPC_BLOCK) == 0);
    struct usage base = usage_now();
    for (int i = 0; i < 20; i++) {
        long ep = mica_endpoint_create();
        if (!KTAP_EXPECT(ep >= 0))
            break;
        buf.handle = (uint64_t)ep;
        struct mica_msg m = {.label = ECHO_HANDLE_BACK | MICA_MSG_XFER_HANDLE};
        KTAP_EXPECT_EQ(mica_ipc_call(echo_ep, &m, &r, MICA_IPC_BLOCK), 0);
        if (r.label & MICA_MSG_XFER_HANDLE)
            mica_handle_close(buf.handle);
        mica_handle_close((uint64_t)ep);
        struct mica_msg n = {.label = ECHO_NEW_ENDPOINT};
        KTAP_EXPECT_EQ(mica_ipc_call(echo_ep, &n, &r, MICA_IPC_BLOCK), 0);
        if (r.label & MICA_MSG_XFER_HANDLE)
            mica_handle_close(buf.handle);
    }
    KTAP_EXPECT_EQ(mica_ipc_call(echo_ep, &words, &r, MICA_IPC_BLOCK), 0);
    expect_baseline(&base);
    mica_set_ipc_buffer(0);
}

static const struct ktap_case tests[] = {
    {"spawn_exit_returns_every_resource", spawn_exit_returns_every_resource},
    {"killed_tasks_return_every_resource", killed_tasks_return_every_resource},
    {"zombie_released_on_handle_close", zombie_released_on_handle_close},
    {"failed_spawn_returns_every_resource", failed_spawn_returns_every_resource},
    {"endpoints_and_handles_return_every_resource", endpoints_and_handles_return_every_resource},
    {"handles_through_a_server_return_after_its_next_request",
     handles_through_a_server_return_after_its_next_request},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    long echo = mica_grant("ipc_echo");
    if (echo < 0)
        return 1;
    echo_ep = (uint64_t)echo;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

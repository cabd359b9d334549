/* Ending tasks: kills that unwind, the kill call, and tasks nobody can
 * reach. Children are tiny ELF images (tiny_elf.h) running one snippet.
 *
 * Kills inside a system call. The calls that copy user memory through the
 * fault-forwarding copy routines are MICA_SYS_DEBUG_WRITE and the calls a
 * loader builds a task with: MICA_SYS_TASK_CREATE (its argument block and
 * the name), MICA_SYS_TASK_WRITE (the image, copied into the half-built
 * task) and MICA_SYS_TASK_LOAD (the image, copied into frames not mapped
 * yet); IPC data is only ever copied between pages already mapped. This program
 * is the child's pager: it answers the kernel's MICA_FAULT_KERNEL faults
 * for the child's buffer by sharing its own pages there, page after page,
 * and at the chosen page (first, middle, last) answers "kill". The call
 * must unwind: frames, slab objects, heap bytes and live tasks all return
 * to their baseline, including the half-built task of a spawn.
 *
 * Killable tasks. MICA_SYS_TASK_KILL ends a task whatever it is doing:
 * spinning in ring 3, blocked in a receive, in a call nobody answers, in a
 * page fault its pager never answers, in a wait. A task whose last handle
 * is closed is killed, and so is a task that is its own pager (or two that
 * page each other) when it faults: that fault could never be answered. */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"
#include "snippet.h"
#include "tiny_elf.h"
#include "usage.h"

#define PAGE 4096ull
#define TRIES FORKED_TRIES /* yields before a rendezvous counts as failed */

/* Child addresses (plain numbers: the snippets use them too). Nothing is
 * mapped at the first three until this program shares a page there. */
#define BUF_VA      0x10000000 /* the debug-write buffer's pages */
#define BUF_START   0x10000ff8 /* 8 bytes before page 1: spans pages 0, 1 and 2 */
#define BUF_LEN     4112       /* 8 + PAGE + 8 */
#define IMAGE_VA    0x20000000 /* the image a child writes into the task it builds */
#define IMAGE_LEN   (3 * 4096)
#define UNMAPPED_VA 0x30000000 /* never mapped */
#define ARGS_VA     0x400100   /* a mica_task_args in the child's text */
#define ARGS_OFF    (ARGS_VA - TINY_TEXT_VA)
#define NAME_OFF    (ARGS_OFF + 128u)
#define NAME_VA     (TINY_TEXT_VA + NAME_OFF)
_Static_assert(BUF_START == BUF_VA + PAGE - 8 && BUF_LEN == 8 + PAGE + 8, "debug-write buffer");
_Static_assert(ARGS_OFF >= 128 && NAME_OFF + 16 <= TINY_CODE_MAX &&
               sizeof(struct mica_task_args) <= 128, "task arguments in the child's text");

#define XSTR(x) STR(x)
#define STR(x)  #x

MB_SNIPPET(debug_write_buf, "movabsq $" XSTR(BUF_START) ", %rdi\n movl $" XSTR(BUF_LEN)
                            ", %esi\n movl $1, %eax\n syscall\n");
/* A loader's work by hand: TASK_CREATE with the block at ARGS_VA, then
 * MAP_ANON of three pages at 0x400000 in the new task and TASK_WRITE of
 * the IMAGE_LEN bytes at IMAGE_VA there (rbx keeps the task handle). */
MB_SNIPPET(spawn_text_args, "movabsq $" XSTR(ARGS_VA) ", %rdi\n movl $28, %eax\n syscall\n"
                            "movq %rax, %rbx\n"
                            "movq %rbx, %rdi\n movl $0x400000, %esi\n movl $3, %edx\n"
                            "movl $3, %r10d\n movl $20, %eax\n syscall\n"
                            "movq %rbx, %rdi\n movl $0x400000, %esi\n"
                            "movabsq $" XSTR(IMAGE_VA) ", %rdx\n movl $" XSTR(IMAGE_LEN)
                            ", %r10d\n movl $29, %eax\n syscall\n");
/* The same with one TASK_LOAD of the three pages, filled from IMAGE_VA. */
MB_SNIPPET(spawn_load_args, "movabsq $" XSTR(ARGS_VA) ", %rdi\n movl $28, %eax\n syscall\n"
                            "movq %rax, %rdi\n movl $0x400000, %esi\n movl $3, %edx\n"
                            "movl $1, %r10d\n movabsq $" XSTR(IMAGE_VA) ", %r8\n"
                            "movl $" XSTR(IMAGE_LEN) ", %r9d\n movl $48, %eax\n syscall\n");
MB_SNIPPET(spawn_unmapped_args,
           "movabsq $" XSTR(UNMAPPED_VA) ", %rdi\n movl $28, %eax\n syscall\n");
MB_SNIPPET(touch_unmapped, "movabsq $" XSTR(UNMAPPED_VA) ", %rax\n movb $1, (%rax)\n");
MB_SNIPPET(spin, "1: jmp 1b\n");
/* Handle 0: receive for ever (an error, too, only loops). */
MB_SNIPPET(recv_forever, "1: xorl %edi, %edi\n movl $5, %eax\n syscall\n jmp 1b\n");
/* Handle 0: a call, label 0, that nobody will answer. */
MB_SNIPPET(call_h0, "xorl %edi, %edi\n xorl %esi, %esi\n movl $6, %eax\n syscall\n");
/* Handle 0 names a task: wait for it. */
MB_SNIPPET(wait_h0, "xorl %edi, %edi\n movl $15, %eax\n syscall\n");
/* Receive one message on handle 0, then fault. */
MB_SNIPPET(recv_then_touch, "xorl %edi, %edi\n movl $5, %eax\n syscall\n"
                            "movabsq $" XSTR(UNMAPPED_VA) ", %rax\n movb $1, (%rax)\n");

#define LEN(name) ((size_t)(mb_##name##_end - mb_##name##_start))

/* Pages this program shares into a child, written once before any share:
 * sharing makes them read-only here, and this program has no pager. */
static uint8_t filler[3 * PAGE] __attribute__((aligned(4096)));
static uint8_t image[3 * PAGE] __attribute__((aligned(4096)));

static void prepare_pages(void)
{
    /* What the debug write prints: each page is one KTAP diagnostic line,
     * "#" and spaces, so the log stays readable. */
    memset(filler, ' ', sizeof filler);
    for (size_t off = 0; off < sizeof filler; off += PAGE) {
        filler[off] = '#';
        filler[off + PAGE - 1] = '\n';
    }
    /* A 3-page executable whose text segment fills pages 1 and 2. */
    struct tiny_image *img = (struct tiny_image *)image;
    tiny_elf_build(img, mb_spin_start, LEN(spin));
    img->ph[0].filesz = img->ph[0].memsz = 2 * PAGE;
}
_Static_assert(sizeof image == IMAGE_LEN, "the child writes the whole image");

/* Let every other task run until they all block (a few passes). */
static void settle(void)
{
    for (int i = 0; i < 50; i++)
        mica_yield();
}

/* ---- kills inside a copying system call ---- */

struct copy_case {
    const uint8_t *code;
    size_t len;
    uint64_t region;      /* child address of page 0 of what the call copies */
    const uint8_t *pages; /* our pages shared there, one per fault */
    unsigned kill_at;     /* the page whose fault is answered "kill" */
};

/* Put a mica_task_args block in the child's text at ARGS_VA, its name at
 * NAME_VA, or at UNMAPPED_VA. */
static size_t code_with_args(uint8_t *code, const uint8_t *snippet, size_t n, bool bad_name)
{
    memset(code, 0, TINY_CODE_MAX);
    memcpy(code, snippet, n);
    struct mica_task_args a = {.name = (const char *)(bad_name ? UNMAPPED_VA : NAME_VA),
                               .flags = MICA_SPAWN_NO_PAGER};
    memcpy(code + ARGS_OFF, &a, sizeof a);
    memcpy(code + NAME_OFF, "grandchild", sizeof "grandchild");
    return NAME_OFF + sizeof "grandchild";
}

/* Run one case: returns the number of faults answered before the kill, or
 * -1 if the protocol went wrong; *status is the child's exit status. */
static int run_copy_case(const struct copy_case *c, int64_t *status)
{
    long ep = mica_endpoint_create();
    if (ep < 0)
        return -1;
    long child = tiny_spawn(c->code, c->len, "copykill", 0, 0, ep);
    int served = -1;
    if (child >= 0) {
        served = 0;
        for (;;) {
            struct mica_msg m;
            if (forked_recv((uint64_t)ep, &m) != 0 || MICA_MSG_LABEL(m.label) != MICA_LABEL_FAULT ||
                !(m.w[1] & MICA_FAULT_KERNEL) || m.w[0] < c->region) {
                served = -1;
                break;
            }
            uint64_t page = (m.w[0] - c->region) / PAGE;
            struct mica_msg r = {.label = 0};
            if (page == c->kill_at) {
                r.label = MICA_FAULT_KILL;
                r.w[0] = MICA_FAULT_REASON_ACCESS;
                mica_ipc_reply(&r);
                break;
            }
            if (page != (uint64_t)served || page > 2 ||
                mica_map_share((uint64_t)child, c->region + page * PAGE, MICA_HANDLE_SELF,
                               (uint64_t)(uintptr_t)(c->pages + page * PAGE), 1,
                               MICA_PROT_READ) != 1) {
                served = -1;
                break;
            }
            mica_ipc_reply(&r);
            served++;
        }
        if (served < 0)
            mica_task_kill((uint64_t)child);
        *status = mica_task_wait((uint64_t)child);
        mica_handle_close((uint64_t)child);
    }
    mica_handle_close((uint64_t)ep);
    return served;
}

/* The case once as a warm-up, then again against the baseline. */
static void expect_clean_kill(const struct copy_case *c)
{
    int64_t status = 0;
    run_copy_case(c, &status);
    struct usage base = usage_now();
    int served = run_copy_case(c, &status);
    KTAP_EXPECT_EQ(served, (int)c->kill_at);
    KTAP_EXPECT_EQ(status, MICA_EXIT_KILLED);
    expect_baseline(&base);
}

static void kill_in_debug_write(unsigned page)
{
    struct copy_case c = {mb_debug_write_buf_start, LEN(debug_write_buf), BUF_VA, filler, page};
    expect_clean_kill(&c);
}

static void kill_in_debug_write_first_page(void)
{
    kill_in_debug_write(0);
}

static void kill_in_debug_write_middle_page(void)
{
    kill_in_debug_write(1);
}

static void kill_in_debug_write_last_page(void)
{
    kill_in_debug_write(2);
}

static void kill_in_spawn_image(unsigned page)
{
    static uint8_t code[TINY_CODE_MAX];
    size_t n = code_with_args(code, mb_spawn_text_args_start, LEN(spawn_text_args), false);
    struct copy_case c = {code, n, IMAGE_VA, image, page};
    expect_clean_kill(&c);
}

static void kill_in_spawn_image_first_page(void)
{
    kill_in_spawn_image(0);
}

static void kill_in_spawn_image_middle_page(void)
{
    kill_in_spawn_image(1);
}

static void kill_in_spawn_image_last_page(void)
{
    kill_in_spawn_image(2);
}

/* Killed while TASK_LOAD fills a frame: the frame being filled, those
 * filled before it (not mapped yet) and the half-built task all go. */
static void kill_in_task_load(unsigned page)
{
    static uint8_t code[TINY_CODE_MAX];
    size_t n = code_with_args(code, mb_spawn_load_args_start, LEN(spawn_load_args), false);
    struct copy_case c = {code, n, IMAGE_VA, image, page};
    expect_clean_kill(&c);
}

static void kill_in_task_load_first_page(void)
{
    kill_in_task_load(0);
}

static void kill_in_task_load_last_page(void)
{
    kill_in_task_load(2);
}

static void kill_in_spawn_argument_block(void)
{
    struct copy_case c = {mb_spawn_unmapped_args_start, LEN(spawn_unmapped_args), UNMAPPED_VA,
                          filler, 0};
    expect_clean_kill(&c);
}

static void kill_in_spawn_name(void)
{
    static uint8_t code[TINY_CODE_MAX];
    size_t n = code_with_args(code, mb_spawn_text_args_start, LEN(spawn_text_args), true);
    struct copy_case c = {code, n, UNMAPPED_VA, filler, 0};
    expect_clean_kill(&c);
}

/* ---- the kill call ---- */

/* Spawn, let it block, kill, collect: the status and the baseline. */
static void expect_killable(const void *code, size_t n, const uint64_t *h, unsigned nh,
                            long pager)
{
    for (int round = 0; round < 2; round++) { /* the first one warms up */
        struct usage base = usage_now();
        long child = tiny_spawn(code, n, "victim", h, nh, pager);
        if (!KTAP_EXPECT(child >= 0))
            return;
        settle();
        KTAP_EXPECT_EQ(mica_task_kill((uint64_t)child), 0);
        KTAP_EXPECT_EQ(mica_task_wait((uint64_t)child), MICA_EXIT_KILLED);
        KTAP_EXPECT_EQ(mica_handle_close((uint64_t)child), 0);
        if (round == 1)
            expect_baseline(&base);
    }
}

static void kill_spinning_task(void)
{
    expect_killable(mb_spin_start, LEN(spin), 0, 0, -1);
}

static void kill_task_blocked_in_receive(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    uint64_t h = (uint64_t)ep;
    expect_killable(mb_recv_forever_start, LEN(recv_forever), &h, 1, -1);
    mica_handle_close(h);
}

/* The server (this program) never receives the call: the child stays
 * queued as a sender. */
static void kill_task_blocked_in_call(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    uint64_t h = (uint64_t)ep;
    expect_killable(mb_call_h0_start, LEN(call_h0), &h, 1, -1);
    mica_handle_close(h);
}

static void kill_task_waiting_for_a_task(void)
{
    long spinner = tiny_spawn(mb_spin_start, LEN(spin), "spinner", 0, 0, -1);
    KTAP_REQUIRE(spinner >= 0);
    uint64_t h = (uint64_t)spinner;
    expect_killable(mb_wait_h0_start, LEN(wait_h0), &h, 1, -1);
    KTAP_EXPECT_EQ(mica_task_kill(h), 0);
    KTAP_EXPECT_EQ(mica_task_wait(h), MICA_EXIT_KILLED);
    mica_handle_close(h);
}

/* A page fault sent to a pager (this program) that never answers: once
 * queued, and once received but never replied to. */
static void kill_client_of_a_silent_pager(void)
{
    for (int received = 0; received < 2; received++) {
        long ep = mica_endpoint_create();
        KTAP_REQUIRE(ep >= 0);
        struct usage base = usage_now();
        long child = tiny_spawn(mb_touch_unmapped_start, LEN(touch_unmapped), "silent", 0, 0,
                                 ep);
        KTAP_REQUIRE(child >= 0);
        settle();
        struct mica_msg m;
        if (received)
            KTAP_EXPECT_EQ(forked_recv((uint64_t)ep, &m), 0);
        KTAP_EXPECT_EQ(mica_task_kill((uint64_t)child), 0);
        KTAP_EXPECT_EQ(mica_task_wait((uint64_t)child), MICA_EXIT_KILLED);
        if (received) { /* the fault's caller is gone: nothing to answer */
            struct mica_msg r = {.label = 0};
            KTAP_EXPECT(mica_ipc_reply(&r) < 0);
        }
        KTAP_EXPECT_EQ(mica_handle_close((uint64_t)child), 0);
        if (received)
            expect_baseline(&base);
        mica_handle_close((uint64_t)ep);
    }
}

static void kill_needs_the_kill_right(void)
{
    long child = tiny_spawn(mb_spin_start, LEN(spin), "victim", 0, 0, -1);
    KTAP_REQUIRE(child >= 0);
    long weak = mica_handle_mint((uint64_t)child, MICA_RIGHT_WAIT, 0);
    KTAP_EXPECT(weak >= 0);
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)weak), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_task_kill(MICA_HANDLE_MAX + 5), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)child), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)weak), MICA_EXIT_KILLED);
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)child), -MICA_EDEAD); /* already ended */
    mica_handle_close((uint64_t)weak);
    mica_handle_close((uint64_t)child);
}

/* ---- tasks nobody can reach, and faults nobody can answer ---- */

static void task_without_handles_is_killed(void)
{
    for (int round = 0; round < 2; round++) {
        struct usage base = usage_now();
        long child = tiny_spawn(mb_spin_start, LEN(spin), "orphan", 0, 0, -1);
        KTAP_REQUIRE(child >= 0);
        settle();
        KTAP_EXPECT_EQ(mica_handle_close((uint64_t)child), 0);
        KTAP_EXPECT(tasks_drop_to(base.tasks, TRIES));
        if (round == 1)
            expect_baseline(&base);
    }
}

/* A child holds the only handle to a spinner: killing the child leaves the
 * spinner unreachable, and it is killed too. */
static void orphans_of_a_killed_task_are_killed(void)
{
    struct usage base = usage_now();
    long spinner = tiny_spawn(mb_spin_start, LEN(spin), "spinner", 0, 0, -1);
    KTAP_REQUIRE(spinner >= 0);
    uint64_t h = (uint64_t)spinner;
    long holder = tiny_spawn(mb_spin_start, LEN(spin), "holder", &h, 1, -1);
    KTAP_REQUIRE(holder >= 0);
    KTAP_EXPECT_EQ(mica_handle_close(h), 0);
    settle();
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_TASKS), base.tasks + 2); /* the holder keeps it */
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)holder), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)holder), MICA_EXIT_KILLED);
    mica_handle_close((uint64_t)holder);
    KTAP_EXPECT(tasks_drop_to(base.tasks, TRIES));
}

/* Wait for a task that should end by itself; kill it if it does not (the
 * test then fails instead of hanging). */
static int64_t wait_bounded(long child, int64_t tasks_after)
{
    if (!tasks_drop_to(tasks_after, TRIES))
        mica_task_kill((uint64_t)child);
    int64_t status = mica_task_wait((uint64_t)child);
    mica_handle_close((uint64_t)child);
    return status;
}

static void self_paged_task_is_killed_at_its_fault(void)
{
    struct usage base = usage_now();
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    uint64_t h = (uint64_t)ep;
    long child = tiny_spawn(mb_touch_unmapped_start, LEN(touch_unmapped), "selfpaged", &h, 1,
                             ep);
    KTAP_REQUIRE(child >= 0);
    mica_handle_close(h); /* the child alone can receive its faults */
    KTAP_EXPECT_EQ(wait_bounded(child, base.tasks), MICA_EXIT_KILLED);
}

/* A's pager is served by B and B's by A: A faults, B takes the fault and
 * faults itself, and that fault could only be answered by A. */
static void pagers_paging_each_other_are_killed(void)
{
    struct usage base = usage_now();
    long ea = mica_endpoint_create(), eb = mica_endpoint_create();
    KTAP_REQUIRE(ea >= 0 && eb >= 0);
    uint64_t ha = (uint64_t)ea, hb = (uint64_t)eb;
    long b = tiny_spawn(mb_recv_then_touch_start, LEN(recv_then_touch), "pager_b", &ha, 1, eb);
    long a = tiny_spawn(mb_touch_unmapped_start, LEN(touch_unmapped), "pager_a", &hb, 1, ea);
    KTAP_REQUIRE(a >= 0 && b >= 0);
    mica_handle_close(ha);
    mica_handle_close(hb);
    KTAP_EXPECT_EQ(wait_bounded(a, base.tasks + 1), MICA_EXIT_KILLED);
    KTAP_EXPECT_EQ(wait_bounded(b, base.tasks), MICA_EXIT_KILLED);
}

static const struct ktap_case tests[] = {
    {"kill_in_debug_write_first_page", kill_in_debug_write_first_page},
    {"kill_in_debug_write_middle_page", kill_in_debug_write_middle_page},
    {"kill_in_debug_write_last_page", kill_in_debug_write_last_page},
    {"kill_in_spawn_argument_block", kill_in_spawn_argument_block},
    {"kill_in_spawn_name", kill_in_spawn_name},
    {"kill_in_spawn_image_first_page", kill_in_spawn_image_first_page},
    {"kill_in_spawn_image_middle_page", kill_in_spawn_image_middle_page},
    {"kill_in_spawn_image_last_page", kill_in_spawn_image_last_page},
    {"kill_in_task_load_first_page", kill_in_task_load_first_page},
    {"kill_in_task_load_last_page", kill_in_task_load_last_page},
    {"kill_spinning_task", kill_spinning_task},
    {"kill_task_blocked_in_receive", kill_task_blocked_in_receive},
    {"kill_task_blocked_in_call", kill_task_blocked_in_call},
    {"kill_task_waiting_for_a_task", kill_task_waiting_for_a_task},
    {"kill_client_of_a_silent_pager", kill_client_of_a_silent_pager},
    {"kill_needs_the_kill_right", kill_needs_the_kill_right},
    {"task_without_handles_is_killed", task_without_handles_is_killed},
    {"orphans_of_a_killed_task_are_killed", orphans_of_a_killed_task_are_killed},
    {"self_paged_task_is_killed_at_its_fault", self_paged_task_is_killed_at_its_fault},
    {"pagers_paging_each_other_are_killed", pagers_paging_each_other_are_killed},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    prepare_pages();
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

/* Building a task by hand through the task-building calls, as libsys's
 * loader does: MICA_SYS_TASK_CREATE (an empty task that does not run),
 * MICA_SYS_MAP_ANON, MICA_SYS_TASK_WRITE and MICA_SYS_TASK_LOAD (its
 * memory; a loaded page holds the bytes and zeros, never a frame's old
 * contents), and MICA_SYS_TASK_START (its thread's rip, rsp and rdi).
 * Then every hostile argument of the four calls, each with its documented
 * error; a task
 * dropped before it started leaves nothing behind (no report line, every
 * counter at its baseline); the loader's layout of a built task; and a
 * bad ELF image refused by mica_task_spawn with -MICA_ENOEXEC. */
#include <mica/ktap.h>
#include <mica/spawn.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "raw_syscall.h"
#include "snippet.h"
#include "tiny_elf.h"
#include "usage.h"

#define PAGE        4096ull
#define TEXT_VA     0x400000ull
#define DATA_VA     0x600000ull
#define KERNEL_TEXT 0xffffffff80200000ull
#define EXIT_WORD   4242

/* exit(*(uint64_t *)rdi): what the child exits with comes from the page
 * the test wrote, through the rdi TASK_START gave it. */
MB_SNIPPET(exit_word, "movq (%rdi), %rdi\n movl $2, %eax\n syscall\n");
#define LEN(name) ((size_t)(mb_##name##_end - mb_##name##_start))

/* A read-only page of this program, to share into a child. */
static const uint8_t shared_page[PAGE] __attribute__((aligned(4096))) = {1};

static long create(const char *name)
{
    struct mica_task_args a = {.name = name, .flags = MICA_SPAWN_NO_PAGER};
    return mica_task_create(&a);
}

static void task_built_by_hand_runs(void)
{
    struct mica_task_args a = {.name = "byhand", .flags = MICA_SPAWN_NO_PAGER};
    long h = mica_task_create(&a);
    if (!KTAP_EXPECT(h >= 0))
        return;
    KTAP_EXPECT(mica_task_id((uint64_t)h) > mica_task_id(MICA_HANDLE_SELF));
    KTAP_EXPECT_EQ(mica_task_id(200), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_map_anon((uint64_t)h, TEXT_VA, 1, MICA_PROT_READ | MICA_PROT_EXEC), 0);
    KTAP_EXPECT_EQ(mica_map_anon((uint64_t)h, DATA_VA, 1, MICA_PROT_READ), 0);
    /* Both pages are read-only for the child; the kernel writes them. */
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, TEXT_VA, mb_exit_word_start, LEN(exit_word)), 0);
    uint64_t word = EXIT_WORD;
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, DATA_VA + 8, &word, sizeof word), 0);
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, DATA_VA, &word, 0), 0); /* nothing to do */
    KTAP_EXPECT_EQ(mica_task_start((uint64_t)h, TEXT_VA, 0, DATA_VA + 8), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), EXIT_WORD);
    mica_handle_close((uint64_t)h);
}

static void create_rejects_bad_arguments(void)
{
    long ep = mica_endpoint_create();
    long weak = ep >= 0 ? mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 0) : -1;
    KTAP_REQUIRE(ep >= 0 && weak >= 0);
    int64_t tasks = mica_info(MICA_INFO_TASKS);

    KTAP_EXPECT_EQ(mica_task_create(NULL), -MICA_EFAULT);
    KTAP_EXPECT_EQ(raw_syscall(MICA_SYS_TASK_CREATE, KERNEL_TEXT, 0, 0, 0, 0, 0), -MICA_EFAULT);
    struct mica_task_args a = {.name = "bad", .nhandles = MICA_SPAWN_MAX_HANDLES + 1};
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_EINVAL);
    a = (struct mica_task_args){.name = "bad", .flags = 4};
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_EINVAL);
    a.flags = MICA_SPAWN_PAGER | MICA_SPAWN_NO_PAGER;
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_EINVAL);
    a = (struct mica_task_args){.name = (const char *)KERNEL_TEXT};
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_EFAULT);
    a.name = "a name of thirty-two characters!"; /* no NUL within MICA_NAME_MAX */
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_E2BIG);
    a = (struct mica_task_args){.name = "bad", .handles = {200}, .nhandles = 1};
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_EBADH);
    a.handles[0] = (uint64_t)weak; /* no grant right */
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_EBADH);
    a = (struct mica_task_args){.name = "bad", .flags = MICA_SPAWN_PAGER, .pager = 200};
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_EBADH);
    /* A task not started yet cannot be passed to another being built. */
    long unstarted = create("unstarted");
    KTAP_EXPECT(unstarted >= 0);
    a = (struct mica_task_args){.name = "bad", .handles = {(uint64_t)unstarted},
                                .nhandles = 1, .flags = MICA_SPAWN_NO_PAGER};
    KTAP_EXPECT_EQ(mica_task_create(&a), -MICA_EBADH);
    mica_handle_close((uint64_t)unstarted);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_TASKS), tasks);
    mica_handle_close((uint64_t)weak);
    mica_handle_close((uint64_t)ep);
}

static void write_rejects_bad_arguments(void)
{
    long h = create("writes");
    KTAP_REQUIRE(h >= 0);
    long nomap = mica_handle_mint((uint64_t)h, MICA_RIGHT_WAIT | MICA_RIGHT_GRANT, 0);
    KTAP_EXPECT(nomap >= 0);
    KTAP_EXPECT_EQ(mica_map_anon((uint64_t)h, TEXT_VA, 2, MICA_PROT_READ), 0);
    uint64_t w = 1;
    KTAP_EXPECT_EQ(mica_task_write(200, TEXT_VA, &w, 8), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)nomap, TEXT_VA, &w, 8), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_task_write(MICA_HANDLE_SELF, TEXT_VA, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, KERNEL_TEXT, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, MICA_USER_END - 4, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, 0, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, DATA_VA, &w, 8), -MICA_ENOENT);
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, TEXT_VA, (const void *)KERNEL_TEXT, 8),
                   -MICA_EFAULT);
    /* A page shared with this program: the bytes would show here too. */
    KTAP_EXPECT_EQ(mica_map_share((uint64_t)h, DATA_VA, MICA_HANDLE_SELF,
                                  (uint64_t)(uintptr_t)shared_page, 1, MICA_PROT_READ), 1);
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, DATA_VA, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(shared_page[0], 1);
    /* Across two pages, the second one missing: the first is written. */
    KTAP_EXPECT_EQ(mica_unmap((uint64_t)h, TEXT_VA + PAGE, 1), 0);
    static uint8_t two[2 * PAGE];
    KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, TEXT_VA, two, sizeof two), -MICA_ENOENT);
    mica_handle_close((uint64_t)nomap);
    mica_handle_close((uint64_t)h);
}

static void start_rejects_bad_arguments(void)
{
    long h = create("starts");
    KTAP_REQUIRE(h >= 0);
    long nomap = mica_handle_mint((uint64_t)h, MICA_RIGHT_WAIT | MICA_RIGHT_GRANT, 0);
    KTAP_EXPECT(nomap >= 0);
    KTAP_EXPECT_EQ(mica_task_start(200, TEXT_VA, 0, 0), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_task_start((uint64_t)nomap, TEXT_VA, 0, 0), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_task_start(MICA_HANDLE_SELF, TEXT_VA, 0, 0), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_start((uint64_t)h, KERNEL_TEXT, 0, 0), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_start((uint64_t)h, 1ull << 63, 0, 0), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_start((uint64_t)h, TEXT_VA, MICA_USER_END + 8, 0), -MICA_EINVAL);
    /* Started with nothing mapped: it faults at once (no pager), and a
     * second start of a running or dead task is refused. */
    KTAP_EXPECT_EQ(mica_task_start((uint64_t)h, TEXT_VA, 0, 0), 0);
    long again = mica_task_start((uint64_t)h, TEXT_VA, 0, 0);
    KTAP_EXPECT(again == -MICA_EINVAL || again == -MICA_EDEAD);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), MICA_EXIT_KILLED);
    KTAP_EXPECT_EQ(mica_task_start((uint64_t)h, TEXT_VA, 0, 0), -MICA_EDEAD);
    mica_handle_close((uint64_t)nomap);
    mica_handle_close((uint64_t)h);
}

/* A task given memory and handles, then dropped before it ran: closing its
 * handle discards it silently, with everything it held. */
static void task_dropped_before_start_leaves_nothing(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    for (int round = 0; round < 2; round++) { /* the first warms the caches */
        struct usage base = usage_now();
        struct mica_task_args a = {.name = "dropped", .handles = {(uint64_t)ep},
                                   .nhandles = 1, .flags = MICA_SPAWN_NO_PAGER};
        long h = mica_task_create(&a);
        KTAP_EXPECT(h >= 0);
        KTAP_EXPECT_EQ(mica_map_anon((uint64_t)h, TEXT_VA, 16, MICA_PROT_READ), 0);
        KTAP_EXPECT_EQ(mica_task_write((uint64_t)h, TEXT_VA, shared_page, PAGE), 0);
        KTAP_EXPECT_EQ(mica_task_load((uint64_t)h, DATA_VA + 8, 16, MICA_PROT_READ,
                                      shared_page, PAGE), 0);
        KTAP_EXPECT_EQ(mica_handle_close((uint64_t)h), 0);
        if (round)
            expect_baseline(&base);
    }
    mica_handle_close((uint64_t)ep);
}

/* Scratch addresses in this program: pages dirtied and given back (so
 * that the next frames taken held old bytes), and the view of a child's
 * pages shared back here to read them. */
#define DIRTY_VA 0x200000000000ull
#define VIEW_VA  0x200000100000ull
#define NLOAD    3

/* Give back NLOAD + 1 pages full of 0xAA: the frame caches hand them out
 * next, so a TASK_LOAD that left any byte unwritten would show 0xAA. */
static void dirty_frames(void)
{
    void *p = (void *)(uintptr_t)DIRTY_VA;
    if (KTAP_EXPECT_EQ(mica_mem_map(p, (NLOAD + 1) * PAGE, MICA_PROT_READ | MICA_PROT_WRITE),
                       0)) {
        memset(p, 0xaa, (NLOAD + 1) * PAGE);
        mica_mem_unmap(p, (NLOAD + 1) * PAGE);
    }
}

/* TASK_LOAD: the bytes land at va (unaligned) and the rest of every page,
 * before and after them, reads zero, although the frames held 0xAA; the
 * child runs from a loaded page and reads a loaded word. */
static void load_fills_and_zeroes(void)
{
    static uint8_t bytes[PAGE + 1000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i % 251 + 1);
    long h = create("loaded");
    KTAP_REQUIRE(h >= 0);
    dirty_frames();
    const uint64_t skip = 0x123;
    KTAP_EXPECT_EQ(mica_task_load((uint64_t)h, DATA_VA + skip, NLOAD, MICA_PROT_READ, bytes,
                                  sizeof bytes), 0);
    KTAP_EXPECT_EQ(mica_map_share(MICA_HANDLE_SELF, VIEW_VA, (uint64_t)h, DATA_VA, NLOAD,
                                  MICA_PROT_READ), NLOAD);
    const uint8_t *view = (const uint8_t *)(uintptr_t)VIEW_VA;
    size_t stale = 0, wrong = 0;
    for (size_t i = 0; i < NLOAD * PAGE; i++) {
        bool in = i >= skip && i < skip + sizeof bytes;
        stale += !in && view[i] != 0;
        wrong += in && view[i] != bytes[i - skip];
    }
    KTAP_EXPECT_EQ(stale, 0);
    KTAP_EXPECT_EQ(wrong, 0);
    mica_unmap(MICA_HANDLE_SELF, VIEW_VA, NLOAD);
    /* Text and a word in one call each, len 0 for a zeroed page. */
    uint64_t word = EXIT_WORD;
    KTAP_EXPECT_EQ(mica_task_load((uint64_t)h, TEXT_VA, 1, MICA_PROT_READ | MICA_PROT_EXEC,
                                  mb_exit_word_start, LEN(exit_word)), 0);
    KTAP_EXPECT_EQ(mica_task_load((uint64_t)h, DATA_VA + NLOAD * PAGE + 8, 1, MICA_PROT_READ,
                                  &word, sizeof word), 0);
    KTAP_EXPECT_EQ(mica_task_load((uint64_t)h, DATA_VA + (NLOAD + 1) * PAGE, 1, MICA_PROT_READ,
                                  NULL, 0), 0);
    KTAP_EXPECT_EQ(mica_task_start((uint64_t)h, TEXT_VA, 0, DATA_VA + NLOAD * PAGE + 8), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), EXIT_WORD);
    mica_handle_close((uint64_t)h);
}

/* Every hostile argument of TASK_LOAD with its documented error, and a
 * refused call leaves nothing mapped (the same range loads afterwards). */
static void load_rejects_bad_arguments(void)
{
    long h = create("loads");
    KTAP_REQUIRE(h >= 0);
    long nomap = mica_handle_mint((uint64_t)h, MICA_RIGHT_WAIT | MICA_RIGHT_GRANT, 0);
    KTAP_EXPECT(nomap >= 0);
    uint64_t h1 = (uint64_t)h, w = 1;
    const unsigned r = MICA_PROT_READ;
    KTAP_EXPECT_EQ(mica_task_load(200, TEXT_VA, 1, r, &w, 8), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_task_load((uint64_t)nomap, TEXT_VA, 1, r, &w, 8), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_task_load(MICA_HANDLE_SELF, DIRTY_VA, 1, r, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 0, r, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, 0, 1, r, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, KERNEL_TEXT, 1, r, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, MICA_USER_END - PAGE, 2, r, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, ~0ull, r, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 1, 0, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 1, 8, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 1, MICA_PROT_WRITE | MICA_PROT_EXEC, &w, 8),
                   -MICA_EINVAL);
    /* The bytes must end inside the pages: at va + PAGE - 4, 8 do not. */
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA + PAGE - 4, 1, r, &w, 8), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 1, r, &w, ~0ull), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 1, r, (const void *)KERNEL_TEXT, 8),
                   -MICA_EFAULT);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 2, r, (const void *)(MICA_USER_END - 4), 8),
                   -MICA_EFAULT);
    /* Unreadable source on the second page: the first is unmapped again
     * (the load of TEXT_VA below finds it free). */
    void *one = (void *)(uintptr_t)DIRTY_VA;
    KTAP_EXPECT_EQ(mica_mem_map(one, PAGE, MICA_PROT_READ | MICA_PROT_WRITE), 0);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 2, r, one, 2 * PAGE), -MICA_EFAULT);
    mica_mem_unmap(one, PAGE);
    static uint8_t src[2 * PAGE] __attribute__((aligned(4096)));
    /* A page already mapped (the second): nothing of the call stays. */
    KTAP_EXPECT_EQ(mica_map_anon(h1, TEXT_VA + PAGE, 1, r), 0);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 2, r, src, sizeof src), -MICA_EEXIST);
    KTAP_EXPECT_EQ(mica_task_load(h1, TEXT_VA, 1, r, src, PAGE), 0);
    /* Started tasks are no longer built: MAP_ANON and MAP_COW serve them. */
    KTAP_EXPECT_EQ(mica_task_start(h1, TEXT_VA, 0, 0), 0);
    long late = mica_task_load(h1, DATA_VA, 1, r, &w, 8);
    KTAP_EXPECT(late == -MICA_EINVAL || late == -MICA_EDEAD);
    KTAP_EXPECT_EQ(mica_task_wait(h1), MICA_EXIT_KILLED); /* it ran zeros: a fault */
    mica_handle_close((uint64_t)nomap);
    mica_handle_close(h1);
}

/* A load that meets a mapped page part-way: the pages before it, filled
 * in runs of up to 64 frames and across a page-table boundary (2 MiB),
 * are all unmapped again and their frames freed; the ranges on either
 * side of the page then load. A long load passes preemption points. */
static void load_undone_when_it_meets_a_mapped_page(void)
{
    enum { BEFORE = 150, AFTER = 90 };
    const uint64_t va = 0x5f0000ull; /* 16 pages below a page-table boundary */
    const unsigned r = MICA_PROT_READ;
    for (int round = 0; round < 2; round++) { /* the first warms the caches */
        struct usage base = usage_now();
        long h = create("loadundo");
        KTAP_REQUIRE(h >= 0);
        const uint64_t h1 = (uint64_t)h, in_the_way = va + BEFORE * PAGE;
        KTAP_EXPECT_EQ(mica_map_anon(h1, in_the_way, 1, r), 0);
        int64_t points = mica_info(MICA_INFO_PREEMPT_POINTS);
        KTAP_EXPECT_EQ(mica_task_load(h1, va, BEFORE + 1 + AFTER, r, shared_page, PAGE),
                       -MICA_EEXIST);
        KTAP_EXPECT(mica_info(MICA_INFO_PREEMPT_POINTS) > points);
        /* Nothing of the failed call stays: the same pages load. */
        KTAP_EXPECT_EQ(mica_task_load(h1, va, BEFORE, r, shared_page, PAGE), 0);
        KTAP_EXPECT_EQ(mica_task_load(h1, in_the_way + PAGE, AFTER, r, NULL, 0), 0);
        KTAP_EXPECT_EQ(mica_map_anon(h1, va + (BEFORE - 1) * PAGE, 1, r), -MICA_EEXIST);
        KTAP_EXPECT_EQ(mica_handle_close(h1), 0);
        if (round)
            expect_baseline(&base);
    }
}

/* A task killed before it started is gone at once: a load into it is
 * refused with -MICA_EDEAD and takes no frame. */
static void load_into_a_killed_task_is_edead(void)
{
    long h = create("loadkilled");
    KTAP_REQUIRE(h >= 0);
    uint64_t w = 1;
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)h), 0);
    int64_t free0 = mica_info(MICA_INFO_FREE_FRAMES);
    KTAP_EXPECT_EQ(mica_task_load((uint64_t)h, TEXT_VA, 4, MICA_PROT_READ, &w, 8), -MICA_EDEAD);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), free0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), MICA_EXIT_KILLED);
    mica_handle_close((uint64_t)h);
}

/* A loader whose source goes away while it loads. The loader is a task
 * built here (so this program holds MAP on it): it makes a task of its own
 * and TASK_LOADs SRC_PAGES pages of its memory at SRC_VA into it, then
 * unmaps them there, LOADER_ROUNDS times, and exits with the first error
 * (0 if none). Meanwhile this program unmaps the upper half of the
 * loader's source, as a pager or parent may at any time. The loader has
 * no pager, so a copy that meets the hole fails with -MICA_EFAULT: no
 * kernel fault, nothing of the failed load left mapped or allocated. */
#define SRC_VA        0x10000000 /* plain numbers: they go into the asm too */
#define SRC_PAGES     1024u
#define LOADER_ARGS   0x600000
#define LOADER_ROUNDS 16
#define STR_(x) #x
#define STR(x) STR_(x)
MB_SNIPPET(loader, "movabsq $" STR(LOADER_ARGS) ", %rdi\n movl $28, %eax\n syscall\n"
                   "movq %rax, %r13\n movl $" STR(LOADER_ROUNDS) ", %r12d\n"
                   "1: movq %r13, %rdi\n movl $0x400000, %esi\n movl $1024, %edx\n"
                   "movl $1, %r10d\n movabsq $" STR(SRC_VA) ", %r8\n movl $0x400000, %r9d\n"
                   "movl $48, %eax\n syscall\n testq %rax, %rax\n jnz 2f\n"
                   "movq %r13, %rdi\n movl $0x400000, %esi\n movl $1024, %edx\n"
                   "movl $21, %eax\n syscall\n decl %r12d\n jnz 1b\n"
                   "2: movq %rax, %rdi\n movl $2, %eax\n syscall\n");

static void load_source_unmapped_meanwhile(void)
{
    static struct {
        struct mica_task_args a;
        char name[16];
    } args;
    for (int round = 0; round < 2; round++) { /* the first warms the caches */
        struct usage base = usage_now();
        long h = create("loader");
        KTAP_REQUIRE(h >= 0);
        const uint64_t t = (uint64_t)h, r = MICA_PROT_READ;
        args.a = (struct mica_task_args){.name = (const char *)(uintptr_t)(LOADER_ARGS +
                                                                          sizeof args.a),
                                         .flags = MICA_SPAWN_NO_PAGER};
        memcpy(args.name, "ldtarget", 9);
        KTAP_EXPECT_EQ(mica_task_load(t, TEXT_VA, 1, r | MICA_PROT_EXEC, mb_loader_start,
                                      LEN(loader)), 0);
        KTAP_EXPECT_EQ(mica_task_load(t, LOADER_ARGS, 1, r, &args, sizeof args), 0);
        KTAP_EXPECT_EQ(mica_task_load(t, SRC_VA, SRC_PAGES, r, NULL, 0), 0);
        KTAP_EXPECT_EQ(mica_task_start(t, TEXT_VA, 0, 0), 0);
        mica_yield(); /* let it start loading */
        KTAP_EXPECT_EQ(mica_unmap(t, SRC_VA + SRC_PAGES / 2 * PAGE, SRC_PAGES / 2), 0);
        int64_t status = mica_task_wait(t);
        KTAP_EXPECT(status == -MICA_EFAULT || status == 0);
        printf("# the loader ended with %lld\n", (long long)status);
        KTAP_EXPECT_EQ(mica_handle_close(t), 0);
        KTAP_EXPECT(tasks_drop_to(base.tasks, 100000));
        if (round)
            expect_baseline(&base);
    }
}

/* What the loader lays out for a tiny image: the text (filled), the data
 * page (no file bytes: bss) and the stack, which is what the pager is
 * told. The task never runs. */
static void loader_reports_the_layout(void)
{
    static struct tiny_image img;
    static struct mica_task_layout l;
    size_t len = tiny_elf_build(&img, mb_exit_word_start, LEN(exit_word));
    struct mica_spawn_args a = {.image = &img, .image_len = len, .name = "layout"};
    long h = mica_task_build(&a, &l);
    KTAP_REQUIRE(h >= 0);
    KTAP_EXPECT_EQ(l.entry, TINY_TEXT_VA);
    KTAP_EXPECT_EQ(l.nregions, 3);
    KTAP_EXPECT_EQ(l.region[0].va, TINY_TEXT_VA);
    KTAP_EXPECT_EQ(l.region[0].len, PAGE);
    KTAP_EXPECT_EQ(l.region[0].kind, MICA_REGION_IMAGE);
    KTAP_EXPECT_EQ(l.region[0].prot, MICA_PROT_READ | MICA_PROT_EXEC);
    KTAP_EXPECT_EQ(l.region[1].va, TINY_DATA_VA);
    KTAP_EXPECT_EQ(l.region[1].kind, MICA_REGION_ANON);
    KTAP_EXPECT_EQ(l.region[1].prot, MICA_PROT_READ | MICA_PROT_WRITE);
    KTAP_EXPECT_EQ(l.region[2].va, MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE);
    KTAP_EXPECT_EQ(l.region[2].len, MICA_USER_STACK_SIZE);
    KTAP_EXPECT_EQ(l.region[2].kind, MICA_REGION_STACK);
    mica_handle_close((uint64_t)h);
}

/* Bad images: the documented error, one line naming the problem, and no
 * task left. */
static void bad_elf_gives_enoexec(void)
{
    static struct tiny_image img;
    size_t len = tiny_elf_build(&img, mb_exit_word_start, LEN(exit_word));
    int64_t tasks = mica_info(MICA_INFO_TASKS);
    img.eh.ident[1] = 'X'; /* bad magic */
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, len, "badmagic"), -MICA_ENOEXEC);
    img.eh.ident[1] = 'E';
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, 100, "truncated"), -MICA_ENOEXEC);
    img.ph[1].vaddr = MICA_USER_MODULES; /* where the stack and start info live */
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, len, "toohigh"), -MICA_ENOEXEC);
    img.ph[1].vaddr = TINY_DATA_VA;
    img.ph[1].flags |= PF_X; /* writable and executable */
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, len, "wx"), -MICA_ENOEXEC);
    img.ph[1].flags &= ~PF_X;
    KTAP_EXPECT_EQ(tiny_spawn_image((const void *)KERNEL_TEXT, len, "kptr"), -MICA_EFAULT);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_TASKS), tasks);
}

static const struct ktap_case tests[] = {
    {"task_built_by_hand_runs", task_built_by_hand_runs},
    {"create_rejects_bad_arguments", create_rejects_bad_arguments},
    {"write_rejects_bad_arguments", write_rejects_bad_arguments},
    {"start_rejects_bad_arguments", start_rejects_bad_arguments},
    {"task_dropped_before_start_leaves_nothing", task_dropped_before_start_leaves_nothing},
    {"load_fills_and_zeroes", load_fills_and_zeroes},
    {"load_rejects_bad_arguments", load_rejects_bad_arguments},
    {"load_undone_when_it_meets_a_mapped_page", load_undone_when_it_meets_a_mapped_page},
    {"load_into_a_killed_task_is_edead", load_into_a_killed_task_is_edead},
    {"load_source_unmapped_meanwhile", load_source_unmapped_meanwhile},
    {"loader_reports_the_layout", loader_reports_the_layout},
    {"bad_elf_gives_enoexec", bad_elf_gives_enoexec},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

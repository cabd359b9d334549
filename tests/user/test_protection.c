/* User/kernel protection: children that misbehave in every way ring 3 can
 * (touch kernel memory, write read-only pages, execute data, privileged
 * instructions, faults) must be killed while this task and the kernel go
 * on; and system calls given hostile arguments (kernel, non-canonical,
 * wrapping or unmapped pointers, bad handles, missing rights, unknown
 * numbers, garbage images) must fail with the documented error instead
 * of crashing or succeeding. The children are tiny in-memory ELF images
 * (tiny_elf.h), so this program needs no handles. */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "misbehaviours.h"
#include "raw_syscall.h"
#include "subtest.h"
#include "tiny_elf.h"

#define KERNEL_TEXT  0xffffffff80200000ull
#define DIRECT_MAP   0xffff800000000000ull
#define SCRATCH_VA   0x0000300000000000ull /* nothing of ours is mapped here */
#define PAGE         4096ull

static int64_t tasks_at_start;

static int64_t run_snippet(const uint8_t *start, const uint8_t *end, const char *name)
{
    int spawned;
    int64_t status = tiny_run(start, (size_t)(end - start), name, &spawned);
    KTAP_EXPECT(spawned);
    return status;
}

/* The control for every kill below: a child that behaves ends with its own status. */
static void child_exit_status_reaches_parent(void)
{
    KTAP_EXPECT_EQ(run_snippet(mb_exit0_start, mb_exit0_end, "exit0"), 0);
    KTAP_EXPECT_EQ(run_snippet(mb_exit42_start, mb_exit42_end, "exit42"), 42);
}

static void seed_user_kernel_protection(void)
{
    bool nx = (mica_info(MICA_INFO_CPU_FEATURES) & 4) != 0;
    struct subtests s;

    subtest_begin(&s, MISBEHAVIOURS);
    for (size_t i = 0; i < MISBEHAVIOURS; i++) {
        const struct misbehaviour *m = &misbehaviours[i];
        if (m->needs_nx && !nx) {
            subtest_skip(&s, m->name, "the CPU has no NX");
            continue;
        }
        int64_t status = run_snippet(m->start, m->end, "crasher");
        subtest_result(&s, KTAP_EXPECT_EQ(status, MICA_EXIT_KILLED), m->name);
    }
}

/* After all the kills: this task still runs system calls, every child is
 * gone, and a new child still starts and exits normally. */
static void kernel_survives_misbehaving_children(void)
{
    KTAP_EXPECT_EQ(mica_null(), 0);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_TASKS), tasks_at_start);
    KTAP_EXPECT_EQ(run_snippet(mb_exit0_start, mb_exit0_end, "exit0"), 0);
}

static int64_t debug_write(uint64_t buf, uint64_t len)
{
    return raw_syscall(MICA_SYS_DEBUG_WRITE, buf, len, 0, 0, 0, 0);
}

static void syscall_rejects_kernel_pointer(void)
{
    KTAP_EXPECT_EQ(debug_write(KERNEL_TEXT, 16), -MICA_EFAULT);
    KTAP_EXPECT_EQ(debug_write(DIRECT_MAP, 16), -MICA_EFAULT);
    /* A user pointer whose range ends in the kernel half. */
    KTAP_EXPECT_EQ(debug_write(MICA_USER_END - 8, 16), -MICA_EFAULT);
}

static void syscall_rejects_noncanonical_pointer(void)
{
    KTAP_EXPECT_EQ(debug_write(0x0000800000000000ull, 8), -MICA_EFAULT);
    KTAP_EXPECT_EQ(debug_write(0x8000000000000000ull, 8), -MICA_EFAULT);
    KTAP_EXPECT_EQ(debug_write(0xfffe000000000000ull, 8), -MICA_EFAULT);
}

static void syscall_rejects_wrapping_length(void)
{
    static const char msg[] = "x";
    uint64_t p = (uint64_t)(uintptr_t)msg;
    KTAP_EXPECT_EQ(debug_write(p, ~0ull), -MICA_EFAULT);
    KTAP_EXPECT_EQ(debug_write(p, -p), -MICA_EFAULT);      /* p + len == 2^64 */
    KTAP_EXPECT_EQ(debug_write(p, -p + 16), -MICA_EFAULT); /* wraps to 16 */
}

static void syscall_rejects_unmapped_pointer(void)
{
    void *page = (void *)SCRATCH_VA;
    KTAP_EXPECT_EQ(debug_write(SCRATCH_VA, 8), -MICA_EFAULT);
    if (!KTAP_EXPECT_EQ(mica_mem_map(page, PAGE, MICA_PROT_READ | MICA_PROT_WRITE), 0))
        return;
    memcpy((char *)page + PAGE - 4, "ok\n", 4);
    /* Starts mapped, runs into the unmapped next page: the copy faults midway. */
    KTAP_EXPECT_EQ(debug_write(SCRATCH_VA + PAGE - 4, 16), -MICA_EFAULT);
    KTAP_EXPECT_EQ(mica_mem_unmap(page, PAGE), 0);
    KTAP_EXPECT_EQ(debug_write(SCRATCH_VA + PAGE - 4, 3), -MICA_EFAULT);
}

static void syscall_rejects_bad_handle_numbers(void)
{
    static const uint64_t bad[] = {~0ull, MICA_HANDLE_MAX, 1ull << 40, 0x8000000000000000ull,
                                   MICA_HANDLE_MAX - 1 /* in range, never used */};
    struct mica_msg m = {.label = 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        KTAP_EXPECT_EQ(mica_ipc_send(bad[i], &m, MICA_IPC_NONBLOCK), -MICA_EBADH);
        KTAP_EXPECT_EQ(mica_ipc_recv(bad[i], &m, MICA_IPC_NONBLOCK), -MICA_EBADH);
        KTAP_EXPECT_EQ(mica_handle_close(bad[i]), -MICA_EBADH);
        KTAP_EXPECT_EQ(mica_handle_mint(bad[i], MICA_RIGHT_SEND, 0), -MICA_EBADH);
        KTAP_EXPECT_EQ(mica_task_wait(bad[i]), -MICA_EBADH);
    }
}

static void syscall_enforces_handle_rights(void)
{
    long ep = mica_endpoint_create();
    if (!KTAP_EXPECT(ep >= 0))
        return;
    struct mica_msg m = {.label = 1};
    long recv_only = mica_handle_mint((uint64_t)ep, MICA_RIGHT_RECV, 0);
    long send_only = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 0);
    KTAP_EXPECT(recv_only >= 0 && send_only >= 0);
    KTAP_EXPECT_EQ(mica_ipc_send((uint64_t)recv_only, &m, MICA_IPC_NONBLOCK), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_ipc_recv((uint64_t)send_only, &m, MICA_IPC_NONBLOCK), -MICA_EPERM);
    /* No GRANT: it may not be minted further; rights never grow. */
    KTAP_EXPECT_EQ(mica_handle_mint((uint64_t)send_only, MICA_RIGHT_SEND, 0), -MICA_EPERM);
    /* Unknown rights bits are refused, not ignored. */
    KTAP_EXPECT_EQ(mica_handle_mint((uint64_t)ep, MICA_RIGHTS_ALL + 1u, 0), -MICA_EINVAL);
    /* Wrong object type: an endpoint is not a task. */
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)ep), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_set_frame_quota((uint64_t)ep, 16), -MICA_EBADH);
    /* A pager may not lift its own frame quota. */
    KTAP_EXPECT_EQ(mica_set_frame_quota(MICA_HANDLE_SELF, 0), -MICA_EINVAL);
    mica_handle_close((uint64_t)recv_only);
    mica_handle_close((uint64_t)send_only);
    mica_handle_close((uint64_t)ep);
}

static void syscall_rejects_unknown_number(void)
{
    KTAP_EXPECT_EQ(raw_syscall(MICA_SYS_COUNT, 0, 0, 0, 0, 0, 0), -MICA_ENOSYS);
    KTAP_EXPECT_EQ(raw_syscall(MICA_SYS_NUMBER_MASK, 0, 0, 0, 0, 0, 0), -MICA_ENOSYS);
    KTAP_EXPECT_EQ(raw_syscall(1000, 0, 0, 0, 0, 0, 0), -MICA_ENOSYS);
    KTAP_EXPECT_EQ(raw_syscall(MICA_SYS_NULL, 0, 0, 0, 0, 0, 0), 0);
}

/* Queries: the known ones answer, an unknown one is refused. */
static void info_answers_known_queries_only(void)
{
    uint64_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    int64_t boot = mica_info(MICA_INFO_BOOT_TSC);
    KTAP_EXPECT(boot > 0);                       /* the kernel ran before us */
    KTAP_EXPECT((uint64_t)boot < (hi << 32 | lo)); /* and started before now */
    KTAP_EXPECT(mica_info(MICA_INFO_FREE_FRAMES_DRAINED) > 0);
    KTAP_EXPECT_EQ(mica_info(1000), -MICA_EINVAL);
    KTAP_EXPECT_EQ(raw_syscall(MICA_SYS_INFO, ~0ull, 0, 0, 0, 0, 0), -MICA_EINVAL);
}

static void mem_map_rejects_kernel_address(void)
{
    unsigned rw = MICA_PROT_READ | MICA_PROT_WRITE;
    KTAP_EXPECT_EQ(mica_mem_map((void *)KERNEL_TEXT, PAGE, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_mem_map((void *)DIRECT_MAP, PAGE, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_mem_map((void *)(MICA_USER_END - PAGE), 2 * PAGE, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_mem_map((void *)0x0000800000000000ull, PAGE, rw), -MICA_EINVAL);
}

static void mem_map_rejects_unaligned_range(void)
{
    unsigned rw = MICA_PROT_READ | MICA_PROT_WRITE;
    KTAP_EXPECT_EQ(mica_mem_map((void *)(SCRATCH_VA + 1), PAGE, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_mem_map((void *)(SCRATCH_VA + 2048), PAGE, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_mem_map((void *)SCRATCH_VA, 100, rw), -MICA_EINVAL);
    /* Writable and executable at once is refused (W^X). */
    KTAP_EXPECT_EQ(mica_mem_map((void *)SCRATCH_VA, PAGE, rw | MICA_PROT_EXEC), -MICA_EINVAL);
}

static void task_spawn_rejects_bad_image(void)
{
    static struct tiny_image img;
    static uint8_t garbage[4096];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)(i * 131 + 7);
    KTAP_EXPECT_EQ(tiny_spawn_image(garbage, sizeof garbage, "garbage"), -MICA_ENOEXEC);

    size_t len = tiny_elf_build(&img, mb_exit0_start, (size_t)(mb_exit0_end - mb_exit0_start));
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, 40, "truncated"), -MICA_ENOEXEC);
    img.eh.machine = 3; /* i386 */
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, len, "i386"), -MICA_ENOEXEC);
    img.eh.machine = 62;
    img.ph[0].flags |= PF_W; /* writable and executable */
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, len, "wx"), -MICA_ENOEXEC);
    img.ph[0].flags &= ~PF_W;
    img.eh.entry = TINY_DATA_VA; /* entry in a non-executable segment */
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, len, "nx-entry"), -MICA_ENOEXEC);
    img.eh.entry = TINY_TEXT_VA;
    img.ph[0].vaddr = KERNEL_TEXT; /* a segment in the kernel half */
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, len, "kernel-seg"), -MICA_ENOEXEC);
    img.ph[0].vaddr = TINY_TEXT_VA;
    img.ph[0].filesz = img.ph[0].memsz = 1ull << 40; /* file range past the image */
    KTAP_EXPECT_EQ(tiny_spawn_image(&img, len, "past-end"), -MICA_ENOEXEC);
    /* The image and the arguments block themselves in the kernel half. */
    KTAP_EXPECT_EQ(tiny_spawn_image((const void *)KERNEL_TEXT, 4096, "kptr"), -MICA_EFAULT);
    KTAP_EXPECT_EQ(raw_syscall(MICA_SYS_TASK_CREATE, KERNEL_TEXT, 0, 0, 0, 0, 0), -MICA_EFAULT);
    KTAP_EXPECT_EQ(raw_syscall(14, 0, 0, 0, 0, 0, 0), -MICA_ENOSYS); /* the old TASK_SPAWN */
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_TASKS), tasks_at_start);
}

static const struct ktap_case tests[] = {
    {"child_exit_status_reaches_parent", child_exit_status_reaches_parent},
    {"seed_user_kernel_protection", seed_user_kernel_protection},
    {"kernel_survives_misbehaving_children", kernel_survives_misbehaving_children},
    {"syscall_rejects_kernel_pointer", syscall_rejects_kernel_pointer},
    {"syscall_rejects_noncanonical_pointer", syscall_rejects_noncanonical_pointer},
    {"syscall_rejects_wrapping_length", syscall_rejects_wrapping_length},
    {"syscall_rejects_unmapped_pointer", syscall_rejects_unmapped_pointer},
    {"syscall_rejects_bad_handle_numbers", syscall_rejects_bad_handle_numbers},
    {"syscall_enforces_handle_rights", syscall_enforces_handle_rights},
    {"syscall_rejects_unknown_number", syscall_rejects_unknown_number},
    {"info_answers_known_queries_only", info_answers_known_queries_only},
    {"mem_map_rejects_kernel_address", mem_map_rejects_kernel_address},
    {"mem_map_rejects_unaligned_range", mem_map_rejects_unaligned_range},
    {"task_spawn_rejects_bad_image", task_spawn_rejects_bad_image},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    tasks_at_start = mica_info(MICA_INFO_TASKS);
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

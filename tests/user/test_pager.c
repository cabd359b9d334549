/* The ring-3 pager: page faults sent to a pager over IPC and resolved with
 * demand-zero memory (servers/pager, mica/vm.h), the fault message itself
 * (this program acting as a child's pager), the kill paths (a fault outside
 * any region, a dead pager, no pager at all), and the paging system calls'
 * argument checks. init starts it with "pager:pager": the grant "pager"
 * is its handle to servers/pager, which is also its registered pager. Children
 * are tiny in-memory images (tiny_elf.h). */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "raw_syscall.h"
#include "tiny_elf.h"

#define PAGE      4096u
#define FAR_VA    "0x500000000000" /* outside every pager region */
#define FAR_ADDR  0x500000000000ull

#define EXIT0 "xorl %edi, %edi\n movl $2, %eax\n syscall\n ud2\n"
#define SNIPPET(name, body)                                              \
    __asm__(".pushsection .rodata.pager_children, \"a\"\n"              \
            "pc_" #name "_start:\n" body EXIT0 "pc_" #name "_end:\n"    \
            ".popsection\n");                                           \
    extern const uint8_t pc_##name##_start[], pc_##name##_end[]

/* Read FAR_ADDR, then exit(0). */
SNIPPET(read_far, "movabsq $" FAR_VA ", %rax\n movq (%rax), %rax\n");
/* Store 42 at FAR_ADDR, exit with what reads back. */
SNIPPET(write_far, "movabsq $" FAR_VA ", %rax\n movq $42, (%rax)\n movq (%rax), %rdi\n"
                   "movl $2, %eax\n syscall\n");

static struct tiny_image img;

/* Spawn a child running snippet [s, e) with spawn flags and pager handle.
 * Returns the task handle or an error. */
static long spawn_child(const uint8_t *s, const uint8_t *e, const char *name, uint64_t flags,
                        uint64_t pager)
{
    size_t len = tiny_elf_build(&img, s, (size_t)(e - s));
    struct mica_spawn_args a = {.image = &img, .image_len = len, .name = name, .args = "",
                                .flags = flags, .pager = pager};
    return mica_task_spawn(&a);
}

static int64_t wait_close(long h)
{
    int64_t status = mica_task_wait((uint64_t)h);
    mica_handle_close((uint64_t)h);
    return status;
}

/* Receive one message on ep, giving the child time to fault; 0 or error. */
static long recv_fault(uint64_t ep, struct mica_msg *m)
{
    long rc = -MICA_EAGAIN;
    for (unsigned i = 0; i < 10000 && rc == -MICA_EAGAIN; i++) {
        rc = mica_ipc_recv(ep, m, MICA_IPC_NONBLOCK);
        if (rc == -MICA_EAGAIN)
            mica_yield();
    }
    return rc;
}

/* The seed test: reads and writes across untouched pages of a region. */
static void seed_demand_page_fault(void)
{
    enum { NPAGES = 8 };
    int64_t free0 = mica_info(MICA_INFO_FREE_FRAMES);
    uint64_t *p = vm_alloc(NPAGES * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    KTAP_REQUIRE(p != NULL);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), free0); /* nothing mapped yet */
    const size_t words = PAGE / sizeof *p;
    bool zero = true, same = true;
    /* Reads first on the even pages, writes first on the odd ones. */
    for (size_t i = 0; i < NPAGES; i++) {
        uint64_t *pg = p + i * words;
        if (i % 2 == 0)
            zero &= pg[0] == 0 && pg[words - 1] == 0 && pg[words / 2] == 0;
        pg[words - 1] = 0x1111111111111111ull * (i + 1);
        pg[3] = i;
    }
    for (size_t i = 0; i < NPAGES; i++) {
        uint64_t *pg = p + i * words;
        same &= pg[words - 1] == 0x1111111111111111ull * (i + 1) && pg[3] == i;
        zero &= pg[0] == 0 && pg[4] == 0 && pg[words - 2] == 0;
    }
    KTAP_EXPECT(zero);
    KTAP_EXPECT(same);
    KTAP_EXPECT(free0 - mica_info(MICA_INFO_FREE_FRAMES) >= NPAGES);
    KTAP_EXPECT_EQ(vm_free(p, NPAGES * PAGE), 0);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), free0);

    /* A second region lies elsewhere, separated by a guard page. */
    uint8_t *a = vm_alloc(1, MICA_PROT_READ | MICA_PROT_WRITE);
    uint8_t *b = vm_alloc(PAGE, MICA_PROT_READ);
    KTAP_REQUIRE(a != NULL && b != NULL);
    KTAP_EXPECT(b >= a + 2 * PAGE);
    a[PAGE - 1] = 7;
    KTAP_EXPECT_EQ(a[PAGE - 1], 7);
    KTAP_EXPECT_EQ(b[100], 0); /* read-only region: reads are fine */
    KTAP_EXPECT_EQ(vm_free(a, PAGE), 0);
    KTAP_EXPECT_EQ(vm_free(b, PAGE), 0);
}

static void vm_alloc_rejects_bad_arguments(void)
{
    KTAP_EXPECT(vm_alloc(0, MICA_PROT_READ) == NULL);
    KTAP_EXPECT(vm_alloc(PAGE, 0) == NULL);
    KTAP_EXPECT(vm_alloc(PAGE, MICA_PROT_WRITE | MICA_PROT_EXEC) == NULL);
    KTAP_EXPECT(vm_alloc(PAGE, 0x100) == NULL);
    KTAP_EXPECT(vm_alloc(1ull << 62, MICA_PROT_READ) == NULL);
    KTAP_EXPECT_EQ(vm_free((void *)FAR_ADDR, PAGE), -MICA_ENOENT);
}

/* This program is the child's pager: check the message, map, resume. */
static void fault_message_and_resume(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long send = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 0x77);
    KTAP_REQUIRE(send >= 0);
    long child = spawn_child(pc_write_far_start, pc_write_far_end, "pf-own-pager",
                             MICA_SPAWN_PAGER, (uint64_t)send);
    KTAP_REQUIRE(child >= 0);
    struct mica_msg m;
    KTAP_EXPECT_EQ(recv_fault((uint64_t)ep, &m), 0);
    KTAP_EXPECT_EQ(m.badge, 0x77);
    KTAP_EXPECT_EQ(m.label, MICA_LABEL_FAULT);
    KTAP_EXPECT_EQ(m.w[0], FAR_ADDR);
    KTAP_EXPECT_EQ(m.w[1], MICA_FAULT_WRITE);
    KTAP_EXPECT(m.w[2] >= TINY_TEXT_VA && m.w[2] < TINY_TEXT_VA + TINY_CODE_MAX);
    KTAP_EXPECT(m.w[3] != 0);
    KTAP_EXPECT_EQ(mica_map_anon((uint64_t)child, FAR_ADDR, 1,
                                 MICA_PROT_READ | MICA_PROT_WRITE), 0);
    struct mica_msg resume = {.label = 0};
    KTAP_EXPECT_EQ(mica_ipc_reply(&resume), 0);
    KTAP_EXPECT_EQ(wait_close(child), 42); /* the store happened, then the load */
    mica_handle_close((uint64_t)send);
    mica_handle_close((uint64_t)ep);
}

/* MICA_SYS_MAP_REPLY_RECV with the NONBLOCK flag: the map, the empty
 * reply, then -MICA_EAGAIN when nothing waits to be received. */
static int64_t map_reply_nonblock(uint64_t ep, uint64_t task, uint64_t va, uint64_t npages,
                                  uint64_t prot, uint64_t op)
{
    return raw_syscall(MICA_SYS_MAP_REPLY_RECV | MICA_SYS_FLAG_NONBLOCK, ep, task, va, npages,
                       prot, op);
}

/* This program is the child's pager and answers with the fused call. Every
 * hostile argument is refused with nothing mapped, nothing charged and the
 * fault still held; then a good call maps, resumes the child and receives. */
static void map_reply_recv_answers_a_fault(void)
{
    const unsigned rw = MICA_PROT_READ | MICA_PROT_WRITE;
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long send = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 0x78);
    KTAP_REQUIRE(send >= 0);
    long child = spawn_child(pc_write_far_start, pc_write_far_end, "pf-fused",
                             MICA_SPAWN_PAGER, (uint64_t)send);
    KTAP_REQUIRE(child >= 0);
    long waiter = mica_handle_mint((uint64_t)child, MICA_RIGHT_WAIT, 0);
    KTAP_REQUIRE(waiter >= 0);
    struct mica_msg m;
    KTAP_EXPECT_EQ(recv_fault((uint64_t)ep, &m), 0);
    KTAP_EXPECT_EQ(m.w[0], FAR_ADDR);
    const uint64_t e = (uint64_t)ep, t = (uint64_t)child;
    int64_t charged0 = mica_info(MICA_INFO_FRAMES_CHARGED);
    struct mica_msg next;
    /* Handles: the receive side first, then the task. */
    KTAP_EXPECT_EQ(mica_map_reply_recv(200, t, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON, &next),
                   -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_map_reply_recv((uint64_t)send, t, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON,
                                       &next), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_map_reply_recv(t, t, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON, &next),
                   -MICA_EBADH); /* a task handle is no endpoint */
    KTAP_EXPECT_EQ(mica_map_reply_recv(e, 200, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON, &next),
                   -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_map_reply_recv(e, (uint64_t)waiter, FAR_ADDR, 1, rw,
                                       MICA_MAP_REPLY_ANON, &next), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_map_reply_recv(e, e, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON, &next),
                   -MICA_EBADH); /* an endpoint is no task */
    /* Ranges, protections and ops, as MAP_ANON and MAP_COW check them. */
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR + 1, 1, rw, MICA_MAP_REPLY_ANON),
                   -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, 0, 1, rw, MICA_MAP_REPLY_ANON), -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, 0xffff800000000000ull, 1, rw, MICA_MAP_REPLY_ANON),
                   -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, MICA_USER_END - PAGE, 2, rw, MICA_MAP_REPLY_ANON),
                   -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 0, rw, MICA_MAP_REPLY_ANON), -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, ~0ull, rw, MICA_MAP_REPLY_ANON),
                   -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 1, MICA_PROT_WRITE | MICA_PROT_EXEC,
                                      MICA_MAP_REPLY_ANON), -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 1, 0, MICA_MAP_REPLY_ANON), -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 1, (1ull << 32) | rw, MICA_MAP_REPLY_ANON),
                   -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 1, rw, 2), -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 1, rw, ~0ull), -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 2, rw, MICA_MAP_REPLY_COW), -MICA_EINVAL);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 1, rw, MICA_MAP_REPLY_COW),
                   -MICA_EINVAL); /* no copy-on-write share there */
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, TINY_TEXT_VA, 1, rw, MICA_MAP_REPLY_ANON),
                   -MICA_EEXIST); /* the child's text is mapped */
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FRAMES_CHARGED), charged0); /* nothing was mapped */
    /* The fault is still held: the good call maps, resumes the child and
     * finds nothing more to receive. */
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(wait_close(child), 42); /* the store happened, then the load */
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FRAMES_CHARGED), charged0); /* its frame came back */
    KTAP_EXPECT_EQ(mica_ipc_reply(&(struct mica_msg){.label = 0}), -MICA_ENOENT); /* answered */
    mica_handle_close((uint64_t)waiter);
    mica_handle_close((uint64_t)send);
    mica_handle_close((uint64_t)ep);
}

/* Without a call held the fused call maps and receives, like
 * IPC_REPLY_RECV: here into this program itself. */
static void map_reply_recv_without_a_caller(void)
{
    const uint64_t va = FAR_ADDR + 32 * PAGE;
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    KTAP_EXPECT_EQ(map_reply_nonblock((uint64_t)ep, MICA_HANDLE_SELF, va, 2,
                                      MICA_PROT_READ | MICA_PROT_WRITE, MICA_MAP_REPLY_ANON),
                   -MICA_EAGAIN);
    volatile uint64_t *p = (volatile uint64_t *)va;
    KTAP_EXPECT_EQ(p[0], 0);
    KTAP_EXPECT_EQ(p[PAGE / 8 * 2 - 1], 0); /* both pages, zeroed */
    p[0] = 5;
    KTAP_EXPECT_EQ(p[0], 5);
    KTAP_EXPECT_EQ(mica_unmap(MICA_HANDLE_SELF, va, 2), 0);
    mica_handle_close((uint64_t)ep);
}

/* Call handle 0 with label 5 and words 1..4, then exit with 7 plus every
 * bit of rax and of the reply (label, words): 7 when the answer is the
 * empty reply. */
SNIPPET(call_h0, "xorl %edi, %edi\n movl $5, %esi\n movl $1, %edx\n movl $2, %r10d\n"
                 "movl $3, %r8d\n movl $4, %r9d\n movl $6, %eax\n syscall\n"
                 "orq %rsi, %rax\n orq %rdx, %rax\n orq %r10, %rax\n orq %r8, %rax\n"
                 "orq %r9, %rax\n leaq 7(%rax), %rdi\n movl $2, %eax\n syscall\n");

/* The held call is an ordinary IPC call, not a fault: the fused call
 * answers it as IPC_REPLY_RECV with an empty reply would (label 0, zero
 * words, result 0) and maps what it was told to, here into this program;
 * nothing of the map reaches the caller. */
static void map_reply_recv_answers_an_ordinary_call(void)
{
    const uint64_t va = FAR_ADDR + 48 * PAGE;
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long send = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0x7a);
    KTAP_REQUIRE(send >= 0);
    const uint64_t hs[1] = {(uint64_t)send};
    long child = tiny_spawn(pc_call_h0_start, (size_t)(pc_call_h0_end - pc_call_h0_start),
                            "pf-caller", hs, 1, -1);
    KTAP_REQUIRE(child >= 0);
    struct mica_msg m;
    KTAP_EXPECT_EQ(recv_fault((uint64_t)ep, &m), 0);
    KTAP_EXPECT_EQ(m.label, 5);
    KTAP_EXPECT_EQ(m.badge, 0x7a);
    KTAP_EXPECT_EQ(m.w[3], 4);
    KTAP_EXPECT_EQ(map_reply_nonblock((uint64_t)ep, MICA_HANDLE_SELF, va, 1,
                                      MICA_PROT_READ | MICA_PROT_WRITE, MICA_MAP_REPLY_ANON),
                   -MICA_EAGAIN);
    KTAP_EXPECT_EQ(wait_close(child), 7);
    KTAP_EXPECT_EQ(*(volatile uint64_t *)va, 0);
    KTAP_EXPECT_EQ(mica_unmap(MICA_HANDLE_SELF, va, 1), 0);
    mica_handle_close((uint64_t)send);
    mica_handle_close((uint64_t)ep);
}

/* The fused call names another task than the one whose fault it answers:
 * the map goes there (as MAP_ANON with that handle would) and the faulting
 * child, resumed without its page, faults again at the same address; then
 * the same call twice for one fault: the second maps nothing (the page is
 * there) and replies to nobody. Every frame charged comes back. */
static void map_reply_recv_into_another_task(void)
{
    const unsigned rw = MICA_PROT_READ | MICA_PROT_WRITE;
    int64_t charged0 = mica_info(MICA_INFO_FRAMES_CHARGED);
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long send = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 0x7b);
    KTAP_REQUIRE(send >= 0);
    struct mica_task_args a = {.name = "pf-other", .flags = MICA_SPAWN_NO_PAGER};
    long other = mica_task_create(&a);
    KTAP_REQUIRE(other >= 0);
    long child = spawn_child(pc_write_far_start, pc_write_far_end, "pf-fused-other",
                             MICA_SPAWN_PAGER, (uint64_t)send);
    KTAP_REQUIRE(child >= 0);
    const uint64_t e = (uint64_t)ep, t = (uint64_t)child;
    struct mica_msg m;
    KTAP_EXPECT_EQ(recv_fault(e, &m), 0);
    KTAP_EXPECT_EQ(m.w[0], FAR_ADDR);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, (uint64_t)other, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON),
                   -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_map_anon((uint64_t)other, FAR_ADDR, 1, rw), -MICA_EEXIST);
    /* Resumed without the page: the same fault again, nothing worse. */
    KTAP_EXPECT_EQ(recv_fault(e, &m), 0);
    KTAP_EXPECT_EQ(m.label, MICA_LABEL_FAULT);
    KTAP_EXPECT_EQ(m.w[0], FAR_ADDR);
    KTAP_EXPECT_EQ(map_reply_nonblock(e, t, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON), -MICA_EAGAIN);
    /* Twice for one fault: the page is mapped (or the child already
     * gone), and no call is held any more. */
    long again = map_reply_nonblock(e, t, FAR_ADDR, 1, rw, MICA_MAP_REPLY_ANON);
    KTAP_EXPECT(again == -MICA_EEXIST || again == -MICA_EDEAD);
    KTAP_EXPECT_EQ(mica_ipc_reply(&(struct mica_msg){.label = 0}), -MICA_ENOENT);
    KTAP_EXPECT_EQ(wait_close(child), 42);
    mica_handle_close((uint64_t)other);
    mica_handle_close((uint64_t)send);
    mica_handle_close(e);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FRAMES_CHARGED), charged0);
}

/* The client is killed while its fault is held: its call is dropped (no
 * call is left to answer), whatever the fused call maps into it comes
 * back with its end, and a closed handle maps nothing. */
static void map_reply_recv_after_the_client_was_killed(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long child = spawn_child(pc_read_far_start, pc_read_far_end, "pf-fused-killed",
                             MICA_SPAWN_PAGER, (uint64_t)ep);
    KTAP_REQUIRE(child >= 0);
    struct mica_msg m;
    KTAP_EXPECT_EQ(recv_fault((uint64_t)ep, &m), 0);
    int64_t charged0 = mica_info(MICA_INFO_FRAMES_CHARGED);
    KTAP_EXPECT_EQ(mica_task_kill((uint64_t)child), 0);
    /* Killed but not yet unwound (it has not run since), the task may
     * still take the map, as it would take MAP_ANON; its end frees it. */
    long rc = map_reply_nonblock((uint64_t)ep, (uint64_t)child, FAR_ADDR, 1, MICA_PROT_READ,
                                 MICA_MAP_REPLY_ANON);
    KTAP_EXPECT(rc == -MICA_EDEAD || rc == -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_ipc_reply(&(struct mica_msg){.label = 0}), -MICA_ENOENT);
    KTAP_EXPECT_EQ(wait_close(child), MICA_EXIT_KILLED);
    KTAP_EXPECT_EQ(map_reply_nonblock((uint64_t)ep, (uint64_t)child, FAR_ADDR, 1,
                                      MICA_PROT_READ, MICA_MAP_REPLY_ANON), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FRAMES_CHARGED), charged0);
    mica_handle_close((uint64_t)ep);
}

/* A kill reply ends the child and only the child. */
static void fault_kill_reply_kills_the_child(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long child = spawn_child(pc_read_far_start, pc_read_far_end, "pf-kill-reply",
                             MICA_SPAWN_PAGER, (uint64_t)ep);
    KTAP_REQUIRE(child >= 0);
    struct mica_msg m;
    KTAP_EXPECT_EQ(recv_fault((uint64_t)ep, &m), 0);
    KTAP_EXPECT_EQ(m.w[1], MICA_FAULT_READ);
    struct mica_msg kill = {.label = MICA_FAULT_KILL, .w = {MICA_FAULT_REASON_ACCESS}};
    KTAP_EXPECT_EQ(mica_ipc_reply(&kill), 0);
    KTAP_EXPECT_EQ(wait_close(child), MICA_EXIT_KILLED);
    mica_handle_close((uint64_t)ep);
}

/* The child is spawned as a client of this program's pager
 * (servers/pager) of its own, with no region at FAR_ADDR: the child is
 * killed, this program goes on. */
static void fault_outside_region_kills_only_the_child(void)
{
    long child = spawn_child(pc_read_far_start, pc_read_far_end, "pf-outside", 0, 0);
    KTAP_REQUIRE(child >= 0);
    KTAP_EXPECT_EQ(wait_close(child), MICA_EXIT_KILLED);
    uint32_t *p = vm_alloc(PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    KTAP_REQUIRE(p != NULL); /* our pager still serves us */
    p[1] = 5;
    KTAP_EXPECT_EQ(p[1], 5);
    KTAP_EXPECT_EQ(vm_free(p, PAGE), 0);
}

/* The child's pager endpoint loses its last receiver: killed, not stuck. */
static void dead_pager_kills_the_task(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long send = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 9);
    KTAP_REQUIRE(send >= 0);
    long child = spawn_child(pc_read_far_start, pc_read_far_end, "pf-dead-pager",
                             MICA_SPAWN_PAGER, (uint64_t)send);
    KTAP_REQUIRE(child >= 0);
    mica_yield(); /* let it fault and queue, usually */
    mica_handle_close((uint64_t)ep);
    KTAP_EXPECT_EQ(wait_close(child), MICA_EXIT_KILLED);
    mica_handle_close((uint64_t)send);
}

static void task_without_pager_is_killed(void)
{
    long child = spawn_child(pc_read_far_start, pc_read_far_end, "pf-no-pager",
                             MICA_SPAWN_NO_PAGER, 0);
    KTAP_REQUIRE(child >= 0);
    KTAP_EXPECT_EQ(wait_close(child), MICA_EXIT_KILLED);
    KTAP_EXPECT_EQ(spawn_child(pc_read_far_start, pc_read_far_end, "x",
                               MICA_SPAWN_PAGER | MICA_SPAWN_NO_PAGER, 0), -MICA_EINVAL);
    KTAP_EXPECT_EQ(spawn_child(pc_read_far_start, pc_read_far_end, "x", MICA_SPAWN_PAGER,
                               200), -MICA_EBADH);
}

static void paging_syscalls_check_arguments(void)
{
    const uint64_t self = MICA_HANDLE_SELF, va = FAR_ADDR + 16 * PAGE;
    const unsigned rw = MICA_PROT_READ | MICA_PROT_WRITE;
    KTAP_EXPECT_EQ(mica_map_anon(self, va + 1, 1, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_map_anon(self, 0xffff800000000000ull, 1, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_map_anon(self, MICA_USER_END - PAGE, 2, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_map_anon(self, va, 0, rw), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_map_anon(self, va, 1, MICA_PROT_WRITE | MICA_PROT_EXEC), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_map_anon(200, va, 1, rw), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_map_anon(self, va, 2, rw), 0);
    KTAP_EXPECT_EQ(mica_map_anon(self, va + PAGE, 1, rw), -MICA_EEXIST);
    volatile uint64_t *p = (volatile uint64_t *)va;
    p[0] = 3;
    KTAP_EXPECT_EQ(mica_protect(self, va, 2, MICA_PROT_READ), 0);
    KTAP_EXPECT_EQ(p[0], 3);
    KTAP_EXPECT_EQ(mica_protect(self, va, 3, MICA_PROT_READ), -MICA_ENOENT);
    KTAP_EXPECT_EQ(mica_unmap(self, va, 2), 0);
    KTAP_EXPECT_EQ(mica_protect(self, va, 1, MICA_PROT_READ), -MICA_ENOENT);

    /* A task handle without MICA_RIGHT_MAP maps nothing. */
    long child = spawn_child(pc_read_far_start, pc_read_far_end, "pf-rights",
                             MICA_SPAWN_NO_PAGER, 0);
    KTAP_REQUIRE(child >= 0);
    long waiter = mica_handle_mint((uint64_t)child, MICA_RIGHT_WAIT, 0);
    KTAP_REQUIRE(waiter >= 0);
    KTAP_EXPECT_EQ(mica_map_anon((uint64_t)waiter, va, 1, rw), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_task_set_pager((uint64_t)waiter, 0), -MICA_EPERM);
    mica_handle_close((uint64_t)waiter);
    KTAP_EXPECT_EQ(wait_close(child), MICA_EXIT_KILLED);
}

/* mica_debug_write of a buffer in an allocated but untouched region: the
 * kernel's copy faults, the pager maps the page, the copy resumes. The
 * pages hold zeros, so the console gets one NUL byte inside a comment. */
static void kernel_copy_faults_resume_through_pager(void)
{
    uint8_t *p = vm_alloc(3 * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    KTAP_REQUIRE(p != NULL);
    int64_t free0 = mica_info(MICA_INFO_FREE_FRAMES);
    printf("# kernel copy from an untouched page: [");
    stdio_flush();
    KTAP_EXPECT_EQ(mica_debug_write((const char *)p, 1), 1);
    printf("]\n");
    KTAP_EXPECT(free0 - mica_info(MICA_INFO_FREE_FRAMES) >= 1); /* the pager mapped it */
    KTAP_EXPECT_EQ(p[0], 0);
    /* Across a touched page into an untouched one. */
    static const char text[] = "# kernel copy across a page boundary: [";
    uint8_t *s = p + 2 * PAGE - (sizeof text - 1);
    memcpy(s, text, sizeof text - 1);
    KTAP_EXPECT_EQ(mica_debug_write((const char *)s, sizeof text), (long)sizeof text);
    printf("]\n");
    KTAP_EXPECT(free0 - mica_info(MICA_INFO_FREE_FRAMES) >= 3);
    KTAP_EXPECT_EQ(vm_free(p, 3 * PAGE), 0);
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_FREE_FRAMES), free0);
}

static const struct ktap_case tests[] = {
    {"seed_demand_page_fault", seed_demand_page_fault},
    {"vm_alloc_rejects_bad_arguments", vm_alloc_rejects_bad_arguments},
    {"fault_message_and_resume", fault_message_and_resume},
    {"map_reply_recv_answers_a_fault", map_reply_recv_answers_a_fault},
    {"map_reply_recv_without_a_caller", map_reply_recv_without_a_caller},
    {"map_reply_recv_answers_an_ordinary_call", map_reply_recv_answers_an_ordinary_call},
    {"map_reply_recv_into_another_task", map_reply_recv_into_another_task},
    {"map_reply_recv_after_the_client_was_killed", map_reply_recv_after_the_client_was_killed},
    {"fault_kill_reply_kills_the_child", fault_kill_reply_kills_the_child},
    {"fault_outside_region_kills_only_the_child", fault_outside_region_kills_only_the_child},
    {"dead_pager_kills_the_task", dead_pager_kills_the_task},
    {"task_without_pager_is_killed", task_without_pager_is_killed},
    {"paging_syscalls_check_arguments", paging_syscalls_check_arguments},
    {"kernel_copy_faults_resume_through_pager", kernel_copy_faults_resume_through_pager},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}

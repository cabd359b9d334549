/* Synchronous IPC between two address spaces: this task calls the
 * ipc_echo server (the grant "ipc_echo", a send copy of its endpoint
 * given by init)
 * and checks words, badges, data buffers and handle transfer end to end,
 * then the errors for empty endpoints, bad handles, missing rights and
 * closed handles. */
#include <mica/grant.h>
#include <mica/ktap.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "ipc_echo.h"
#include "snippet.h"

static uint64_t echo_ep; /* boot.cfg: send:ipc_echo, looked up in main */

static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));
static bool server_up;

static long call(uint64_t label, struct mica_msg *reply)
{
    struct mica_msg m = {.label = label};
    return mica_ipc_call(echo_ep, &m, reply, MICA_IPC_BLOCK);
}

/* The server may not be receiving yet when this program starts: retry a
 * non-blocking call for a while rather than block forever on a missing
 * server. Every later test needs it. */
static void echo_server_answers(void)
{
    struct mica_msg m = {.label = ECHO_PING}, r;
    long rc = -MICA_EAGAIN;
    for (int i = 0; i < 10000 && rc == -MICA_EAGAIN; i++) {
        rc = mica_ipc_call(echo_ep, &m, &r, MICA_IPC_NONBLOCK);
        if (rc == -MICA_EAGAIN)
            mica_yield();
    }
    server_up = KTAP_EXPECT_EQ(rc, 0) && KTAP_EXPECT_EQ(MICA_MSG_LABEL(r.label), ECHO_PING);
}

static void call_reply_carries_words(void)
{
    KTAP_REQUIRE(server_up);
    static const uint64_t w[4] = {0, 41, 0x8000000000000000ull, ~0ull - 1};
    struct mica_msg m = {.label = ECHO_WORDS, .w = {w[0], w[1], w[2], w[3]}}, r;
    KTAP_EXPECT_EQ(mica_ipc_call(echo_ep, &m, &r, MICA_IPC_BLOCK), 0);
    KTAP_EXPECT_EQ(r.label, ECHO_WORDS);
    for (int i = 0; i < 4; i++)
        KTAP_EXPECT_EQ(r.w[i], w[i] + 1);
    /* The reply may overwrite the request in place. */
    KTAP_EXPECT_EQ(mica_ipc_call(echo_ep, &m, &m, MICA_IPC_BLOCK), 0);
    KTAP_EXPECT_EQ(m.w[1], 42);
}

/* A raw IPC call, outside any C stub: every callee-saved register set to
 * a pattern, words w[0..3] in rdx, r10, r8, r9; out[] receives all fifteen
 * registers as the syscall left them (rax, rbx, rcx, rdx, rsi, rdi, rbp,
 * r8, r9, r10, r11, r12, r13, r14, r15). */
void probe_call(uint64_t h, uint64_t label, const uint64_t *w, uint64_t *out);
extern const char probe_call_ret[];
#define PROBE_STR_(x) #x
#define PROBE_STR(x) PROBE_STR_(x)
__asm__(".text\n"
        ".globl probe_call\n"
        "probe_call:\n"
        "  push %rbp\n  push %rbx\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  push %rcx\n"
        "  mov %rdx, %rax\n"
        "  mov 0(%rax), %rdx\n  mov 8(%rax), %r10\n  mov 16(%rax), %r8\n  mov 24(%rax), %r9\n"
        "  movabs $0x1111111111111111, %rbx\n  movabs $0x2222222222222222, %rbp\n"
        "  movabs $0x3333333333333333, %r12\n  movabs $0x4444444444444444, %r13\n"
        "  movabs $0x5555555555555555, %r14\n  movabs $0x6666666666666666, %r15\n"
        "  mov $" PROBE_STR(MICA_SYS_IPC_CALL) ", %eax\n"
        "  syscall\n"
        ".globl probe_call_ret\n"
        "probe_call_ret:\n"
        "  push %r15\n  push %r14\n  push %r13\n  push %r12\n  push %r11\n  push %r10\n"
        "  push %r9\n  push %r8\n  push %rbp\n  push %rdi\n  push %rsi\n  push %rdx\n"
        "  push %rcx\n  push %rbx\n  push %rax\n"
        "  mov 120(%rsp), %rax\n"
        "  pop 0(%rax)\n  pop 8(%rax)\n  pop 16(%rax)\n  pop 24(%rax)\n  pop 32(%rax)\n"
        "  pop 40(%rax)\n  pop 48(%rax)\n  pop 56(%rax)\n  pop 64(%rax)\n  pop 72(%rax)\n"
        "  pop 80(%rax)\n  pop 88(%rax)\n  pop 96(%rax)\n  pop 104(%rax)\n  pop 112(%rax)\n"
        "  add $8, %rsp\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbx\n  pop %rbp\n"
        "  ret\n");

/* The round trip's fast paths hand the reply over in registers: the
 * caller gets rax = 0, badge 0, the label and the four words, rcx and r11
 * as sysret sets them, and its own callee-saved registers back. Run twice:
 * the first call may find the server blocked on a slow path; by the second
 * it waits in the reply-receive fast path, so both directions take the
 * register exit (arch_ipc_fast_exit). */
static void fast_path_registers(void)
{
    KTAP_REQUIRE(server_up);
    static const uint64_t w[4] = {7, 0x8000000000000000ull, ~0ull - 1, 0x0123456789abcdefull};
    for (int round = 0; round < 2; round++) {
        uint64_t r[15];
        probe_call(echo_ep, ECHO_WORDS, w, r);
        KTAP_EXPECT_EQ(r[0], 0);                           /* rax */
        KTAP_EXPECT_EQ(r[1], 0x1111111111111111ull);       /* rbx */
        KTAP_EXPECT_EQ(r[2], (uint64_t)probe_call_ret);    /* rcx: sysret's rip */
        KTAP_EXPECT_EQ(r[3], w[0] + 1);                    /* rdx */
        KTAP_EXPECT_EQ(r[4], ECHO_WORDS);                  /* rsi: the label */
        KTAP_EXPECT_EQ(r[5], 0);                           /* rdi: replies carry badge 0 */
        KTAP_EXPECT_EQ(r[6], 0x2222222222222222ull);       /* rbp */
        KTAP_EXPECT_EQ(r[7], w[2] + 1);                    /* r8 */
        KTAP_EXPECT_EQ(r[8], w[3] + 1);                    /* r9 */
        KTAP_EXPECT_EQ(r[9], w[1] + 1);                    /* r10 */
        KTAP_EXPECT((r[10] & 0x200) != 0);                 /* r11: rflags, IF set */
        KTAP_EXPECT_EQ(r[11], 0x3333333333333333ull);      /* r12 */
        KTAP_EXPECT_EQ(r[12], 0x4444444444444444ull);      /* r13 */
        KTAP_EXPECT_EQ(r[13], 0x5555555555555555ull);      /* r14 */
        KTAP_EXPECT_EQ(r[14], 0x6666666666666666ull);      /* r15 */
    }
}

/* probe_call's counterpart on the receiving side: a raw IPC_REPLY_RECV
 * on h with the reply label and w[0..3], every callee-saved register set
 * to a pattern, rcx and r11 to markers, and CF, PF, AF, ZF, SF, OF and DF
 * set; out[0..14] receives the registers as the call left them (as
 * probe_call) and out[15] rflags as ring 3 got them back (DF is cleared
 * again before any C code runs). */
void probe_reply_recv(uint64_t h, uint64_t label, const uint64_t *w, uint64_t *out);
extern const char probe_reply_recv_ret[];
#define PROBE_FLAGS 0xcd5 /* CF PF AF ZF SF DF OF */
__asm__(".text\n"
        ".globl probe_reply_recv\n"
        "probe_reply_recv:\n"
        "  push %rbp\n  push %rbx\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  push %rcx\n"
        "  mov %rdx, %rax\n"
        "  mov 0(%rax), %rdx\n  mov 8(%rax), %r10\n  mov 16(%rax), %r8\n  mov 24(%rax), %r9\n"
        "  movabs $0x7171717171717171, %rbx\n  movabs $0x7272727272727272, %rbp\n"
        "  movabs $0x7373737373737373, %r12\n  movabs $0x7474747474747474, %r13\n"
        "  movabs $0x7575757575757575, %r14\n  movabs $0x7676767676767676, %r15\n"
        "  movabs $0x7c7c7c7c7c7c7c7c, %rcx\n  movabs $0x7d7d7d7d7d7d7d7d, %r11\n"
        "  pushfq\n  orq $" PROBE_STR(PROBE_FLAGS) ", (%rsp)\n  popfq\n"
        "  mov $" PROBE_STR(MICA_SYS_IPC_REPLY_RECV) ", %eax\n"
        "  syscall\n"
        ".globl probe_reply_recv_ret\n"
        "probe_reply_recv_ret:\n"
        "  pushfq\n  cld\n"
        "  push %r15\n  push %r14\n  push %r13\n  push %r12\n  push %r11\n  push %r10\n"
        "  push %r9\n  push %r8\n  push %rbp\n  push %rdi\n  push %rsi\n  push %rdx\n"
        "  push %rcx\n  push %rbx\n  push %rax\n"
        "  mov 128(%rsp), %rax\n"
        "  pop 0(%rax)\n  pop 8(%rax)\n  pop 16(%rax)\n  pop 24(%rax)\n  pop 32(%rax)\n"
        "  pop 40(%rax)\n  pop 48(%rax)\n  pop 56(%rax)\n  pop 64(%rax)\n  pop 72(%rax)\n"
        "  pop 80(%rax)\n  pop 88(%rax)\n  pop 96(%rax)\n  pop 104(%rax)\n  pop 112(%rax)\n"
        "  pop 120(%rax)\n"
        "  add $8, %rsp\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbx\n  pop %rbp\n"
        "  ret\n");

/* A child built by hand (handle 0: a send copy of the test's endpoint)
 * calls three times with label 0x21, rdx = 3, 2, 1 and fixed r10, r8, r9,
 * then exits 0. It uses no stack, so it needs no pager. */
#define CALLER_W1 0x8000000000000001ull
#define CALLER_W2 0xfedcba9876543210ull
MB_SNIPPET(caller3, "movl $3, %r12d\n"
                    "1: xorl %edi, %edi\n movl $0x21, %esi\n movq %r12, %rdx\n"
                    "movabsq $0x8000000000000001, %r10\n movabsq $0xfedcba9876543210, %r8\n"
                    "movq $-2, %r9\n movl $6, %eax\n syscall\n"
                    "decq %r12\n jnz 1b\n");

#define CHILD_VA 0x400000ull

/* A task with handle 0 = `send` and `code` loaded at va (executable),
 * not started. Returns its handle or an error. */
static long build_child(const char *name, uint64_t send, uint64_t va, const void *code,
                        size_t n)
{
    struct mica_task_args a = {.name = name, .handles = {send}, .nhandles = 1,
                               .flags = MICA_SPAWN_NO_PAGER};
    long h = mica_task_create(&a);
    if (h < 0)
        return h;
    long rc = mica_task_load((uint64_t)h, va, 1, MICA_PROT_READ | MICA_PROT_EXEC, code, n);
    if (rc < 0) {
        mica_handle_close((uint64_t)h);
        return rc;
    }
    return h;
}

/* The receiving side of the register exit: this program waits in
 * IPC_REPLY_RECV (it has just answered the child's call, so it is saved
 * at the end of its system call) and the child's next call hands it the
 * message in registers. Every register holds the message, what sysret
 * sets, or this program's own value: nothing of the kernel's or of the
 * child's other registers (its r12 counter, its rcx and r11), and the
 * arithmetic flags and DF come back as they were. */
static void fast_path_receiver_registers(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long send = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0x5e);
    KTAP_REQUIRE(send >= 0);
    long child = build_child("caller3", (uint64_t)send, CHILD_VA, mb_caller3_start,
                             (size_t)(mb_caller3_end - mb_caller3_start));
    KTAP_REQUIRE(child >= 0);
    KTAP_REQUIRE(KTAP_EXPECT_EQ(mica_task_start((uint64_t)child, CHILD_VA, 0, 0), 0));
    struct mica_msg m;
    KTAP_EXPECT_EQ(mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_BLOCK), 0);
    KTAP_EXPECT_EQ(m.w[0], 3);
    static const uint64_t reply[4] = {0x1234, 0, ~0ull, 1ull << 63};
    for (uint64_t left = 2; left >= 1; left--) {
        uint64_t r[16];
        probe_reply_recv((uint64_t)ep, 0x45, reply, r);
        KTAP_EXPECT_EQ(r[0], 0);                            /* rax */
        KTAP_EXPECT_EQ(r[1], 0x7171717171717171ull);        /* rbx */
        KTAP_EXPECT_EQ(r[2], (uint64_t)probe_reply_recv_ret); /* rcx: sysret's rip */
        KTAP_EXPECT_EQ(r[3], left);                         /* rdx: word 0 */
        KTAP_EXPECT_EQ(r[4], 0x21);                         /* rsi: the label */
        KTAP_EXPECT_EQ(r[5], 0x5e);                         /* rdi: the sender's badge */
        KTAP_EXPECT_EQ(r[6], 0x7272727272727272ull);        /* rbp */
        KTAP_EXPECT_EQ(r[7], CALLER_W2);                    /* r8: word 2 */
        KTAP_EXPECT_EQ(r[8], (uint64_t)-2);                 /* r9: word 3 */
        KTAP_EXPECT_EQ(r[9], CALLER_W1);                    /* r10: word 1 */
        KTAP_EXPECT_EQ(r[10], r[15]);                       /* r11: the rflags sysret set */
        KTAP_EXPECT_EQ(r[11], 0x7373737373737373ull);       /* r12 */
        KTAP_EXPECT_EQ(r[12], 0x7474747474747474ull);       /* r13 */
        KTAP_EXPECT_EQ(r[13], 0x7575757575757575ull);       /* r14 */
        KTAP_EXPECT_EQ(r[14], 0x7676767676767676ull);       /* r15 */
        KTAP_EXPECT_EQ(r[15] & PROBE_FLAGS, PROBE_FLAGS);   /* as they were, DF too */
        KTAP_EXPECT((r[15] & 0x200) != 0);                  /* IF */
        KTAP_EXPECT_EQ(r[15] & 0x40100, 0);                 /* no AC, no TF */
    }
    KTAP_EXPECT_EQ(mica_ipc_reply(&(struct mica_msg){.label = 0}), 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)child), 0);
    mica_handle_close((uint64_t)child);
    mica_handle_close((uint64_t)send);
    mica_handle_close((uint64_t)ep);
}

/* A system call whose next instruction is the first non-canonical
 * address: sysret would raise its #GP in ring 0 with the user's rsp, so
 * the exit takes iretq, whose fault belongs to the task. Through both
 * exits: the common one (a null call) and the register exit (an IPC call
 * answered by this program waiting in the reply-receive fast path). The
 * task is killed; the kernel carries on. A call a little lower, still in
 * the last page, returns through iretq with its reply intact. */
static const uint8_t top_null[] = {0x31, 0xc0, 0x0f, 0x05}; /* xor eax,eax; syscall */
/* xor edi,edi; mov esi,1; mov eax,6 (IPC_CALL); syscall */
#define TOP_CALL 0x31, 0xff, 0xbe, 0x01, 0, 0, 0, 0xb8, 0x06, 0, 0, 0, 0x0f, 0x05
static const uint8_t top_call[] = {TOP_CALL};
/* ... then exit(rsi + rdx): mov rdi,rsi; add rdi,rdx; mov eax,2; syscall; ud2 */
static const uint8_t near_top_call[] = {TOP_CALL, 0x48, 0x89, 0xf7, 0x48, 0x01, 0xd7,
                                        0xb8, 0x02, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b};

/* Build a child with `code` ending `gap` bytes below MICA_USER_END and
 * start it with a death note through `send`; returns its handle. */
static long start_at_top(const char *name, uint64_t send, const uint8_t *code, size_t n,
                         size_t gap)
{
    uint64_t va = MICA_USER_END - gap - n;
    long h = build_child(name, send, va, code, n);
    if (h < 0)
        return h;
    long rc = mica_task_notify((uint64_t)h, send, 0); /* the badge of send */
    if (rc == 0)
        rc = mica_task_start((uint64_t)h, va, 0, 0);
    if (rc < 0) {
        mica_handle_close((uint64_t)h);
        return rc;
    }
    return h;
}

static void syscall_at_the_top_of_the_user_half(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long send = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0x70);
    KTAP_REQUIRE(send >= 0);
    const uint64_t e = (uint64_t)ep;
    struct mica_msg m;

    long h = start_at_top("topnull", (uint64_t)send, top_null, sizeof top_null, 0);
    KTAP_EXPECT(h >= 0);
    if (h >= 0) {
        KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), MICA_EXIT_KILLED);
        KTAP_EXPECT_EQ(mica_ipc_recv(e, &m, MICA_IPC_BLOCK), 0);
        KTAP_EXPECT_EQ(m.label, MICA_LABEL_DEATH);
        mica_handle_close((uint64_t)h);
    }

    h = start_at_top("topcall", (uint64_t)send, top_call, sizeof top_call, 0);
    KTAP_EXPECT(h >= 0);
    if (h >= 0) {
        KTAP_EXPECT_EQ(mica_ipc_recv(e, &m, MICA_IPC_BLOCK), 0);
        KTAP_EXPECT_EQ(m.label, 1);
        KTAP_EXPECT_EQ(m.badge, 0x70);
        /* The answer leaves through the register exit; the next message
         * is the child's death. */
        KTAP_EXPECT_EQ(mica_ipc_reply_recv(e, &(struct mica_msg){.label = 0x33}, &m,
                                           MICA_IPC_BLOCK), 0);
        KTAP_EXPECT_EQ(m.label, MICA_LABEL_DEATH);
        KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), MICA_EXIT_KILLED);
        mica_handle_close((uint64_t)h);
    }

    h = start_at_top("neartop", (uint64_t)send, near_top_call, sizeof near_top_call, 64);
    KTAP_EXPECT(h >= 0);
    if (h >= 0) {
        KTAP_EXPECT_EQ(mica_ipc_recv(e, &m, MICA_IPC_BLOCK), 0);
        KTAP_EXPECT_EQ(mica_ipc_reply_recv(e, &(struct mica_msg){.label = 0x33, .w = {0x11}},
                                           &m, MICA_IPC_BLOCK), 0);
        KTAP_EXPECT_EQ(m.label, MICA_LABEL_DEATH);
        KTAP_EXPECT_EQ(mica_task_wait((uint64_t)h), 0x44); /* label + word 0 */
        mica_handle_close((uint64_t)h);
    }
    mica_handle_close((uint64_t)send);
    mica_handle_close(e);
}

static void badge_identifies_sender(void)
{
    KTAP_REQUIRE(server_up);
    struct mica_msg r;
    KTAP_EXPECT_EQ(call(ECHO_BADGE, &r), 0);
    uint64_t badge = r.w[0];
    KTAP_EXPECT(badge != 0); /* init badges each test program's copy */
    /* A copy minted with badge 0 keeps the badge; a badged handle cannot be
     * re-badged, so a client cannot pose as another. */
    long h = mica_handle_mint(echo_ep, MICA_RIGHT_SEND, 0);
    KTAP_REQUIRE(h >= 0);
    struct mica_msg m = {.label = ECHO_BADGE};
    KTAP_EXPECT_EQ(mica_ipc_call((uint64_t)h, &m, &r, MICA_IPC_BLOCK), 0);
    KTAP_EXPECT_EQ(r.w[0], badge);
    KTAP_EXPECT_EQ(mica_handle_mint(echo_ep, MICA_RIGHT_SEND, badge + 1), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_handle_mint((uint64_t)h, MICA_RIGHT_SEND, 0), -MICA_EPERM); /* no GRANT */
    mica_handle_close((uint64_t)h);
}

/* Send len pattern bytes; the server returns each XOR ECHO_BUFFER_XOR. */
static void check_buffer_round_trip(size_t len)
{
    for (size_t i = 0; i < len; i++)
        ipcbuf.data[i] = (uint8_t)(i * 7 + len);
    struct mica_msg r;
    if (!KTAP_EXPECT_EQ(call(MICA_MSG_MAKE(ECHO_BUFFER, len), &r), 0))
        return;
    KTAP_EXPECT_EQ(MICA_MSG_LEN(r.label), len);
    KTAP_EXPECT_EQ(r.w[0], len);
    size_t bad = 0;
    for (size_t i = 0; i < len; i++)
        bad += ipcbuf.data[i] != (uint8_t)((i * 7 + len) ^ ECHO_BUFFER_XOR);
    KTAP_EXPECT_EQ(bad, 0);
}

static void buffer_copies_up_to_max(void)
{
    KTAP_REQUIRE(server_up);
    static const size_t lens[] = {0, 1, 7, 8, 100, MICA_IPC_BUF_MAX - 1, MICA_IPC_BUF_MAX};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        check_buffer_round_trip(lens[i]);
}

static void buffer_over_max_is_e2big(void)
{
    KTAP_REQUIRE(server_up);
    struct mica_msg r;
    KTAP_EXPECT_EQ(call(MICA_MSG_MAKE(ECHO_BUFFER, MICA_IPC_BUF_MAX + 1), &r), -MICA_E2BIG);
    KTAP_EXPECT_EQ(call(MICA_MSG_MAKE(ECHO_BUFFER, MICA_MSG_LEN_MASK), &r), -MICA_E2BIG);
    /* The refusal leaves the channel usable. */
    check_buffer_round_trip(16);
}

static void handle_transfer_round_trip(void)
{
    KTAP_REQUIRE(server_up);
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long give = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 7);
    KTAP_REQUIRE(give >= 0);
    ipcbuf.handle = (uint64_t)give;
    ipcbuf.reserved = 0;
    struct mica_msg r;
    KTAP_EXPECT_EQ(call(ECHO_HANDLE_BACK | MICA_MSG_XFER_HANDLE, &r), 0);
    KTAP_EXPECT_EQ(r.w[0], 1);
    KTAP_REQUIRE(KTAP_EXPECT(r.label & MICA_MSG_XFER_HANDLE));
    uint64_t back = ipcbuf.handle;
    /* The handle came back through the server and still names an endpoint
     * with SEND only: a non-blocking send finds no receiver (rather than
     * EBADH or EPERM) and a receive lacks the right. */
    struct mica_msg m = {.label = 9};
    KTAP_EXPECT_EQ(mica_ipc_send(back, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_ipc_recv(back, &m, MICA_IPC_NONBLOCK), -MICA_EPERM);
    mica_handle_close(back);
    if (back != (uint64_t)give)
        mica_handle_close((uint64_t)give);
    KTAP_EXPECT_EQ(mica_handle_close((uint64_t)ep), 0);
}

static void handle_transfer_needs_grant(void)
{
    KTAP_REQUIRE(server_up);
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long nogrant = mica_handle_mint((uint64_t)ep, MICA_RIGHT_SEND, 0);
    KTAP_REQUIRE(nogrant >= 0);
    ipcbuf.handle = (uint64_t)nogrant;
    struct mica_msg r;
    KTAP_EXPECT_EQ(call(ECHO_HANDLE_BACK | MICA_MSG_XFER_HANDLE, &r), -MICA_EPERM);
    ipcbuf.handle = MICA_HANDLE_MAX + 5;
    KTAP_EXPECT_EQ(call(ECHO_HANDLE_BACK | MICA_MSG_XFER_HANDLE, &r), -MICA_EBADH);
    /* Without the transfer flag the buffer's handle field is ignored. */
    KTAP_EXPECT_EQ(call(ECHO_HANDLE_BACK, &r), 0);
    KTAP_EXPECT_EQ(r.w[0], 0);
    mica_handle_close((uint64_t)nogrant);
    mica_handle_close((uint64_t)ep);
}

static void server_transfers_new_endpoint(void)
{
    KTAP_REQUIRE(server_up);
    struct mica_msg r;
    KTAP_EXPECT_EQ(call(ECHO_NEW_ENDPOINT, &r), 0);
    KTAP_EXPECT_EQ(r.w[0], 0);
    KTAP_REQUIRE(KTAP_EXPECT(r.label & MICA_MSG_XFER_HANDLE));
    uint64_t h = ipcbuf.handle;
    struct mica_msg m;
    /* All rights, and nobody else is waiting on it. */
    KTAP_EXPECT_EQ(mica_ipc_recv(h, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_ipc_send(h, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    long copy = mica_handle_mint(h, MICA_RIGHT_SEND, 1);
    KTAP_EXPECT(copy >= 0);
    if (copy >= 0)
        mica_handle_close((uint64_t)copy);
    /* The server has let go of its copy by its next request: ours still works. */
    KTAP_EXPECT_EQ(call(ECHO_WORDS, &r), 0);
    KTAP_EXPECT_EQ(mica_ipc_recv(h, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_handle_close(h), 0);
}

static void nonblocking_on_empty_endpoint_is_eagain(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    struct mica_msg m = {.label = 1};
    KTAP_EXPECT_EQ(mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_ipc_send((uint64_t)ep, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_ipc_call((uint64_t)ep, &m, &m, MICA_IPC_NONBLOCK), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(mica_handle_close((uint64_t)ep), 0);
}

static void reply_without_caller_is_enoent(void)
{
    struct mica_msg m = {.label = 1};
    KTAP_EXPECT_EQ(mica_ipc_reply(&m), -MICA_ENOENT);
}

static void bad_handle_is_ebadh(void)
{
    static const uint64_t bad[] = {~0ull, MICA_HANDLE_MAX, 1ull << 40, MICA_HANDLE_MAX - 1};
    struct mica_msg m = {.label = ECHO_PING};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        KTAP_EXPECT_EQ(mica_ipc_send(bad[i], &m, MICA_IPC_BLOCK), -MICA_EBADH);
        KTAP_EXPECT_EQ(mica_ipc_call(bad[i], &m, &m, MICA_IPC_BLOCK), -MICA_EBADH);
    }
}

static void missing_right_is_eperm(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    long recv_only = mica_handle_mint((uint64_t)ep, MICA_RIGHT_RECV, 0);
    KTAP_REQUIRE(recv_only >= 0);
    struct mica_msg m = {.label = 1};
    KTAP_EXPECT_EQ(mica_ipc_send((uint64_t)recv_only, &m, MICA_IPC_BLOCK), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_ipc_call((uint64_t)recv_only, &m, &m, MICA_IPC_BLOCK), -MICA_EPERM);
    /* Our copy of the server's endpoint can send but not receive, and its
     * rights cannot grow by minting. */
    KTAP_EXPECT_EQ(mica_ipc_recv(echo_ep, &m, MICA_IPC_NONBLOCK), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_handle_mint(echo_ep, MICA_RIGHT_RECV, 0), -MICA_EPERM);
    mica_handle_close((uint64_t)recv_only);
    mica_handle_close((uint64_t)ep);
}

static void closed_handle_is_ebadh(void)
{
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    KTAP_EXPECT_EQ(mica_handle_close((uint64_t)ep), 0);
    struct mica_msg m = {.label = 1};
    KTAP_EXPECT_EQ(mica_ipc_send((uint64_t)ep, &m, MICA_IPC_NONBLOCK), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_ipc_recv((uint64_t)ep, &m, MICA_IPC_NONBLOCK), -MICA_EBADH);
    KTAP_EXPECT_EQ(mica_handle_close((uint64_t)ep), -MICA_EBADH);
}

static void unknown_label_is_answered_with_error(void)
{
    KTAP_REQUIRE(server_up);
    struct mica_msg r;
    KTAP_EXPECT_EQ(call(999, &r), 0);
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(r.label), MICA_SERVER_BAD_LABEL);
    KTAP_EXPECT_EQ(r.w[0], (uint64_t)-MICA_ENOSYS);
}

static const struct ktap_case tests[] = {
    {"echo_server_answers", echo_server_answers},
    {"call_reply_carries_words", call_reply_carries_words},
    {"fast_path_registers", fast_path_registers},
    {"fast_path_receiver_registers", fast_path_receiver_registers},
    {"syscall_at_the_top_of_the_user_half", syscall_at_the_top_of_the_user_half},
    {"badge_identifies_sender", badge_identifies_sender},
    {"buffer_copies_up_to_max", buffer_copies_up_to_max},
    {"buffer_over_max_is_e2big", buffer_over_max_is_e2big},
    {"handle_transfer_round_trip", handle_transfer_round_trip},
    {"handle_transfer_needs_grant", handle_transfer_needs_grant},
    {"server_transfers_new_endpoint", server_transfers_new_endpoint},
    {"nonblocking_on_empty_endpoint_is_eagain", nonblocking_on_empty_endpoint_is_eagain},
    {"reply_without_caller_is_enoent", reply_without_caller_is_enoent},
    {"bad_handle_is_ebadh", bad_handle_is_ebadh},
    {"missing_right_is_eperm", missing_right_is_eperm},
    {"closed_handle_is_ebadh", closed_handle_is_ebadh},
    {"unknown_label_is_answered_with_error", unknown_label_is_answered_with_error},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    long echo = mica_grant("ipc_echo");
    if (echo < 0)
        return 1;
    echo_ep = (uint64_t)echo;
    ktap_begin(sizeof tests / sizeof tests[0]);
    long rc = mica_set_ipc_buffer(&ipcbuf);
    if (rc < 0)
        printf("# cannot register the IPC buffer: %s\n", mica_error_name(rc));
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        ktap_run(tests[i].name, tests[i].fn);
    return ktap_end();
}

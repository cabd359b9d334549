/* The fault-injection points (docs/fault-injection.md), each armed at run
 * time through the control object (boot.cfg grant inject=inject:all), and
 * the system's answer to each:
 *
 *   allocation  pmm_alloc, slab_alloc, kmalloc: the call that allocates
 *               fails with -MICA_ENOMEM and leaves nothing behind, also
 *               when a fifth of all allocations fail for a while;
 *   IPC         ipc_drop: -MICA_EAGAIN, and the retry goes through (also
 *               the one libsys makes for a name lookup);
 *               ipc_delay: the call is held back at least N ticks;
 *               ipc_dup: a send arrives twice; ipc_flip: exactly one bit
 *               of the echoed words differs;
 *   pager path  fault_msg: the fault message differs from the truth by one
 *               bit; pager_map: the pager's map call gets -MICA_ENOMEM;
 *               fault_spurious: the same fault comes twice, the second
 *               time for a mapped page, and the client finishes (with
 *               this program as the pager, and with servers/pager, also
 *               for a copy-on-write fault);
 *   servers     kill_nth: the server dies on its nth message, its caller
 *               gets -MICA_EDEAD; reply_withhold: the caller stays
 *               blocked until killed; kill_random: the task is killed,
 *               also a server that only ever waits in receive (the
 *               transient faults reach it when it takes a message);
 *   SWIFI       reg_flip, mem_flip, code_flip in a spinning child, which
 *               is then killed cleanly whatever the flip did;
 *   time        timer_lose, timer_late: the clock goes on afterwards.
 *
 * Each case checks that the point fired exactly once (its count and the
 * ID of its "inject: #ID" line, which tools/test-all checks in the log)
 * and that frames, slab objects, heap bytes and tasks are back at their
 * baseline. Children are tiny images (tiny_elf.h) with names of their own,
 * so a point's task= filter picks exactly one of them (a vm_fork child
 * would share this program's name); this program is the pager of the ones
 * that fault. */
#include <mica/grant.h>
#include <mica/inject.h>
#include <mica/ktap.h>
#include <mica/names.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "forked.h"
#include "snippet.h"
#include "tiny_elf.h"
#include "usage.h"

#define PAGE        4096ull
#define TRIES       FORKED_TRIES
#define FAULT_VA    0x30000000 /* a child's address nothing maps until its pager does */
#define MAP_VA      0x50000000 /* where this program maps a page of its own */
#define NPOINTS     18

#define XSTR(x) STR(x)
#define STR(x)  #x

/* Handle 0: receive, then answer every message with itself (the words
 * stay in their registers), for ever. */
MB_SNIPPET(echo, "xorl %edi, %edi\n movl $5, %eax\n syscall\n"
                 "1: xorl %edi, %edi\n movl $8, %eax\n syscall\n jmp 1b\n");
/* Handle 0: send one message with label 7, then exit(0). */
MB_SNIPPET(send7, "xorl %edi, %edi\n movl $7, %esi\n xorl %edx, %edx\n movl $4, %eax\n syscall\n");
/* Handle 0: call with label 9, then exit with the call's result. */
MB_SNIPPET(call9, "xorl %edi, %edi\n movl $9, %esi\n movl $6, %eax\n syscall\n"
                  "movq %rax, %rdi\n movl $2, %eax\n syscall\n");
/* Write 1 at FAULT_VA (its pager maps it), exit with the byte read back. */
MB_SNIPPET(touch, "movabsq $" XSTR(FAULT_VA) ", %rax\n movb $1, (%rax)\n"
                  "movzbl (%rax), %edi\n movl $2, %eax\n syscall\n");
/* Spin with a live stack frame below the top (mem_flip finds words there). */
MB_SNIPPET(spin, "subq $1024, %rsp\n movq %rsp, %rbx\n 1: addq $1, %rcx\n jmp 1b\n");

#define LEN(name) ((size_t)(mb_##name##_end - mb_##name##_start))

static long inject_h;

/* Bits set in x (no libgcc here). */
static unsigned popcount(uint64_t x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static void settle(void)
{
    for (int i = 0; i < 50; i++)
        mica_yield();
}

static long arm(const char *spec)
{
    long p = mica_inject_arm(inject_h, spec);
    KTAP_EXPECT(p >= 0);
    return p;
}

static struct mica_inject_point point(long p)
{
    struct mica_inject_point pt = {0};
    KTAP_EXPECT_EQ(mica_inject_get(inject_h, (uint64_t)p, &pt), 0);
    return pt;
}

/* Point p fired exactly once since it was armed, with the run's latest
 * fault ID at least `after`. */
static void expect_fired_once(long p, int64_t after)
{
    struct mica_inject_point pt = point(p);
    KTAP_EXPECT_EQ(pt.fired, 1);
    KTAP_EXPECT(pt.last_id > (uint64_t)after);
    KTAP_EXPECT(pt.last_id <= (uint64_t)mica_info(MICA_INFO_INJECTED));
}

/* Yield until point p has fired (a tick-driven point), at most TRIES times. */
static bool wait_fired(long p)
{
    for (unsigned i = 0; i < TRIES; i++) {
        if (point(p).fired)
            return true;
        for (volatile unsigned j = 0; j < 1000; j++) {
        }
        mica_yield();
    }
    return false;
}

/* Kill a child (if still alive) and collect it. Returns its exit status. */
static int64_t end_child(long child)
{
    mica_task_kill((uint64_t)child);
    int64_t status = mica_task_wait((uint64_t)child);
    mica_handle_close((uint64_t)child);
    return status;
}

static void finish(const struct usage *base)
{
    mica_inject_disarm(inject_h, MICA_INJECT_ALL);
    KTAP_EXPECT(tasks_drop_to(base->tasks, TRIES));
    expect_baseline(base);
}

/* ---- the command line ---- */

/* tools/test-all boots one configuration with
 * "inject=ipc_dup:task=inj_cmdline": the point is armed before init runs,
 * and a send of a child with that name arrives twice. Elsewhere no point
 * is armed at the start, and the case is skipped. */
static bool armed_from_cmdline(void)
{
    struct mica_inject_point all[NPOINTS];
    long n = mica_inject_list(inject_h, all, NPOINTS);
    KTAP_EXPECT_EQ(n, NPOINTS);
    long p = mica_inject_find(inject_h, "ipc_dup");
    if (p < 0 || p >= n || !all[p].armed)
        return false;
    long ep = mica_endpoint_create();
    uint64_t h = (uint64_t)ep;
    long child = ep < 0 ? -1 : tiny_spawn(mb_send7_start, LEN(send7), "inj_cmdline", &h, 1, -1);
    struct mica_msg m1 = {0}, m2 = {0};
    KTAP_EXPECT_EQ(forked_recv(h, &m1), 0);
    KTAP_EXPECT_EQ(forked_recv(h, &m2), 0);
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(m2.label), 7);
    if (child >= 0) {
        KTAP_EXPECT_EQ(mica_task_wait((uint64_t)child), 0); /* its one send returned 0 */
        mica_handle_close((uint64_t)child);
    }
    KTAP_EXPECT_EQ(point(p).fired, 1);
    mica_handle_close(h);
    return true;
}

/* ---- the control object ---- */

static void control_object(void)
{
    struct mica_inject_point all[NPOINTS + 2];
    KTAP_EXPECT_EQ(mica_inject_list(inject_h, all, NPOINTS + 2), NPOINTS);
    KTAP_EXPECT(strcmp(all[0].name, "pmm_alloc") == 0);
    KTAP_EXPECT(strcmp(all[NPOINTS - 1].name, "timer_late") == 0);
    KTAP_EXPECT_EQ(mica_inject_find(inject_h, "reply_withhold"), 12);
    /* Nobody but the holder: another handle, a bad number, init's call. */
    long ep = mica_endpoint_create();
    KTAP_EXPECT_EQ(mica_inject_list(ep, all, 1), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_inject_arm(ep, "kmalloc"), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_inject_disarm(200, MICA_INJECT_ALL), -MICA_EPERM);
    KTAP_EXPECT_EQ(mica_inject_open(), -MICA_EPERM);
    mica_handle_close((uint64_t)ep);
    /* Bad specs: refused with one console line each, nothing armed. */
    printf("# two warnings from the kernel follow: a bad knob, an unknown point\n");
    KTAP_EXPECT_EQ(mica_inject_arm(inject_h, "kmalloc:nth=x"), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_inject_arm(inject_h, "no_such_point"), -MICA_EINVAL);
    KTAP_EXPECT_EQ(mica_inject_disarm(inject_h, NPOINTS), -MICA_EINVAL);
    KTAP_EXPECT_EQ(point(1).armed, 0);
    /* A task filter that names nobody never fires. */
    long p = arm("slab_alloc:task=nobody");
    KTAP_EXPECT_EQ(point(p).armed, 1);
    ep = mica_endpoint_create();
    KTAP_EXPECT(ep >= 0);
    mica_handle_close((uint64_t)ep);
    KTAP_EXPECT_EQ(point(p).fired, 0);
    mica_inject_disarm(inject_h, (uint64_t)p);
    KTAP_EXPECT_EQ(point(p).armed, 0);
}

/* ---- allocation ---- */

static void pmm_alloc_fails_map(void)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("pmm_alloc:task=test_inject");
    KTAP_EXPECT_EQ(mica_mem_map((void *)MAP_VA, PAGE, MICA_PROT_READ | MICA_PROT_WRITE),
                   -MICA_ENOMEM);
    expect_fired_once(p, before);
    KTAP_EXPECT_EQ(point(p).armed, 0); /* times=1: used up */
    KTAP_EXPECT_EQ(mica_mem_map((void *)MAP_VA, PAGE, MICA_PROT_READ | MICA_PROT_WRITE), 0);
    KTAP_EXPECT_EQ(mica_mem_unmap((void *)MAP_VA, PAGE), 0);
    finish(&base);
}

static void slab_alloc_fails_endpoint(void)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("slab_alloc:task=test_inject");
    KTAP_EXPECT_EQ(mica_endpoint_create(), -MICA_ENOMEM);
    expect_fired_once(p, before);
    finish(&base);
}

static void kmalloc_fails_spawn(void)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("kmalloc:task=test_inject");
    long child = tiny_spawn(mb_spin_start, LEN(spin), "inj_never", 0, 0, -1);
    KTAP_EXPECT_EQ(child, -MICA_ENOMEM);
    if (child >= 0)
        end_child(child);
    expect_fired_once(p, before);
    finish(&base);
}

/* The allocation points again, at the 3rd allocation of a spawn: the
 * half-built task is torn down without a leak. */
static void alloc_fail_mid_spawn(void)
{
    static const char *const specs[] = {"pmm_alloc:task=test_inject,nth=3",
                                        "slab_alloc:task=test_inject,nth=2",
                                        "kmalloc:task=test_inject,nth=2"};
    for (unsigned i = 0; i < 3; i++) {
        struct usage base = usage_now();
        long p = arm(specs[i]);
        long child = tiny_spawn(mb_spin_start, LEN(spin), "inj_half", 0, 0, -1);
        if (child >= 0) {
            /* The point hit something the spawn could do without. */
            end_child(child);
        } else {
            KTAP_EXPECT_EQ(child, -MICA_ENOMEM);
        }
        KTAP_EXPECT(point(p).fired <= 1);
        finish(&base);
    }
}

/* All three allocation points at once, failing a fifth of this program's
 * allocations for 40 rounds of calls that allocate: each call either works
 * or says -MICA_ENOMEM, and nothing is left behind. */
static void alloc_storm(void)
{
    struct usage base = usage_now();
    arm("pmm_alloc:task=test_inject,probability=20,times=-1");
    arm("kmalloc:task=test_inject,probability=20,times=-1");
    arm("slab_alloc:task=test_inject,probability=20,times=-1");
    unsigned ok = 0, refused = 0, other = 0;
    for (int i = 0; i < 40; i++) {
        long rcs[3];
        long ep = rcs[0] = mica_endpoint_create();
        if (ep >= 0)
            mica_handle_close((uint64_t)ep);
        long m = rcs[1] = mica_mem_map((void *)MAP_VA, 4 * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
        if (m == 0)
            mica_mem_unmap((void *)MAP_VA, 4 * PAGE);
        long child = rcs[2] = tiny_spawn(mb_spin_start, LEN(spin), "inj_storm", 0, 0, -1);
        if (child >= 0)
            end_child(child);
        for (int k = 0; k < 3; k++) {
            ok += rcs[k] >= 0;
            refused += rcs[k] == -MICA_ENOMEM;
            other += rcs[k] < 0 && rcs[k] != -MICA_ENOMEM;
        }
    }
    KTAP_EXPECT_EQ(other, 0);
    KTAP_EXPECT(ok > 0 && refused > 0);
    printf("# alloc_storm: %u calls worked, %u refused with -ENOMEM\n", ok, refused);
    finish(&base);
}

/* ---- IPC ---- */

/* An endpoint and an echo child serving it. */
struct echo {
    long ep, child;
};

static bool echo_start(struct echo *e)
{
    e->ep = mica_endpoint_create();
    uint64_t h = (uint64_t)e->ep;
    e->child = e->ep < 0 ? -1 : tiny_spawn(mb_echo_start, LEN(echo), "inj_echo", &h, 1, -1);
    settle(); /* the child waits in its receive */
    return e->ep >= 0 && e->child >= 0;
}

static int64_t echo_stop(struct echo *e)
{
    int64_t status = e->child >= 0 ? end_child(e->child) : 0;
    if (e->ep >= 0)
        mica_handle_close((uint64_t)e->ep);
    return status;
}

static long echo_call(const struct echo *e, uint64_t label, struct mica_msg *reply)
{
    struct mica_msg m = {.label = label, .w = {0x1111, 0x2222, 0x3333, 0x4444}};
    return mica_ipc_call((uint64_t)e->ep, &m, reply, 0);
}

static void ipc_drop_retry(void)
{
    struct usage base = usage_now();
    struct echo e;
    KTAP_REQUIRE(echo_start(&e));
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("ipc_drop:task=test_inject");
    struct mica_msg r;
    KTAP_EXPECT_EQ(echo_call(&e, 21, &r), -MICA_EAGAIN);
    KTAP_EXPECT_EQ(echo_call(&e, 21, &r), 0); /* the retry */
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(r.label), 21);
    KTAP_EXPECT_EQ(r.w[3], 0x4444);
    expect_fired_once(p, before);
    echo_stop(&e);
    finish(&base);
}

/* libsys sends a lost call again: a name lookup whose call to the name
 * service is dropped still finds the name (mica/names.h). */
static void ipc_drop_name_lookup(void)
{
    static struct mica_ipc_buffer buf __attribute__((aligned(4096)));
    if (!mica_ipc_buffer())
        mica_set_ipc_buffer(&buf);
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("ipc_drop:task=test_inject");
    long h = mica_name_lookup("echo", MICA_SERVICE_WAIT_TICKS);
    KTAP_EXPECT(h >= 0);
    expect_fired_once(p, before);
    mica_inject_disarm(inject_h, MICA_INJECT_ALL);
    if (h >= 0)
        mica_handle_close((uint64_t)h);
}

static void ipc_delay_ticks(void)
{
    struct usage base = usage_now();
    struct echo e;
    KTAP_REQUIRE(echo_start(&e));
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("ipc_delay:task=test_inject,ticks=3");
    int64_t t0 = mica_info(MICA_INFO_TICKS);
    struct mica_msg r;
    KTAP_EXPECT_EQ(echo_call(&e, 22, &r), 0);
    int64_t t1 = mica_info(MICA_INFO_TICKS);
    KTAP_EXPECT(t1 - t0 >= 3);
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(r.label), 22);
    expect_fired_once(p, before);
    echo_stop(&e);
    finish(&base);
}

static void ipc_dup_twice(void)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("ipc_dup:task=inj_sender");
    long ep = mica_endpoint_create();
    KTAP_REQUIRE(ep >= 0);
    uint64_t h = (uint64_t)ep;
    long child = tiny_spawn(mb_send7_start, LEN(send7), "inj_sender", &h, 1, -1);
    KTAP_REQUIRE(child >= 0);
    struct mica_msg m1 = {0}, m2 = {0};
    KTAP_EXPECT_EQ(forked_recv(h, &m1), 0);
    KTAP_EXPECT_EQ(forked_recv(h, &m2), 0);
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(m1.label), 7);
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(m2.label), 7);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)child), 0); /* its one send returned 0 */
    mica_handle_close((uint64_t)child);
    expect_fired_once(p, before);
    mica_handle_close(h);
    finish(&base);
}

static void ipc_flip_one_bit(void)
{
    struct usage base = usage_now();
    struct echo e;
    KTAP_REQUIRE(echo_start(&e));
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("ipc_flip:task=inj_echo");
    struct mica_msg r;
    KTAP_EXPECT_EQ(echo_call(&e, 23, &r), 0);
    const uint64_t sent[4] = {0x1111, 0x2222, 0x3333, 0x4444};
    unsigned bits = 0;
    for (int i = 0; i < 4; i++)
        bits += popcount(r.w[i] ^ sent[i]);
    KTAP_EXPECT_EQ(bits, 1);
    expect_fired_once(p, before);
    echo_stop(&e);
    finish(&base);
}

/* ---- servers ---- */

static void kill_nth_message(void)
{
    struct usage base = usage_now();
    struct echo e;
    KTAP_REQUIRE(echo_start(&e));
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("kill_nth:task=inj_echo,nth=2");
    struct mica_msg r;
    KTAP_EXPECT_EQ(echo_call(&e, 24, &r), 0);
    KTAP_EXPECT_EQ(echo_call(&e, 24, &r), -MICA_EDEAD); /* it died holding our call */
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)e.child), MICA_EXIT_KILLED);
    expect_fired_once(p, before);
    echo_stop(&e);
    finish(&base);
}

static void reply_withheld_hangs(void)
{
    struct usage base = usage_now();
    struct echo e;
    KTAP_REQUIRE(echo_start(&e));
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("reply_withhold:task=inj_echo");
    uint64_t h = (uint64_t)e.ep;
    long client = tiny_spawn(mb_call9_start, LEN(call9), "inj_client", &h, 1, -1);
    KTAP_REQUIRE(client >= 0);
    settle();
    expect_fired_once(p, before);
    /* The client would have exited with the call's result: it still waits. */
    KTAP_EXPECT_EQ(mica_info(MICA_INFO_TASKS), base.tasks + 2);
    KTAP_EXPECT_EQ(end_child(client), MICA_EXIT_KILLED);
    echo_stop(&e);
    finish(&base);
}

static void kill_random_ends_task(void)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("kill_random:task=inj_spin");
    long child = tiny_spawn(mb_spin_start, LEN(spin), "inj_spin", 0, 0, -1);
    KTAP_REQUIRE(child >= 0);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)child), MICA_EXIT_KILLED);
    mica_handle_close((uint64_t)child);
    expect_fired_once(p, before);
    finish(&base);
}

/* A server waiting in its receive is in the kernel at every tick, never in
 * ring 3: the transient faults reach it when it takes a message. */
static void kill_random_at_receive(void)
{
    struct usage base = usage_now();
    struct echo e;
    KTAP_REQUIRE(echo_start(&e));
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("kill_random:task=inj_echo");
    struct mica_msg r;
    KTAP_EXPECT_EQ(echo_call(&e, 25, &r), -MICA_EDEAD); /* it died holding our call */
    expect_fired_once(p, before);
    KTAP_EXPECT_EQ(echo_stop(&e), MICA_EXIT_KILLED); /* (killed here if it was not) */
    finish(&base);
}

/* ---- the pager path: this program is the child's pager ---- */

struct faulter {
    long ep, pager, child;
};

static bool faulter_start(struct faulter *f)
{
    f->ep = mica_endpoint_create();
    f->pager = f->ep < 0 ? -1 : mica_handle_mint((uint64_t)f->ep, MICA_RIGHT_SEND, 77);
    f->child = f->pager < 0 ? -1 : tiny_spawn(mb_touch_start, LEN(touch), "inj_faulter", 0, 0,
                                                f->pager);
    return f->child >= 0;
}

static int64_t faulter_stop(struct faulter *f)
{
    int64_t status = f->child >= 0 ? end_child(f->child) : 0;
    if (f->pager >= 0)
        mica_handle_close((uint64_t)f->pager);
    if (f->ep >= 0)
        mica_handle_close((uint64_t)f->ep);
    return status;
}

static long next_fault(const struct faulter *f, struct mica_msg *m)
{
    long rc = forked_recv((uint64_t)f->ep, m);
    if (rc == 0 && (MICA_MSG_LABEL(m->label) != MICA_LABEL_FAULT || m->badge != 77))
        rc = -MICA_EINVAL;
    return rc;
}

static void reply_kill(void)
{
    struct mica_msg r = {.label = MICA_FAULT_KILL, .w = {MICA_FAULT_REASON_NO_REGION}};
    mica_ipc_reply(&r);
}

static void fault_msg_corrupted(void)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("fault_msg:task=inj_faulter");
    struct faulter f;
    KTAP_REQUIRE(faulter_start(&f));
    struct mica_msg m;
    KTAP_REQUIRE(next_fault(&f, &m) == 0);
    /* The truth: a write to FAULT_VA, page not present. */
    unsigned bits = popcount(m.w[0] ^ FAULT_VA) +
                    popcount(m.w[1] ^ MICA_FAULT_WRITE);
    KTAP_EXPECT_EQ(bits, 1);
    reply_kill(); /* what a pager does with an address outside its regions */
    KTAP_EXPECT_EQ(faulter_stop(&f), MICA_EXIT_KILLED);
    expect_fired_once(p, before);
    finish(&base);
}

static void pager_map_refused(void)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    struct faulter f;
    KTAP_REQUIRE(faulter_start(&f));
    /* Armed once the child is built: the loader's own map calls into the
     * child (libsys's spawn) would meet the point first. */
    long p = arm("pager_map:task=inj_faulter");
    struct mica_msg m;
    KTAP_REQUIRE(next_fault(&f, &m) == 0);
    KTAP_EXPECT_EQ(m.w[0], FAULT_VA);
    KTAP_EXPECT_EQ(mica_map_anon((uint64_t)f.child, FAULT_VA, 1,
                                 MICA_PROT_READ | MICA_PROT_WRITE), -MICA_ENOMEM);
    struct mica_msg r = {.label = MICA_FAULT_KILL, .w = {MICA_FAULT_REASON_NO_MEMORY}};
    mica_ipc_reply(&r);
    KTAP_EXPECT_EQ(faulter_stop(&f), MICA_EXIT_KILLED);
    expect_fired_once(p, before);
    finish(&base);
}

static void fault_spurious_coped(void)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("fault_spurious:task=inj_faulter");
    struct faulter f;
    KTAP_REQUIRE(faulter_start(&f));
    unsigned faults = 0;
    struct mica_msg m;
    /* A pager that copes: a fault on a page it already mapped is answered
     * "resume" (map_anon says -MICA_EEXIST). */
    while (faults < 3 && next_fault(&f, &m) == 0) {
        faults++;
        KTAP_EXPECT_EQ(m.w[0], FAULT_VA);
        long rc = mica_map_anon((uint64_t)f.child, FAULT_VA, 1, MICA_PROT_READ | MICA_PROT_WRITE);
        KTAP_EXPECT(rc == 0 || (faults == 2 && rc == -MICA_EEXIST));
        struct mica_msg r = {.label = 0};
        mica_ipc_reply(&r);
        if (faults == 2)
            break;
    }
    KTAP_EXPECT_EQ(faults, 2);
    KTAP_EXPECT_EQ(mica_task_wait((uint64_t)f.child), 1); /* it read back its 1 */
    faulter_stop(&f);
    expect_fired_once(p, before);
    finish(&base);
}

/* The same with servers/pager, this program's own pager: a write to a
 * fresh one-page region faults once, is sent twice, and the pager resumes
 * both times (a real loop it still kills, test_pager_violations). */
static void fault_spurious_real_pager(void)
{
    volatile uint8_t *page = NULL;
    /* The pager knows this program once init has introduced it (mica/vm.h). */
    for (unsigned i = 0; i < TRIES && !page; i++) {
        page = vm_alloc(PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
        if (!page)
            mica_yield();
    }
    KTAP_REQUIRE(page != NULL);
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("fault_spurious:task=test_inject");
    page[100] = 0x5a;
    KTAP_EXPECT_EQ(page[100], 0x5a);
    expect_fired_once(p, before);
    mica_inject_disarm(inject_h, MICA_INJECT_ALL);
    KTAP_EXPECT_EQ(vm_free((void *)page, PAGE), 0);
}

static int64_t exit_at_once(void *arg)
{
    (void)arg;
    return 0;
}

/* A copy-on-write fault sent twice: the second time the page is private
 * already (no share left to copy), and servers/pager resumes the thread
 * instead of killing it (docs/fault-injection.md, "What the campaigns
 * found"). The fork leaves the page marked copy-on-write here; the child
 * exits before the write, which takes the frame over. */
static void fault_spurious_cow(void)
{
    volatile uint8_t *page = vm_alloc(PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    KTAP_REQUIRE(page != NULL);
    page[100] = 0x11;
    KTAP_EXPECT_EQ(forked_run(exit_at_once, NULL), 0);
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm("fault_spurious:task=test_inject");
    page[100] = 0x5a; /* the copy-on-write fault, sent twice */
    KTAP_EXPECT_EQ(page[100], 0x5a);
    expect_fired_once(p, before);
    mica_inject_disarm(inject_h, MICA_INJECT_ALL);
    KTAP_EXPECT_EQ(vm_free((void *)page, PAGE), 0);
}

/* ---- transient faults in a spinning child ---- */

static void swifi_case(const char *spec)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm(spec);
    long child = tiny_spawn(mb_spin_start, LEN(spin), "inj_spin", 0, 0, -1);
    KTAP_REQUIRE(child >= 0);
    KTAP_EXPECT(wait_fired(p));
    /* Whatever the flip did (nothing yet, or a crash), the kill is clean. */
    int64_t status = end_child(child);
    KTAP_EXPECT(status == MICA_EXIT_KILLED || status == 0);
    expect_fired_once(p, before);
    finish(&base);
}

static void reg_flip_spinner(void)
{
    swifi_case("reg_flip:task=inj_spin");
}

static void mem_flip_spinner(void)
{
    swifi_case("mem_flip:task=inj_spin");
}

static void code_flip_spinner(void)
{
    swifi_case("code_flip:task=inj_spin");
}

/* ---- time ---- */

static void timer_case(const char *spec)
{
    struct usage base = usage_now();
    int64_t before = mica_info(MICA_INFO_INJECTED);
    long p = arm(spec);
    KTAP_EXPECT(wait_fired(p));
    expect_fired_once(p, before);
    /* The clock goes on (and a late tick arrives): a bound on the wait
     * in work done, not in time (each round runs some 10,000 instructions,
     * a tick comes every 10 million at most). */
    int64_t t0 = mica_info(MICA_INFO_TICKS);
    for (unsigned i = 0; i < TRIES && mica_info(MICA_INFO_TICKS) < t0 + 5; i++) {
        for (volatile unsigned j = 0; j < 2000; j++) {
        }
        mica_yield();
    }
    KTAP_EXPECT(mica_info(MICA_INFO_TICKS) >= t0 + 5);
    finish(&base);
}

static void timer_lose_tick(void)
{
    timer_case("timer_lose:task=test_inject");
}

static void timer_late_tick(void)
{
    timer_case("timer_late:task=test_inject,ticks=2");
}

static const struct ktap_case cases[] = {
    {"control_object", control_object},
    {"pmm_alloc_fails_map", pmm_alloc_fails_map},
    {"slab_alloc_fails_endpoint", slab_alloc_fails_endpoint},
    {"kmalloc_fails_spawn", kmalloc_fails_spawn},
    {"alloc_fail_mid_spawn", alloc_fail_mid_spawn},
    {"alloc_storm", alloc_storm},
    {"ipc_drop_retry", ipc_drop_retry},
    {"ipc_drop_name_lookup", ipc_drop_name_lookup},
    {"ipc_delay_ticks", ipc_delay_ticks},
    {"ipc_dup_twice", ipc_dup_twice},
    {"ipc_flip_one_bit", ipc_flip_one_bit},
    {"kill_nth_message", kill_nth_message},
    {"reply_withheld_hangs", reply_withheld_hangs},
    {"kill_random_ends_task", kill_random_ends_task},
    {"kill_random_at_receive", kill_random_at_receive},
    {"fault_msg_corrupted", fault_msg_corrupted},
    {"pager_map_refused", pager_map_refused},
    {"fault_spurious_coped", fault_spurious_coped},
    {"fault_spurious_real_pager", fault_spurious_real_pager},
    {"fault_spurious_cow", fault_spurious_cow},
    {"reg_flip_spinner", reg_flip_spinner},
    {"mem_flip_spinner", mem_flip_spinner},
    {"code_flip_spinner", code_flip_spinner},
    {"timer_lose_tick", timer_lose_tick},
    {"timer_late_tick", timer_late_tick},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    inject_h = mica_grant("inject");
    if (inject_h < 0)
        return (int)MICA_TEST_STATUS(0, 1);
    /* Warm-up: the first spawn and endpoint grow kernel caches for good. */
    struct echo e;
    if (echo_start(&e)) {
        struct mica_msg r;
        echo_call(&e, 1, &r);
    }
    echo_stop(&e);
    ktap_begin(1 + sizeof cases / sizeof cases[0]);
    if (!armed_from_cmdline())
        ktap_skip("armed_from_cmdline", "no inject= on this kernel command line");
    else
        ktap_result(true, "armed_from_cmdline");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ktap_run(cases[i].name, cases[i].fn);
    return ktap_end();
}

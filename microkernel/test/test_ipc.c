/* In-kernel tests of the message transfer between two address spaces
 * (ipc_send_prepare / ipc_deliver) on threads that are not running:
 * registers, data across page boundaries, handle transfer, and which side
 * gets which error. */
#include <mica/errno.h>

#include "object/endpoint.h"
#include "ipc/ipc_priv.h"
#include "lib/string.h"
#include "mm/phys.h"
#include "object/task.h"
#include "test/ktest.h"
#include "vm/user_mem.h"

/* The buffer straddles a page boundary, so data copies cross pages on both sides. */
#define BUF_PAGE 0x500000ull
#define BUF_VA   (BUF_PAGE + PAGE_SIZE - 1000)
#define BUF_LEN  (3 * PAGE_SIZE)

struct party {
    struct task *task;
    struct thread th;
    struct trap_frame tf;
};

static bool party_init(struct party *p, const char *name, unsigned prot)
{
    memset(p, 0, sizeof *p);
    p->task = task_create(name);
    if (!p->task || task_map_anon(p->task, BUF_PAGE, BUF_LEN, prot) < 0)
        return false;
    p->th.task = p->task;
    p->th.utf = &p->tf;
    p->th.ipc_buffer = BUF_VA;
    p->th.state = THREAD_BLOCKED_RECV;
    return true;
}

/* Byte va of p's space through the direct map (mapped, checked by callers). */
static uint8_t *byte_at(struct party *p, uintptr_t va)
{
    paddr_t pa;
    if (vmm_translate(&p->task->as, va, &pa, NULL) < 0)
        return NULL;
    return phys_to_virt(pa);
}

static uintptr_t data_va(size_t i)
{
    return BUF_VA + offsetof(struct mica_ipc_buffer, data) + i;
}

KTEST(ipc_transfer_registers_data_handle)
{
    struct party s, r;
    task_init();
    endpoint_init();
    KREQUIRE(t, party_init(&s, "ktest-sender", MICA_PROT_READ | MICA_PROT_WRITE));
    KREQUIRE(t, party_init(&r, "ktest-receiver", MICA_PROT_READ | MICA_PROT_WRITE));
    for (size_t i = 0; i < MICA_IPC_BUF_MAX; i++)
        *byte_at(&s, data_va(i)) = (uint8_t)(i * 7 + 1);
    struct endpoint *ep = endpoint_create();
    KREQUIRE(t, ep != NULL);
    long h = handle_install(&s.task->handles, HANDLE_ENDPOINT, ep,
                            MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 9);
    endpoint_put(ep);
    KREQUIRE(t, h >= 0);
    *(uint64_t *)byte_at(&s, BUF_VA) = (uint64_t)h;

    struct ipc_msg m = {.badge = 0x77,
                        .label = MICA_MSG_MAKE(0x1234, MICA_IPC_BUF_MAX) | MICA_MSG_XFER_HANDLE,
                        .w = {1, 2, 3, 4}};
    struct ipc_send st;
    KEXPECT_EQ(t, ipc_send_prepare(&s.th, &m, &st), 0);
    KEXPECT_EQ(t, ipc_deliver(&st, &r.th), 0);
    KEXPECT_EQ(t, r.tf.rdi, 0x77);
    KEXPECT_EQ(t, r.tf.rsi, m.label);
    KEXPECT(t, r.tf.rdx == 1 && r.tf.r10 == 2 && r.tf.r8 == 3 && r.tf.r9 == 4);
    unsigned bad = 0;
    for (size_t i = 0; i < MICA_IPC_BUF_MAX; i++)
        bad += *byte_at(&r, data_va(i)) != (uint8_t)(i * 7 + 1);
    KEXPECT_EQ(t, bad, 0);
    uint64_t rh = *(uint64_t *)byte_at(&r, BUF_VA);
    int err;
    struct handle *e = handle_lookup(&r.task->handles, rh, HANDLE_ENDPOINT, MICA_RIGHT_SEND, &err);
    KEXPECT(t, e != NULL && e->object == ep && e->badge == 9);
    KEXPECT_EQ(t, ep->refs, 2);
    task_exit(s.task, 0);
    task_exit(r.task, 0);
}

KTEST(ipc_transfer_errors_go_to_the_party_at_fault)
{
    struct party s, r;
    task_init();
    KREQUIRE(t, party_init(&s, "ktest-sender", MICA_PROT_READ | MICA_PROT_WRITE));
    KREQUIRE(t, party_init(&r, "ktest-receiver", MICA_PROT_READ)); /* read-only */
    struct ipc_send st;
    struct ipc_msg m = {.label = MICA_MSG_MAKE(1, MICA_IPC_BUF_MAX + 1)};
    KEXPECT_EQ(t, ipc_send_prepare(&s.th, &m, &st), -MICA_E2BIG);

    m.label = MICA_MSG_MAKE(1, 16);
    s.th.ipc_buffer = 0;
    KEXPECT_EQ(t, ipc_send_prepare(&s.th, &m, &st), -MICA_EFAULT);
    s.th.ipc_buffer = BUF_PAGE + BUF_LEN - 8; /* data runs off the mapping */
    KEXPECT_EQ(t, ipc_send_prepare(&s.th, &m, &st), -MICA_EFAULT);
    s.th.ipc_buffer = BUF_VA;

    m.label = MICA_MSG_XFER_HANDLE;
    *(uint64_t *)byte_at(&s, BUF_VA) = 5; /* no such handle */
    KEXPECT_EQ(t, ipc_send_prepare(&s.th, &m, &st), -MICA_EBADH);

    /* The receiver's buffer is read-only: its error, registers delivered. */
    m.label = MICA_MSG_MAKE(0xabc, 16);
    m.w[0] = 42;
    KEXPECT_EQ(t, ipc_send_prepare(&s.th, &m, &st), 0);
    KEXPECT_EQ(t, ipc_deliver(&st, &r.th), -MICA_EFAULT);
    KEXPECT_EQ(t, r.tf.rsi, m.label);
    KEXPECT_EQ(t, r.tf.rdx, 42);
    r.th.ipc_buffer = 0;
    KEXPECT_EQ(t, ipc_deliver(&st, &r.th), -MICA_EFAULT);
    /* A register-only message needs no buffer at all. */
    m.label = 7;
    KEXPECT_EQ(t, ipc_send_prepare(&s.th, &m, &st), 0);
    KEXPECT_EQ(t, ipc_deliver(&st, &r.th), 0);
    task_exit(s.task, 0);
    task_exit(r.task, 0);
}

/* The fast paths' copy keeps each thread's buffer lookup across calls; a
 * change to the mappings (here a page made read-only) must end it at once. */
KTEST(ipc_fast_copy_follows_mapping_changes)
{
    struct party s, r;
    task_init();
    KREQUIRE(t, party_init(&s, "ktest-sender", MICA_PROT_READ | MICA_PROT_WRITE));
    KREQUIRE(t, party_init(&r, "ktest-receiver", MICA_PROT_READ | MICA_PROT_WRITE));
    for (size_t i = 0; i < MICA_IPC_BUF_MAX; i++)
        *byte_at(&s, data_va(i)) = (uint8_t)(i * 3 + 5);
    KEXPECT(t, ipc_copy_data_fast(&r.th, &s.th, MICA_IPC_BUF_MAX));
    unsigned bad = 0;
    for (size_t i = 0; i < MICA_IPC_BUF_MAX; i++)
        bad += *byte_at(&r, data_va(i)) != (uint8_t)(i * 3 + 5);
    KEXPECT_EQ(t, bad, 0);
    KEXPECT(t, ipc_copy_data_fast(&r.th, &s.th, 16)); /* again, from the cache */

    /* The receiver's second buffer page becomes read-only: refused, and
     * nothing written to its first page either. */
    *byte_at(&s, data_va(0)) = 0xee;
    KEXPECT_EQ(t, vmm_protect(&r.task->as, BUF_PAGE + PAGE_SIZE, VM_USER), 0);
    KEXPECT(t, !ipc_copy_data_fast(&r.th, &s.th, MICA_IPC_BUF_MAX));
    KEXPECT(t, *byte_at(&r, data_va(0)) != 0xee);
    /* A read-only sender buffer is enough to send from. */
    KEXPECT(t, ipc_copy_data_fast(&s.th, &r.th, 64));
    /* No buffer: refused. */
    r.th.ipc_buffer = 0;
    KEXPECT(t, !ipc_copy_data_fast(&s.th, &r.th, 64));
    KEXPECT(t, !ipc_copy_data_fast(&r.th, &s.th, 64));
    task_exit(s.task, 0);
    task_exit(r.task, 0);
}

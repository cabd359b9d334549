/* In-kernel tests of copy-on-write sharing and fork on tasks built here and
 * never run: MAP_SHARE maps the same frames read-only with the COW mark in
 * both spaces, MAP_COW copies a shared frame or takes over one no other
 * mapping holds, fork clones mappings, handles, pager and registers, and
 * tearing every task down returns the frame, slab and heap counters to
 * their baseline exactly. */
#include <mica/errno.h>

#include "object/endpoint.h"
#include "object/handle.h"
#include "lib/string.h"
#include "mm/kheap.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "object/task.h"
#include "vm/cow.h"
#include "vm/fork.h"
#include "vm/remote_paging.h"
#include "vm/user_mem.h"
#include "object/thread.h"
#include "mm/mm_usage.h"
#include "test/ktest.h"

#define VA 0x400000ull
#define VB 0x800000ull
#define RW (MICA_PROT_READ | MICA_PROT_WRITE)
#define PG PAGE_SIZE

static void expect_baseline(struct ktest_ctx *t, const struct mm_usage *base)
{
    struct mm_usage now;
    mm_usage_get(&now);
    KEXPECT_EQ(t, now.free_frames, base->free_frames);
    KEXPECT_EQ(t, now.slab_objs, base->slab_objs);
    KEXPECT_EQ(t, now.heap_bytes, base->heap_bytes);
}

/* Frame behind va in t, or 0. */
static paddr_t frame_of(struct task *t, uintptr_t va)
{
    paddr_t pa;
    return vmm_translate(&t->as, va, &pa, NULL) == 0 ? pa : 0;
}

static bool writable(struct task *t, uintptr_t va)
{
    unsigned prot = 0;
    return vmm_translate(&t->as, va, NULL, &prot) == 0 && (prot & VM_WRITE);
}

static uint64_t *word_at(struct task *t, uintptr_t va)
{
    return phys_to_virt(frame_of(t, va));
}

/* Caches, slabs and the heap's spare arena appear on first use: run the
 * whole repertoire once before any baseline is taken. */
static void warm_up(void)
{
    task_init();
    thread_init();
    endpoint_init();
    struct task *a = task_create("ktest-cow-warm");
    struct task *b = task_create("ktest-cow-warm");
    struct endpoint *ep = endpoint_create();
    if (a && b && ep) {
        int err;
        task_map_anon(a, VA, 2 * PG, RW);
        task_map_share(b, VB, a, VA, 2, MICA_PROT_READ);
        task_map_cow(b, VB, RW);
        handle_install(&a->handles, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND, 1);
        thread_create_user(a, VA, VA, 0);
        struct task *c = task_fork(a, ep, 1, &err);
        if (c)
            task_exit(c, 0);
    }
    if (a)
        task_exit(a, 0);
    if (b)
        task_exit(b, 0);
    if (ep)
        endpoint_put(ep);
}

KTEST(cow_share_maps_same_frames_read_only_marked)
{
    struct mm_usage base;
    warm_up();
    mm_usage_get(&base);
    struct task *a = task_create("ktest-cow-a"), *b = task_create("ktest-cow-b");
    KREQUIRE(t, a && b);
    /* Pages 0-2 writable, 3 a hole, 4 read-only. */
    KREQUIRE(t, task_map_anon(a, VA, 3 * PG, RW) == 0);
    KREQUIRE(t, task_map_anon(a, VA + 4 * PG, PG, MICA_PROT_READ) == 0);
    for (int i = 0; i < 3; i++)
        *word_at(a, VA + i * PG) = 0xc0ffee00u + i;

    KEXPECT_EQ(t, task_map_share(b, VB, a, VA, 5, MICA_PROT_READ), 4);
    for (int i = 0; i < 5; i++) {
        uintptr_t s = VA + i * PG, d = VB + i * PG;
        if (i == 3) {
            KEXPECT_EQ(t, frame_of(b, d), 0);
            continue;
        }
        KEXPECT(t, frame_of(a, s) != 0);
        KEXPECT_EQ(t, frame_of(b, d), frame_of(a, s));
        KEXPECT_EQ(t, pmm_refcount(frame_of(a, s)), 2);
        KEXPECT(t, !writable(a, s) && !writable(b, d));
        bool marked = i < 3;
        KEXPECT_EQ(t, vmm_is_cow(&a->as, s), marked);
        KEXPECT_EQ(t, vmm_is_cow(&b->as, d), marked);
    }
    KEXPECT_EQ(t, *word_at(b, VB + 2 * PG), 0xc0ffee02u);

    /* Refusals change nothing. */
    KEXPECT_EQ(t, task_map_share(b, VB, a, VA, 1, MICA_PROT_READ), -MICA_EEXIST);
    KEXPECT_EQ(t, task_map_share(b, VB + 16 * PG, a, VA, 1, RW), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_share(b, VB + 16 * PG + 8, a, VA, 1, MICA_PROT_READ), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_share(b, VB + 16 * PG, a, VA, 0, MICA_PROT_READ), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_share(b, MICA_USER_END - PG, a, VA, 2, MICA_PROT_READ), -MICA_EINVAL);
    KEXPECT_EQ(t, task_map_share(a, VA + PG, a, VA, 2, MICA_PROT_READ), -MICA_EINVAL);
    KEXPECT_EQ(t, pmm_refcount(frame_of(a, VA)), 2);
    /* Protect keeps a share read-only and marked. */
    KEXPECT_EQ(t, task_protect(a, VA, PG, RW), 0);
    KEXPECT(t, !writable(a, VA) && vmm_is_cow(&a->as, VA));

    task_exit(a, 0);
    KEXPECT_EQ(t, pmm_refcount(frame_of(b, VB)), 1);
    task_exit(b, 0);
    expect_baseline(t, &base);
}

KTEST(cow_map_cow_copies_shared_and_takes_over_alone)
{
    struct mm_usage base;
    warm_up();
    mm_usage_get(&base);
    struct task *a = task_create("ktest-cow-a"), *b = task_create("ktest-cow-b");
    KREQUIRE(t, a && b);
    KREQUIRE(t, task_map_anon(a, VA, PG, RW) == 0);
    uint64_t *w = word_at(a, VA);
    for (unsigned i = 0; i < PG / 8; i++)
        w[i] = 0x5eed0000u + i;
    KREQUIRE(t, task_map_share(b, VB, a, VA, 1, MICA_PROT_READ) == 1);
    paddr_t shared = frame_of(a, VA);

    KEXPECT_EQ(t, task_map_cow(b, VB, MICA_PROT_READ), -MICA_EINVAL); /* no write */
    KEXPECT_EQ(t, task_map_cow(b, VB + PG, RW), -MICA_EINVAL);        /* not mapped */
    KEXPECT_EQ(t, task_map_cow(b, VB, RW), 1);
    paddr_t copy = frame_of(b, VB);
    KEXPECT(t, copy != shared && copy != 0);
    KEXPECT_EQ(t, memcmp(phys_to_virt(copy), phys_to_virt(shared), PG), 0);
    KEXPECT_EQ(t, pmm_refcount(shared), 1);
    KEXPECT_EQ(t, pmm_refcount(copy), 1);
    KEXPECT(t, writable(b, VB) && !vmm_is_cow(&b->as, VB));
    KEXPECT_EQ(t, task_map_cow(b, VB, RW), -MICA_EINVAL); /* no longer marked */

    KEXPECT_EQ(t, task_map_cow(a, VA, RW), 0);
    KEXPECT_EQ(t, frame_of(a, VA), shared);
    KEXPECT(t, writable(a, VA) && !vmm_is_cow(&a->as, VA));

    task_exit(a, 0);
    task_exit(b, 0);
    expect_baseline(t, &base);
}

KTEST(cow_fork_clones_mappings_handles_and_registers)
{
    struct mm_usage base;
    warm_up();
    mm_usage_get(&base);
    struct task *p = task_create("ktest-cow-parent");
    struct endpoint *ep = endpoint_create();
    KREQUIRE(t, p && ep);
    KREQUIRE(t, task_map_anon(p, VA, 2 * PG, RW) == 0);
    KREQUIRE(t, task_map_anon(p, VA + 2 * PG, PG, MICA_PROT_READ | MICA_PROT_EXEC) == 0);
    *word_at(p, VA + PG) = 0xf02c;
    /* Handle 0 closed: the child's table must keep handle numbers. */
    KEXPECT_EQ(t, handle_install(&p->handles, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND, 5), 0);
    KEXPECT_EQ(t, handle_install(&p->handles, HANDLE_ENDPOINT, ep,
                                 MICA_RIGHT_SEND | MICA_RIGHT_RECV, 9), 1);
    KEXPECT_EQ(t, handle_close(&p->handles, 0), 0);
    p->start_flags = MICA_START_TEST_MODE | MICA_START_MACHINE;
    struct thread *th = thread_create_user(p, VA, VB, 0);
    KREQUIRE(t, th != NULL);
    th->utf->rbx = 0xb0b;
    th->utf->rsi = 77;
    th->utf->rax = 6;

    int err = 0;
    struct task *c = task_fork(p, ep, 42, &err);
    KREQUIRE(t, c != NULL);
    for (int i = 0; i < 3; i++) {
        uintptr_t va = VA + i * PG;
        KEXPECT_EQ(t, frame_of(c, va), frame_of(p, va));
        KEXPECT_EQ(t, pmm_refcount(frame_of(p, va)), 2);
        KEXPECT(t, !writable(p, va) && !writable(c, va));
        KEXPECT_EQ(t, vmm_is_cow(&p->as, va), i < 2);
        KEXPECT_EQ(t, vmm_is_cow(&c->as, va), i < 2);
    }
    KEXPECT_EQ(t, *word_at(c, VA + PG), 0xf02c);
    KEXPECT_EQ(t, c->pager, ep);
    KEXPECT_EQ(t, c->pager_badge, 42);
    KEXPECT_EQ(t, c->start_flags, MICA_START_TEST_MODE);
    KEXPECT_EQ(t, c->handles.slots[0].type, HANDLE_FREE);
    KEXPECT_EQ(t, c->handles.slots[1].type, HANDLE_ENDPOINT);
    KEXPECT_EQ(t, c->handles.slots[1].object, ep);
    KEXPECT_EQ(t, c->handles.slots[1].badge, 9);
    KEXPECT_EQ(t, c->handles.slots[1].rights, MICA_RIGHT_SEND | MICA_RIGHT_RECV);
    KREQUIRE(t, c->nthreads == 1);
    const struct trap_frame *f = c->threads->utf;
    KEXPECT_EQ(t, f->rbx, 0xb0b);
    KEXPECT_EQ(t, f->rip, VA);
    KEXPECT_EQ(t, f->rsp, VB);
    KEXPECT_EQ(t, f->rax, 0);
    KEXPECT_EQ(t, f->rdi, 0);
    KEXPECT_EQ(t, f->rsi, MICA_LABEL_FORK_CHILD);

    /* A write by the child after MAP_COW is invisible to the parent. */
    KEXPECT_EQ(t, task_map_cow(c, VA + PG, RW), 1);
    *word_at(c, VA + PG) = 0xc41d;
    KEXPECT_EQ(t, *word_at(p, VA + PG), 0xf02c);

    /* Two threads cannot be cloned. */
    KREQUIRE(t, thread_create_user(p, VA, VB, 0) != NULL);
    KEXPECT(t, task_fork(p, ep, 42, &err) == NULL);
    KEXPECT_EQ(t, err, -MICA_EINVAL);

    task_exit(c, 0);
    for (int i = 0; i < 3; i++)
        KEXPECT_EQ(t, pmm_refcount(frame_of(p, VA + i * PG)), 1);
    task_exit(p, 0);
    endpoint_put(ep);
    expect_baseline(t, &base);
}

/* In-kernel tests of per-pager frame quotas on tasks built here and never
 * run: frames a pager maps or copies for a client are charged to the pager,
 * the charge comes back exactly when a frame's last mapping goes (unmap,
 * copy-on-write replacement, teardown of any holder, the pager's own end
 * included), a quota of N refuses the frame after the Nth with
 * -MICA_ENOMEM before allocating anything, and the frame, slab and heap
 * counters return to their baseline. */
#include <mica/errno.h>

#include "mm/kheap.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "object/task.h"
#include "vm/cow.h"
#include "vm/frame_quota.h"
#include "vm/user_mem.h"
#include "mm/mm_usage.h"
#include "test/ktest.h"

#define VA 0x400000ull
#define VB 0x800000ull
#define RW (MICA_PROT_READ | MICA_PROT_WRITE)
#define PG PAGE_SIZE

static uint64_t free_frames(void)
{
    struct pmm_stats ps;
    pmm_get_stats(&ps);
    return ps.free;
}

static bool mapped(struct task *t, uintptr_t va)
{
    return vmm_translate(&t->as, va, NULL, NULL) == 0;
}

/* Caches and table pages appear on first use: exercise them once first. */
static void warm_up(void)
{
    task_init();
    struct task *p = task_create("ktest-quota-warm"), *c = task_create("ktest-quota-warm");
    if (p && c) {
        task_map_anon_for(c, p, VA, 2 * PG, RW);
        task_map_share(c, VB, c, VA, 1, MICA_PROT_READ);
        task_map_cow_for(c, p, VB, RW);
    }
    if (c)
        task_exit(c, 0);
    if (p)
        task_exit(p, 0);
}

KTEST(quota_charges_follow_frames_and_refuse_past_the_limit)
{
    struct mm_usage base, now;
    warm_up();
    mm_usage_get(&base);
    struct task *p = task_create("ktest-quota-pager"), *c = task_create("ktest-quota-c"),
                *d = task_create("ktest-quota-d");
    KREQUIRE(t, p && c && d);
    KEXPECT_EQ(t, task_frames_charged(p), 0);

    /* Unlimited by default; uncharged mappings cost the pager nothing. */
    KEXPECT_EQ(t, task_map_anon(c, VA + 16 * PG, PG, RW), 0);
    KEXPECT_EQ(t, task_frames_charged(p), 0);
    KEXPECT_EQ(t, task_unmap(c, VA + 16 * PG, PG), 0);

    task_set_frame_quota(p, 4);
    KEXPECT_EQ(t, task_map_anon_for(c, p, VA, 3 * PG, RW), 0);
    KEXPECT_EQ(t, task_frames_charged(p), 3);
    /* Two more would make 5 > 4: refused before any frame is taken. */
    uint64_t before = free_frames();
    KEXPECT_EQ(t, task_map_anon_for(c, p, VA + 3 * PG, 2 * PG, RW), -MICA_ENOMEM);
    KEXPECT_EQ(t, free_frames(), before);
    KEXPECT(t, !mapped(c, VA + 3 * PG) && !mapped(c, VA + 4 * PG));
    KEXPECT_EQ(t, task_frames_charged(p), 3);
    /* The 4th frame is within the quota, the 5th is not. */
    KEXPECT_EQ(t, task_map_anon_for(c, p, VA + 3 * PG, PG, RW), 0);
    KEXPECT_EQ(t, task_frames_charged(p), 4);
    KEXPECT_EQ(t, task_map_anon_for(c, p, VA + 4 * PG, PG, RW), -MICA_ENOMEM);
    KEXPECT_EQ(t, task_frames_charged(p), 4);

    /* Unmapping gives the charge back. */
    KEXPECT_EQ(t, task_unmap(c, VA, PG), 0);
    KEXPECT_EQ(t, task_frames_charged(p), 3);

    /* A shared frame stays charged until its last mapping goes; a copy is
     * charged like a new frame, and refused over the quota. */
    KEXPECT_EQ(t, task_map_share(d, VB, c, VA + PG, 2, MICA_PROT_READ), 2);
    KEXPECT_EQ(t, task_frames_charged(p), 3);
    KEXPECT_EQ(t, task_map_cow_for(d, p, VB, RW), 1);
    KEXPECT_EQ(t, task_frames_charged(p), 4);
    before = free_frames();
    KEXPECT_EQ(t, task_map_cow_for(d, p, VB + PG, RW), -MICA_ENOMEM);
    KEXPECT_EQ(t, free_frames(), before);
    KEXPECT_EQ(t, task_frames_charged(p), 4);
    KEXPECT_EQ(t, task_unmap(d, VB + PG, PG), 0); /* c still maps the frame */
    KEXPECT_EQ(t, task_frames_charged(p), 4);
    /* c's page is its own again: taken over without a new charge. */
    KEXPECT_EQ(t, task_map_cow_for(c, p, VA + 2 * PG, RW), 0);
    KEXPECT_EQ(t, task_frames_charged(p), 4);

    /* Teardown of a client returns what only it held: c holds VA+PG (its
     * original, copied away from by d), VA+2PG and VA+3PG; d keeps its copy. */
    task_exit(c, 0);
    KEXPECT_EQ(t, task_frames_charged(p), 1);

    /* The pager ends first: its remaining charge is released by d's end. */
    task_exit(p, 0);
    task_exit(d, 0);
    mm_usage_get(&now);
    KEXPECT_EQ(t, now.free_frames, base.free_frames);
    KEXPECT_EQ(t, now.slab_objs, base.slab_objs);
    KEXPECT_EQ(t, now.heap_bytes, base.heap_bytes);

    /* The orphaned account was freed: a new pager starts at zero and can
     * be charged again. */
    struct task *q = task_create("ktest-quota-q"), *e = task_create("ktest-quota-e");
    KREQUIRE(t, q && e);
    task_set_frame_quota(q, 2);
    KEXPECT_EQ(t, task_frames_charged(q), 0);
    KEXPECT_EQ(t, task_map_anon_for(e, q, VA, 3 * PG, RW), -MICA_ENOMEM);
    KEXPECT_EQ(t, task_map_anon_for(e, q, VA, 2 * PG, RW), 0);
    KEXPECT_EQ(t, task_frames_charged(q), 2);
    task_exit(e, 0);
    KEXPECT_EQ(t, task_frames_charged(q), 0);
    task_exit(q, 0);
    mm_usage_get(&now);
    KEXPECT_EQ(t, now.free_frames, base.free_frames);
}

/* Host tests of the handle table (microkernel/object/handle.c): random
 * install / lookup / close / mint sequences checked against a plain model
 * of the slots and of the references every object must hold, plus the
 * edge cases (exhaustion, bad numbers, rights and badge rules). The
 * objects are stand-ins: the endpoint and task reference calls are stubs
 * that count. */
#include <stdlib.h>
#include <string.h>

#include <mica/errno.h>

#include "tap.h"
#include "object/endpoint.h"
#include "object/handle.h"
#include "kernel/syscall.h"
#include "object/syscalls.h"
#include "mm/kheap.h"
#include "object/sched.h"
#include "object/task.h"

/* ---- stubs for what handle.c calls ---- */

#define NOBJ 8
static struct endpoint eps[NOBJ];
static struct task tasks[NOBJ];
static long ep_refs[NOBJ], ep_recv[NOBJ], task_refs[NOBJ];

void *kcalloc(size_t n, size_t size) { return calloc(n, size); }
void *kmalloc(size_t n) { return malloc(n); }
void kfree(void *p) { free(p); }

void endpoint_handle_get(struct endpoint *ep, uint32_t rights)
{
    ep_refs[ep - eps]++;
    if (rights & MICA_RIGHT_RECV)
        ep_recv[ep - eps]++;
}

void endpoint_handle_put(struct endpoint *ep, uint32_t rights)
{
    CHECK(ep_refs[ep - eps] > 0);
    ep_refs[ep - eps]--;
    if (rights & MICA_RIGHT_RECV) {
        CHECK(ep_recv[ep - eps] > 0);
        ep_recv[ep - eps]--;
    }
}

void task_handle_get(struct task *t) { task_refs[t - tasks]++; }

void task_handle_put(struct task *t)
{
    CHECK(task_refs[t - tasks] > 0);
    task_refs[t - tasks]--;
}

/* ---- the model ---- */

struct mslot {
    enum handle_type type;
    int obj;
    uint32_t rights;
    uint64_t badge;
};
static struct mslot model[MICA_HANDLE_MAX];

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void *obj_ptr(enum handle_type type, int i)
{
    return type == HANDLE_ENDPOINT ? (void *)&eps[i] : (void *)&tasks[i];
}

static void reset_model(void)
{
    memset(model, 0, sizeof model);
    memset(ep_refs, 0, sizeof ep_refs);
    memset(ep_recv, 0, sizeof ep_recv);
    memset(task_refs, 0, sizeof task_refs);
}

static int model_lowest_free(void)
{
    for (int h = 0; h < MICA_HANDLE_MAX; h++)
        if (model[h].type == HANDLE_FREE)
            return h;
    return -1;
}

/* Every slot equals the model and every object holds exactly one
 * reference per slot naming it (and one receive reference per slot with
 * MICA_RIGHT_RECV). */
static void check_against_model(const struct handle_table *ht)
{
    long er[NOBJ] = {0}, rr[NOBJ] = {0}, tr[NOBJ] = {0};
    for (int h = 0; h < MICA_HANDLE_MAX; h++) {
        const struct handle *s = &ht->slots[h];
        const struct mslot *m = &model[h];
        CHECK_EQ(s->type, m->type);
        if (m->type == HANDLE_FREE)
            continue;
        CHECK(s->object == obj_ptr(m->type, m->obj));
        CHECK_EQ(s->rights, m->rights);
        CHECK_EQ(s->badge, m->badge);
        if (m->type == HANDLE_ENDPOINT) {
            er[m->obj]++;
            rr[m->obj] += (m->rights & MICA_RIGHT_RECV) != 0;
        } else {
            tr[m->obj]++;
        }
    }
    for (int i = 0; i < NOBJ; i++) {
        CHECK_EQ(ep_refs[i], er[i]);
        CHECK_EQ(ep_recv[i], rr[i]);
        CHECK_EQ(task_refs[i], tr[i]);
        /* What the pager-loop check counts. */
        CHECK_EQ(handle_count(ht, obj_ptr(HANDLE_ENDPOINT, i), MICA_RIGHT_RECV), rr[i]);
        CHECK_EQ(handle_count(ht, obj_ptr(HANDLE_ENDPOINT, i), 0), er[i]);
    }
}

/* sys_handle_* run as the current thread of this task. */
static struct task self;
static struct thread self_thread = {.task = &self};

static int64_t do_mint(uint64_t h, uint64_t rights, uint64_t badge)
{
    struct trap_frame tf = {.rdi = h, .rsi = rights, .rdx = badge};
    return sys_handle_mint(&tf);
}

static int64_t do_close(uint64_t h)
{
    struct trap_frame tf = {.rdi = h};
    return sys_handle_close(&tf);
}

/* What mint must answer, from the model. */
static int64_t model_mint(uint64_t h, uint64_t rights, uint64_t badge)
{
    if (h >= MICA_HANDLE_MAX || model[h].type == HANDLE_FREE)
        return -MICA_EBADH;
    const struct mslot *m = &model[h];
    if (!(m->rights & MICA_RIGHT_GRANT))
        return -MICA_EPERM;
    if (rights & ~(uint64_t)MICA_RIGHTS_ALL)
        return -MICA_EINVAL;
    if (rights & ~(uint64_t)m->rights)
        return -MICA_EPERM;
    if (badge && m->type != HANDLE_ENDPOINT)
        return -MICA_EINVAL;
    if (badge && m->badge)
        return -MICA_EPERM;
    int free_slot = model_lowest_free();
    if (free_slot < 0)
        return -MICA_ENOSPC;
    model[free_slot] = (struct mslot){m->type, m->obj, (uint32_t)rights, badge ? badge : m->badge};
    return free_slot;
}

/* A handle number that is often valid, sometimes free or out of range. */
static uint64_t random_handle(void)
{
    switch (next_rand() % 8) {
    case 0:
        return MICA_HANDLE_MAX + next_rand() % 4;
    case 1:
        return ~0ull - next_rand() % 2;
    default:
        return next_rand() % 64; /* keep the table dense so slots collide */
    }
}

static void random_step(struct handle_table *ht)
{
    int err = 0;
    uint64_t h = random_handle();
    switch (next_rand() % 5) {
    case 0: { /* install */
        enum handle_type type = next_rand() % 2 ? HANDLE_ENDPOINT : HANDLE_TASK;
        int obj = (int)(next_rand() % NOBJ);
        uint32_t rights = (uint32_t)(next_rand() % 16);
        uint64_t badge = next_rand() % 3 ? 0 : next_rand() % 100;
        int expect = model_lowest_free();
        long got = handle_install(ht, type, obj_ptr(type, obj), rights, badge);
        CHECK_EQ(got, expect < 0 ? -MICA_ENOSPC : expect);
        if (expect >= 0)
            model[expect] = (struct mslot){type, obj, rights, badge};
        break;
    }
    case 1: { /* lookup */
        enum handle_type type = next_rand() % 2 ? HANDLE_ENDPOINT : HANDLE_TASK;
        uint32_t rights = (uint32_t)(next_rand() % 16);
        struct handle *e = handle_lookup(ht, h, type, rights, &err);
        if (h >= MICA_HANDLE_MAX || model[h].type != type) {
            CHECK(e == NULL);
            CHECK_EQ(err, -MICA_EBADH);
        } else if (rights & ~model[h].rights) {
            CHECK(e == NULL);
            CHECK_EQ(err, -MICA_EPERM);
        } else {
            CHECK(e == &ht->slots[h]);
        }
        break;
    }
    case 2: { /* close */
        int64_t expect = (h >= MICA_HANDLE_MAX || model[h].type == HANDLE_FREE) ? -MICA_EBADH : 0;
        CHECK_EQ(do_close(h), expect);
        if (expect == 0)
            model[h].type = HANDLE_FREE;
        break;
    }
    default: { /* mint */
        uint64_t rights = next_rand() % 8 ? next_rand() % 16 : next_rand() % 128;
        uint64_t badge = next_rand() % 2 ? 0 : 1 + next_rand() % 50;
        int64_t expect = model_mint(h, rights, badge);
        CHECK_EQ(do_mint(h, rights, badge), expect);
        break;
    }
    }
}

static void test_random_sequences_match_model(void)
{
    for (int round = 0; round < 40; round++) {
        reset_model();
        CHECK_EQ(handle_table_init(&self.handles), 0);
        for (int i = 0; i < 4000; i++) {
            random_step(&self.handles);
            if (i % 97 == 0)
                check_against_model(&self.handles);
        }
        check_against_model(&self.handles);
        handle_table_destroy(&self.handles);
        CHECK(self.handles.slots == NULL);
        for (int i = 0; i < NOBJ; i++)
            CHECK(ep_refs[i] == 0 && ep_recv[i] == 0 && task_refs[i] == 0);
    }
}

static void test_exhaustion_and_reuse(void)
{
    struct handle_table ht;
    reset_model();
    CHECK_EQ(handle_table_init(&ht), 0);
    for (long i = 0; i < MICA_HANDLE_MAX; i++)
        CHECK_EQ(handle_install(&ht, HANDLE_ENDPOINT, &eps[0], MICA_RIGHT_SEND, 0), i);
    CHECK_EQ(handle_install(&ht, HANDLE_TASK, &tasks[0], MICA_RIGHT_WAIT, 0), -MICA_ENOSPC);
    CHECK_EQ(ep_refs[0], MICA_HANDLE_MAX);
    CHECK_EQ(task_refs[0], 0);
    CHECK_EQ(handle_close(&ht, MICA_HANDLE_MAX - 1), 0);
    CHECK_EQ(handle_close(&ht, 0), 0);
    CHECK_EQ(handle_install(&ht, HANDLE_TASK, &tasks[1], MICA_RIGHT_WAIT, 0), 0);
    CHECK_EQ(handle_install(&ht, HANDLE_TASK, &tasks[1], MICA_RIGHT_WAIT, 0), MICA_HANDLE_MAX - 1);
    CHECK_EQ(task_refs[1], 2);
    handle_table_destroy(&ht);
    CHECK_EQ(ep_refs[0], 0);
    CHECK_EQ(task_refs[1], 0);
}

static void test_bad_numbers_and_rights(void)
{
    struct handle_table ht;
    int err = 0;
    reset_model();
    CHECK_EQ(handle_table_init(&ht), 0);
    CHECK_EQ(handle_install(&ht, HANDLE_ENDPOINT, &eps[2], MICA_RIGHT_RECV, 5), 0);
    CHECK(handle_lookup(&ht, 0, HANDLE_ENDPOINT, MICA_RIGHT_RECV, &err) != NULL);
    CHECK(handle_lookup(&ht, 0, HANDLE_ENDPOINT, MICA_RIGHT_RECV | MICA_RIGHT_SEND, &err) == NULL);
    CHECK_EQ(err, -MICA_EPERM);
    CHECK(handle_lookup(&ht, 0, HANDLE_TASK, 0, &err) == NULL);
    CHECK_EQ(err, -MICA_EBADH);
    CHECK(handle_lookup(&ht, 1, HANDLE_ENDPOINT, 0, &err) == NULL);
    CHECK_EQ(err, -MICA_EBADH);
    CHECK(handle_lookup(&ht, MICA_HANDLE_MAX, HANDLE_ENDPOINT, 0, &err) == NULL);
    CHECK_EQ(err, -MICA_EBADH);
    CHECK_EQ(handle_close(&ht, (uint64_t)-1), -MICA_EBADH);
    CHECK_EQ(handle_close(&ht, MICA_HANDLE_MAX), -MICA_EBADH);
    EXPECT_PANIC(handle_install(&ht, HANDLE_FREE, &eps[0], 0, 0));
    EXPECT_PANIC(handle_install(&ht, HANDLE_ENDPOINT, &eps[0], MICA_RIGHTS_ALL + 1u, 0));
    handle_table_destroy(&ht);
    CHECK_EQ(ep_recv[2], 0);
}

static void test_mint_rules(void)
{
    reset_model();
    CHECK_EQ(handle_table_init(&self.handles), 0);
    struct handle_table *ht = &self.handles;
    CHECK_EQ(handle_install(ht, HANDLE_ENDPOINT, &eps[0], MICA_RIGHTS_ALL, 0), 0);
    CHECK_EQ(handle_install(ht, HANDLE_TASK, &tasks[0], MICA_RIGHT_WAIT | MICA_RIGHT_GRANT, 0), 1);
    CHECK_EQ(do_mint(0, MICA_RIGHT_SEND, 7), 2);          /* badge an unbadged handle */
    CHECK_EQ(ht->slots[2].badge, 7);
    CHECK_EQ(do_mint(2, MICA_RIGHT_SEND, 8), -MICA_EPERM); /* no GRANT on 2 */
    CHECK_EQ(do_mint(0, MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 9), 3);
    CHECK_EQ(do_mint(3, MICA_RIGHT_SEND, 10), -MICA_EPERM); /* already badged */
    CHECK_EQ(do_mint(3, MICA_RIGHT_SEND, 0), 4);            /* keeps badge 9 */
    CHECK_EQ(ht->slots[4].badge, 9);
    CHECK_EQ(do_mint(3, MICA_RIGHT_RECV, 0), -MICA_EPERM);  /* more rights */
    CHECK_EQ(do_mint(1, MICA_RIGHT_WAIT, 0), 5);
    CHECK_EQ(do_mint(1, MICA_RIGHT_WAIT, 3), -MICA_EINVAL); /* badge on a task */
    CHECK_EQ(do_mint(0, 1ull << 40, 0), -MICA_EINVAL);
    CHECK_EQ(ep_refs[0], 4);
    CHECK_EQ(ep_recv[0], 1);
    CHECK_EQ(task_refs[0], 2);
    handle_table_destroy(ht);
    CHECK(ep_refs[0] == 0 && task_refs[0] == 0);
}

int main(void)
{
    host_cpu0.self = &host_cpu0;
    host_cpu0.current = &self_thread;
    static const struct tap_test tests[] = {
        TAP(test_random_sequences_match_model),
        TAP(test_exhaustion_and_reuse),
        TAP(test_bad_numbers_and_rights),
        TAP(test_mint_rules),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}

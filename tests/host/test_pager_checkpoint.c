/* Host tests of the pager's checkpoint format (servers/pager/ckpt_format.c):
 * what is written reads back; a writer stopped at any step of a write (a
 * pager killed mid-write) leaves the previous version readable; a damaged
 * slot is told from an empty one and loses only itself; a header of
 * another layout is refused; and a random model of writes, tearings and
 * damage checks every slot against the last whole write. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mica/syscall.h>

#include "rng.h"
#include "tap.h"
#include "../../servers/pager/ckpt_format.h"

static struct checkpoint ck;
static struct ckpt_cursor k; /* the writer's view; reloaded as a restarted pager would */

static void fresh(void)
{
    memset(&ck, 0, sizeof ck);
    ckpt_cursor_load(&ck, &k);
}

static struct pager_client client(uint64_t badge, uint64_t n)
{
    struct pager_client c;
    memset(&c, 0, sizeof c);
    c.used = true;
    c.badge = badge;
    c.task = n;
    c.next_va = PAGER_VA_BASE + n * PAGER_PAGE;
    for (unsigned i = 0; i < PAGER_REGIONS; i++)
        c.regions[i] = (struct pager_region){.va = PAGER_VA_BASE + i * 0x10000 + n,
                                             .len = (i % 3) * PAGER_PAGE,
                                             .prot = MICA_PROT_READ, .kind = PAGER_ANON};
    return c;
}

static void test_written_reads_back(void)
{
    fresh();
    uint64_t badge = 0;
    CHECK_EQ(ckpt_read_header(&ck, &badge), -1); /* fresh memory: nothing whole */
    ckpt_write_header(&ck, &k, 77);
    CHECK_EQ(ckpt_read_header(&ck, &badge), 0);
    CHECK_EQ(badge, 77);
    ckpt_write_header(&ck, &k, 78);
    CHECK_EQ(ckpt_read_header(&ck, &badge), 0);
    CHECK_EQ(badge, 78);

    struct pager_client c = client(5, 1), got;
    CHECK_EQ(ckpt_read_client(&ck, 3, &got), 0);
    CHECK(ckpt_client_changed(&ck, &k, 3, &c));
    ckpt_write_client(&ck, &k, 3, &c);
    CHECK_EQ(ckpt_read_client(&ck, 3, &got), 1);
    CHECK(memcmp(&got, &c, sizeof c) == 0);
    CHECK(!ckpt_client_changed(&ck, &k, 3, &c));
    c.regions[4].prot = MICA_PROT_READ | MICA_PROT_WRITE;
    CHECK(ckpt_client_changed(&ck, &k, 3, &c));
    ckpt_write_client(&ck, &k, 3, &c);
    CHECK_EQ(ckpt_read_client(&ck, 3, &got), 1);
    CHECK_EQ(got.regions[4].prot, MICA_PROT_READ | MICA_PROT_WRITE);
    CHECK_EQ(ckpt_read_client(&ck, 4, &got), 0); /* others untouched */
}

/* Stop a write of slot i after `step` of its stores (0 seq cleared, 1
 * part of the payload, 2 the whole payload, 3 a checksum that does not
 * match: the seq store never came), as a writer killed there would; then
 * reload the cursor, as the restarted writer does. */
static void torn_write(unsigned i, const struct pager_client *c, unsigned step)
{
    struct ckpt_client_rec *r = &ck.clients[i][k.copy[i] == 0 ? 1 : 0];
    r->seq = 0;
    if (step >= 1)
        memcpy(&r->c, c, sizeof r->c / 2);
    if (step >= 2)
        memcpy(&r->c, c, sizeof r->c);
    if (step >= 3)
        r->sum ^= 0x1234;
    ckpt_cursor_load(&ck, &k);
}

static void test_a_torn_write_keeps_the_previous_version(void)
{
    for (unsigned step = 0; step < 4; step++) {
        fresh();
        struct pager_client a = client(9, 1), b = client(9, 2), got;
        ckpt_write_client(&ck, &k, 0, &a);
        ckpt_write_client(&ck, &k, 0, &b);
        torn_write(0, &a, step); /* a third write, stopped */
        CHECK_EQ(ckpt_read_client(&ck, 0, &got), 1);
        CHECK(memcmp(&got, &b, sizeof b) == 0);
        /* The next whole write wins again. */
        ckpt_write_client(&ck, &k, 0, &a);
        CHECK_EQ(ckpt_read_client(&ck, 0, &got), 1);
        CHECK(memcmp(&got, &a, sizeof a) == 0);
    }
}

static void test_damage_is_told_from_empty_and_stays_local(void)
{
    fresh();
    struct pager_client a = client(3, 1), b = client(4, 2), got;
    ckpt_write_client(&ck, &k, 0, &a);
    ckpt_write_client(&ck, &k, 0, &a);
    ckpt_write_client(&ck, &k, 1, &b);
    ck.clients[0][0].c.regions[2].len ^= PAGER_PAGE; /* both copies damaged */
    ck.clients[0][1].c.badge ^= 1;
    ckpt_cursor_load(&ck, &k); /* what a restarted writer finds */
    CHECK_EQ(ckpt_read_client(&ck, 0, &got), -1);
    CHECK_EQ(ckpt_read_client(&ck, 1, &got), 1);
    CHECK(memcmp(&got, &b, sizeof b) == 0);
    CHECK_EQ(ckpt_read_client(&ck, 2, &got), 0);
    /* A damaged slot can be written again. */
    CHECK(ckpt_client_changed(&ck, &k, 0, &a));
    ckpt_write_client(&ck, &k, 0, &a);
    CHECK_EQ(ckpt_read_client(&ck, 0, &got), 1);
    CHECK(memcmp(&got, &a, sizeof a) == 0);
}

/* The checksum as ckpt_format.h specifies it: FNV-1a over the payload's
 * 64-bit words, seeded with seq. */
static uint64_t spec_sum(uint64_t seq, const void *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seq, w;
    for (size_t i = 0; i < n; i += 8) {
        memcpy(&w, (const char *)p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    return h;
}

/* A header whole by its checksum but written by another build: refused. */
static void test_another_layout_is_refused(void)
{
    uint64_t badge = 0;
    for (int field = 0; field < 5; field++) {
        fresh();
        ckpt_write_header(&ck, &k, 5);
        struct ckpt_header_rec *r = ck.header[0].seq ? &ck.header[0] : &ck.header[1];
        CHECK_EQ(r->sum, spec_sum(r->seq, &r->h, sizeof r->h)); /* the spec holds */
        switch (field) {
        case 0: r->h.magic ^= 1; break;
        case 1: r->h.version++; break;
        case 2: r->h.client_size += 8; break;
        case 3: r->h.clients--; break;
        case 4: r->h.regions++; break;
        }
        CHECK_EQ(ckpt_read_header(&ck, &badge), -1); /* changed bytes: not whole */
        r->sum = spec_sum(r->seq, &r->h, sizeof r->h);
        CHECK_EQ(ckpt_read_header(&ck, &badge), -2); /* whole, but not ours */
    }
}

/* A model: random whole writes, torn writes and damage over 8 slots; each
 * slot must read as its last whole write, or as damaged exactly when both
 * copies were hit. */
static void test_random_model(void)
{
    rng_state = 0x9e3779b97f4a7c15ull;
    fresh();
    enum { SLOTS = 8 };
    struct pager_client want[SLOTS];
    int written[SLOTS] = {0};
    for (int round = 0; round < 20000; round++) {
        unsigned i = (unsigned)(rng() % SLOTS);
        uint64_t r = rng() % 10;
        struct pager_client c = client(i + 1, rng() % 1000);
        if (r < 7) {
            ckpt_write_client(&ck, &k, i, &c);
            want[i] = c;
            written[i] = 1;
        } else {
            torn_write(i, &c, (unsigned)(rng() % 4));
        }
        struct pager_client got;
        int rc = ckpt_read_client(&ck, i, &got);
        if (written[i]) {
            CHECK_EQ(rc, 1);
            if (rc == 1 && memcmp(&got, &want[i], sizeof got) != 0) {
                printf("# round %d slot %u: not the last whole write\n", round, i);
                tap_failures++;
                return;
            }
        } else {
            CHECK(rc <= 0);
        }
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_written_reads_back),
        TAP(test_a_torn_write_keeps_the_previous_version),
        TAP(test_damage_is_told_from_empty_and_stays_local),
        TAP(test_another_layout_is_refused),
        TAP(test_random_model),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}

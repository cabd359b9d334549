/* Host tests of the pager's checkpoint format (servers/pager/ckpt_format.c):
 * what is written reads back; a writer stopped at any store of a write (a
 * pager killed mid-write) leaves the previous version readable; damage is
 * detected, loses at most its slot's last write and is told from an empty
 * slot; a header of another layout is refused; and a random model drives
 * the real region operations (regions.c, which mark what they change) and
 * checks every slot against the last whole write, so a change that
 * regions.c forgets to mark fails here. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mica/syscall.h>

#include "rng.h"
#include "tap.h"
#include "../../servers/pager/ckpt_format.h"
#include "ckpt_kept.h"

/* The seals are test_pager_regions' subject; records here are built by
 * hand, unsealed. */
void pager_damaged(const struct pager_client *c, const struct pager_region *r)
{
    (void)c;
    (void)r;
}

static struct checkpoint ck, before;
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
    c.parent = n + 7;
    c.next_va = PAGER_VA_BASE + n * PAGER_PAGE;
    for (unsigned i = 0; i < PAGER_REGIONS; i++)
        c.regions[i] = (struct pager_region){.va = PAGER_VA_BASE + i * 0x10000 + n * PAGER_PAGE,
                                             .len = (i % 3) * PAGER_PAGE,
                                             .prot = MICA_PROT_READ, .kind = PAGER_ANON,
                                             .cow = i % 2};
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
    ckpt_write_client(&ck, &k, 3, &c, 0); /* a new slot: every region goes in */
    CHECK_EQ(ckpt_read_client(&ck, 3, &got), 1);
    CHECK(same_kept(&got, &c));
    CHECK(!ckpt_client_changed(&ck, &k, 3, &c));
    c.regions[4].prot = MICA_PROT_READ | MICA_PROT_WRITE;
    ckpt_write_client(&ck, &k, 3, &c, 1u << 4);
    CHECK_EQ(ckpt_read_client(&ck, 3, &got), 1);
    CHECK_EQ(got.regions[4].prot, MICA_PROT_READ | MICA_PROT_WRITE);
    CHECK(same_kept(&got, &c));
    c.regions[4].len = 0; /* a region goes */
    c.next_va += PAGER_PAGE;
    CHECK(ckpt_client_changed(&ck, &k, 3, &c));
    ckpt_write_client(&ck, &k, 3, &c, 1u << 4);
    CHECK_EQ(ckpt_read_client(&ck, 3, &got), 1);
    CHECK(same_kept(&got, &c));
    CHECK_EQ(ckpt_read_client(&ck, 4, &got), 0); /* others untouched */

    /* Another client in the slot: none of the old one's regions stay. */
    struct pager_client d;
    memset(&d, 0, sizeof d);
    d.used = true;
    d.badge = 6;
    d.regions[0] = (struct pager_region){.va = PAGER_VA_BASE, .len = PAGER_PAGE,
                                         .prot = MICA_PROT_READ, .kind = PAGER_ANON};
    ckpt_write_client(&ck, &k, 3, &d, 1);
    CHECK_EQ(ckpt_read_client(&ck, 3, &got), 1);
    CHECK(same_kept(&got, &d));
    d.used = false; /* and a slot let go */
    ckpt_write_client(&ck, &k, 3, &d, 0);
    CHECK_EQ(ckpt_read_client(&ck, 3, &got), 1);
    CHECK(!got.used);
}

/* The stores of a write of slot i, stopped: `ck` is set to `before` plus
 * some of the words the whole write changed, as a writer killed there
 * leaves it. The writer stores region records first, then the commit's
 * seq = 0, its payload and sum, then its seq: so `step` 0 applies a random
 * part of the region records only; 1 all of them and the commit's seq
 * zeroed; 2 that and a random part of the commit; 3 all but its seq. */
static void torn(unsigned i, const struct checkpoint *after, unsigned step)
{
    const uint64_t *a = (const uint64_t *)after;
    uint64_t *w = (uint64_t *)&ck;
    size_t commits = (size_t)((const char *)&ck.clients[i][0] - (const char *)&ck) / 8,
           commits_end = (size_t)((const char *)&ck.clients[i + 1][0] - (const char *)&ck) / 8,
           regions = (size_t)((const char *)&ck.regions[i][0][0] - (const char *)&ck) / 8,
           regions_end = (size_t)((const char *)&ck.regions[i + 1][0][0] - (const char *)&ck) / 8;
    memcpy(&ck, &before, sizeof ck);
    for (size_t n = regions; n < regions_end; n++)
        if (step > 0 || rng() % 2)
            w[n] = a[n];
    if (step == 0)
        return;
    for (size_t n = commits; n < commits_end; n++) {
        if (a[n] == w[n])
            continue;
        bool seq = n == commits || n == commits + sizeof ck.clients[i][0] / 8;
        if (seq)
            w[n] = 0; /* the seq being written, zeroed first */
        else if (step == 3 || (step == 2 && rng() % 2))
            w[n] = a[n];
    }
}

static void test_a_torn_write_keeps_the_previous_version(void)
{
    rng_state = 0x2545f4914f6cdd1dull;
    for (unsigned round = 0; round < 64; round++) {
        unsigned step = round % 4;
        fresh();
        struct pager_client a = client(9, 1), b = client(9, 2), got;
        ckpt_write_client(&ck, &k, 0, &a, 0);
        ckpt_write_client(&ck, &k, 0, &b, ~0u);
        memcpy(&before, &ck, sizeof ck);
        /* A third write, of the same client or of a new one in the slot. */
        struct pager_client c = round & 4 ? client(10, 3) : client(9, 3);
        ckpt_write_client(&ck, &k, 0, &c, 0x5555u);
        static struct checkpoint after;
        memcpy(&after, &ck, sizeof ck);
        torn(0, &after, step);
        ckpt_cursor_load(&ck, &k);
        CHECK_EQ(ckpt_read_client(&ck, 0, &got), 1);
        CHECK(same_kept(&got, &b));
        /* The next whole write wins again. */
        ckpt_write_client(&ck, &k, 0, &a, ~0u);
        CHECK_EQ(ckpt_read_client(&ck, 0, &got), 1);
        CHECK(same_kept(&got, &a));
    }
}

static void test_damage_is_detected_and_stays_local(void)
{
    fresh();
    struct pager_client a = client(3, 1), b = client(4, 2), got;
    ckpt_write_client(&ck, &k, 0, &a, 0);
    struct pager_client a2 = a;
    a2.regions[1].prot = MICA_PROT_READ | MICA_PROT_WRITE;
    ckpt_write_client(&ck, &k, 0, &a2, 1u << 1);
    ckpt_write_client(&ck, &k, 1, &b, 0);

    /* A damaged region record of the last commit: the commit before it,
     * whose records are whole, is taken. */
    const struct ckpt_client_rec *last = &ck.clients[0][k.copy[0]];
    ck.regions[0][1][last->copy >> 1 & 1].len ^= PAGER_PAGE;
    ckpt_cursor_load(&ck, &k);
    CHECK_EQ(ckpt_read_client(&ck, 0, &got), 1);
    CHECK(same_kept(&got, &a));

    /* Both commits damaged: the slot is lost, and told from an empty one. */
    ck.clients[0][0].badge ^= 1;
    ck.clients[0][1].next_va ^= PAGER_PAGE;
    ckpt_cursor_load(&ck, &k);
    CHECK_EQ(ckpt_read_client(&ck, 0, &got), -1);
    CHECK_EQ(ckpt_read_client(&ck, 1, &got), 1);
    CHECK(same_kept(&got, &b));
    CHECK_EQ(ckpt_read_client(&ck, 2, &got), 0);

    /* A record copied to another slot does not check there. */
    memcpy(&ck.regions[1][5][0], &ck.regions[1][4][0], sizeof ck.regions[1][5][0]);
    memcpy(&ck.regions[1][5][1], &ck.regions[1][4][1], sizeof ck.regions[1][5][1]);
    ckpt_cursor_load(&ck, &k);
    CHECK_EQ(ckpt_read_client(&ck, 1, &got), -1);

    /* A damaged slot can be written again. */
    CHECK(ckpt_client_changed(&ck, &k, 0, &a));
    ckpt_write_client(&ck, &k, 0, &a, 0);
    CHECK_EQ(ckpt_read_client(&ck, 0, &got), 1);
    CHECK(same_kept(&got, &a));
}

/* The header's checksum as ckpt_format.h specifies it: FNV-1a over the
 * payload's 64-bit words, seeded with seq. */
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
        case 2: r->h.rec_size += 8; break;
        case 3: r->h.clients--; break;
        case 4: r->h.regions++; break;
        }
        CHECK_EQ(ckpt_read_header(&ck, &badge), -1); /* changed bytes: not whole */
        r->sum = spec_sum(r->seq, &r->h, sizeof r->h);
        CHECK_EQ(ckpt_read_header(&ck, &badge), -2); /* whole, but not ours */
    }
}

/* One random change of c through regions.c, as the pager's requests make
 * them (each marks the regions it changes in c->dirty). */
static void random_change(struct pager_client *c)
{
    uint64_t va = PAGER_VA_BASE + (rng() % 16) * PAGER_PAGE, len = (1 + rng() % 4) * PAGER_PAGE;
    switch (rng() % 5) {
    case 0:
        pager_region_alloc(c, len, MICA_PROT_READ | MICA_PROT_WRITE, PAGER_ANON);
        break;
    case 1:
        pager_region_remove(c, va, len);
        break;
    case 2:
        pager_region_protect(c, va, len, rng() % 2 ? MICA_PROT_READ
                                                   : MICA_PROT_READ | MICA_PROT_WRITE, 0);
        break;
    case 3:
        pager_region_insert(c, 0x100000 + (rng() % 64) * PAGER_PAGE, len, MICA_PROT_READ,
                            PAGER_IMAGE, rng() % 2);
        break;
    default: {
        struct pager_client child;
        memset(&child, 0, sizeof child);
        pager_regions_fork(c, &child); /* marks the parent's regions made cow */
        break;
    }
    }
}

/* A model: random changes of 8 clients through regions.c, written with
 * the marks regions.c made, torn writes and restarts (the cursor reloaded);
 * each slot must read as its last whole write. */
static void test_random_model(void)
{
    rng_state = 0x9e3779b97f4a7c15ull;
    fresh();
    enum { SLOTS = 8 };
    struct pager_client cs[SLOTS], want[SLOTS];
    memset(cs, 0, sizeof cs);
    int written[SLOTS] = {0};
    for (int round = 0; round < 20000; round++) {
        unsigned i = (unsigned)(rng() % SLOTS);
        struct pager_client *c = &cs[i];
        uint64_t r = rng() % 20;
        if (!c->used || r == 0) { /* a new client in the slot */
            c->used = false;
            struct pager_client *n = pager_client_add(c, 1 + rng() % 1000, 0);
            CHECK(n == c); /* c is a free slot; the new client is marked wholly changed */
            pager_region_insert(c, 0x100000, PAGER_PAGE, MICA_PROT_READ, PAGER_IMAGE, false);
        } else if (r == 1) {
            c->used = false;
        } else if (r < 4) {
            /* a write stopped part-way: the slot reads as before */
            memcpy(&before, &ck, sizeof ck);
            struct pager_client t = *c;
            random_change(&t);
            ckpt_write_client(&ck, &k, i, &t, t.dirty);
            static struct checkpoint after;
            memcpy(&after, &ck, sizeof ck);
            torn(i, &after, (unsigned)(rng() % 4));
            ckpt_cursor_load(&ck, &k); /* the restarted writer's view */
            continue;
        } else {
            random_change(c);
        }
        ckpt_write_client(&ck, &k, i, c, c->dirty);
        c->dirty = 0;
        want[i] = *c;
        written[i] = 1;
        struct pager_client got;
        for (unsigned j = 0; j < SLOTS; j++) {
            int rc = ckpt_read_client(&ck, j, &got);
            if (!written[j]) {
                CHECK(rc <= 0);
                continue;
            }
            if (rc != 1 || !same_kept(&got, &want[j])) {
                printf("# round %d slot %u: not the last whole write (%d)\n", round, j, rc);
                tap_failures++;
                return;
            }
        }
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_written_reads_back),
        TAP(test_a_torn_write_keeps_the_previous_version),
        TAP(test_damage_is_detected_and_stays_local),
        TAP(test_another_layout_is_refused),
        TAP(test_random_model),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}

/* ckpt_format.h: checksums, the two copies of each record, validation. */
#include "ckpt_format.h"

#include <mica/string.h>

_Static_assert(sizeof(struct ckpt_header) % 8 == 0 && sizeof(struct ckpt_client_rec) % 8 == 0,
               "checkpoint records must be whole 64-bit words");
_Static_assert(PAGER_REGIONS <= 32, "a commit's masks hold one bit per region slot");
/* A new field of a region or a client must be kept here (bump
 * CKPT_VERSION), or knowingly left out (then change the size below). Left
 * out: the seals, which a restored record gets anew (checkpoint.c), and
 * what checkpoint.c's restore sets or leaves zero. */
_Static_assert(sizeof(struct pager_region) == 32, "struct pager_region changed: see ckpt_format.h");
_Static_assert(sizeof(struct pager_client) == 1160, "struct pager_client changed: see ckpt_format.h");

/* FNV-1a over 64-bit words, seeded: a changed word always changes the sum
 * (the multiplier is odd). */
static uint64_t fnv(uint64_t seed, const uint64_t *w, unsigned n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (unsigned i = 0; i < n; i++)
        h = (h ^ w[i]) * 0x100000001b3ull;
    return h;
}

/* The payload words of a commit and of a region record. */
#define CLIENT_WORDS 6 /* badge .. rsum */
#define REGION_WORDS 3 /* va, len, attrs */

static uint64_t client_sum(const struct ckpt_client_rec *r, uint64_t seq, unsigned i)
{
    return fnv(seq ^ ((uint64_t)i << 48), &r->badge, CLIENT_WORDS);
}
_Static_assert(sizeof(struct ckpt_client_rec) == (2 + CLIENT_WORDS) * 8,
               "a commit is seq, sum and CLIENT_WORDS words");

/* Seeded with where the record lives: slot i, region j, copy n. */
static uint64_t region_sum(const struct ckpt_region_rec *r, unsigned i, unsigned j, unsigned n)
{
    return fnv(0x5245474eull ^ (i << 16 | j << 1 | n), &r->va, REGION_WORDS);
}

static uint64_t header_sum(const struct ckpt_header_rec *r)
{
    return fnv(r->seq, (const uint64_t *)&r->h, sizeof r->h / 8);
}

/* The whole copy of a pair with the larger seq (0 or 1), or -1. */
static int newest(uint64_t seq0, bool ok0, uint64_t seq1, bool ok1)
{
    ok0 = ok0 && seq0;
    ok1 = ok1 && seq1;
    if (ok0 && (!ok1 || seq0 > seq1))
        return 0;
    return ok1 ? 1 : -1;
}

static int header_newest(const struct checkpoint *ck)
{
    const struct ckpt_header_rec *r = ck->header;
    return newest(r[0].seq, r[0].sum == header_sum(&r[0]), r[1].seq,
                  r[1].sum == header_sum(&r[1]));
}

/* Whether commit copy n of slot i is whole and so is every region record
 * it names. */
static bool commit_whole(const struct checkpoint *ck, unsigned i, unsigned n)
{
    const struct ckpt_client_rec *r = &ck->clients[i][n];
    if (!r->seq || r->sum != client_sum(r, r->seq, i))
        return false;
    uint64_t total = 0;
    for (unsigned j = 0; j < PAGER_REGIONS; j++) {
        if (!(r->live >> j & 1))
            continue;
        unsigned m = r->copy >> j & 1;
        const struct ckpt_region_rec *g = &ck->regions[i][j][m];
        if (g->sum != region_sum(g, i, j, m))
            return false;
        total += g->sum;
    }
    return total == r->rsum;
}

/* The copy of slot i's commit a reader takes (0 or 1), or -1. */
static int client_newest(const struct checkpoint *ck, unsigned i)
{
    const struct ckpt_client_rec *r = ck->clients[i];
    unsigned first = r[1].seq > r[0].seq ? 1 : 0;
    if (commit_whole(ck, i, first))
        return (int)first;
    return commit_whole(ck, i, first ^ 1) ? (int)(first ^ 1) : -1;
}

void ckpt_cursor_load(const struct checkpoint *ck, struct ckpt_cursor *k)
{
    k->header_copy = (int8_t)header_newest(ck);
    for (unsigned i = 0; i < PAGER_CLIENTS; i++)
        k->copy[i] = (int8_t)client_newest(ck, i);
}

/* The seq a new write gets: above both copies' (a damaged copy may hold
 * any seq, and must never look newer). */
static uint64_t next_seq(uint64_t seq0, uint64_t seq1)
{
    return (seq0 > seq1 ? seq0 : seq1) + 1;
}

void ckpt_write_header(struct checkpoint *ck, struct ckpt_cursor *k, uint64_t next_fork_badge)
{
    unsigned to = k->header_copy == 0 ? 1 : 0;
    uint64_t seq = next_seq(ck->header[0].seq, ck->header[1].seq);
    struct ckpt_header_rec *r = &ck->header[to];
    r->seq = 0; /* not whole while it is written */
    r->h = (struct ckpt_header){.magic = CKPT_MAGIC, .version = CKPT_VERSION,
                                .clients = PAGER_CLIENTS, .regions = PAGER_REGIONS,
                                .rec_size = sizeof(struct ckpt_client_rec) << 8 |
                                            sizeof(struct ckpt_region_rec),
                                .next_fork_badge = next_fork_badge};
    r->sum = fnv(seq, (const uint64_t *)&r->h, sizeof r->h / 8);
    r->seq = seq;
    k->header_copy = (int8_t)to;
}

/* A free slot keeps nothing, not even the flags its last client left. */
static uint32_t flags_of(const struct pager_client *c)
{
    return c->used ? CKPT_USED | (c->verbose ? CKPT_VERBOSE : 0) : 0;
}

void ckpt_write_client(struct checkpoint *ck, struct ckpt_cursor *k, unsigned i,
                       const struct pager_client *c, uint32_t dirty)
{
    struct ckpt_client_rec *p = ck->clients[i];
    const struct ckpt_client_rec *old = k->copy[i] >= 0 ? &p[k->copy[i]] : 0;
    uint32_t live = 0, copy = 0;
    uint64_t rsum = 0;
    if (old && (old->flags & CKPT_USED) && old->badge == c->badge) {
        live = old->live;
        copy = old->copy;
        rsum = old->rsum;
    } else {
        dirty = ~0u; /* another client, or none whole: every region is news */
    }
    if (!c->used)
        dirty = live = 0, rsum = 0;
    if (dirty == ~0u) { /* only the slots that hold or held a region */
        uint32_t held = live;
        for (unsigned j = 0; j < PAGER_REGIONS; j++)
            held |= (uint32_t)(c->regions[j].len != 0) << j;
        dirty = held;
    }
    for (uint32_t todo = dirty; todo; todo &= todo - 1) {
        unsigned j = (unsigned)__builtin_ctz(todo);
        uint32_t bit = 1u << j;
        if (live & bit)
            rsum -= ck->regions[i][j][copy >> j & 1].sum;
        live &= ~bit;
        const struct pager_region *g = &c->regions[j];
        if (!g->len)
            continue;
        /* The copy the last commit does not use: its reader is not
         * disturbed while this one is written. */
        unsigned n = (copy >> j & 1) ^ 1;
        struct ckpt_region_rec *r = &ck->regions[i][j][n];
        r->va = g->va;
        r->len = g->len;
        r->attrs = g->prot | (uint64_t)g->kind << 32 | (uint64_t)g->cow << 40;
        r->sum = region_sum(r, i, j, n);
        copy = (copy & ~bit) | (uint32_t)n << j;
        live |= bit;
        rsum += r->sum;
    }
    unsigned to = k->copy[i] == 0 ? 1 : 0;
    uint64_t seq = next_seq(p[0].seq, p[1].seq);
    struct ckpt_client_rec *r = &p[to];
    r->seq = 0; /* not whole while it is written */
    r->badge = c->badge;
    r->parent = c->parent;
    r->next_va = c->next_va;
    r->flags = flags_of(c);
    r->live = live;
    r->copy = copy;
    r->pad = 0;
    r->rsum = rsum;
    r->sum = client_sum(r, seq, i);
    r->seq = seq;
    k->copy[i] = (int8_t)to;
}

int ckpt_read_header(const struct checkpoint *ck, uint64_t *next_fork_badge)
{
    int n = header_newest(ck);
    if (n < 0)
        return -1;
    const struct ckpt_header *h = &ck->header[n].h;
    if (h->magic != CKPT_MAGIC || h->version != CKPT_VERSION || h->clients != PAGER_CLIENTS ||
        h->regions != PAGER_REGIONS ||
        h->rec_size != (sizeof(struct ckpt_client_rec) << 8 | sizeof(struct ckpt_region_rec)))
        return -2;
    *next_fork_badge = h->next_fork_badge;
    return 0;
}

int ckpt_read_client(const struct checkpoint *ck, unsigned i, struct pager_client *c)
{
    int n = client_newest(ck, i);
    if (n < 0)
        return ck->clients[i][0].seq || ck->clients[i][1].seq ? -1 : 0;
    const struct ckpt_client_rec *r = &ck->clients[i][n];
    memset(c, 0, sizeof *c);
    c->used = r->flags & CKPT_USED;
    c->verbose = r->flags & CKPT_VERBOSE;
    c->badge = r->badge;
    c->parent = r->parent;
    c->next_va = r->next_va;
    for (unsigned j = 0; j < PAGER_REGIONS; j++) {
        if (!(r->live >> j & 1))
            continue;
        const struct ckpt_region_rec *g = &ck->regions[i][j][r->copy >> j & 1];
        c->regions[j] = (struct pager_region){.va = g->va, .len = g->len,
                                              .prot = (unsigned)g->attrs,
                                              .kind = (uint8_t)(g->attrs >> 32),
                                              .cow = (g->attrs >> 40) & 1};
    }
    return 1;
}

bool ckpt_client_changed(const struct checkpoint *ck, const struct ckpt_cursor *k, unsigned i,
                         const struct pager_client *c)
{
    if (k->copy[i] < 0)
        return c->used;
    const struct ckpt_client_rec *r = &ck->clients[i][k->copy[i]];
    return r->flags != flags_of(c) ||
           (c->used && (r->badge != c->badge || r->parent != c->parent || r->next_va != c->next_va));
}

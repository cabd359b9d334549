/* ckpt_format.h: checksums, the two copies of each record, validation. */
#include "ckpt_format.h"

#include <mica/string.h>

/* Records are whole 64-bit words (struct pager_client holds uint64_t
 * fields, so its size is a multiple of 8), which the checksum and the
 * compare below walk a word at a time. */
_Static_assert(sizeof(struct pager_client) % 8 == 0 && sizeof(struct ckpt_header) % 8 == 0,
               "checkpoint records must be whole 64-bit words");

/* FNV-1a over 64-bit words, seeded with seq: a changed word always
 * changes the sum (the multiplier is odd), and it costs 105 steps for a
 * client record where bytes would take 840. */
static uint64_t fnv(uint64_t seq, const void *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seq;
    const uint64_t *w = p;
    for (size_t i = 0; i < n / 8; i++)
        h = (h ^ w[i]) * 0x100000001b3ull;
    return h;
}

static bool same_words(const void *a, const void *b, size_t n)
{
    const uint64_t *x = a, *y = b;
    for (size_t i = 0; i < n / 8; i++)
        if (x[i] != y[i])
            return false;
    return true;
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
    return newest(r[0].seq, r[0].sum == fnv(r[0].seq, &r[0].h, sizeof r[0].h), r[1].seq,
                  r[1].sum == fnv(r[1].seq, &r[1].h, sizeof r[1].h));
}

static int client_newest(const struct checkpoint *ck, unsigned i)
{
    const struct ckpt_client_rec *r = ck->clients[i];
    return newest(r[0].seq, r[0].sum == fnv(r[0].seq, &r[0].c, sizeof r[0].c), r[1].seq,
                  r[1].sum == fnv(r[1].seq, &r[1].c, sizeof r[1].c));
}

void ckpt_cursor_load(const struct checkpoint *ck, struct ckpt_cursor *k)
{
    int n = header_newest(ck);
    k->header_copy = (int8_t)n;
    k->header_seq = n < 0 ? 0 : ck->header[n].seq;
    for (unsigned i = 0; i < PAGER_CLIENTS; i++) {
        n = client_newest(ck, i);
        k->copy[i] = (int8_t)n;
        k->seq[i] = n < 0 ? 0 : ck->clients[i][n].seq;
    }
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
                                .client_size = sizeof(struct pager_client),
                                .clients = PAGER_CLIENTS, .regions = PAGER_REGIONS,
                                .next_fork_badge = next_fork_badge};
    r->sum = fnv(seq, &r->h, sizeof r->h);
    r->seq = seq;
    k->header_copy = (int8_t)to;
    k->header_seq = seq;
}

void ckpt_write_client(struct checkpoint *ck, struct ckpt_cursor *k, unsigned i,
                       const struct pager_client *c)
{
    struct ckpt_client_rec *p = ck->clients[i];
    unsigned to = k->copy[i] == 0 ? 1 : 0;
    uint64_t seq = next_seq(p[0].seq, p[1].seq);
    struct ckpt_client_rec *r = &p[to];
    r->seq = 0;
    memcpy(&r->c, c, sizeof r->c);
    r->sum = fnv(seq, &r->c, sizeof r->c);
    r->seq = seq;
    k->copy[i] = (int8_t)to;
    k->seq[i] = seq;
}

int ckpt_read_header(const struct checkpoint *ck, uint64_t *next_fork_badge)
{
    int n = header_newest(ck);
    if (n < 0)
        return -1;
    const struct ckpt_header *h = &ck->header[n].h;
    if (h->magic != CKPT_MAGIC || h->version != CKPT_VERSION ||
        h->client_size != sizeof(struct pager_client) || h->clients != PAGER_CLIENTS ||
        h->regions != PAGER_REGIONS)
        return -2;
    *next_fork_badge = h->next_fork_badge;
    return 0;
}

int ckpt_read_client(const struct checkpoint *ck, unsigned i, struct pager_client *c)
{
    int n = client_newest(ck, i);
    if (n < 0)
        return ck->clients[i][0].seq || ck->clients[i][1].seq ? -1 : 0;
    memcpy(c, &ck->clients[i][n].c, sizeof *c);
    return 1;
}

bool ckpt_client_changed(const struct checkpoint *ck, const struct ckpt_cursor *k, unsigned i,
                         const struct pager_client *c)
{
    return k->copy[i] < 0 || !same_words(&ck->clients[i][k->copy[i]].c, c, sizeof *c);
}

bool ckpt_client_used(const struct checkpoint *ck, const struct ckpt_cursor *k, unsigned i)
{
    return k->copy[i] >= 0 && ck->clients[i][k->copy[i]].c.used;
}

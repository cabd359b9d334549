/* The checkpoint's format (checkpoint.h says what it is for): a header
 * record and one record per client slot, each kept twice. A record is
 * {seq, checksum, payload}, the checksum an FNV-1a over the payload's
 * 64-bit words, seeded with seq.
 * A write goes to the older copy: seq zeroed first, then payload and
 * checksum, then seq = the other copy's + 1; so a writer stopped at any
 * point leaves the other copy whole, and a reader takes the valid copy
 * with the larger seq (seq 0: never written, or being written). Pure
 * logic over a struct in memory, tested on the host
 * (tests/host/test_pager_checkpoint.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "regions.h"

#define CKPT_MAGIC   0x4b435047414d4349ull /* "ICMAGPCK" */
#define CKPT_VERSION 1

/* What the header holds besides the layout: the next fork badge. */
struct ckpt_header {
    uint64_t magic;
    uint32_t version, client_size, clients, regions;
    uint64_t next_fork_badge;
};

struct ckpt_header_rec {
    uint64_t seq, sum;
    struct ckpt_header h;
};

struct ckpt_client_rec {
    uint64_t seq, sum;
    struct pager_client c;
};

struct checkpoint {
    struct ckpt_header_rec header[2];
    struct ckpt_client_rec clients[PAGER_CLIENTS][2];
};

/* What the writer knows of the checkpoint, kept in its own memory so that
 * a write need not validate what it overwrites: for the header and each
 * slot, the copy written last (-1: none whole) and its seq. */
struct ckpt_cursor {
    int8_t header_copy;
    uint64_t header_seq;
    int8_t copy[PAGER_CLIENTS];
    uint64_t seq[PAGER_CLIENTS];
};

/* Fill *k from ck as it is (validating every record once). */
void ckpt_cursor_load(const struct checkpoint *ck, struct ckpt_cursor *k);

/* Write a header for this build's layout with next_fork_badge. */
void ckpt_write_header(struct checkpoint *ck, struct ckpt_cursor *k, uint64_t next_fork_badge);

/* Write client slot i (< PAGER_CLIENTS) as *c's bytes. */
void ckpt_write_client(struct checkpoint *ck, struct ckpt_cursor *k, unsigned i,
                       const struct pager_client *c);

/* Read the header: 0 (valid, this build's layout; *next_fork_badge set),
 * -1 (no whole copy), -2 (whole, but another magic, version or layout). */
int ckpt_read_header(const struct checkpoint *ck, uint64_t *next_fork_badge);

/* Read client slot i into *c: 1 (a whole copy), 0 (never written), -1
 * (written, but no copy is whole: the slot is damaged). */
int ckpt_read_client(const struct checkpoint *ck, unsigned i, struct pager_client *c);

/* Whether *c differs from what the writer last wrote to slot i (or
 * nothing whole is there): a compare, no checksum. */
bool ckpt_client_changed(const struct checkpoint *ck, const struct ckpt_cursor *k, unsigned i,
                         const struct pager_client *c);

/* Whether slot i's last write holds a used client. */
bool ckpt_client_used(const struct checkpoint *ck, const struct ckpt_cursor *k, unsigned i);

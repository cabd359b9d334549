/* The checkpoint's format (checkpoint.h says what it is for): a header
 * record, and per client slot a commit record and one small record per
 * region slot, each kept twice, so that a request changing one region
 * writes two small records, not the whole client.
 *
 * Region records: a write goes to the copy the committed state does not
 * use, so it never touches what a reader would take. The client's commit
 * record then says which region slots are live and which copy of each
 * holds it, and carries the sum of their checksums; it is kept twice with
 * a seq: seq zeroed first, then payload and checksum, then seq = above
 * both copies'. A writer stopped at any store therefore leaves the last
 * commit whole with the region copies it names, and a reader takes the
 * whole commit with the larger seq whose region records check (each its
 * own checksum, and together the commit's sum), else the other one.
 * Checksums are FNV-1a over the record's few 64-bit words, seeded with
 * where the record lives (and the commit's with its seq), so a record
 * copied to another place does not check.
 *
 * The format names the fields it keeps (ckpt_format.c): a new field of
 * struct pager_client or pager_region that must outlive the pager goes
 * there with a new CKPT_VERSION. Pure logic over a struct in memory,
 * tested on the host (tests/host/test_pager_checkpoint.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "regions.h"

#define CKPT_MAGIC   0x4b435047414d4349ull /* "ICMAGPCK" */
#define CKPT_VERSION 2

/* What the header holds besides the layout: a fork badge above every
 * badge the pager has handed out. */
struct ckpt_header {
    uint64_t magic;
    uint32_t version, clients, regions, rec_size;
    uint64_t next_fork_badge;
};

struct ckpt_header_rec {
    uint64_t seq, sum;
    struct ckpt_header h;
};

/* A client slot's commit: its fixed fields and which region records hold
 * its regions. */
#define CKPT_USED    1u
#define CKPT_VERBOSE 2u
struct ckpt_client_rec {
    uint64_t seq, sum;
    uint64_t badge, parent, next_va;
    uint32_t flags;  /* CKPT_USED, CKPT_VERBOSE */
    uint32_t live;   /* bit j: region slot j holds a region */
    uint32_t copy;   /* bit j: it is in copy 1 of slot j's records */
    uint32_t pad;
    uint64_t rsum;   /* the sum (mod 2^64) of the live region records' sums */
};

struct ckpt_region_rec {
    uint64_t sum;
    uint64_t va, len;
    uint64_t attrs; /* prot | kind << 32 | cow << 40 */
};

struct checkpoint {
    struct ckpt_header_rec header[2];
    struct ckpt_client_rec clients[PAGER_CLIENTS][2];
    struct ckpt_region_rec regions[PAGER_CLIENTS][PAGER_REGIONS][2];
};

/* What the writer knows of the checkpoint, kept in its own memory so that
 * a write need not validate what it overwrites: for the header and each
 * client slot, the copy written last (-1: none whole). */
struct ckpt_cursor {
    int8_t header_copy;
    int8_t copy[PAGER_CLIENTS];
};

/* Fill *k from ck as it is (validating every record once). */
void ckpt_cursor_load(const struct checkpoint *ck, struct ckpt_cursor *k);

/* Write a header for this build's layout with next_fork_badge. */
void ckpt_write_header(struct checkpoint *ck, struct ckpt_cursor *k, uint64_t next_fork_badge);

/* Write client slot i (< PAGER_CLIENTS) as *c: the region slots in
 * `dirty` (bit j: c->regions[j] changed since the last write; every slot
 * when the slot held no whole commit or another client) and a commit. */
void ckpt_write_client(struct checkpoint *ck, struct ckpt_cursor *k, unsigned i,
                       const struct pager_client *c, uint32_t dirty);

/* Read the header: 0 (valid, this build's layout; *next_fork_badge set),
 * -1 (no whole copy), -2 (whole, but another magic, version or layout). */
int ckpt_read_header(const struct checkpoint *ck, uint64_t *next_fork_badge);

/* Read client slot i into *c (the kept fields; the others zero): 1 (a
 * whole commit with whole regions), 0 (never written), -1 (written, but
 * nothing whole: the slot is damaged). */
int ckpt_read_client(const struct checkpoint *ck, unsigned i, struct pager_client *c);

/* Whether c's fixed fields (used, verbose, badge, parent, next_va) differ
 * from slot i's last write, or nothing whole is there while c is used:
 * a few compares, no checksum. */
bool ckpt_client_changed(const struct checkpoint *ck, const struct ckpt_cursor *k, unsigned i,
                         const struct pager_client *c);

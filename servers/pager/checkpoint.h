/* The pager's checkpoint: a copy of its client table (struct pager_client,
 * regions included) in memory that outlives the pager. Init keeps that
 * memory (mica/init.h, INIT_KEEP) and maps the same frames into every
 * instance of the pager, so a pager restarted after a crash finds its
 * clients' regions there, validates them and takes the clients back,
 * getting their task handles from init (INIT_CLIENT_TASK).
 *
 * Format (ckpt_format.h, docs/design.md §23.10): a header record, and
 * per client slot a commit record and a record per region slot, each kept
 * twice with a checksum, so that a pager killed in the middle of a write
 * leaves the last commit whole; the header's layout fields (magic,
 * version, record sizes, the sizes of the table) are checked before
 * anything is used, and a pager built with another layout starts empty.
 *
 * The request handlers say what they changed (pager_touch for a client
 * slot besides the sender's, pager_region_changed for a region), so that
 * a request writes only the records it changed: for vm_alloc, one region
 * record and one commit. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "regions.h"

/* Where the checkpoint is mapped in the pager. */
#define CHECKPOINT_VA 0x0000600000000000ull

/* Map the checkpoint (the grant "init" must exist; without it the pager
 * runs without one) and, if it was kept from an earlier instance, take its
 * clients back into pager_clients. Prints one line saying what was
 * recovered or lost. Returns the number of clients recovered, 0 for a
 * fresh checkpoint, or -1 when there is none. */
int checkpoint_open(uint64_t *next_fork_badge);

/* Give init a copy of `task` (with its rights: MICA_SYS_TASK_FORK's),
 * the task handle of the client with `badge` this pager forked, so that a
 * restarted pager can take that client back (INIT_DEPOSIT; init never had
 * its handle). Without a checkpoint, or if init refuses, the client is
 * simply not recoverable. */
void checkpoint_deposit(uint64_t badge, uint64_t task);

/* Tell init to close the deposit of a forked client the pager forgets. */
void checkpoint_withdraw(uint64_t badge);

/* Write the client slots marked in pager_dirty (their changed regions,
 * c->dirty, and a commit when anything changed), and the header when
 * next_fork_badge passes the badge it holds; clear the marks. A few
 * small records per request; nothing when nothing changed. Called after
 * each request, before its answer. */
void checkpoint_sync(uint64_t next_fork_badge);

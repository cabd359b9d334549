/* The pager's checkpoint: a copy of its client table (struct pager_client,
 * regions included) in memory that outlives the pager. Init keeps that
 * memory (mica/init.h, INIT_KEEP) and maps the same frames into every
 * instance of the pager, so a pager restarted after a crash finds its
 * clients' regions there, validates them and takes the clients back,
 * getting their task handles from init (INIT_CLIENT_TASK).
 *
 * Format (ckpt_format.h, docs/design.md §23.10): a header record and one
 * record per client slot, each kept twice with a sequence number and a
 * checksum, so that a pager killed in the middle of a write leaves the
 * previous copy whole; the header's layout fields (magic, version, the
 * sizes of struct pager_client and of the table) are checked before
 * anything is used, and a pager built with another layout starts empty.
 *
 * The code copies struct pager_client as bytes and knows only that it has
 * `used`, `badge`, `task` and `fork_handle` fields, so regions.h may grow. */
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

/* Give init a MAP | GRANT copy of `task`, the task handle of the client
 * with `badge` this pager forked, so that a restarted pager can take that
 * client back (INIT_DEPOSIT; init never had its handle). Without a
 * checkpoint, or if init refuses, the client is simply not recoverable. */
void checkpoint_deposit(uint64_t badge, uint64_t task);

/* Tell init to close the deposit of a forked client the pager forgets. */
void checkpoint_withdraw(uint64_t badge);

/* Write the client slots request req (NULL: any) may have changed and
 * that differ from their last write (a slot that came or went, the
 * sender's, those whose badge req names), and the fork badge counter.
 * Cheap when nothing changed: a compare of one or two slots. Called after
 * each request, before its answer. */
struct mica_msg;
void checkpoint_sync(uint64_t next_fork_badge, const struct mica_msg *req);

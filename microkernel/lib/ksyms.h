/* The kernel's own symbol table, for symbolized backtraces.
 *
 * tools/mksyms generates it at link time from `nm -n` of a first link of the
 * kernel (see the Makefile): every text symbol's address, sorted, and its
 * name. The first link uses the empty weak defaults from ksyms.c. */
#pragma once

#include "lib/types.h"

extern const uint64_t ksyms_count;    /* number of symbols; 0 if no table */
extern const uint64_t ksyms_addrs[];  /* ascending, no duplicates */
extern const uint32_t ksyms_names[];  /* offset of each name in ksyms_strings */
extern const char ksyms_strings[];    /* NUL-terminated names, back to back */

/* No function is this large: an address further than this past the
 * nearest symbol lies in a gap (between the low boot code and the higher
 * half, past the end of the text) rather than in that symbol's function. */
#define KSYMS_MAX_OFFSET (1 * MiB)

/* Name of the function containing `addr`: the symbol with the greatest
 * address <= addr, with *offset set to addr minus that address. Returns NULL
 * (and *offset = 0) if addr lies below every symbol, more than
 * KSYMS_MAX_OFFSET past the nearest one, or there is no table. `offset` may
 * be NULL. Safe to call from panic paths: no locks, no faults. */
const char *ksyms_lookup(uint64_t addr, uint64_t *offset);

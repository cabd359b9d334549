/* Reading numbers from a program's argument string (start info `args`,
 * the words after the grants on its boot.cfg line, e.g. "seed=7 tasks=3"). */
#pragma once

#include <stdint.h>

/* The value of the word "key=V" in args (V decimal, or hex with 0x; the
 * number ends at the first character that is not a digit), or `otherwise`
 * when no word starts with "key=". Never fails. */
uint64_t mica_arg_u64(const char *args, const char *key, uint64_t otherwise);

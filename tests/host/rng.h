/* The host tests' pseudo-random numbers: xorshift64, seeded per test file
 * (or per test) through rng_state so every run is reproducible. */
#pragma once

#include <stdint.h>

static uint64_t rng_state; /* a file may define it again with its seed */

/* The next number of the sequence; rng_state must not be 0. */
static inline uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* The fuzz targets' invariant check: a broken one names itself and aborts,
 * so that libFuzzer keeps the input as a crash. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                              \
        }                                                                         \
    } while (0)

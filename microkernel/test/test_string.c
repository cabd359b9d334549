/* The word-at-a-time memcpy and memset (lib/string.c) against byte-by-byte
 * references: every length 0..80 at every source and destination
 * alignment 0..7, with guard bytes around the destination untouched. */
#include "test/ktest.h"
#include "lib/string.h"

#define SPAN 80
#define GUARD 8

static uint8_t src[SPAN + 16], dst[SPAN + 16 + 2 * GUARD];

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

KTEST(memcpy_every_length_and_alignment)
{
    fill(src, sizeof src, 1);
    unsigned bad = 0;
    for (unsigned so = 0; so < 8; so++)
        for (unsigned d = 0; d < 8; d++)
            for (size_t n = 0; n <= SPAN; n++) {
                memset(dst, 0xee, sizeof dst);
                uint8_t *out = dst + GUARD + d;
                memcpy(out, src + so, n);
                for (size_t i = 0; i < sizeof dst; i++) {
                    uint8_t *p = dst + i;
                    bool inside = p >= out && p < out + n;
                    uint8_t want = inside ? src[so + (size_t)(p - out)] : 0xee;
                    bad += *p != want;
                }
            }
    KEXPECT_EQ(t, bad, 0);
}

KTEST(memset_every_length_and_alignment)
{
    unsigned bad = 0;
    for (unsigned d = 0; d < 8; d++)
        for (size_t n = 0; n <= SPAN; n++) {
            fill(dst, sizeof dst, 3);
            uint8_t copy[sizeof dst];
            for (size_t i = 0; i < sizeof dst; i++)
                copy[i] = dst[i];
            uint8_t *out = dst + GUARD + d;
            memset(out, 0xa5, n);
            for (size_t i = 0; i < sizeof dst; i++) {
                uint8_t *p = dst + i;
                bool inside = p >= out && p < out + n;
                bad += *p != (inside ? 0xa5 : copy[i]);
            }
        }
    KEXPECT_EQ(t, bad, 0);
}

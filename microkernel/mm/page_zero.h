/* Zeroing and copying whole 4 KiB pages and runs of 64-bit words.
 * rep stosq/movsq move 8 bytes per iteration: a page costs 512 iterations
 * where memset's rep stosb costs 4096, which matters on paths that hand
 * out fresh pages (task creation, anonymous mappings). */
#pragma once

#include "lib/types.h"

/* Zero n 64-bit words at dst. */
static inline void words_zero(void *dst, size_t n)
{
#ifdef MICA_HOST
    __builtin_memset(dst, 0, n * 8);
#else
    __asm__ volatile("rep stosq" : "+D"(dst), "+c"(n) : "a"(0ULL) : "memory");
#endif
}

/* Copy n 64-bit words from src to dst; the ranges must not overlap. */
static inline void words_copy(void *dst, const void *src, size_t n)
{
#ifdef MICA_HOST
    __builtin_memcpy(dst, src, n * 8);
#else
    __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#endif
}

/* Zero the 4 KiB page at `page` (page-aligned, writable). */
static inline void page_zero(void *page)
{
    words_zero(page, PAGE_SIZE / 8);
}

/* printf-style formatting into a caller-supplied sink; used by the kernel
 * console and by snprintf. Supports %d %i %u %x %X %o %p %s %c %% with the
 * flags '-', '0', ' ', '+', '#', a width and precision (or '*'), and the
 * length modifiers hh h l ll z t j. No floating point. */
#pragma once

#include <stdarg.h>
#include "lib/types.h"

/* Sink callback: receives `n` bytes at `s`. */
typedef void (*fmt_sink_fn)(void *ctx, const char *s, size_t n);

/* Format `fmt` with `ap` into `sink`. Returns the number of bytes produced. */
size_t fmt_vformat(fmt_sink_fn sink, void *ctx, const char *fmt, va_list ap);

/* Bounded formatting; always NUL-terminates when size > 0. Returns the length
 * the full output would have had (like ISO C vsnprintf). */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

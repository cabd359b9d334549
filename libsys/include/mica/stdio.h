/* Formatted console output for user programs. The formatter is the
 * kernel's (lib/format.c): %d %i %u %x %X %o %p %s %c %% with flags
 * '-' '0' ' ' '+' '#', width, precision, '*', and hh h l ll z t j; no
 * floating point. Output is line-buffered: a line reaches the console in a
 * single mica_debug_write, so lines from different tasks never interleave
 * mid-line (lines over MICA_STDIO_LINE_MAX bytes are written in pieces). */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#define MICA_STDIO_LINE_MAX 512

/* Format to the console. Returns the number of bytes produced. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* Write s and a newline. Returns the number of bytes written (length + 1). */
int puts(const char *s);

/* Write one character. Returns c as an unsigned char. */
int putchar(int c);

/* Format into buf[size], always NUL-terminated when size > 0. Returns the
 * length the full output would have had (as ISO C). */
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Write out any partial line now (mica_exit does this). */
void stdio_flush(void);

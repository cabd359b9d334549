/* The kernel console: formatted output to COM1 (and nothing else yet). */
#pragma once

#include <stdarg.h>
#include "lib/types.h"

/* Initialise the console (COM1, 115200 8N1). Safe to call more than once. */
void console_init(void);

/* Write formatted text to the console. Returns the bytes written. */
int kprintf(const char *fmt, ...) __printf(1, 2);
int kvprintf(const char *fmt, va_list ap);

/* Write `n` raw bytes. */
void console_write(const char *s, size_t n);

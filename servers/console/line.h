/* The console's line editor: reads what a person types on the serial line
 * (MICA_SYS_CONSOLE_READ), echoes it, and hands back a whole line.
 * Backspace (DEL or ^H) erases, ^U erases the line, ^C abandons it, and
 * the up and down arrows (ESC [ A, ESC [ B) walk the last LINE_HISTORY
 * lines. Enter is CR, LF or CR LF. */
#pragma once

#include <stddef.h>

#define LINE_MAX     160 /* characters per line, longer input is not taken */
#define LINE_HISTORY 16

/* Print prompt, then read one line into buf[LINE_MAX] (NUL-terminated,
 * without the newline). A non-empty line is added to the history.
 * Returns its length, or a negative error of the read. */
long line_read(const char *prompt, char *buf);

/* Line-buffered console output over mica_debug_write, formatting with the
 * kernel's lib/format.c. One buffer per task (tasks are single-threaded). */
#include "lib/format.h"

#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

static char line[MICA_STDIO_LINE_MAX];
static size_t line_len;

void stdio_flush(void)
{
    if (line_len) {
        mica_debug_write(line, line_len);
        line_len = 0;
    }
}

/* Append bytes, writing the buffer out at each newline and when full. */
static void line_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        line[line_len++] = s[i];
        if (s[i] == '\n' || line_len == sizeof(line))
            stdio_flush();
    }
}

int vprintf(const char *fmt, va_list ap)
{
    return (int)fmt_vformat(line_sink, NULL, fmt, ap);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    size_t n = strlen(s);
    line_sink(NULL, s, n);
    line_sink(NULL, "\n", 1);
    return (int)n + 1;
}

int putchar(int c)
{
    char ch = (char)c;
    line_sink(NULL, &ch, 1);
    return (unsigned char)c;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    return kvsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

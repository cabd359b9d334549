/* The kernel console: kprintf formats straight into the serial port. */
#include <stdarg.h>

#include "lib/console.h"
#include "lib/format.h"
#include "arch/x86_64/serial.h"

void console_init(void)
{
    serial_init();
}

void console_write(const char *s, size_t n)
{
    serial_write(s, n);
}

static void console_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    serial_write(s, n);
}

int kvprintf(const char *fmt, va_list ap)
{
    return (int)fmt_vformat(console_sink, NULL, fmt, ap);
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}

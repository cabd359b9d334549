/* Console input (console_input.h): one waiting reader, woken by the timer
 * tick that finds a byte in the UART. */
#include "object/console_input.h"

#include <mica/errno.h>

#include "arch/x86_64/serial.h"
#include "lib/assert.h"
#include "object/sched.h"

/* The thread blocked in console_input_read, or NULL. Not per-CPU: there
 * is one UART, and whichever CPU ticks may wake its reader. */
static struct thread *reader;

static size_t drain(char *buf, size_t len)
{
    size_t n = 0;
    int c;
    while (n < len && (c = serial_read()) >= 0)
        buf[n++] = (char)c;
    return n;
}

int64_t console_input_read(char *buf, size_t len)
{
    KASSERT(len > 0, "console_input_read: empty buffer");
    for (;;) {
        size_t n = drain(buf, len);
        if (n)
            return (int64_t)n;
        if (reader)
            return -MICA_EAGAIN;
        struct thread *cur = sched_current();
        reader = cur;
        cur->state = THREAD_BLOCKED_INPUT;
        int64_t rc = sched_block();
        if (rc < 0)
            return rc; /* killed: console_input_cancel cleared reader */
    }
}

void console_input_tick(void)
{
    if (!reader)
        return;
    if (!serial_input_ready())
        return;
    struct thread *t = reader;
    reader = NULL;
    sched_wake(t, 0); /* it reads the bytes itself */
}

void console_input_cancel(struct thread *th)
{
    if (reader == th)
        reader = NULL;
}

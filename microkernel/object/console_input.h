/* Console input: ring 3 reads the bytes that arrive on COM1 (the console
 * server, through MICA_SYS_CONSOLE_READ). Mechanism only: bytes are handed
 * over as they come, with no echo, no line editing and no buffering
 * beyond the UART's FIFO. The UART is polled: a reader with nothing to
 * read blocks, and each timer tick looks at the UART's line status while
 * somebody waits, so a key is seen at most one tick (10 ms) late and an
 * idle machine with no reader pays nothing. */
#pragma once

#include "lib/types.h"
#include "object/thread.h"

/* Read up to len (> 0) bytes received on COM1 into buf (kernel memory),
 * blocking the current thread until at least one byte is there. Returns
 * the count, -MICA_EAGAIN if another thread is already waiting (one
 * reader at a time), or -MICA_EDEAD if the caller's task was killed while
 * it waited. */
int64_t console_input_read(char *buf, size_t len);

/* From sched_tick, with interrupts off: wake the waiting reader if input
 * has arrived. */
void console_input_tick(void);

/* Thread th, of a task being killed or torn down, stops waiting for input
 * (its state is the caller's business). */
void console_input_cancel(struct thread *th);

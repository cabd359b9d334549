/* The 16550 UART on COM1, polled: the kernel console's only device. */
#pragma once

#include "lib/types.h"

/* Program COM1 for 115200 baud, 8N1, FIFOs on. */
void serial_init(void);

/* Send `n` bytes, turning "\n" into "\r\n". Busy-waits on the UART. */
void serial_write(const char *s, size_t n);

/* The next byte received on COM1, or -1 when none is waiting. Never blocks. */
int serial_read(void);

/* True when a received byte is waiting (serial_read would return it). */
bool serial_input_ready(void);

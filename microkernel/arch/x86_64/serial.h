/* The 16550 UART on COM1, polled: the kernel console's only device. */
#pragma once

#include "lib/types.h"

/* Program COM1 for 115200 baud, 8N1, FIFOs on. */
void serial_init(void);

/* Send `n` bytes, turning "\n" into "\r\n". Busy-waits on the UART. */
void serial_write(const char *s, size_t n);

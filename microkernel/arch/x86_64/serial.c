/* COM1 driver, polled: output works from the first instruction of kmain to
 * the last of a panic; input is read a byte at a time by the console-input
 * mechanism (object/console_input.c), which polls it on timer ticks. */
#include "arch/x86_64/serial.h"
#include "arch/x86_64/cpu.h"

#define COM1 0x3f8
#define REG_DATA 0
#define REG_IER 1
#define REG_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define LSR_THR_EMPTY 0x20
#define LSR_DATA_READY 0x01

void serial_init(void)
{
    outb(COM1 + REG_IER, 0x00);  /* no interrupts */
    outb(COM1 + REG_LCR, 0x80);  /* DLAB on: divisor follows */
    outb(COM1 + REG_DATA, 0x01); /* 115200 / 1 */
    outb(COM1 + REG_IER, 0x00);
    outb(COM1 + REG_LCR, 0x03);  /* 8N1, DLAB off */
    outb(COM1 + REG_FCR, 0xc7);  /* enable and clear FIFOs */
    outb(COM1 + REG_MCR, 0x03);  /* DTR, RTS */
}

static void serial_putc(char c)
{
    /* Bounded wait: a missing UART must not hang the kernel forever. */
    for (unsigned spin = 0; spin < 100000; spin++)
        if (inb(COM1 + REG_LSR) & LSR_THR_EMPTY)
            break;
    outb(COM1 + REG_DATA, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
    }
}

int serial_read(void)
{
    if (!(inb(COM1 + REG_LSR) & LSR_DATA_READY))
        return -1;
    return inb(COM1 + REG_DATA);
}

bool serial_input_ready(void)
{
    return (inb(COM1 + REG_LSR) & LSR_DATA_READY) != 0;
}

#include "serial.h"
#include "io.h"

void serial_init(void)
{
    outb(COM1 + UART_IER, 0x00);         /* no interrupts */
    outb(COM1 + UART_LCR, 0x80);         /* DLAB on */
    outb(COM1 + UART_DLL, 0x01);         /* divisor 1: 115200 baud */
    outb(COM1 + UART_DLM, 0x00);
    outb(COM1 + UART_LCR, 0x03);         /* 8N1, DLAB off */
    outb(COM1 + UART_FCR, 0xC7);         /* FIFOs on, cleared, 14-byte trigger */
    outb(COM1 + UART_MCR, 0x0B);         /* DTR, RTS, OUT2 */
}

static void put_raw(char c)
{
    /* A real 16550 drops a byte written while THR is full: wait for THRE. */
    while (!(inb(COM1 + UART_LSR) & LSR_THRE))
        pause();
    outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_putc(char c)
{
    if (c == '\n')
        put_raw('\r');
    put_raw(c);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

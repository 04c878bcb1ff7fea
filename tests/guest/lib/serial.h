/* COM1 (16550A at 0x3F8), polled output. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include <stdint.h>

#define COM1 0x3F8
enum {
    UART_RBR = 0, UART_THR = 0, UART_DLL = 0, UART_IER = 1, UART_DLM = 1,
    UART_IIR = 2, UART_FCR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5,
    UART_MSR = 6, UART_SCR = 7,
};
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

void serial_init(void);
void serial_putc(char c);   /* '\n' goes out as "\r\n" */
void serial_puts(const char *s);

#endif

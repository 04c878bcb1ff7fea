/* uart16550.h - the 16550A UART (COM1 at 0x3F8, IRQ 4 on a PC).
 *
 * Registers RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR and the divisor
 * latch (LCR.DLAB).  Host effects go through callbacks given at init: every
 * transmitted byte goes to tx(); host input comes in through uart_receive().
 *
 * Behaviour choices (deterministic, documented here once):
 * - Transmission is instant: a THR write hands the byte to tx() at once, so
 *   LSR.THRE and LSR.TEMT always read 1.  The THRE *interrupt* still follows
 *   the chip: it is latched when THR empties (right after every THR write) and
 *   when IER.ETBEI goes 0->1; it is cleared by reading IIR while THRE is the
 *   reported source, or by writing THR (which, transmitting instantly, latches
 *   it again).
 * - Receiver timeout: the 16550 flags a timeout when data below the trigger
 *   level has sat unread for four character times.  We treat that time as
 *   already elapsed: with FIFOs on, 0 < count < trigger reports IIR 0xC
 *   (timeout) and count >= trigger reports 0x4 (data available).  Trigger
 *   levels thus decide which of the two the guest sees, not whether it is
 *   interrupted; a guest that empties the FIFO (as every driver does) cannot
 *   tell the difference except in latency.
 * - Host input never overruns: uart_receive() accepts only what fits (16
 *   bytes with FIFOs on, 1 with them off) and the monitor keeps the rest.
 *   rx_space() fires when a guest action (reading RBR, clearing or toggling
 *   the FIFO, leaving loopback) leaves the receiver empty and accepting; the
 *   callback may call uart_receive() directly.  In loopback the receiver is
 *   disconnected from the host (uart_rx_space() is 0).
 * - Overrun happens only in loopback (the guest transmitting into a full
 *   receiver): LSR.OE is set; with FIFOs on the new byte is lost, with FIFOs
 *   off it overwrites RBR, as on the chip.
 * - The IRQ output is gated by MCR.OUT2 (the PC's interrupt buffer enable),
 *   in loopback too.  The line is level: high while an enabled source is
 *   pending and OUT2 is set.
 * - Modem inputs of the host side read as a connected terminal: DCD, DSR and
 *   CTS asserted, RI not.  In loopback DTR->DSR, RTS->CTS, OUT1->RI,
 *   OUT2->DCD, with the delta bits set on every change (TERI on RI's falling
 *   edge).
 * - Characters are bytes whatever LCR's word length, parity and stop bits
 *   say: the other end is a terminal, not a wire, and guests that print
 *   without programming LCR (reset value: 5 bits) must still be readable.
 * - Accesses wider than a byte act as consecutive byte accesses.
 */
#ifndef MORPH_UART16550_H
#define MORPH_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"

#define UART_COM1_BASE 0x3F8
#define UART_COM1_IRQ 4
#define UART_FIFO_SIZE 16

/* Register offsets. */
enum {
    UART_RBR = 0, UART_THR = 0, UART_DLL = 0,
    UART_IER = 1, UART_DLM = 1,
    UART_IIR = 2, UART_FCR = 2,
    UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

/* Bits the tests and the monitor may want by name. */
#define UART_IER_ERBFI 0x01     /* received data available */
#define UART_IER_ETBEI 0x02     /* transmitter holding register empty */
#define UART_IER_ELSI 0x04      /* receiver line status */
#define UART_IER_EDSSI 0x08     /* modem status */
#define UART_IIR_NONE 0x01
#define UART_IIR_MSR 0x00
#define UART_IIR_THRE 0x02
#define UART_IIR_RDA 0x04
#define UART_IIR_LSR 0x06
#define UART_IIR_TIMEOUT 0x0C
#define UART_IIR_FIFO 0xC0
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_LCR_DLAB 0x80
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_PE 0x04
#define UART_LSR_FE 0x08
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

/* Guest-visible state; plain bytes (no padding), what save/restore copies. */
struct uart16550_state {
    uint8_t rx[UART_FIFO_SIZE];     /* receive FIFO (ring); 1 entry used with FIFOs off */
    uint8_t rx_head, rx_count;
    uint8_t rbr_last;               /* what RBR reads when the receiver is empty */
    uint8_t ier;                    /* low 4 bits */
    uint8_t fcr;                    /* FIFO enable and trigger bits as last written */
    uint8_t lcr, mcr;
    uint8_t lsr_errors;             /* OE/PE/FE/BI, cleared by reading LSR */
    uint8_t msr;                    /* modem lines (high nibble) and deltas (low) */
    uint8_t scr;
    uint8_t dll, dlm;
    uint8_t thre_pending;           /* THRE interrupt latch */
};

struct uart16550 {
    struct uart16550_state s;
    /* Wiring and derived values (not state). */
    struct irq_line irq;
    bool irq_level;                 /* what we last drove on the line */
    void (*tx)(void *opaque, uint8_t byte);
    void (*rx_space)(void *opaque);
    void *opaque;
};

/* Registers the 8 ports at base.  tx and rx_space may be NULL.  Returns 0,
 * or -1 with a reason in err. */
int uart_init(struct uart16550 *u, struct bus *io, uint16_t base, struct irq_line irq,
              void (*tx)(void *opaque, uint8_t byte), void (*rx_space)(void *opaque),
              void *opaque, char *err, size_t errlen);
void uart_reset(void *opaque);
size_t uart_save(void *opaque, uint8_t *buf, size_t cap);
/* Also drives the IRQ line to the restored level. */
int uart_restore(void *opaque, const uint8_t *buf, size_t len);

/* Host input: accepts as many bytes as fit, returns that count. */
size_t uart_receive(struct uart16550 *u, const uint8_t *buf, size_t len);
/* How many bytes uart_receive would accept now. */
size_t uart_rx_space(const struct uart16550 *u);

#endif

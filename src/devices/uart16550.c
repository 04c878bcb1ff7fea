/* uart16550.c - the 16550A UART (see uart16550.h for behaviour choices). */
#include "devices/uart16550.h"

#include <string.h>

#define UART_NPORTS 8
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)
#define UART_MSR_DELTAS 0x0F
#define UART_MSR_LINES 0xF0

static const uint8_t uart_tag[4] = { 'U', '5', '5', 'A' };
#define UART_BLOB_SIZE (sizeof(uart_tag) + sizeof(struct uart16550_state))

_Static_assert(sizeof(struct uart16550_state) == UART_FIFO_SIZE + 13,
               "uart16550_state must stay plain bytes without padding");

/* ---- derived values ---- */

static bool fifo_on(const struct uart16550 *u)
{
    return u->s.fcr & UART_FCR_ENABLE;
}

static bool loopback(const struct uart16550 *u)
{
    return u->s.mcr & UART_MCR_LOOP;
}

static unsigned rx_capacity(const struct uart16550 *u)
{
    return fifo_on(u) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart16550 *u)
{
    static const uint8_t level[4] = { 1, 4, 8, 14 };
    return level[u->s.fcr >> 6];
}

/* The highest-priority pending, enabled source, as IIR bits 3:0. */
static uint8_t interrupt_id(const struct uart16550 *u)
{
    const struct uart16550_state *s = &u->s;
    if ((s->ier & UART_IER_ELSI) && (s->lsr_errors & UART_LSR_ERRORS))
        return UART_IIR_LSR;
    if ((s->ier & UART_IER_ERBFI) && s->rx_count) {
        if (!fifo_on(u) || s->rx_count >= rx_trigger(u))
            return UART_IIR_RDA;
        return UART_IIR_TIMEOUT;
    }
    if ((s->ier & UART_IER_ETBEI) && s->thre_pending)
        return UART_IIR_THRE;
    if ((s->ier & UART_IER_EDSSI) && (s->msr & UART_MSR_DELTAS))
        return UART_IIR_MSR;
    return UART_IIR_NONE;
}

static bool irq_wanted(const struct uart16550 *u)
{
    return interrupt_id(u) != UART_IIR_NONE && (u->s.mcr & UART_MCR_OUT2);
}

static void update_irq(struct uart16550 *u)
{
    bool level = irq_wanted(u);
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set_level(&u->irq, level);
    }
}

/* The receiver as the host sees it: empty and connected to the host line. */
static bool rx_idle(const struct uart16550 *u)
{
    return u->s.rx_count == 0 && !loopback(u);
}

/* ---- receive FIFO ---- */

static void rx_clear(struct uart16550 *u)
{
    u->s.rx_head = 0;
    u->s.rx_count = 0;
}

/* A character arriving at the receiver; overruns as the chip does. */
static void rx_push(struct uart16550 *u, uint8_t byte)
{
    struct uart16550_state *s = &u->s;
    if (s->rx_count >= rx_capacity(u)) {
        s->lsr_errors |= UART_LSR_OE;
        if (!fifo_on(u))
            s->rx[s->rx_head] = byte;   /* 16450 mode: RBR is overwritten */
        return;
    }
    s->rx[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = byte;
    s->rx_count++;
}

static uint8_t rbr_read(struct uart16550 *u)
{
    struct uart16550_state *s = &u->s;
    if (s->rx_count) {
        s->rbr_last = s->rx[s->rx_head];
        s->rx_head = (s->rx_head + 1) % UART_FIFO_SIZE;
        s->rx_count--;
    }
    return s->rbr_last;
}

/* ---- modem lines ---- */

static uint8_t modem_inputs(const struct uart16550 *u)
{
    uint8_t mcr = u->s.mcr;
    if (!loopback(u))
        return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    return (uint8_t)(((mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
                     ((mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
                     ((mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
                     ((mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
}

/* Bring MSR's line bits to the current inputs, latching the deltas. */
static void update_modem_status(struct uart16550 *u)
{
    uint8_t old = u->s.msr & UART_MSR_LINES;
    uint8_t now = modem_inputs(u);
    uint8_t changed = old ^ now;
    uint8_t deltas = u->s.msr & UART_MSR_DELTAS;

    if (changed & UART_MSR_CTS)
        deltas |= UART_MSR_DCTS;
    if (changed & UART_MSR_DSR)
        deltas |= UART_MSR_DDSR;
    if (changed & UART_MSR_DCD)
        deltas |= UART_MSR_DDCD;
    if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
        deltas |= UART_MSR_TERI;
    u->s.msr = now | deltas;
}

/* ---- register accesses ---- */

static void thr_write(struct uart16550 *u, uint8_t byte)
{
    u->s.thre_pending = 0;
    if (loopback(u))
        rx_push(u, byte);
    else if (u->tx)
        u->tx(u->opaque, byte);
    /* Transmission is instant: THR is empty again and says so. */
    u->s.thre_pending = 1;
}

static void ier_write(struct uart16550 *u, uint8_t v)
{
    uint8_t old = u->s.ier;
    u->s.ier = v & 0x0F;
    /* Enabling ETBEI with THR empty raises the THRE interrupt (Linux's
     * 8250 driver probes for exactly this). */
    if (!(old & UART_IER_ETBEI) && (u->s.ier & UART_IER_ETBEI))
        u->s.thre_pending = 1;
}

static void fcr_write(struct uart16550 *u, uint8_t v)
{
    bool was_on = fifo_on(u);
    bool on = v & UART_FCR_ENABLE;
    if (on != was_on)
        rx_clear(u);               /* toggling the FIFO mode resets the FIFOs */
    if (!on) {
        u->s.fcr = 0;
        return;
    }
    /* The chip programs the other bits only with bit 0 set. */
    u->s.fcr = v & (UART_FCR_ENABLE | 0xC0);
    if (v & UART_FCR_CLEAR_RX)
        rx_clear(u);
    /* The transmit FIFO is always empty: nothing to clear. */
}

static uint8_t iir_read(struct uart16550 *u)
{
    uint8_t id = interrupt_id(u);
    if (id == UART_IIR_THRE)
        u->s.thre_pending = 0;     /* reading IIR acknowledges THRE */
    return (uint8_t)(id | (fifo_on(u) ? UART_IIR_FIFO : 0));
}

static uint8_t lsr_read(struct uart16550 *u)
{
    uint8_t v = (uint8_t)(u->s.lsr_errors | UART_LSR_THRE | UART_LSR_TEMT |
                          (u->s.rx_count ? UART_LSR_DR : 0));
    u->s.lsr_errors = 0;
    return v;
}

static uint8_t msr_read(struct uart16550 *u)
{
    uint8_t v = u->s.msr;
    u->s.msr &= UART_MSR_LINES;
    return v;
}

static uint8_t reg_read(struct uart16550 *u, unsigned reg)
{
    bool dlab = u->s.lcr & UART_LCR_DLAB;
    switch (reg) {
    case UART_RBR: return dlab ? u->s.dll : rbr_read(u);
    case UART_IER: return dlab ? u->s.dlm : u->s.ier;
    case UART_IIR: return iir_read(u);
    case UART_LCR: return u->s.lcr;
    case UART_MCR: return u->s.mcr;
    case UART_LSR: return lsr_read(u);
    case UART_MSR: return msr_read(u);
    default:       return u->s.scr;
    }
}

static void reg_write(struct uart16550 *u, unsigned reg, uint8_t v)
{
    bool dlab = u->s.lcr & UART_LCR_DLAB;
    switch (reg) {
    case UART_THR:
        if (dlab)
            u->s.dll = v;
        else
            thr_write(u, v);
        break;
    case UART_IER:
        if (dlab)
            u->s.dlm = v;
        else
            ier_write(u, v);
        break;
    case UART_FCR: fcr_write(u, v); break;
    case UART_LCR: u->s.lcr = v; break;
    case UART_MCR:
        u->s.mcr = v & 0x1F;
        update_modem_status(u);
        break;
    case UART_SCR: u->s.scr = v; break;
    default: break;                /* LSR and MSR writes: factory test only */
    }
}

/* After a guest access: interrupt line, and tell the host when the receiver
 * has just become empty and accepting so it can push the rest of its input. */
static void access_done(struct uart16550 *u, bool was_idle)
{
    update_irq(u);
    if (!was_idle && rx_idle(u) && u->rx_space)
        u->rx_space(u->opaque);
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
    struct uart16550 *u = opaque;
    bool was_idle = rx_idle(u);
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t reg = offset + i;
        uint64_t byte = reg < UART_NPORTS ? reg_read(u, (unsigned)reg) : 0xFF;
        v |= byte << (8 * i);
    }
    access_done(u, was_idle);
    return v;
}

static void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct uart16550 *u = opaque;
    bool was_idle = rx_idle(u);
    for (unsigned i = 0; i < size && i < 8 && offset + i < UART_NPORTS; i++)
        reg_write(u, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
    access_done(u, was_idle);
}

/* ---- public ---- */

int uart_init(struct uart16550 *u, struct bus *io, uint16_t base, struct irq_line irq,
              void (*tx)(void *opaque, uint8_t byte), void (*rx_space)(void *opaque),
              void *opaque, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    u->irq = irq;
    u->tx = tx;
    u->rx_space = rx_space;
    u->opaque = opaque;
    u->s.dll = 12;                 /* 9600 baud until the guest says otherwise */
    uart_reset(u);
    return bus_register(io, base, UART_NPORTS, "uart16550", u, uart_read, uart_write,
                        err, errlen);
}

/* Master reset: the divisor latch and SCR keep their values, as on the chip. */
void uart_reset(void *opaque)
{
    struct uart16550 *u = opaque;
    struct uart16550_state *s = &u->s;
    uint8_t dll = s->dll, dlm = s->dlm, scr = s->scr;
    memset(s, 0, sizeof(*s));
    s->dll = dll;
    s->dlm = dlm;
    s->scr = scr;
    s->msr = modem_inputs(u);
    update_irq(u);
}

size_t uart_receive(struct uart16550 *u, const uint8_t *buf, size_t len)
{
    size_t n = uart_rx_space(u);
    if (n > len)
        n = len;
    for (size_t i = 0; i < n; i++)
        rx_push(u, buf[i]);
    update_irq(u);
    return n;
}

size_t uart_rx_space(const struct uart16550 *u)
{
    if (loopback(u))
        return 0;
    return rx_capacity(u) - u->s.rx_count;
}

size_t uart_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct uart16550 *u = opaque;
    if (cap >= UART_BLOB_SIZE) {
        memcpy(buf, uart_tag, sizeof(uart_tag));
        memcpy(buf + sizeof(uart_tag), &u->s, sizeof(u->s));
    }
    return UART_BLOB_SIZE;
}

int uart_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct uart16550 *u = opaque;
    struct uart16550_state s;
    if (len != UART_BLOB_SIZE || memcmp(buf, uart_tag, sizeof(uart_tag)) != 0)
        return -1;
    memcpy(&s, buf + sizeof(uart_tag), sizeof(s));
    unsigned cap = (s.fcr & UART_FCR_ENABLE) ? UART_FIFO_SIZE : 1;
    if (s.rx_head >= UART_FIFO_SIZE || s.rx_count > cap || s.ier > 0x0F ||
        s.mcr > 0x1F || (s.fcr & ~(UART_FCR_ENABLE | 0xC0)) ||
        (s.lsr_errors & ~UART_LSR_ERRORS) || s.thre_pending > 1)
        return -1;
    u->s = s;
    u->irq_level = irq_wanted(u);
    irq_set_level(&u->irq, u->irq_level);
    return 0;
}

/* test_uart16550.c - the 16550A UART driven through its ports, as a guest
 * driver would, with the host side (terminal, IRQ line) recorded. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "device_rig.h"
#include "devices/bus.h"
#include "devices/uart16550.h"

#define BASE UART_COM1_BASE

struct rig {
    struct bus bus;
    struct uart16550 u;
    int irq_level;
    unsigned irq_rises;
    uint8_t txbuf[64];
    unsigned ntx;
    unsigned rx_space_calls;
    /* For the refill-from-the-callback test. */
    const uint8_t *pending;
    size_t npending;
};

static void rig_irq(void *opaque, unsigned irq, int level)
{
    struct rig *r = opaque;
    assert_int_equal(irq, UART_COM1_IRQ);
    if (level && !r->irq_level)
        r->irq_rises++;
    r->irq_level = level;
}

static void rig_tx(void *opaque, uint8_t byte)
{
    struct rig *r = opaque;
    if (r->ntx < sizeof r->txbuf)
        r->txbuf[r->ntx++] = byte;
}

static void rig_rx_space(void *opaque)
{
    struct rig *r = opaque;
    r->rx_space_calls++;
    if (r->npending) {
        size_t n = uart_receive(&r->u, r->pending, r->npending);
        r->pending += n;
        r->npending -= n;
    }
}

static int rig_setup(void **state)
{
    static struct rig r;
    char err[128];
    memset(&r, 0, sizeof r);
    assert_int_equal(bus_init(&r.bus, "port", true), 0);
    struct irq_line irq = { .set = rig_irq, .opaque = &r, .irq = UART_COM1_IRQ };
    assert_int_equal(uart_init(&r.u, &r.bus, BASE, irq, rig_tx, rig_rx_space, &r,
                               err, sizeof err), 0);
    *state = &r;
    return 0;
}

static int rig_teardown(void **state)
{
    struct rig *r = *state;
    bus_free(&r->bus);
    return 0;
}

static uint8_t in(struct rig *r, unsigned reg) { return rig_in8(&r->bus, (uint16_t)(BASE + reg)); }
static void out(struct rig *r, unsigned reg, uint8_t v) { rig_out8(&r->bus, (uint16_t)(BASE + reg), v); }

static void receive_all(struct rig *r, const char *text)
{
    size_t len = strlen(text);
    assert_int_equal(uart_receive(&r->u, (const uint8_t *)text, len), len);
}

/* ---- registers ---- */

static void divisor_latch_round_trip(void **state)
{
    struct rig *r = *state;
    out(r, UART_IER, 0x05);
    out(r, UART_LCR, UART_LCR_DLAB | 0x03);
    out(r, UART_DLL, 0x01);                  /* 115200 baud */
    out(r, UART_DLM, 0x02);
    assert_int_equal(in(r, UART_DLL), 0x01);
    assert_int_equal(in(r, UART_DLM), 0x02);
    assert_int_equal(r->ntx, 0);              /* DLL write is not a transmit */
    out(r, UART_LCR, 0x03);
    assert_int_equal(in(r, UART_IER), 0x05);  /* IER was untouched */
    out(r, UART_THR, 'x');
    assert_int_equal(r->ntx, 1);
    out(r, UART_LCR, UART_LCR_DLAB | 0x03);
    assert_int_equal(in(r, UART_DLL), 0x01);  /* ... and so was the latch */
    assert_int_equal(in(r, UART_DLM), 0x02);
}

static void lcr_scr_ier_mcr_read_back(void **state)
{
    struct rig *r = *state;
    out(r, UART_LCR, 0x1b);
    assert_int_equal(in(r, UART_LCR), 0x1b);
    out(r, UART_SCR, 0xa5);
    assert_int_equal(in(r, UART_SCR), 0xa5);
    out(r, UART_IER, 0xff);
    assert_int_equal(in(r, UART_IER), 0x0f);  /* only 4 bits exist */
    out(r, UART_MCR, 0xff);
    assert_int_equal(in(r, UART_MCR), 0x1f);
    /* A 16-bit read at LCR returns LCR then MCR. */
    uint64_t v;
    assert_true(bus_read(&r->bus, BASE + UART_LCR, 2, &v));
    assert_int_equal(v, 0x1f1b);
}

static void transmit_reaches_host_as_bytes(void **state)
{
    struct rig *r = *state;
    out(r, UART_THR, 0xff);                   /* LCR still at reset: 5 bits */
    out(r, UART_LCR, 0x02);                   /* 7 bits */
    out(r, UART_THR, 0xfe);
    assert_int_equal(r->ntx, 2);
    assert_int_equal(r->txbuf[0], 0xff);
    assert_int_equal(r->txbuf[1], 0xfe);
    assert_int_equal(in(r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
                     UART_LSR_THRE | UART_LSR_TEMT);
}

/* ---- receive, FIFO, trigger levels ---- */

static void fifo_trigger_levels_select_timeout_or_data(void **state)
{
    struct rig *r = *state;
    static const struct { uint8_t fcr; unsigned trigger; } cases[] = {
        { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 },
    };
    out(r, UART_IER, UART_IER_ERBFI);
    out(r, UART_MCR, UART_MCR_OUT2);
    for (unsigned c = 0; c < 4; c++) {
        out(r, UART_FCR, cases[c].fcr | UART_FCR_CLEAR_RX);
        assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_NONE);
        for (unsigned n = 1; n <= cases[c].trigger; n++) {
            uint8_t b = (uint8_t)n;
            assert_int_equal(uart_receive(&r->u, &b, 1), 1);
            uint8_t want = n < cases[c].trigger ? UART_IIR_TIMEOUT : UART_IIR_RDA;
            assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | want);
            assert_int_equal(r->irq_level, 1);
        }
        /* Reading below the trigger turns "data available" into "timeout". */
        if (cases[c].trigger > 1) {
            assert_int_equal(in(r, UART_RBR), 1);
            assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_TIMEOUT);
        }
    }
    out(r, UART_FCR, 0xc1 | UART_FCR_CLEAR_RX);
    assert_int_equal(in(r, UART_LSR) & UART_LSR_DR, 0);
    assert_int_equal(r->irq_level, 0);
}

static void fifo_holds_sixteen_in_order(void **state)
{
    struct rig *r = *state;
    uint8_t data[20];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)('a' + i);
    out(r, UART_FCR, UART_FCR_ENABLE);
    assert_int_equal(uart_rx_space(&r->u), 16);
    assert_int_equal(uart_receive(&r->u, data, sizeof data), 16);
    assert_int_equal(uart_rx_space(&r->u), 0);
    assert_int_equal(uart_receive(&r->u, data + 16, 4), 0);
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(in(r, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
        assert_int_equal(in(r, UART_RBR), 'a' + i);
    }
    assert_int_equal(in(r, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), 0);
    /* Without FIFOs the receiver holds a single byte. */
    out(r, UART_FCR, 0);
    assert_int_equal(uart_rx_space(&r->u), 1);
    assert_int_equal(uart_receive(&r->u, data, 3), 1);
    assert_int_equal(in(r, UART_IIR), UART_IIR_NONE);   /* no FIFO bits */
    assert_int_equal(in(r, UART_RBR), 'a');
}

static void long_input_is_paced_by_rx_space(void **state)
{
    struct rig *r = *state;
    static const char text[] = "the quick brown fox jumps over the lazy dog";
    size_t len = strlen(text);
    out(r, UART_FCR, UART_FCR_ENABLE | 0x80);
    size_t n = uart_receive(&r->u, (const uint8_t *)text, len);
    assert_int_equal(n, 16);
    r->pending = (const uint8_t *)text + n;
    r->npending = len - n;

    /* Partly draining does not call back; emptying does, and the callback
     * may refill at once. */
    char got[64] = { 0 };
    for (unsigned i = 0; i < 15; i++)
        got[i] = (char)in(r, UART_RBR);
    assert_int_equal(r->rx_space_calls, 0);
    size_t i = 15;
    while (in(r, UART_LSR) & UART_LSR_DR)
        got[i++] = (char)in(r, UART_RBR);
    assert_int_equal(i, len);
    assert_string_equal(got, text);
    assert_int_equal(r->npending, 0);
    assert_int_equal(r->rx_space_calls, 3);   /* after bytes 16, 32 and 43 */
    /* Reading an empty receiver is not "draining" it again. */
    in(r, UART_RBR);
    assert_int_equal(r->rx_space_calls, 3);
}

static void fifo_clear_calls_rx_space(void **state)
{
    struct rig *r = *state;
    out(r, UART_FCR, UART_FCR_ENABLE);
    receive_all(r, "abc");
    out(r, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
    assert_int_equal(r->rx_space_calls, 1);
    assert_int_equal(uart_rx_space(&r->u), 16);
    assert_int_equal(in(r, UART_LSR) & UART_LSR_DR, 0);
}

/* ---- interrupts ---- */

static void iir_reports_sources_in_priority_order(void **state)
{
    struct rig *r = *state;
    out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    in(r, UART_MSR);                              /* drop the loopback deltas */
    out(r, UART_FCR, UART_FCR_ENABLE);
    for (unsigned i = 0; i < 17; i++)             /* one too many: overrun */
        out(r, UART_THR, (uint8_t)i);
    out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_DTR);  /* DSR delta */
    out(r, UART_IER, 0x0f);
    assert_int_equal(r->irq_level, 1);

    assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_LSR);
    assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_LSR);  /* sticky */
    assert_int_equal(in(r, UART_LSR) & UART_LSR_OE, UART_LSR_OE);
    assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_RDA);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(in(r, UART_RBR), i);
    assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_THRE);
    assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_MSR);
    assert_int_equal(in(r, UART_MSR) & UART_MSR_DDSR, UART_MSR_DDSR);
    assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_NONE);
    assert_int_equal(r->irq_level, 0);
}

static void thre_interrupt_semantics(void **state)
{
    struct rig *r = *state;
    out(r, UART_MCR, UART_MCR_OUT2);
    assert_int_equal(in(r, UART_IIR), UART_IIR_NONE);

    /* Enabling ETBEI with THR empty raises THRE. */
    out(r, UART_IER, UART_IER_ETBEI);
    assert_int_equal(r->irq_level, 1);
    assert_int_equal(in(r, UART_IIR), UART_IIR_THRE);
    /* Reading IIR while THRE was the reported source cleared it. */
    assert_int_equal(r->irq_level, 0);
    assert_int_equal(in(r, UART_IIR), UART_IIR_NONE);
    /* Rewriting IER with ETBEI already set does not raise it again ... */
    out(r, UART_IER, UART_IER_ETBEI);
    assert_int_equal(in(r, UART_IIR), UART_IIR_NONE);
    /* ... but a transmit does (THR empties again at once) ... */
    out(r, UART_THR, 'a');
    assert_int_equal(r->irq_level, 1);
    assert_int_equal(in(r, UART_IIR), UART_IIR_THRE);
    /* ... and so does re-enabling ETBEI, which Linux's 8250 probe relies on:
     * IER=THRI, read IIR, IER=0, IER=THRI, read IIR must show THRE both times. */
    out(r, UART_IER, 0);
    out(r, UART_IER, UART_IER_ETBEI);
    assert_int_equal(in(r, UART_IIR), UART_IIR_THRE);
    out(r, UART_IER, 0);
    assert_int_equal(r->irq_level, 0);
    assert_int_equal(r->irq_rises, 3);

    /* THRE is cleared by a THR write even when IIR has not been read, and
     * a pending-but-masked THRE shows once enabled. */
    out(r, UART_THR, 'b');
    out(r, UART_IER, UART_IER_ETBEI);
    assert_int_equal(in(r, UART_IIR), UART_IIR_THRE);
}

static void thre_acknowledge_only_when_reported(void **state)
{
    struct rig *r = *state;
    out(r, UART_IER, UART_IER_ETBEI | UART_IER_ERBFI);
    receive_all(r, "z");
    /* RX outranks THRE: reading IIR must not swallow THRE. */
    assert_int_equal(in(r, UART_IIR), UART_IIR_RDA);
    assert_int_equal(in(r, UART_RBR), 'z');
    assert_int_equal(in(r, UART_IIR), UART_IIR_THRE);
    assert_int_equal(in(r, UART_IIR), UART_IIR_NONE);
}

static void irq_line_is_gated_by_out2(void **state)
{
    struct rig *r = *state;
    out(r, UART_IER, UART_IER_ERBFI);
    receive_all(r, "q");
    assert_int_equal(in(r, UART_IIR), UART_IIR_RDA);  /* pending ... */
    assert_int_equal(r->irq_level, 0);                /* ... but not driven */
    out(r, UART_MCR, UART_MCR_OUT2);
    assert_int_equal(r->irq_level, 1);
    out(r, UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
    assert_int_equal(r->irq_level, 0);
    out(r, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
    assert_int_equal(r->irq_level, 1);
    in(r, UART_RBR);
    assert_int_equal(r->irq_level, 0);
}

static void line_status_interrupt_and_overrun_without_fifo(void **state)
{
    struct rig *r = *state;
    out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    out(r, UART_IER, UART_IER_ELSI);
    out(r, UART_THR, 'a');
    assert_int_equal(r->irq_level, 0);
    out(r, UART_THR, 'b');                     /* 16450 mode: overwrites RBR */
    assert_int_equal(r->irq_level, 1);
    assert_int_equal(in(r, UART_IIR), UART_IIR_LSR);
    uint8_t lsr = in(r, UART_LSR);
    assert_int_equal(lsr & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
    assert_int_equal(r->irq_level, 0);
    assert_int_equal(in(r, UART_LSR) & UART_LSR_OE, 0);   /* read clears OE */
    assert_int_equal(in(r, UART_RBR), 'b');
    assert_int_equal(r->ntx, 0);               /* loopback never reaches the host */
}

/* ---- loopback and modem status ---- */

static void loopback_echoes_and_disconnects_host(void **state)
{
    struct rig *r = *state;
    out(r, UART_FCR, UART_FCR_ENABLE);
    out(r, UART_MCR, UART_MCR_LOOP);
    assert_int_equal(uart_rx_space(&r->u), 0);
    assert_int_equal(uart_receive(&r->u, (const uint8_t *)"h", 1), 0);
    for (const char *p = "echo"; *p; p++)
        out(r, UART_THR, (uint8_t)*p);
    assert_int_equal(r->ntx, 0);
    for (const char *p = "echo"; *p; p++)
        assert_int_equal(in(r, UART_RBR), *p);
    assert_int_equal(r->rx_space_calls, 0);    /* still in loopback */
    out(r, UART_MCR, 0);
    assert_int_equal(uart_rx_space(&r->u), 16);
    assert_int_equal(r->rx_space_calls, 1);    /* leaving loopback reconnects */
    out(r, UART_THR, '!');
    assert_int_equal(r->ntx, 1);
    assert_int_equal(r->txbuf[0], '!');
}

static void msr_reflects_mcr_in_loopback(void **state)
{
    struct rig *r = *state;
    /* Outside loopback: a connected terminal. */
    assert_int_equal(in(r, UART_MSR),
                     UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
    out(r, UART_MCR, UART_MCR_LOOP);
    assert_int_equal(in(r, UART_MSR),
                     UART_MSR_DDCD | UART_MSR_DDSR | UART_MSR_DCTS);
    assert_int_equal(in(r, UART_MSR), 0);
    /* Linux's probe: RTS|OUT2 in loopback reads back CTS|DCD. */
    out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
    assert_int_equal(in(r, UART_MSR) & 0xf0, 0x90);
    out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
    assert_int_equal(in(r, UART_MSR),
                     UART_MSR_DSR | UART_MSR_RI | UART_MSR_DDCD | UART_MSR_DDSR |
                     UART_MSR_DCTS);
    /* RI rising sets no delta; falling sets TERI. */
    out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
    assert_int_equal(in(r, UART_MSR), UART_MSR_DSR | UART_MSR_TERI);
    assert_int_equal(in(r, UART_MSR), UART_MSR_DSR);
    /* The modem status interrupt follows the deltas. */
    out(r, UART_IER, UART_IER_EDSSI);
    out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    assert_int_equal(r->irq_level, 1);
    assert_int_equal(in(r, UART_IIR), UART_IIR_MSR);
    in(r, UART_MSR);
    assert_int_equal(in(r, UART_IIR), UART_IIR_NONE);
    assert_int_equal(r->irq_level, 0);
}

/* ---- reset, save, restore ---- */

static void save_restore_round_trip(void **state)
{
    struct rig *r = *state;
    out(r, UART_LCR, UART_LCR_DLAB | 0x03);
    out(r, UART_DLL, 0x01);
    out(r, UART_LCR, 0x03);
    out(r, UART_FCR, 0x81);
    out(r, UART_IER, UART_IER_ERBFI);
    out(r, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
    out(r, UART_SCR, 0x42);
    receive_all(r, "saved");
    assert_int_equal(r->irq_level, 1);

    uint8_t blob[128];
    size_t n = uart_save(&r->u, NULL, 0);
    assert_true(n <= sizeof blob);
    assert_int_equal(uart_save(&r->u, blob, sizeof blob), n);

    uart_reset(&r->u);
    assert_int_equal(r->irq_level, 0);
    assert_int_equal(in(r, UART_IER), 0);
    assert_int_equal(in(r, UART_LSR) & UART_LSR_DR, 0);
    assert_int_equal(in(r, UART_SCR), 0x42);   /* reset keeps SCR */

    assert_int_equal(uart_restore(&r->u, blob, n), 0);
    assert_int_equal(r->irq_level, 1);
    assert_int_equal(in(r, UART_IIR), UART_IIR_FIFO | UART_IIR_TIMEOUT);
    assert_int_equal(in(r, UART_MCR), UART_MCR_OUT2 | UART_MCR_DTR);
    char got[6] = { 0 };
    for (unsigned i = 0; i < 5; i++)
        got[i] = (char)in(r, UART_RBR);
    assert_string_equal(got, "saved");
    out(r, UART_LCR, UART_LCR_DLAB);
    assert_int_equal(in(r, UART_DLL), 0x01);

    /* Bad blobs are refused. */
    assert_int_equal(uart_restore(&r->u, blob, n - 1), -1);
    uint8_t bad[128];
    memcpy(bad, blob, n);
    bad[0] = 'X';
    assert_int_equal(uart_restore(&r->u, bad, n), -1);
    memcpy(bad, blob, n);
    bad[4 + UART_FIFO_SIZE + 1] = 17;          /* rx_count beyond the FIFO */
    assert_int_equal(uart_restore(&r->u, bad, n), -1);
}

static void init_refuses_overlap(void **state)
{
    struct rig *r = *state;
    struct uart16550 other;
    char err[128] = "";
    struct irq_line none = { 0 };
    assert_int_equal(uart_init(&other, &r->bus, BASE + 4, none, NULL, NULL, NULL,
                               err, sizeof err), -1);
    assert_non_null(strstr(err, "uart16550"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(divisor_latch_round_trip),
        T(lcr_scr_ier_mcr_read_back),
        T(transmit_reaches_host_as_bytes),
        T(fifo_trigger_levels_select_timeout_or_data),
        T(fifo_holds_sixteen_in_order),
        T(long_input_is_paced_by_rx_space),
        T(fifo_clear_calls_rx_space),
        T(iir_reports_sources_in_priority_order),
        T(thre_interrupt_semantics),
        T(thre_acknowledge_only_when_reported),
        T(irq_line_is_gated_by_out2),
        T(line_status_interrupt_and_overrun_without_fifo),
        T(loopback_echoes_and_disconnects_host),
        T(msr_reflects_mcr_in_loopback),
        T(save_restore_round_trip),
        T(init_refuses_overlap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

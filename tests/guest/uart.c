/* 16550A on COM1: scratch register, divisor latch, loopback, and an
 * interrupt-driven transmit on IRQ 4 (THRE interrupts through the PIC). */
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "printf.h"
#include "serial.h"
#include "test.h"

const char test_program_name[] = "uart";

#define R(reg) (COM1 + UART_##reg)

static void drain(void)
{
    while (!(inb(R(LSR)) & LSR_TEMT))
        pause();
}

static void test_registers(void)
{
    outb(R(SCR), 0x5A);
    uint8_t a = inb(R(SCR));
    outb(R(SCR), 0xA5);
    uint8_t b = inb(R(SCR));
    check("uart_scratch_register", a == 0x5A && b == 0xA5, "read %x, %x", a, b);

    drain();
    uint8_t lcr = inb(R(LCR));
    outb(R(LCR), lcr | 0x80);
    outb(R(DLL), 0x34);
    outb(R(DLM), 0x12);
    uint8_t dll = inb(R(DLL)), dlm = inb(R(DLM));
    outb(R(DLL), 0x01);                   /* back to 115200 */
    outb(R(DLM), 0x00);
    outb(R(LCR), lcr);
    check("uart_divisor_latch_roundtrip", dll == 0x34 && dlm == 0x12, "DLL %x DLM %x", dll, dlm);
    check("uart_lcr_readback", inb(R(LCR)) == 0x03, "LCR %x", inb(R(LCR)));
    uint8_t iir = inb(R(IIR));
    check("uart_iir_fifo_enabled_no_irq", iir == 0xC1, "IIR %x (want FIFOs on, none pending)", iir);
}

static void test_loopback(void)
{
    drain();
    uint8_t mcr = inb(R(MCR));
    outb(R(MCR), 0x10 | 0x0B);            /* loopback */
    while (inb(R(LSR)) & LSR_DR)          /* flush stale input */
        (void)inb(R(RBR));

    /* Modem outputs loop back to the status inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
    outb(R(MCR), 0x10 | 0x03);
    uint8_t msr = inb(R(MSR));

    static const uint8_t msg[] = { 0x00, 0x55, 0xAA, 0xFF, 'm', 'o', 'r', 'p', 'h', 0x0D };
    uint8_t got[sizeof(msg)];
    unsigned n = 0;
    for (unsigned i = 0; i < sizeof(msg); i++) {
        while (!(inb(R(LSR)) & LSR_THRE))
            pause();
        outb(R(THR), msg[i]);
    }
    struct pit_clock c;
    pit_clock_start(&c);
    while (n < sizeof(msg) && pit_clock_update(&c) < 50 * (PIT_HZ / 1000))
        if (inb(R(LSR)) & LSR_DR)
            got[n++] = inb(R(RBR));
    int same = n == sizeof(msg);
    for (unsigned i = 0; same && i < n; i++)
        same = got[i] == msg[i];

    /* Received data shows in IIR when enabled (FIFO trigger 1): data available,
     * or the character timeout, which is equally valid once 4 character
     * times have passed. */
    outb(R(FCR), 0x07);                   /* FIFOs on, cleared, trigger level 1 */
    outb(R(IER), 0x01);
    outb(R(THR), 'x');
    pit_delay_us(2000);
    uint8_t iir = inb(R(IIR));
    uint8_t ch = inb(R(RBR));
    uint8_t iir2 = inb(R(IIR));
    outb(R(IER), 0x00);
    outb(R(FCR), 0xC7);
    outb(R(MCR), mcr);

    /* Report only now: in loopback mode our own output would loop back too. */
    check("uart_loopback_modem_lines", (msr & 0xF0) == 0x30, "MSR %x with DTR|RTS", msr);
    check("uart_loopback_echo", same, "received %u of %u bytes back", n, (unsigned)sizeof(msg));
    check("uart_rx_data_available_iir", ((iir & 0x0F) == 0x04 || (iir & 0x0F) == 0x0C) && ch == 'x' && (iir2 & 0x0F) == 0x01,
          "IIR %x then %x after reading '%c'", iir, iir2, ch);
}

/* Interrupt-driven transmit of one line. */
static const char irq_msg[] = "PASS uart_irq_transmit_text\r\n";
static volatile unsigned tx_pos;
static volatile uint32_t irq4_count, iir_thre_seen, iir_other_seen;
static volatile uint8_t iir_other;

static void irq4_handler(struct int_frame *f)
{
    (void)f;
    irq4_count++;
    uint8_t iir = inb(R(IIR));
    if ((iir & 0x0F) == 0x02) {
        iir_thre_seen++;
        /* THRE: the FIFO is empty, it takes up to 16 bytes. */
        for (int i = 0; i < 16 && irq_msg[tx_pos]; i++)
            outb(R(THR), irq_msg[tx_pos++]);
        if (!irq_msg[tx_pos])
            outb(R(IER), 0x00);
    } else if ((iir & 0x01) == 0) {
        iir_other_seen++;
        iir_other = iir;
    }
    pic_eoi(4);
}

static void test_irq_transmit(void)
{
    drain();
    pic_init();
    idt_set_handler(IRQ_VECTOR(4), irq4_handler);
    pic_unmask(4);
    outb(R(MCR), 0x0B);                   /* OUT2 gates the IRQ line on a PC */
    tx_pos = 0;
    outb(R(IER), 0x02);                   /* THR empty interrupts */
    struct pit_clock c;
    pit_clock_start(&c);
    /* Check and sleep with IF=0; sti;hlt opens the window atomically. */
    while (irq_msg[tx_pos] && pit_clock_update(&c) < 500 * (PIT_HZ / 1000)) {
        sti_hlt();
        cli();
    }
    drain();
    pic_mask(4);
    check("uart_irq_transmit_complete", !irq_msg[tx_pos], "sent %u of %u bytes from the handler",
          tx_pos, (unsigned)sizeof(irq_msg) - 1);
    check("uart_irq_thre_iir", iir_thre_seen >= 2 && iir_other_seen == 0,
          "%u THRE interrupts, %u others (last IIR %x)", iir_thre_seen, iir_other_seen, iir_other);
    uint8_t iir = inb(R(IIR));
    check("uart_iir_idle_after", (iir & 0x0F) == 0x01, "IIR %x", iir);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    test_registers();
    test_loopback();
    test_irq_transmit();
    return test_finish();
}

/* PIT channel 0 at 1000 Hz through the remapped PIC: the interrupt rate
 * measured against PIT channel 2, HLT waiting, EOI and mask behaviour. */
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "pit";

#define DIVISOR 1193u                     /* 1193182 / 1193 = 1000.15 Hz */
#define TICKS_PER_MS (PIT_HZ / 1000u)

static volatile uint32_t irq0_count;
static volatile int irq0_send_eoi = 1;

static void irq0_handler(struct int_frame *f)
{
    (void)f;
    irq0_count++;
    if (irq0_send_eoi)
        pic_eoi(0);
}

/* Busy-waits ms milliseconds with interrupts enabled. */
static void wait_ms_sti(uint32_t ms)
{
    struct pit_clock c;
    pit_clock_start(&c);
    sti();
    while (pit_clock_update(&c) < (uint64_t)ms * TICKS_PER_MS)
        ;
    cli();
}

/* Percent deviation of measured from expected, times 100 (fixed point). */
static int32_t deviation_x100(uint64_t measured, uint64_t expected)
{
    return (int32_t)(((int64_t)measured - (int64_t)expected) * 10000 / (int64_t)expected);
}

static void test_counter(void)
{
    outb(0x43, 0xE2);                      /* read-back: status of channel 0 */
    uint8_t status = inb(0x40);
    check("pit_readback_status", (status & 0x3F) == 0x34, "status %x (want mode 2, lo/hi)", status);
    uint16_t a = pit_ch0_read();
    pit_delay_us(100);
    uint16_t b = pit_ch0_read();
    check("pit_ch0_count_in_range", a >= 1 && a <= DIVISOR && b >= 1 && b <= DIVISOR && a != b,
          "counts %u then %u (reload %u)", a, b, DIVISOR);
}

static void test_rate_busy(void)
{
    struct pit_clock c;
    pit_clock_start(&c);
    uint32_t start = irq0_count;
    sti();
    while (pit_clock_update(&c) < 200 * TICKS_PER_MS)
        ;
    cli();
    uint32_t n = irq0_count - start;
    uint64_t expected = c.ticks / DIVISOR;
    int32_t dev = deviation_x100(n, expected);
    kprintf("pit: %u interrupts in %u us (expected %u)\n", n, (uint32_t)(c.ticks * 1000000 / PIT_HZ),
            (uint32_t)expected);
    check("pit_rate_1000hz_busy_wait", dev >= -500 && dev <= 500,
          "%u interrupts, expected %u (%d.%02d%% off)", n, (uint32_t)expected, dev / 100,
          (dev < 0 ? -dev : dev) % 100);
}

static void test_rate_hlt(void)
{
    struct pit_clock c;
    pit_clock_start(&c);
    uint32_t start = irq0_count, wakeups = 0;
    while (irq0_count - start < 200) {
        sti_hlt();                          /* wakes on the next interrupt */
        cli();
        wakeups++;
        pit_clock_update(&c);
    }
    uint32_t us = (uint32_t)(c.ticks * 1000000 / PIT_HZ);
    int32_t dev = deviation_x100(c.ticks, 200ull * DIVISOR);
    check("hlt_wakes_on_interrupt", wakeups >= 1 && wakeups <= 200, "%u wakeups", wakeups);
    check("pit_rate_1000hz_hlt", dev >= -500 && dev <= 500,
          "200 interrupts took %u us", us);
}

static void test_eoi_and_mask(void)
{
    /* Without EOI the in-service IRQ 0 blocks further IRQ 0s. */
    irq0_send_eoi = 0;
    uint32_t start = irq0_count;
    wait_ms_sti(20);
    uint32_t n = irq0_count - start;
    uint8_t isr = pic_read_isr(0);
    check("no_eoi_blocks_irq0", n == 1 && (isr & 1), "%u interrupts, ISR %x", n, isr);
    irq0_send_eoi = 1;
    pic_eoi(0);
    start = irq0_count;
    wait_ms_sti(20);
    n = irq0_count - start;
    check("eoi_resumes_irq0", n >= 15 && n <= 25, "%u interrupts in 20 ms", n);
    check("isr_clear_after_eoi", (pic_read_isr(0) & 1) == 0, "ISR %x", pic_read_isr(0));

    /* A masked line delivers nothing but is latched in the IRR. */
    pic_mask(0);
    start = irq0_count;
    wait_ms_sti(10);
    n = irq0_count - start;
    uint8_t irr = pic_read_irr(0);
    check("masked_irq0_not_delivered", n == 0, "%u interrupts while masked", n);
    check("masked_irq0_pending_in_irr", irr & 1, "IRR %x", irr);
    pic_unmask(0);
    start = irq0_count;
    wait_ms_sti(10);
    n = irq0_count - start;
    check("unmasked_irq0_resumes", n >= 7 && n <= 13, "%u interrupts in 10 ms", n);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    pic_init();
    idt_set_handler(IRQ_VECTOR(0), irq0_handler);
    pit_ch0_periodic(DIVISOR);
    pic_unmask(0);
    test_counter();
    test_rate_busy();
    test_rate_hlt();
    test_eoi_and_mask();
    pic_mask(0);
    return test_finish();
}

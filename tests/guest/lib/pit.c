#include "pit.h"
#include "io.h"

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43

void pit_ch0_periodic(uint16_t divisor)
{
    outb(PIT_CMD, 0x34);                 /* ch 0, lobyte/hibyte, mode 2, binary */
    outb(PIT_CH0, divisor & 0xFF);
    outb(PIT_CH0, divisor >> 8);
}

uint16_t pit_ch0_read(void)
{
    outb(PIT_CMD, 0x00);                 /* latch ch 0 */
    uint16_t lo = inb(PIT_CH0);
    return lo | (uint16_t)inb(PIT_CH0) << 8;
}

static uint16_t ch2_read(void)
{
    outb(PIT_CMD, 0x80);                 /* latch ch 2 */
    uint16_t lo = inb(PIT_CH2);
    return lo | (uint16_t)inb(PIT_CH2) << 8;
}

void pit_clock_start(struct pit_clock *c)
{
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);   /* gate 2 on, speaker off */
    outb(PIT_CMD, 0xB4);                 /* ch 2, lobyte/hibyte, mode 2, binary */
    outb(PIT_CH2, 0);                    /* reload 0 = 65536 */
    outb(PIT_CH2, 0);
    /* The count is loaded on the next input clock; wait until it moves. */
    uint16_t first = ch2_read();
    while (ch2_read() == first)
        ;
    c->last = ch2_read();
    c->ticks = 0;
}

uint64_t pit_clock_update(struct pit_clock *c)
{
    uint16_t now = ch2_read();
    c->ticks += (uint16_t)(c->last - now);
    c->last = now;
    return c->ticks;
}

void pit_delay_us(uint32_t us)
{
    struct pit_clock c;
    uint64_t want = (uint64_t)us * PIT_HZ / 1000000u;
    pit_clock_start(&c);
    while (pit_clock_update(&c) < want)
        ;
}

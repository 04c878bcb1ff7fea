/* 8254 PIT: channel 0 periodic interrupts, channel 2 as a free-running clock. */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H

#include <stdint.h>

#define PIT_HZ 1193182u

void pit_ch0_periodic(uint16_t divisor);   /* mode 2 (rate generator) */
uint16_t pit_ch0_read(void);               /* latched count */

/* Channel 2, gate on via port 0x61, speaker off, mode 2 with reload 65536:
 * a 16-bit down counter that wraps every ~55 ms. */
struct pit_clock {
    uint16_t last;
    uint64_t ticks;       /* elapsed PIT input ticks since start */
};
void pit_clock_start(struct pit_clock *c);
/* Must be called at least every ~50 ms to not lose a wrap. */
uint64_t pit_clock_update(struct pit_clock *c);
/* Busy-wait for the given number of microseconds using channel 2. */
void pit_delay_us(uint32_t us);

#endif

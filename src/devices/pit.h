/* pit.h - the 8254 programmable interval timer and system control port B.
 *
 * Ports 0x40-0x43 (counters 0-2 and the control word) and port 0x61 (counter
 * 2's gate and output, the speaker enable, the refresh toggle).  Counters are
 * not ticked: their state is computed from the virtual clock (timer_now) and
 * the tick at which they were loaded, at 1.193182 MHz.  Counter 0 drives IRQ0
 * through a dev_timer armed at its output's next rising edge.  Edges the
 * timer found already past (the host ran us late) follow the lost-tick
 * policy (lost_ticks.h): merged into one pulse, or owed and pulsed late.
 */
#ifndef MORPH_PIT_H
#define MORPH_PIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/lost_ticks.h"
#include "devices/timer.h"

#define PIT_HZ 1193182u

/* One counter.  Plain data (flags are 0/1 bytes) so save/restore can copy it. */
struct pit_channel {
    uint8_t mode;             /* 0-5 */
    uint8_t access;           /* 1 LSB, 2 MSB, 3 LSB then MSB */
    uint8_t bcd;
    uint8_t gate;
    uint8_t loaded;           /* a count was written since the control word */
    uint8_t paused;           /* gate low stopped counting (modes 0, 2, 3, 4) */
    uint8_t triggered;        /* modes 1, 5: a gate rising edge started the count */
    uint8_t write_msb_next;   /* write flip-flop (access 3) */
    uint8_t read_msb_next;    /* read flip-flop (access 3) */
    uint8_t write_lsb;        /* first byte of a two-byte count */
    uint8_t count_latched;    /* bytes of latched count still to read: 0, 1 or 2 */
    uint8_t status_latched;
    uint8_t status;
    uint16_t latched_count;
    uint32_t reload;          /* the count N: 1-65536 (binary) or 1-10000 (BCD) */
    uint64_t start_tick;      /* absolute PIT tick at which counting began */
    uint64_t paused_ticks;    /* ticks counted before the gate stopped us */
    uint64_t write_tick;      /* when the count was written (null count) */
};

struct pit_state {
    struct pit_channel ch[3];
    uint8_t port61;           /* the writable bits 0-3 of port 0x61 */
    uint64_t irq_count;       /* IRQ0 pulses delivered, for --stats */
    uint64_t irq_next_edge;   /* absolute tick of the next IRQ0 edge not yet counted */
    uint32_t irq_owed;        /* IRQ0 ticks due but not pulsed yet (LOST_TICKS_DELIVER) */
    uint32_t irq_retry_ns;    /* how long after a pulse the next owed tick is offered */
};

struct pit {
    struct pit_state s;
    /* Wiring (not state). */
    struct timer_set *ts;
    struct dev_timer irq_timer;
    struct irq_line irq0;
    struct lost_ticks lost;   /* LOST_TICKS_DISCARD until the monitor says otherwise */
};

/* Registers 0x40-0x43 and 0x61 and the IRQ0 timer.  Returns 0, or -1 with a reason. */
int pit_init(struct pit *p, struct bus *io, struct timer_set *ts, struct irq_line irq0,
             char *err, size_t errlen);

/* What IRQ0 does with ticks it could not deliver on time.  DELIVER needs
 * `probe` to look at IRQ0 on the interrupt controller.  Drops any backlog. */
void pit_set_lost_tick_policy(struct pit *p, enum lost_tick_policy policy,
                              struct irq_probe probe);

/* Counter output and gate, for whoever else is wired to them. */
bool pit_output(const struct pit *p, unsigned channel);
void pit_set_gate(struct pit *p, unsigned channel, bool level);
uint64_t pit_irq_count(const struct pit *p);

void pit_reset(void *pit);
size_t pit_save(void *pit, uint8_t *buf, size_t cap);
int pit_restore(void *pit, const uint8_t *buf, size_t len);

#endif

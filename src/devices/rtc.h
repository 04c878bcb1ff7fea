/* rtc.h - the MC146818 real-time clock and its 128 bytes of CMOS memory.
 *
 * Ports 0x70 (index; bit 7 masks NMI) and 0x71 (data).  The guest's time is
 * the wall-clock time the caller gives for virtual time 0 plus the virtual
 * time elapsed, shifted by whatever the guest sets.  Periodic, alarm and
 * update-ended interrupts raise IRQ 8 when register C's IRQF sets; reading C
 * clears the flags and lowers the line.  Periodic ticks that come while PF is
 * still set follow the lost-tick policy (lost_ticks.h): merged, as on the
 * chip, or owed and raised late, one after each read of C.
 */
#ifndef MORPH_RTC_H
#define MORPH_RTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/lost_ticks.h"
#include "devices/timer.h"

/* Plain data (flags are 0/1 bytes) so save/restore can copy it. */
struct rtc_state {
    uint8_t cmos[128];        /* time registers here are valid only while frozen */
    uint8_t index;
    uint8_t nmi_masked;
    uint8_t irq_level;        /* what we drive on IRQ 8 */
    int64_t time_offset;      /* guest Unix time at divider second 0 */
    int64_t divider_ns;       /* virtual time at which the divider chain started */
    int64_t accounted_ns;     /* flags in register C account for events up to here */
    int64_t acked_ns;         /* when register C was last read */
    uint32_t periodic_owed;   /* periodic ticks due but not raised yet (LOST_TICKS_DELIVER) */
};

struct rtc {
    struct rtc_state s;
    /* Wiring (not state). */
    struct timer_set *ts;
    struct dev_timer timer;
    struct irq_line irq8;
    struct lost_ticks lost;   /* LOST_TICKS_DISCARD until the monitor says otherwise */
};

/* Registers 0x70-0x71 and the interrupt timer.  wall_epoch_at_zero: Unix
 * time (UTC) at virtual time 0.  Returns 0, or -1 with a reason. */
int rtc_init(struct rtc *r, struct bus *io, struct timer_set *ts, struct irq_line irq8,
             int64_t wall_epoch_at_zero, char *err, size_t errlen);

/* What the periodic interrupt does with ticks the guest could not take on
 * time.  DELIVER needs `probe` to look at IRQ 8 on the interrupt controller.
 * Drops any backlog. */
void rtc_set_lost_tick_policy(struct rtc *r, enum lost_tick_policy policy,
                              struct irq_probe probe);

/* Fills the CMOS memory-size bytes (0x15-0x18, 0x30-0x31, 0x34-0x35) and the
 * checksum at 0x2E-0x2F. */
void rtc_set_memory_size(struct rtc *r, uint64_t ram_bytes);

/* Port 0x70 bit 7, as last written. */
bool rtc_nmi_masked(const struct rtc *r);

void rtc_reset(void *rtc);
size_t rtc_save(void *rtc, uint8_t *buf, size_t cap);
int rtc_restore(void *rtc, const uint8_t *buf, size_t len);

#endif

/* lost_ticks.h - what a periodic timer does with ticks the guest did not get.
 *
 * morph's virtual clock is the host's: when the host schedules our threads
 * late, a periodic timer finds several periods elapsed at once, or its last
 * interrupt still waiting for a vCPU that was not running.  Hardware would
 * merge such ticks into one interrupt and a guest that counts ticks would see
 * its time run slow.  Under LOST_TICKS_DELIVER a device counts them instead
 * (at most one second's worth, so a VM stopped for long gets no storm) and
 * delivers them late, one at a time, each once the guest took the previous
 * one -- QEMU's "delay" policy.  Ticks the guest itself refuses (its line
 * masked, or a request still pending because the guest has not acknowledged
 * the previous one or runs with interrupts disabled) are merged as on
 * hardware.  LOST_TICKS_DISCARD merges everything, like hardware.
 *
 * Deciding this needs a look at the device's line on the interrupt
 * controller; the monitor wires that look-up (irq_probe).
 */
#ifndef MORPH_LOST_TICKS_H
#define MORPH_LOST_TICKS_H

#include <stdbool.h>
#include <stdint.h>

enum lost_tick_policy { LOST_TICKS_DISCARD, LOST_TICKS_DELIVER };

/* One input line as the interrupt controller holds it. */
struct irq_line_status {
    bool requested;       /* latched and not yet accepted by the CPU */
    bool masked;
    bool in_service;      /* accepted; the end of interrupt is not written yet */
    bool cpu_refuses;     /* the CPU saw a pending interrupt with interrupts disabled */
};

/* A device's view of its own line on the controller (opaque: the controller). */
struct irq_probe {
    struct irq_line_status (*status)(void *opaque, unsigned irq);
    void *opaque;
    unsigned irq;
};

/* A device's lost-tick wiring (not state: save/restore leave it alone). */
struct lost_ticks {
    enum lost_tick_policy policy;
    struct irq_probe probe;
};

/* How soon after the guest took one owed tick the next is offered, and the
 * longest the offer backs off to while the CPU does not take it. */
#define LOST_TICKS_RETRY_NS 20000u
#define LOST_TICKS_RETRY_MAX_NS 1000000u

/* DELIVER with a probe wired; anything else behaves as DISCARD. */
bool lost_ticks_delivering(const struct lost_ticks *lt);
/* The line's status; all clear when no probe is wired. */
struct irq_line_status lost_ticks_line(const struct lost_ticks *lt);
/* New ticks the guest refuses while its line is in this state: hardware
 * would lose them through the guest's own doing. */
bool lost_ticks_refused(struct irq_line_status s);
/* owed + more, at most cap. */
uint32_t lost_ticks_add(uint32_t owed, uint64_t more, uint32_t cap);
/* The next, longer retry delay while an owed tick waits for the CPU. */
uint32_t lost_ticks_backoff(uint32_t retry_ns);

#endif

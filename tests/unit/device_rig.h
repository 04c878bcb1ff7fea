/* device_rig.h - what the device models' unit tests share: byte-wide port
 * access over a struct bus that must be claimed, and a fake clock moved
 * forward one timer deadline at a time.  static inline because every
 * non-test_*.c file here is linked into every test binary. */
#ifndef MORPH_DEVICE_RIG_H
#define MORPH_DEVICE_RIG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/bus.h"
#include "devices/timer.h"

/* A byte write to `port` that some device must claim. */
static inline void rig_out8(struct bus *b, uint16_t port, uint8_t v)
{
    assert_true(bus_write(b, port, 1, v));
}

/* A byte read from `port` that some device must claim. */
static inline uint8_t rig_in8(struct bus *b, uint16_t port)
{
    uint64_t v = 0;
    assert_true(bus_read(b, port, 1, &v));
    return (uint8_t)v;
}

/* Move the fake clock *now to `ns`, firing every timer at its exact
 * deadline (never going back in time); `after_fire` (may be NULL) runs
 * after each firing, e.g. to play an interrupt handler. */
static inline void rig_advance_to(struct timer_set *ts, uint64_t *now, uint64_t ns,
                                  void (*after_fire)(void *opaque), void *opaque)
{
    for (;;) {
        uint64_t d = timer_next_deadline(ts);
        if (d > ns)
            break;
        assert_true(d >= *now);
        *now = d;
        timer_run_expired(ts, d);
        if (after_fire)
            after_fire(opaque);
    }
    *now = ns;
}

#endif

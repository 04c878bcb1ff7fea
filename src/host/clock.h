/* clock.h - host clocks.
 *
 * The machine's virtual clock is CLOCK_MONOTONIC nanoseconds since the
 * machine started: the same time base the soft CPU's TSC uses, so device
 * timers and the guest's TSC never drift apart.
 */
#ifndef MORPH_HOST_CLOCK_H
#define MORPH_HOST_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t host_monotonic_ns(void);

struct vclock {
    uint64_t start_ns;     /* host_monotonic_ns() at machine start */
};

void vclock_start(struct vclock *c);
/* Nanoseconds since vclock_start; the shape timer_set wants (opaque = vclock). */
uint64_t vclock_now(void *vclock);
/* The CLOCK_MONOTONIC time of virtual time t (for arming host timers). */
uint64_t vclock_to_host(const struct vclock *c, uint64_t t);

#endif

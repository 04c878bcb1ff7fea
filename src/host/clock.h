/* clock.h - host clocks.
 *
 * The host's CLOCK_MONOTONIC: wall time for the halted CPU's waits and for
 * statistics.  Guest time is not host time: the engine keeps it
 * (monitor/guest_clock.h).
 */
#ifndef MORPH_HOST_CLOCK_H
#define MORPH_HOST_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t host_monotonic_ns(void);

#endif

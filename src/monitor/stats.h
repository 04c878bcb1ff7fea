/* stats.h - the counters behind --stats and the --trace exits stream.
 *
 * Exits are counted per reason with the total time their handlers took;
 * per-device counts and times live in the bus ranges (bus.h).
 */
#ifndef MORPH_STATS_H
#define MORPH_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "devices/bus.h"
#include "engine/engine.h"

struct exit_stats {
    uint64_t count[EXIT_REASON_COUNT];
    uint64_t handler_ns[EXIT_REASON_COUNT];
};

/* One --trace exits line: reason, port/address, size, direction, data. */
void stats_trace_exit(FILE *f, const struct vm_exit *x);
/* The same text without the newline, into buf (truncated to n). */
void stats_describe_exit(char *buf, size_t n, const struct vm_exit *x);

/* The --stats report. */
void stats_report(FILE *f, const struct exit_stats *es, const struct engine_stats *eng,
                  double seconds, const struct bus *port, const struct bus *mmio);

#endif

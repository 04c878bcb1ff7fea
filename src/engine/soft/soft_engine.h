/* soft_engine.h - what the soft CPU engine offers beyond engine_ops
 * (for the monitor and tests). */
#ifndef MORPH_SOFT_ENGINE_H
#define MORPH_SOFT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* One delivered exception or interrupt (the engine keeps the last 16). */
enum soft_event_kind { SOFT_EVENT_EXCEPTION, SOFT_EVENT_EXTERNAL, SOFT_EVENT_SOFTWARE };

struct soft_event_record {
    uint8_t vector;
    uint8_t kind;            /* enum soft_event_kind */
    bool has_error;
    uint32_t error;
    uint16_t cs;
    uint32_t eip;            /* return address pushed for the event */
    uint32_t cr2;
    uint64_t instructions;   /* instructions retired before it */
};

#define SOFT_EVENT_RING 16

/* Copy up to max of the most recent events, oldest first; returns how many. */
size_t soft_engine_recent_events(struct engine *e, struct soft_event_record *out, size_t max);
/* engine_ops.recent_events: them as text, a header line then one line each
 * (event_report.c). */
size_t soft_engine_format_recent_events(struct engine *e, char *buf, size_t cap);

/* Something other than the guest CPU (a loader, DMA by a device model)
 * wrote guest-physical [gpa, gpa+len): drop decoded instructions there.
 * set_state drops the whole decoded-instruction cache as well. */
void soft_engine_invalidate_code(struct engine *e, uint64_t gpa, uint64_t len);

#endif

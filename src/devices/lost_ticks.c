/* lost_ticks.c - the lost-tick policy's shared rules (see lost_ticks.h). */
#include "devices/lost_ticks.h"

bool lost_ticks_delivering(const struct lost_ticks *lt)
{
    return lt->policy == LOST_TICKS_DELIVER && lt->probe.status;
}

struct irq_line_status lost_ticks_line(const struct lost_ticks *lt)
{
    if (!lt->probe.status)
        return (struct irq_line_status){ .requested = false };
    return lt->probe.status(lt->probe.opaque, lt->probe.irq);
}

bool lost_ticks_refused(struct irq_line_status s)
{
    return s.masked || (s.requested && (s.in_service || s.cpu_refuses));
}

uint32_t lost_ticks_add(uint32_t owed, uint64_t more, uint32_t cap)
{
    uint64_t sum = (uint64_t)owed + more;
    return sum > cap ? cap : (uint32_t)sum;
}

uint32_t lost_ticks_backoff(uint32_t retry_ns)
{
    if (retry_ns < LOST_TICKS_RETRY_NS)
        return LOST_TICKS_RETRY_NS;
    return retry_ns >= LOST_TICKS_RETRY_MAX_NS / 2 ? LOST_TICKS_RETRY_MAX_NS : retry_ns * 2;
}

/* guest_clock.c - the machine's clock (see guest_clock.h). */
#include "monitor/guest_clock.h"

#include <string.h>

#include "host/clock.h"

void guest_clock_init(struct guest_clock *gc, uint32_t ps_per_insn)
{
    memset(gc, 0, sizeof(*gc));
    gc->time.ps_per_insn = ps_per_insn;
}

static bool engine_keeps_time(const struct guest_clock *gc)
{
    return gc->engine && gc->ops->now_ns && gc->ops->set_time;
}

void guest_clock_attach(struct guest_clock *gc, const struct engine_ops *ops,
                        struct engine *engine, uint64_t host_now)
{
    gc->ops = ops;
    gc->engine = engine;
    gc->wall_base_ns = (int64_t)host_now;
    gc->time.idle_ns = 0;
    if (engine_keeps_time(gc))
        ops->set_time(engine, &gc->time);
}

uint64_t guest_clock_now(void *opaque)
{
    const struct guest_clock *gc = opaque;
    if (!gc->engine)
        return 0;
    if (!engine_keeps_time(gc)) {
        int64_t t = (int64_t)host_monotonic_ns() - gc->wall_base_ns;
        return t > 0 ? (uint64_t)t : 0;
    }
    return gc->ops->now_ns(gc->engine);
}

int64_t guest_clock_lag(const struct guest_clock *gc, uint64_t host_now)
{
    int64_t wall = (int64_t)host_now - gc->wall_base_ns;
    return wall - (int64_t)guest_clock_now((void *)gc);
}

/* Keep the lag within its bounds by moving the wall base: what lies beyond
 * is forgiven (behind) or given up (ahead). */
static void bound_lag(struct guest_clock *gc, uint64_t host_now)
{
    int64_t lag = guest_clock_lag(gc, host_now);
    if (lag > (int64_t)GUEST_CLOCK_MAX_BEHIND_NS)
        gc->wall_base_ns += lag - (int64_t)GUEST_CLOCK_MAX_BEHIND_NS;
    else if (lag < -(int64_t)GUEST_CLOCK_MAX_AHEAD_NS)
        gc->wall_base_ns += lag + (int64_t)GUEST_CLOCK_MAX_AHEAD_NS;
}

uint64_t guest_clock_wake_at(struct guest_clock *gc, uint64_t deadline, uint64_t host_now)
{
    if (deadline == GUEST_CLOCK_NEVER)
        return GUEST_CLOCK_NEVER;
    bound_lag(gc, host_now);
    /* Wall time reaches the deadline when host time is wall_base + deadline:
     * the guest's own wait shortened by its lag. */
    int64_t wake = gc->wall_base_ns + (int64_t)deadline;
    if (wake < gc->wall_base_ns || wake < 0)
        return GUEST_CLOCK_NEVER;   /* overflow: too far away to matter */
    return (uint64_t)wake;
}

void guest_clock_stall(struct guest_clock *gc, uint64_t ns)
{
    if (!engine_keeps_time(gc) || ns == 0)
        return;
    gc->time.idle_ns += ns;
    gc->ops->set_time(gc->engine, &gc->time);
}

uint64_t guest_clock_idle(struct guest_clock *gc, uint64_t deadline, uint64_t host_now)
{
    if (!engine_keeps_time(gc))
        return 0;
    bound_lag(gc, host_now);
    uint64_t now = gc->ops->now_ns(gc->engine);
    int64_t wall = (int64_t)host_now - gc->wall_base_ns;
    uint64_t target = wall > 0 ? (uint64_t)wall : 0;
    if (target > deadline)
        target = deadline;
    if (target <= now)
        return 0;
    uint64_t add = target - now;
    gc->time.idle_ns += add;
    gc->ops->set_time(gc->engine, &gc->time);
    return add;
}

uint64_t guest_clock_skip_to(struct guest_clock *gc, uint64_t deadline)
{
    if (!engine_keeps_time(gc))
        return 0;
    uint64_t now = gc->ops->now_ns(gc->engine);
    if (deadline <= now)
        return 0;
    gc->time.idle_ns += deadline - now;
    gc->ops->set_time(gc->engine, &gc->time);
    return deadline - now;
}

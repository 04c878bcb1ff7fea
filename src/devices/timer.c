/* timer.c - device timers on the machine's virtual clock (see timer.h). */
#include "devices/timer.h"

#include <string.h>

void timer_set_init(struct timer_set *ts, uint64_t (*now)(void *), void *clock_opaque)
{
    memset(ts, 0, sizeof(*ts));
    ts->now = now;
    ts->clock_opaque = clock_opaque;
}

int timer_add(struct timer_set *ts, struct dev_timer *t)
{
    if (ts->count == TIMER_SET_MAX)
        return -1;
    ts->timer[ts->count++] = t;
    return 0;
}

void timer_arm(struct timer_set *ts, struct dev_timer *t, uint64_t deadline_ns)
{
    uint64_t earliest = timer_next_deadline(ts);
    t->deadline_ns = deadline_ns;
    /* Only an earlier deadline can leave the event loop sleeping too long;
     * a later one just causes one spurious wake-up. */
    if (deadline_ns < earliest && ts->changed)
        ts->changed(ts->changed_opaque);
}

void timer_disarm(struct dev_timer *t)
{
    t->deadline_ns = TIMER_NEVER;
}

uint64_t timer_now(const struct timer_set *ts)
{
    return ts->now ? ts->now(ts->clock_opaque) : 0;
}

uint64_t timer_next_deadline(const struct timer_set *ts)
{
    uint64_t earliest = TIMER_NEVER;
    for (unsigned i = 0; i < ts->count; i++)
        if (ts->timer[i]->deadline_ns < earliest)
            earliest = ts->timer[i]->deadline_ns;
    return earliest;
}

unsigned timer_run_expired(struct timer_set *ts, uint64_t now)
{
    unsigned fired = 0;
    /* One pass: a timer that re-arms itself in the past fires again on the
     * next call, so a bad period can never spin this loop forever. */
    for (unsigned i = 0; i < ts->count; i++) {
        struct dev_timer *t = ts->timer[i];
        if (t->deadline_ns > now)
            continue;
        t->deadline_ns = TIMER_NEVER;
        if (t->fire)
            t->fire(t->opaque, now);
        fired++;
    }
    return fired;
}

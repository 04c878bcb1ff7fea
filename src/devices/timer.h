/* timer.h - device timers on the machine's virtual clock.
 *
 * Devices never sleep or read host clocks themselves: they are handed the
 * current virtual time (ns) in their handlers and arm a dev_timer for the next
 * moment they must act (a PIT edge, an RTC periodic tick).  The virtual
 * clock is guest time (the engine's); the machine fires due timers on the
 * vCPU thread under the device lock, telling the engine the earliest
 * deadline before each run.  timer_set's optional `changed` hook reports a
 * deadline that moved earlier.
 */
#ifndef MORPH_TIMER_H
#define MORPH_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define TIMER_NEVER UINT64_MAX

struct dev_timer {
    uint64_t deadline_ns;                         /* TIMER_NEVER: disarmed */
    void (*fire)(void *opaque, uint64_t now_ns);  /* may re-arm itself */
    void *opaque;
    const char *name;
};

#define TIMER_SET_MAX 16

struct timer_set {
    struct dev_timer *timer[TIMER_SET_MAX];
    unsigned count;
    uint64_t (*now)(void *clock_opaque);          /* the virtual clock */
    void *clock_opaque;
    void (*changed)(void *opaque);                /* a deadline moved earlier */
    void *changed_opaque;
};

void timer_set_init(struct timer_set *ts, uint64_t (*now)(void *), void *clock_opaque);
/* Returns 0, or -1 when the set is full. */
int timer_add(struct timer_set *ts, struct dev_timer *t);
void timer_arm(struct timer_set *ts, struct dev_timer *t, uint64_t deadline_ns);
void timer_disarm(struct dev_timer *t);
uint64_t timer_now(const struct timer_set *ts);
/* Earliest deadline, TIMER_NEVER if none. */
uint64_t timer_next_deadline(const struct timer_set *ts);
/* Fire every timer whose deadline is <= now.  Returns how many fired. */
unsigned timer_run_expired(struct timer_set *ts, uint64_t now);

#endif

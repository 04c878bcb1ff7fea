/* guest_clock.h - the machine's clock: guest time as the engine counts it,
 * kept near wall time while the CPU is halted.
 *
 * The engine is the clock (engine.h "guest time"): for the soft CPU guest
 * time runs on executed instructions, so the device timers, the TSC and the
 * RTC advance in step with the guest's work whatever the host's load.  Only
 * a halted CPU lets wall time in: the monitor sleeps until the next device
 * deadline and then advances the engine's idle time.  The deadline is
 * pinned to wall time (a guest that fell behind sleeps less, one that ran
 * ahead sleeps longer), so idle periods absorb the lag; the lag is bounded
 * both ways so neither a long computation nor a fast host stalls or
 * fast-forwards an idle guest for long.
 *
 * Engines without the time ops (a scripted test engine) run on the host's
 * monotonic clock instead.  Every call: the vCPU thread, device lock held.
 */
#ifndef MORPH_GUEST_CLOCK_H
#define MORPH_GUEST_CLOCK_H

#include <stdint.h>

#include "engine/engine.h"

#define GUEST_CLOCK_NEVER UINT64_MAX

/* Guest time may run this far ahead of wall time (an idle guest then waits
 * for the wall clock) ... */
#define GUEST_CLOCK_MAX_AHEAD_NS  100000000ull
/* ... and this far behind (idle deadlines then come without waiting until
 * it caught up); a larger lag is forgiven, not made up. */
#define GUEST_CLOCK_MAX_BEHIND_NS 1000000000ull

struct guest_clock {
    const struct engine_ops *ops;
    struct engine *engine;        /* NULL until attached: time stands at 0 */
    struct engine_time time;      /* what the engine was last given */
    int64_t wall_base_ns;         /* host monotonic ns at guest time 0, less forgiven lag */
};

/* ps_per_insn: the engine's rate (picoseconds of guest time per instruction). */
void guest_clock_init(struct guest_clock *gc, uint32_t ps_per_insn);
/* Guest time starts (at 0) now, at host monotonic time host_now. */
void guest_clock_attach(struct guest_clock *gc, const struct engine_ops *ops,
                        struct engine *engine, uint64_t host_now);

/* Guest ns; the shape timer_set wants (opaque = the guest_clock). */
uint64_t guest_clock_now(void *gc);
/* Wall time minus guest time at host_now (positive: the guest is behind). */
int64_t guest_clock_lag(const struct guest_clock *gc, uint64_t host_now);

/* The host monotonic time at which a halted guest waiting for guest time
 * `deadline` must wake (may be <= host_now: no wait at all);
 * GUEST_CLOCK_NEVER when deadline is GUEST_CLOCK_NEVER. */
uint64_t guest_clock_wake_at(struct guest_clock *gc, uint64_t deadline, uint64_t host_now);
/* A port access takes this long on the guest's bus: about one ISA bus
 * cycle, as on a PC.  Guests that poll a port for time (PIT channel 2,
 * the RTC's update flag, port 0x80 delays) then see time pass at a
 * hardware-like pace per access, and the host's cost of an exit does not
 * enter guest time. */
#define GUEST_CLOCK_PORT_ACCESS_NS 1000u

/* Guest time the CPU spent stalled outside instructions (a port access):
 * added to the engine's idle time. */
void guest_clock_stall(struct guest_clock *gc, uint64_t ns);

/* The halted CPU waited until host_now: guest time catches up with wall
 * time but not past `deadline`, and never goes back.  Returns the guest ns
 * added to the engine's idle time. */
uint64_t guest_clock_idle(struct guest_clock *gc, uint64_t deadline, uint64_t host_now);

/* The halted CPU skips to `deadline` without waiting (--deterministic: no
 * wall clock in guest time); never goes back.  Returns the ns added. */
uint64_t guest_clock_skip_to(struct guest_clock *gc, uint64_t deadline);

#endif

/* vtime.h - the soft CPU's guest time (engine_ops set_time / now_ns /
 * set_deadline; see "guest time" in engine/engine.h).
 *
 * Guest time is a pure function of the instructions retired:
 *     now_ns = instructions * ps_per_insn / 1000 + idle_ns
 * so the TSC and the monitor's device timers advance in step with the
 * guest's work, never with the host's scheduling.  A deadline in guest ns is
 * turned into an instruction count once, when it is set; the run loop then
 * compares the retired count against it where it already looks for kicks,
 * and returns EXIT_KICKED at the first instruction boundary at or past it.
 */
#ifndef MORPH_SOFT_VTIME_H
#define MORPH_SOFT_VTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

/* A nominal 100 MIPS until the monitor says otherwise. */
#define VTIME_DEFAULT_PS_PER_INSN 10000u

#define VTIME_NO_DEADLINE UINT64_MAX

struct vtime {
    struct engine_time t;
    uint64_t deadline_ns;       /* VTIME_NO_DEADLINE: none */
    uint64_t deadline_insns;    /* the retired count at which the deadline is reached */
};

void vtime_init(struct vtime *v);
/* Guest ns after `instructions` retired instructions. */
uint64_t vtime_now(const struct vtime *v, uint64_t instructions);
/* Rate and idle time (ps_per_insn 0 keeps the current rate); the deadline's
 * instruction count follows.  The deadline count is absolute (it does not
 * depend on how many instructions ran so far). */
void vtime_set(struct vtime *v, const struct engine_time *t);
void vtime_set_deadline(struct vtime *v, uint64_t deadline_ns);

/* The hot check: has the run reached its deadline? */
static inline bool vtime_due(const struct vtime *v, uint64_t instructions)
{
    return instructions >= v->deadline_insns;
}

/* The engine ops (soft_engine_ops). */
void soft_set_time(struct engine *e, const struct engine_time *t);
uint64_t soft_now_ns(struct engine *e);
void soft_set_deadline(struct engine *e, uint64_t deadline_ns);

#endif

/* vtime.c - the soft CPU's guest time (see vtime.h). */
#include "engine/soft/vtime.h"

#include "engine/soft/soft_priv.h"

/* 128-bit intermediates: instructions * ps_per_insn passes 2^64 after about
 * 50 guest days at 1 MIPS; results saturate instead of wrapping. */
typedef unsigned __int128 u128;

static uint64_t saturate(u128 v)
{
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* The first retired-instruction count at which guest time reaches
 * deadline_ns: the least n with n * ps / 1000 + idle >= deadline. */
static uint64_t deadline_to_insns(const struct vtime *v)
{
    if (v->deadline_ns == VTIME_NO_DEADLINE)
        return UINT64_MAX;
    if (v->deadline_ns <= v->t.idle_ns)
        return 0;
    u128 ps = (u128)(v->deadline_ns - v->t.idle_ns) * 1000u;
    return saturate((ps + v->t.ps_per_insn - 1) / v->t.ps_per_insn);
}

void vtime_init(struct vtime *v)
{
    v->t.ps_per_insn = VTIME_DEFAULT_PS_PER_INSN;
    v->t.idle_ns = 0;
    v->deadline_ns = VTIME_NO_DEADLINE;
    v->deadline_insns = UINT64_MAX;
}

uint64_t vtime_now(const struct vtime *v, uint64_t instructions)
{
    u128 ns = (u128)instructions * v->t.ps_per_insn / 1000u + v->t.idle_ns;
    return saturate(ns);
}

void vtime_set(struct vtime *v, const struct engine_time *t)
{
    if (t->ps_per_insn)
        v->t.ps_per_insn = t->ps_per_insn;
    v->t.idle_ns = t->idle_ns;
    v->deadline_insns = deadline_to_insns(v);
}

void vtime_set_deadline(struct vtime *v, uint64_t deadline_ns)
{
    v->deadline_ns = deadline_ns;
    v->deadline_insns = deadline_to_insns(v);
}

/* ---- engine ops ---- */

void soft_set_time(struct engine *e, const struct engine_time *t)
{
    struct soft_engine *se = (struct soft_engine *)e;
    vtime_set(&se->vt, t);
}

uint64_t soft_now_ns(struct engine *e)
{
    struct soft_engine *se = (struct soft_engine *)e;
    return vtime_now(&se->vt, se->cpu.stats.instructions);
}

void soft_set_deadline(struct engine *e, uint64_t deadline_ns)
{
    struct soft_engine *se = (struct soft_engine *)e;
    vtime_set_deadline(&se->vt, deadline_ns);
}

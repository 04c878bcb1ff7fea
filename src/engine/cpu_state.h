/* cpu_state.h - helpers for the engine state map. */
#ifndef MORPH_CPU_STATE_H
#define MORPH_CPU_STATE_H

#include "engine/engine.h"

/* The CPU's signature: family 6, model 3, stepping 3 (a Pentium II-class
 * CPU).  EDX holds it at power-on; CPUID leaf 1 reports it in EAX. */
#define CPU_SIGNATURE 0x00000633u

/* The x86 power-on state: real mode, CS=F000 with base FFFF0000 and
 * EIP=FFF0 (the reset vector), CR0=60000010, EFLAGS=2, EDX=signature. */
void cpu_state_power_on(struct cpu_state *s);

#endif

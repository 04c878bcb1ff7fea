/* x87.h - the soft CPU's x87 FPU: every D8-DF encoding and FWAIT over the
 * architectural state in cpu->s.fpu (engine.h: struct x87_state, st[] by
 * physical register, TOP in FSW bits 11-13, full tag word).
 *
 * Results are computed by the host's own x87 unit (x87_host.h), so they are
 * bit-for-bit those of real hardware; this module keeps the guest-visible
 * machinery: the register stack and tags, stack faults, exception flags and
 * masks, condition codes, operand formats in guest memory, environment and
 * save images, the last-instruction pointers, and the #NM / #MF / FERR#
 * rules.
 *
 * Unmasked exceptions set FSW.ES; the next waiting x87 instruction (or
 * FWAIT) raises #MF when CR0.NE = 1.  With CR0.NE = 0 the PC reports the
 * error through FERR# -> IRQ 13 instead: the instruction goes on (as if
 * IGNNE# were asserted) and x87_ferr_pending() tells the monitor to raise
 * IRQ 13 until the guest clears the exception (FNCLEX, FNINIT, ...). */
#ifndef MORPH_SOFT_X87_H
#define MORPH_SOFT_X87_H

#include <stdbool.h>

#include "engine/engine.h"

struct cpu;
struct insn;

/* Handlers for the decoder's table: opcodes D8-DF (ModRM decoded) and 9B. */
void x87_exec(struct cpu *c, const struct insn *i);
void x87_fwait(struct cpu *c, const struct insn *i);

/* FERR# is asserted: an unmasked x87 exception is pending while CR0.NE = 0.
 * The monitor polls this after a run and raises IRQ 13 (PC wiring). */
bool x87_ferr_pending(const struct cpu *c);

/* The state FNINIT leaves (registers keep their contents). */
void x87_fninit(struct x87_state *f);

/* FSW bits. */
#define FSW_IE  0x0001u
#define FSW_DE  0x0002u
#define FSW_ZE  0x0004u
#define FSW_OE  0x0008u
#define FSW_UE  0x0010u
#define FSW_PE  0x0020u
#define FSW_EXC 0x003fu   /* the six exception flags (masks in FCW bits 0-5) */
#define FSW_SF  0x0040u
#define FSW_ES  0x0080u
#define FSW_C0  0x0100u
#define FSW_C1  0x0200u
#define FSW_C2  0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3  0x4000u
#define FSW_B   0x8000u
#define FSW_CC  (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* Tag values of the full tag word. */
enum { X87_TAG_VALID, X87_TAG_ZERO, X87_TAG_SPECIAL, X87_TAG_EMPTY };

/* The tag a register holding v gets (valid, zero or special). */
unsigned x87_tag_of(long double v);

#endif

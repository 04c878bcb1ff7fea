/* x87_priv.h - what x87.c shares with x87_env.c: the instruction in
 * progress and its guest-memory accesses. */
#ifndef MORPH_SOFT_X87_PRIV_H
#define MORPH_SOFT_X87_PRIV_H

#include <stdint.h>

#include "cpu.h"
#include "decode.h"
#include "x87.h"

/* One x87 instruction in progress: it works on `f`, a copy of the FPU
 * state that x87_exec commits only after every memory access succeeded. */
struct x87_op {
    struct cpu *c;
    const struct insn *i;
    struct x87_state f;
    uint32_t ea;              /* offset of the memory operand */
};

/* n bytes at the memory operand (+0).  Writes are checked whole first. */
void x87_read_bytes(struct x87_op *o, uint8_t *buf, unsigned n);
void x87_write_bytes(struct x87_op *o, const uint8_t *buf, unsigned n);

/* ES and B from the exception flags and masks. */
void x87_fsw_sync(struct x87_state *f);

/* x87_env.c: the environment (14/28 bytes by operand size, real-mode or
 * protected-mode layout) and the save image (environment + 8 registers). */
void x87_fnstenv(struct x87_op *o);
void x87_fldenv(struct x87_op *o);
void x87_fnsave(struct x87_op *o);
void x87_frstor(struct x87_op *o);

#endif

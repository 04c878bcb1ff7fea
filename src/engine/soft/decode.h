/* decode.h - the soft CPU's instruction decoder (shared by the interpreter
 * and, later, the translator).
 *
 * decode_insn turns the bytes at an instruction's start into a struct insn:
 * the handler that executes it plus every decoded operand, so executing a
 * cached insn never looks at guest bytes again.  The table behind it is the
 * X-macro opcode table in opcodes.def.
 *
 * CONTRACT with soft_engine.c (the run loop and decoded-instruction cache):
 * `exec` and `len` are the first members and keep their meaning; the rest of
 * struct insn belongs to the decoder/interpreter.  A struct insn is plain data
 * (may be copied, cached per guest-physical page, and freed).
 */
#ifndef MORPH_SOFT_DECODE_H
#define MORPH_SOFT_DECODE_H

#include <stdbool.h>
#include <stdint.h>

struct cpu;
struct insn;

typedef void (*insn_exec_fn)(struct cpu *c, const struct insn *i);

/* Prefix bits kept in insn.prefixes (for traces and for handlers that care). */
#define PFX_OPSIZE 0x01u   /* 66 */
#define PFX_ADSIZE 0x02u   /* 67 */
#define PFX_LOCK   0x04u   /* F0 */
#define PFX_REPNE  0x08u   /* F2 */
#define PFX_REP    0x10u   /* F3 (REP / REPE) */
#define PFX_SEG    0x20u   /* a segment override was given */

#define INSN_NOREG 8       /* base/index: no register */

struct insn {
    insn_exec_fn exec;   /* never NULL after DECODE_OK (undefined encodings get a #UD handler) */
    uint8_t len;         /* bytes, 1..15 */
    /* decoder-owned fields follow */
    uint8_t opsize;      /* 2 or 4 (byte forms have their own handlers) */
    uint8_t adsize;      /* 2 or 4 */
    uint8_t seg;         /* enum sreg of the memory operand / string source, override applied */
    uint8_t prefixes;    /* PFX_* */
    uint8_t mod, reg, rm;/* ModRM fields (rm is the register when mod == 3) */
    uint8_t base, index; /* memory operand registers or INSN_NOREG */
    uint8_t scale;       /* index shift 0..3 */
    uint16_t opcode;     /* 0x000-0x0ff one-byte map, 0x100-0x1ff the 0F map */
    uint16_t imm2;       /* ENTER's nesting level; far pointer selector */
    int32_t disp;        /* displacement (sign-extended) */
    uint32_t imm;        /* immediate: imm8 forms sign- or zero-extended per table */
};

/* Mnemonic from the opcode table ("(bad)" for undefined encodings). */
const char *insn_mnemonic(const struct insn *i);

enum decode_status {
    DECODE_OK,          /* *out is valid */
    DECODE_TRUNCATED,   /* more than `avail` bytes are needed: fetch more and retry */
    DECODE_TOO_LONG,    /* longer than 15 bytes: #GP(0) */
};

/* code32: CS.D (default operand and address size 32). */
enum decode_status decode_insn(struct insn *out, const uint8_t *bytes, unsigned avail, bool code32);

#endif

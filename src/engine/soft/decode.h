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

struct insn {
    insn_exec_fn exec;   /* never NULL after DECODE_OK (undefined encodings get a #UD handler) */
    uint8_t len;         /* bytes, 1..15 */
    /* decoder-owned fields follow */
};

enum decode_status {
    DECODE_OK,          /* *out is valid */
    DECODE_TRUNCATED,   /* more than `avail` bytes are needed: fetch more and retry */
    DECODE_TOO_LONG,    /* longer than 15 bytes: #GP(0) */
};

/* code32: CS.D (default operand and address size 32). */
enum decode_status decode_insn(struct insn *out, const uint8_t *bytes, unsigned avail, bool code32);

#endif

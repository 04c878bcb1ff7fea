/* x64.h - a small x86-64 encoder for the translator.
 *
 * Our own rather than Zydis: the translator emits a few dozen instruction
 * shapes (ModRM forms with a register or [base+index*scale+disp] operand,
 * immediates, rel32 branches), and most guest instructions are re-encoded
 * from their decoded fields with the same opcode bytes, which a generic
 * "opcode + ModRM" emitter does directly; a request-structure encoder would
 * cost more per instruction than the translation itself.
 *
 * Code is written into a buffer; running past its end sets `overflow` and
 * writes nothing more (the caller checks once at the end).
 */
#ifndef MORPH_SOFT_X64_H
#define MORPH_SOFT_X64_H

#include <stdbool.h>
#include <stdint.h>

enum x64_reg {
    X_RAX, X_RCX, X_RDX, X_RBX, X_RSP, X_RBP, X_RSI, X_RDI,
    X_R8, X_R9, X_R10, X_R11, X_R12, X_R13, X_R14, X_R15,
};
#define X_NONE 0xffu

struct x64 {
    uint8_t *start, *p, *end;
    bool overflow;
};

/* A memory operand [base + index*scale + disp]; base or index X_NONE. */
struct x64_mem {
    uint8_t base, index, scale;   /* scale: 0..3 (shift) */
    int32_t disp;
};

static inline struct x64_mem x64_at(unsigned base, int32_t disp)
{
    return (struct x64_mem){ (uint8_t)base, X_NONE, 0, disp };
}

static inline uint32_t x64_pos(const struct x64 *x)
{
    return (uint32_t)(x->p - x->start);
}

void x64_init(struct x64 *x, uint8_t *buf, uint32_t size);
void x64_byte(struct x64 *x, uint8_t b);
void x64_u16(struct x64 *x, uint16_t v);
void x64_u32(struct x64 *x, uint32_t v);
void x64_u64(struct x64 *x, uint64_t v);

/* Opcode (1-3 bytes, given as op with len) with a ModRM whose reg field is
 * `reg` (a register or an opcode extension /0-/7) and whose r/m operand is
 * register rm.  size: 1, 2, 4 or 8 (66 prefix, REX.W).  Byte operands may
 * only name AL CL DL BL and R8B-R15B. */
void x64_op_rr(struct x64 *x, unsigned size, uint32_t op, unsigned len, unsigned reg, unsigned rm);
/* The same with a memory r/m operand. */
void x64_op_rm(struct x64 *x, unsigned size, uint32_t op, unsigned len, unsigned reg, struct x64_mem m);

/* Common shapes. */
void x64_mov_rr(struct x64 *x, unsigned size, unsigned dst, unsigned src);
void x64_load(struct x64 *x, unsigned size, unsigned dst, struct x64_mem m);   /* mov dst, [m] */
void x64_store(struct x64 *x, unsigned size, struct x64_mem m, unsigned src);  /* mov [m], src */
void x64_store_imm32(struct x64 *x, unsigned size, struct x64_mem m, uint32_t imm); /* size 1, 4 or 8 */
void x64_lea(struct x64 *x, unsigned size, unsigned dst, struct x64_mem m);
void x64_mov_imm32(struct x64 *x, unsigned dst, uint32_t imm);     /* mov r32, imm32 */
void x64_mov_imm64(struct x64 *x, unsigned dst, uint64_t imm);     /* mov r64, imm64 */
/* Group-1 ALU (/ext: 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp) reg, imm. */
void x64_alu_ri(struct x64 *x, unsigned size, unsigned ext, unsigned rm, int32_t imm);
void x64_alu_mi(struct x64 *x, unsigned size, unsigned ext, struct x64_mem m, int32_t imm);
void x64_push(struct x64 *x, unsigned reg);
void x64_pop(struct x64 *x, unsigned reg);
void x64_call_reg(struct x64 *x, unsigned reg);
void x64_jmp_reg(struct x64 *x, unsigned reg);
void x64_jmp_mem(struct x64 *x, struct x64_mem m);
void x64_ret(struct x64 *x);

/* rel32 branches: emit with a zero displacement and return the offset of
 * the rel32 field, for x64_patch_rel32 once the target is known.
 * cc: 0-15 as in Jcc. */
uint32_t x64_jmp_rel32(struct x64 *x);
uint32_t x64_jcc_rel32(struct x64 *x, unsigned cc);
uint32_t x64_call_rel32(struct x64 *x);
/* Point the rel32 field at `field` (an address in the final code) to `target`. */
void x64_set_rel32(uint8_t *field_w, const uint8_t *field_x, const uint8_t *target_x);

/* Guest flags kept as LAHF/SETO leave them (AH = SF ZF - AF - PF - CF,
 * AL = OF): save and restore host EFLAGS' arithmetic flags through AX. */
void x64_flags_to_ax(struct x64 *x);     /* lahf; seto al */
void x64_flags_from_ax(struct x64 *x);   /* add al, 0x7f; sahf */

#endif

/* interp_alu.c - integer arithmetic and logic: ADD..CMP, TEST, INC/DEC,
 * NOT/NEG, MUL/IMUL/DIV/IDIV, CBW/CWD, BCD adjusts. */
#include "interp.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

ALWAYS_INLINE uint32_t alu_result(enum alu_op op, uint32_t a, uint32_t b, uint32_t cin)
{
    switch (op) {
    case ALU_ADD: return a + b;
    case ALU_OR:  return a | b;
    case ALU_ADC: return a + b + cin;
    case ALU_SBB: return a - b - cin;
    case ALU_AND: return a & b;
    case ALU_XOR: return a ^ b;
    default:      return a - b;   /* SUB, CMP */
    }
}

ALWAYS_INLINE void alu_flags(struct cpu *c, enum alu_op op, unsigned size,
                             uint32_t r, uint32_t a, uint32_t b, uint32_t cin)
{
    switch (op) {
    case ALU_ADD: lf_record(c, LF_ADD, size, r, a, b); break;
    case ALU_ADC: lf_record_aux(c, LF_ADC, size, r, a, b, cin); break;
    case ALU_SBB: lf_record_aux(c, LF_SBB, size, r, a, b, cin); break;
    case ALU_SUB:
    case ALU_CMP: lf_record(c, LF_SUB, size, r, a, b); break;
    default:      lf_logic(c, size, r); break;
    }
}

ALWAYS_INLINE uint32_t carry_in(struct cpu *c, enum alu_op op)
{
    return (op == ALU_ADC || op == ALU_SBB) ? cpu_get_cf(c) : 0;
}

/* r/m op= b; false: a memory form's fast-path miss, nothing done (interp.h) */
ALWAYS_INLINE bool alu_to_rm_f(struct cpu *c, const struct insn *i, enum alu_op op,
                               unsigned size, uint32_t b, enum rm_form f)
{
    uint32_t m = size_mask(size), a, r, cin;
    struct rm_dest d = { NULL, 0 };
    b &= m;
    a = op == ALU_CMP ? RM_GET(size) : RM_GET_RMW(size, &d);
    cin = carry_in(c, op);
    r = alu_result(op, a, b, cin) & m;
    if (op != ALU_CMP)
        RM_PUT_RMW(size, &d, r);
    alu_flags(c, op, size, r, a, b, cin);
    return true;
}

ALWAYS_INLINE void alu_to_rm(struct cpu *c, const struct insn *i, enum alu_op op,
                             unsigned size, uint32_t b)
{
    (void)alu_to_rm_f(c, i, op, size, b, RM_ANY);
}

/* register op= b */
ALWAYS_INLINE void alu_to_reg(struct cpu *c, enum alu_op op, unsigned size,
                              unsigned reg, uint32_t b)
{
    uint32_t m = size_mask(size), cin = carry_in(c, op);
    uint32_t a = reg_get(c, reg, size);
    b &= m;
    uint32_t r = alu_result(op, a, b, cin) & m;
    if (op != ALU_CMP)
        reg_set(c, reg, size, r);
    alu_flags(c, op, size, r, a, b, cin);
}

/* The 32-bit and byte r/m handlers of every row have forms (interp.h). */
#define ALU_HANDLERS(n, OPC)                                                              \
DEFINE_RM_FORMS(op_##n##_EbGb)   { return alu_to_rm_f(c, i, OPC, 1, reg8(c, i->reg), f); } \
void op_##n##_EvGv_w(struct cpu *c, const struct insn *i) { alu_to_rm(c, i, OPC, 2, c->s.gpr[i->reg]); } \
DEFINE_RM_FORMS(op_##n##_EvGv_d) { return alu_to_rm_f(c, i, OPC, 4, c->s.gpr[i->reg], f); } \
DEFINE_RM_FORMS(op_##n##_GbEb)   { alu_to_reg(c, OPC, 1, i->reg, RM_GET(1)); return true; } \
void op_##n##_GvEv_w(struct cpu *c, const struct insn *i) { alu_to_reg(c, OPC, 2, i->reg, rm_read(c, i, 2)); } \
DEFINE_RM_FORMS(op_##n##_GvEv_d) { alu_to_reg(c, OPC, 4, i->reg, RM_GET(4)); return true; } \
void op_##n##_ALIb(struct cpu *c, const struct insn *i)   { alu_to_reg(c, OPC, 1, REG_EAX, i->imm); } \
void op_##n##_eAXIz_w(struct cpu *c, const struct insn *i) { alu_to_reg(c, OPC, 2, REG_EAX, i->imm); } \
void op_##n##_eAXIz_d(struct cpu *c, const struct insn *i) { alu_to_reg(c, OPC, 4, REG_EAX, i->imm); } \
DEFINE_RM_FORMS(op_##n##_EbIb)   { return alu_to_rm_f(c, i, OPC, 1, i->imm, f); } \
void op_##n##_EvI_w(struct cpu *c, const struct insn *i)  { alu_to_rm(c, i, OPC, 2, i->imm); } \
DEFINE_RM_FORMS(op_##n##_EvI_d)  { return alu_to_rm_f(c, i, OPC, 4, i->imm, f); }

ALU_HANDLERS(add, ALU_ADD)
ALU_HANDLERS(or, ALU_OR)
ALU_HANDLERS(adc, ALU_ADC)
ALU_HANDLERS(sbb, ALU_SBB)
ALU_HANDLERS(and, ALU_AND)
ALU_HANDLERS(sub, ALU_SUB)
ALU_HANDLERS(xor, ALU_XOR)
ALU_HANDLERS(cmp, ALU_CMP)

/* ---- TEST ---- */
ALWAYS_INLINE void test_rm(struct cpu *c, const struct insn *i, unsigned size, uint32_t b)
{
    lf_logic(c, size, rm_read(c, i, size) & b & size_mask(size));
}

DEFINE_RM_FORMS(op_test_EbGb) { lf_logic(c, 1, RM_GET(1) & reg8(c, i->reg)); return true; }
void op_test_EvGv_w(struct cpu *c, const struct insn *i) { test_rm(c, i, 2, c->s.gpr[i->reg]); }
DEFINE_RM_FORMS(op_test_EvGv_d) { lf_logic(c, 4, RM_GET(4) & c->s.gpr[i->reg]); return true; }
DEFINE_RM_FORMS(op_test_EbIb) { lf_logic(c, 1, RM_GET(1) & i->imm & 0xff); return true; }
void op_test_EvI_w(struct cpu *c, const struct insn *i)  { test_rm(c, i, 2, i->imm); }
DEFINE_RM_FORMS(op_test_EvI_d) { lf_logic(c, 4, RM_GET(4) & i->imm); return true; }
void op_test_ALIb(struct cpu *c, const struct insn *i)   { lf_logic(c, 1, reg8(c, REG_EAX) & (i->imm & 0xff)); }
void op_test_eAXIz_w(struct cpu *c, const struct insn *i) { lf_logic(c, 2, c->s.gpr[REG_EAX] & i->imm & 0xffff); }
void op_test_eAXIz_d(struct cpu *c, const struct insn *i) { lf_logic(c, 4, c->s.gpr[REG_EAX] & i->imm); }

/* ---- INC / DEC / NOT / NEG ---- */
ALWAYS_INLINE bool incdec_rm_f(struct cpu *c, const struct insn *i, unsigned size, bool dec,
                               enum rm_form f)
{
    struct rm_dest d = { NULL, 0 };
    uint32_t m = size_mask(size);
    uint32_t a = RM_GET_RMW(size, &d);
    uint32_t cf = cpu_get_cf(c);
    uint32_t r = (dec ? a - 1 : a + 1) & m;
    RM_PUT_RMW(size, &d, r);
    lf_record_aux(c, dec ? LF_DEC : LF_INC, size, r, a, 1, cf);
    return true;
}

ALWAYS_INLINE void incdec_rm(struct cpu *c, const struct insn *i, unsigned size, bool dec)
{
    (void)incdec_rm_f(c, i, size, dec, RM_ANY);
}

ALWAYS_INLINE void incdec_reg(struct cpu *c, unsigned r, unsigned size, bool dec)
{
    uint32_t cf = cpu_get_cf(c), m = size_mask(size);
    uint32_t a = reg_get(c, r, size), v = (dec ? a - 1 : a + 1) & m;
    reg_set(c, r, size, v);
    lf_record_aux(c, dec ? LF_DEC : LF_INC, size, v, a, 1, cf);
}

void op_inc_r_w(struct cpu *c, const struct insn *i) { incdec_reg(c, i->opcode & 7, 2, false); }
void op_inc_r_d(struct cpu *c, const struct insn *i) { incdec_reg(c, i->opcode & 7, 4, false); }
void op_dec_r_w(struct cpu *c, const struct insn *i) { incdec_reg(c, i->opcode & 7, 2, true); }
void op_dec_r_d(struct cpu *c, const struct insn *i) { incdec_reg(c, i->opcode & 7, 4, true); }
void op_inc_Eb(struct cpu *c, const struct insn *i)   { incdec_rm(c, i, 1, false); }
void op_inc_Ev_w(struct cpu *c, const struct insn *i) { incdec_rm(c, i, 2, false); }
DEFINE_RM_FORMS(op_inc_Ev_d) { return incdec_rm_f(c, i, 4, false, f); }
void op_dec_Eb(struct cpu *c, const struct insn *i)   { incdec_rm(c, i, 1, true); }
void op_dec_Ev_w(struct cpu *c, const struct insn *i) { incdec_rm(c, i, 2, true); }
DEFINE_RM_FORMS(op_dec_Ev_d) { return incdec_rm_f(c, i, 4, true, f); }

ALWAYS_INLINE void not_rm(struct cpu *c, const struct insn *i, unsigned size)
{
    uint32_t ea = 0;
    uint32_t v = rm_read_rmw(c, i, size, &ea);
    rm_write_back(c, i, size, ea, ~v);
}

/* NEG is 0 - x: the SUB flags give CF = (x != 0) and OF = (x == minimum). */
ALWAYS_INLINE void neg_rm(struct cpu *c, const struct insn *i, unsigned size)
{
    uint32_t m = size_mask(size), ea = 0;
    uint32_t a = rm_read_rmw(c, i, size, &ea);
    uint32_t r = (0 - a) & m;
    rm_write_back(c, i, size, ea, r);
    lf_record(c, LF_SUB, size, r, 0, a);
}

void op_not_Eb(struct cpu *c, const struct insn *i)   { not_rm(c, i, 1); }
void op_not_Ev_w(struct cpu *c, const struct insn *i) { not_rm(c, i, 2); }
void op_not_Ev_d(struct cpu *c, const struct insn *i) { not_rm(c, i, 4); }
void op_neg_Eb(struct cpu *c, const struct insn *i)   { neg_rm(c, i, 1); }
void op_neg_Ev_w(struct cpu *c, const struct insn *i) { neg_rm(c, i, 2); }
void op_neg_Ev_d(struct cpu *c, const struct insn *i) { neg_rm(c, i, 4); }

/* ---- multiply ---- */

/* CF = OF = overflow; SF ZF AF PF are undefined by the SDM: cleared where
 * the host CPU clears them (host_flags.h), else SF ZF PF of the low half. */
static void mul_flags(struct cpu *c, unsigned size, uint32_t low, bool overflow)
{
    if (c->flag_rules.mul == MUL_FLAGS_ZERO)
        lf_set_flags(c, overflow ? EFL_CF | EFL_OF : 0);
    else
        lf_record_aux(c, LF_MUL, size, low & size_mask(size), 0, 0, overflow);
}

void op_mul_Eb(struct cpu *c, const struct insn *i)
{
    uint32_t p = (uint32_t)reg8(c, REG_EAX) * rm_read(c, i, 1);
    set_reg16(c, REG_EAX, (uint16_t)p);
    mul_flags(c, 1, p, p > 0xff);
}

void op_mul_Ev_w(struct cpu *c, const struct insn *i)
{
    uint32_t p = (uint32_t)reg16(c, REG_EAX) * rm_read(c, i, 2);
    set_reg16(c, REG_EAX, (uint16_t)p);
    set_reg16(c, REG_EDX, (uint16_t)(p >> 16));
    mul_flags(c, 2, p, p > 0xffff);
}

void op_mul_Ev_d(struct cpu *c, const struct insn *i)
{
    uint64_t p = (uint64_t)c->s.gpr[REG_EAX] * rm_read(c, i, 4);
    c->s.gpr[REG_EAX] = (uint32_t)p;
    c->s.gpr[REG_EDX] = (uint32_t)(p >> 32);
    mul_flags(c, 4, (uint32_t)p, p >> 32 != 0);
}

void op_imul_Eb(struct cpu *c, const struct insn *i)
{
    int32_t p = (int8_t)reg8(c, REG_EAX) * (int8_t)rm_read(c, i, 1);
    set_reg16(c, REG_EAX, (uint16_t)p);
    mul_flags(c, 1, (uint32_t)p, p != (int8_t)p);
}

void op_imul_Ev_w(struct cpu *c, const struct insn *i)
{
    int32_t p = (int16_t)reg16(c, REG_EAX) * (int16_t)rm_read(c, i, 2);
    set_reg16(c, REG_EAX, (uint16_t)p);
    set_reg16(c, REG_EDX, (uint16_t)((uint32_t)p >> 16));
    mul_flags(c, 2, (uint32_t)p, p != (int16_t)p);
}

void op_imul_Ev_d(struct cpu *c, const struct insn *i)
{
    int64_t p = (int64_t)(int32_t)c->s.gpr[REG_EAX] * (int32_t)rm_read(c, i, 4);
    c->s.gpr[REG_EAX] = (uint32_t)p;
    c->s.gpr[REG_EDX] = (uint32_t)((uint64_t)p >> 32);
    mul_flags(c, 4, (uint32_t)p, p != (int32_t)p);
}

/* Two- and three-operand IMUL: Gv = a * b, truncated. */
static void imul_to_reg(struct cpu *c, const struct insn *i, uint32_t a, uint32_t b)
{
    if (i->opsize == 2) {
        int32_t p = (int16_t)a * (int16_t)b;
        set_reg16(c, i->reg, (uint16_t)p);
        mul_flags(c, 2, (uint32_t)p, p != (int16_t)p);
    } else {
        int64_t p = (int64_t)(int32_t)a * (int32_t)b;
        c->s.gpr[i->reg] = (uint32_t)p;
        mul_flags(c, 4, (uint32_t)p, p != (int32_t)p);
    }
}

void op_imul_GvEv(struct cpu *c, const struct insn *i)
{
    imul_to_reg(c, i, c->s.gpr[i->reg], rm_read(c, i, i->opsize));
}

void op_imul_GvEvI(struct cpu *c, const struct insn *i)
{
    imul_to_reg(c, i, rm_read(c, i, i->opsize), i->imm);
}

/* ---- divide: #DE on a zero divisor or a quotient that does not fit ---- */
void op_div_Eb(struct cpu *c, const struct insn *i)
{
    uint32_t d = rm_read(c, i, 1), n = reg16(c, REG_EAX);
    if (d == 0 || n / d > 0xff)
        cpu_de(c);
    set_reg16(c, REG_EAX, (uint16_t)((n % d) << 8 | (n / d)));
}

void op_div_Ev_w(struct cpu *c, const struct insn *i)
{
    uint32_t d = rm_read(c, i, 2);
    uint32_t n = (uint32_t)reg16(c, REG_EDX) << 16 | reg16(c, REG_EAX);
    if (d == 0 || n / d > 0xffff)
        cpu_de(c);
    set_reg16(c, REG_EAX, (uint16_t)(n / d));
    set_reg16(c, REG_EDX, (uint16_t)(n % d));
}

void op_div_Ev_d(struct cpu *c, const struct insn *i)
{
    uint64_t d = rm_read(c, i, 4);
    uint64_t n = (uint64_t)c->s.gpr[REG_EDX] << 32 | c->s.gpr[REG_EAX];
    if (d == 0 || n / d > 0xffffffffu)
        cpu_de(c);
    c->s.gpr[REG_EAX] = (uint32_t)(n / d);
    c->s.gpr[REG_EDX] = (uint32_t)(n % d);
}

void op_idiv_Eb(struct cpu *c, const struct insn *i)
{
    int32_t d = (int8_t)rm_read(c, i, 1), n = (int16_t)reg16(c, REG_EAX);
    if (d == 0)
        cpu_de(c);
    int32_t q = n / d, r = n % d;
    if (q != (int8_t)q)
        cpu_de(c);
    set_reg16(c, REG_EAX, (uint16_t)((uint8_t)r << 8 | (uint8_t)q));
}

void op_idiv_Ev_w(struct cpu *c, const struct insn *i)
{
    int32_t d = (int16_t)rm_read(c, i, 2);
    int32_t n = (int32_t)((uint32_t)reg16(c, REG_EDX) << 16 | reg16(c, REG_EAX));
    if (d == 0 || (n == INT32_MIN && d == -1))
        cpu_de(c);
    int32_t q = n / d, r = n % d;
    if (q != (int16_t)q)
        cpu_de(c);
    set_reg16(c, REG_EAX, (uint16_t)q);
    set_reg16(c, REG_EDX, (uint16_t)r);
}

void op_idiv_Ev_d(struct cpu *c, const struct insn *i)
{
    int64_t d = (int32_t)rm_read(c, i, 4);
    int64_t n = (int64_t)((uint64_t)c->s.gpr[REG_EDX] << 32 | c->s.gpr[REG_EAX]);
    if (d == 0 || (n == INT64_MIN && d == -1))
        cpu_de(c);
    int64_t q = n / d, r = n % d;
    if (q != (int32_t)q)
        cpu_de(c);
    c->s.gpr[REG_EAX] = (uint32_t)q;
    c->s.gpr[REG_EDX] = (uint32_t)r;
}

/* ---- sign extension of the accumulator ---- */
void op_cbw(struct cpu *c, const struct insn *i)
{
    if (i->opsize == 2)
        set_reg16(c, REG_EAX, (uint16_t)(int8_t)reg8(c, REG_EAX));
    else
        c->s.gpr[REG_EAX] = (uint32_t)(int16_t)reg16(c, REG_EAX);
}

void op_cwd(struct cpu *c, const struct insn *i)
{
    if (i->opsize == 2)
        set_reg16(c, REG_EDX, (reg16(c, REG_EAX) & 0x8000) ? 0xffff : 0);
    else
        c->s.gpr[REG_EDX] = (c->s.gpr[REG_EAX] & 0x80000000u) ? 0xffffffffu : 0;
}

/* ---- BCD adjusts (flags the SDM leaves undefined follow the result) ---- */
static void bcd_flags(struct cpu *c, uint8_t al, bool cf, bool af)
{
    lf_set_flags(c, flags_szp(al, 1) | (cf ? EFL_CF : 0) | (af ? EFL_AF : 0));
}

void op_daa(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint8_t al = reg8(c, REG_EAX), old = al;
    bool cf = cpu_get_cf(c), af = cpu_get_af(c), ncf = false;
    if ((al & 0xf) > 9 || af) {
        ncf = cf || al > 0xf9;
        al = (uint8_t)(al + 6);
        af = true;
    } else {
        af = false;
    }
    if (old > 0x99 || cf) {
        al = (uint8_t)(al + 0x60);
        ncf = true;
    } else {
        ncf = false;
    }
    set_reg8(c, REG_EAX, al);
    bcd_flags(c, al, ncf, af);
}

void op_das(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint8_t al = reg8(c, REG_EAX), old = al;
    bool cf = cpu_get_cf(c), af = cpu_get_af(c), ncf = false;
    if ((al & 0xf) > 9 || af) {
        ncf = cf || al < 6;
        al = (uint8_t)(al - 6);
        af = true;
    } else {
        af = false;
    }
    if (old > 0x99 || cf) {
        al = (uint8_t)(al - 0x60);
        ncf = true;
    }
    set_reg8(c, REG_EAX, al);
    bcd_flags(c, al, ncf, af);
}

void op_aaa(struct cpu *c, const struct insn *i)
{
    (void)i;
    bool adj = (reg8(c, REG_EAX) & 0xf) > 9 || cpu_get_af(c);
    if (adj)
        set_reg16(c, REG_EAX, (uint16_t)(reg16(c, REG_EAX) + 0x106));
    set_reg8(c, REG_EAX, reg8(c, REG_EAX) & 0xf);
    bcd_flags(c, reg8(c, REG_EAX), adj, adj);
}

void op_aas(struct cpu *c, const struct insn *i)
{
    (void)i;
    bool adj = (reg8(c, REG_EAX) & 0xf) > 9 || cpu_get_af(c);
    if (adj) {
        set_reg16(c, REG_EAX, (uint16_t)(reg16(c, REG_EAX) - 6));
        set_reg8(c, 4, (uint8_t)(reg8(c, 4) - 1));   /* AH */
    }
    set_reg8(c, REG_EAX, reg8(c, REG_EAX) & 0xf);
    bcd_flags(c, reg8(c, REG_EAX), adj, adj);
}

void op_aam(struct cpu *c, const struct insn *i)
{
    uint8_t base = (uint8_t)i->imm, al = reg8(c, REG_EAX);
    if (base == 0)
        cpu_de(c);
    set_reg16(c, REG_EAX, (uint16_t)((al / base) << 8 | (al % base)));
    bcd_flags(c, al % base, false, false);
}

void op_aad(struct cpu *c, const struct insn *i)
{
    uint8_t al = (uint8_t)(reg8(c, REG_EAX) + reg8(c, 4) * (uint8_t)i->imm);
    set_reg16(c, REG_EAX, al);
    bcd_flags(c, al, false, false);
}

void op_salc(struct cpu *c, const struct insn *i)
{
    (void)i;
    set_reg8(c, REG_EAX, cpu_get_cf(c) ? 0xff : 0);
}

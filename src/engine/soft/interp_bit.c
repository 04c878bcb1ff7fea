/* interp_bit.c - shifts and rotates, SHLD/SHRD, bit tests and scans,
 * SETcc, CMOVcc, BSWAP. */
#include "interp.h"

/* AF after a shift is undefined: the host CPU's value where it is a
 * constant (host_flags.h), carried in the record's op2 for flags.c. */
static inline uint32_t shift_af(const struct cpu *c)
{
    return c->flag_rules.shift_af_known && c->flag_rules.shift_af ? EFL_AF : 0;
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

enum shift_op { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAR };

/* D2/D3 take the count from CL; C0/C1 from imm8; D0/D1 decode an imm of 1. */
static inline unsigned shift_count(const struct cpu *c, const struct insn *i)
{
    uint32_t n = (i->opcode & 0xfe) == 0xd2 ? c->s.gpr[REG_ECX] : i->imm;
    return n & 31;
}

ALWAYS_INLINE bool shift_rm_f(struct cpu *c, const struct insn *i, enum shift_op op, unsigned size,
                              enum rm_form f)
{
    unsigned count = shift_count(c, i), bits = size * 8;
    uint32_t m = size_mask(size), msb = 1u << (bits - 1), r;
    struct rm_dest d = { NULL, 0 };
    uint32_t a = RM_GET_RMW(size, &d);
    if (count == 0)
        return true;   /* no write, flags unchanged */

    bool cf = false;
    switch (op) {
    case SH_ROL: {
        unsigned t = count & (bits - 1);
        r = t ? ((a << t) | (a >> (bits - t))) & m : a;
        cf = r & 1;
        break;
    }
    case SH_ROR: {
        unsigned t = count & (bits - 1);
        r = t ? ((a >> t) | (a << (bits - t))) & m : a;
        cf = r & msb;
        break;
    }
    case SH_RCL:
    case SH_RCR: {
        /* Rotate the (bits+1)-bit value CF:a. */
        unsigned n = bits + 1, t = count % n;
        uint64_t full = (1ull << n) - 1, v = (uint64_t)cpu_get_cf(c) << bits | a;
        if (t)
            v = op == SH_RCL ? ((v << t) | (v >> (n - t))) & full
                             : ((v >> t) | (v << (n - t))) & full;
        r = (uint32_t)v & m;
        cf = (v >> bits) & 1;
        break;
    }
    case SH_SHL: r = (uint32_t)((uint64_t)a << count) & m; break;
    case SH_SHR: r = a >> count; break;
    default:     r = (uint32_t)((int32_t)sign_extend(a, size) >> count) & m; break;
    }

    RM_PUT_RMW(size, &d, r);

    switch (op) {
    case SH_ROL:
    case SH_RCL: lf_rotate(c, cf, !!(r & msb) ^ cf); break;
    case SH_ROR:
    case SH_RCR: lf_rotate(c, cf, !!((r ^ (r << 1)) & msb)); break;
    case SH_SHL: lf_record_aux(c, LF_SHL, size, r, a, shift_af(c), count); break;
    case SH_SHR: lf_record_aux(c, LF_SHR, size, r, a, shift_af(c), count); break;
    default:     lf_record_aux(c, LF_SAR, size, r, a, shift_af(c), count); break;
    }
    return true;
}

/* Byte and 32-bit forms of the common shifts (interp.h lists them). */
#define SHIFT_HANDLERS(n, OPC) \
DEFINE_RM_FORMS(op_##n##_Eb) { return shift_rm_f(c, i, OPC, 1, f); } \
void op_##n##_Ev_w(struct cpu *c, const struct insn *i) { (void)shift_rm_f(c, i, OPC, 2, RM_ANY); } \
DEFINE_RM_FORMS(op_##n##_Ev_d) { return shift_rm_f(c, i, OPC, 4, f); }
#define SHIFT_HANDLERS_PLAIN(n, OPC) \
void op_##n##_Eb(struct cpu *c, const struct insn *i)   { (void)shift_rm_f(c, i, OPC, 1, RM_ANY); } \
void op_##n##_Ev_w(struct cpu *c, const struct insn *i) { (void)shift_rm_f(c, i, OPC, 2, RM_ANY); } \
void op_##n##_Ev_d(struct cpu *c, const struct insn *i) { (void)shift_rm_f(c, i, OPC, 4, RM_ANY); }

SHIFT_HANDLERS(rol, SH_ROL)
SHIFT_HANDLERS(ror, SH_ROR)
SHIFT_HANDLERS_PLAIN(rcl, SH_RCL)
SHIFT_HANDLERS_PLAIN(rcr, SH_RCR)
SHIFT_HANDLERS(shl, SH_SHL)
SHIFT_HANDLERS(shr, SH_SHR)
SHIFT_HANDLERS(sar, SH_SAR)

/* ---- SHLD / SHRD (imm8 form: opcode bit 0 clear; CL form: set) ---- */
static void double_shift(struct cpu *c, const struct insn *i, bool left)
{
    unsigned count = ((i->opcode & 1) ? c->s.gpr[REG_ECX] : i->imm) & 31;
    unsigned size = i->opsize, bits = size * 8;
    uint32_t ea = 0, b = reg_get(c, i->reg, size), r;
    uint32_t a = rm_read_rmw(c, i, size, &ea);
    if (count == 0)
        return;
    bool cf;
    if (bits == 32) {
        if (left) {
            uint64_t x = (uint64_t)a << 32 | b;
            r = (uint32_t)((x << count) >> 32);
            cf = (x >> (64 - count)) & 1;
        } else {
            uint64_t x = (uint64_t)b << 32 | a;
            r = (uint32_t)(x >> count);
            cf = (x >> (count - 1)) & 1;
        }
    } else {
        /* 16-bit: counts above 16 leave result and flags undefined.  We
         * match the fuzzer's host (AMD), which keeps shifting in the source:
         * SHLD shifts dest:src:src left, SHRD src:src:dest right (Intel is
         * documented by others to use dest:src:dest for SHRD).  SF ZF PF
         * follow the result; CF and OF are the host's own (not modelled). */
        if (left) {
            uint64_t x = (uint64_t)a << 32 | (uint64_t)b << 16 | b;
            r = (uint32_t)((x << count) >> 32) & 0xffff;
            cf = (x >> (48 - count)) & 1;
        } else {
            uint64_t x = (uint64_t)b << 32 | (uint64_t)b << 16 | a;
            r = (uint32_t)(x >> count) & 0xffff;
            cf = (x >> (count - 1)) & 1;
        }
    }
    rm_write_back(c, i, size, ea, r);
    uint32_t msb = 1u << (bits - 1);
    /* OF is defined for a count of 1 (the sign changed), AF never: a 32-bit
     * shift takes the host's rules where it has them (host_flags.h). */
    const struct host_flag_rules *hr = &c->flag_rules;
    bool of = (r ^ a) & msb, af = false;
    if (bits == 32 && hr->dshift_of)
        of = left ? !!(r & msb) ^ cf : !!((r ^ (r << 1)) & msb);
    if (bits == 32 && hr->dshift_af_known)
        af = hr->dshift_af;
    uint32_t f = flags_szp(r, size) | (cf ? EFL_CF : 0) | (of ? EFL_OF : 0) | (af ? EFL_AF : 0);
    lf_set_flags(c, f);
}

void op_shld(struct cpu *c, const struct insn *i) { double_shift(c, i, true); }
void op_shrd(struct cpu *c, const struct insn *i) { double_shift(c, i, false); }

/* ---- BT BTS BTR BTC ---- */
enum bt_op { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static void bit_test(struct cpu *c, const struct insn *i, enum bt_op op, uint32_t offset, bool reg_offset)
{
    unsigned size = i->opsize, bits = size * 8;
    uint32_t ea = 0, v;
    if (i->mod == 3) {
        v = reg_get(c, i->rm, size);
    } else {
        ea = insn_ea(c, i);
        if (reg_offset) {
            /* A register offset addresses a bit string: signed, any distance. */
            int32_t off = (int32_t)sign_extend(offset, size);
            ea += (uint32_t)((off >> (size == 2 ? 4 : 5)) * (int32_t)size);
            if (i->adsize == 2)
                ea &= 0xffff;
        }
        v = op == BT_TEST ? mem_read(c, i->seg, ea, size) : mem_read_rmw(c, i->seg, ea, size);
    }
    uint32_t mask = 1u << (offset & (bits - 1));
    bool cf = v & mask;
    if (op != BT_TEST) {
        uint32_t r = op == BT_SET ? v | mask : op == BT_RESET ? v & ~mask : v ^ mask;
        if (i->mod == 3)
            reg_set(c, i->rm, size, r);
        else
            mem_write(c, i->seg, ea, size, r);
    }
    lf_set_flags(c, (lf_arith_flags(c) & ~EFL_CF) | (cf ? EFL_CF : 0));
}

void op_bt_EvGv(struct cpu *c, const struct insn *i)
{
    bit_test(c, i, (enum bt_op)((i->opcode >> 3) & 3), reg_get(c, i->reg, i->opsize), true);
}

void op_bt_EvIb(struct cpu *c, const struct insn *i)
{
    bit_test(c, i, (enum bt_op)(i->reg - 4), i->imm, false);
}

/* ---- BSF / BSR: ZF = (source == 0), destination unchanged then ---- */
static void bit_scan(struct cpu *c, const struct insn *i, bool reverse)
{
    uint32_t v = rm_read(c, i, i->opsize);
    uint32_t f = lf_arith_flags(c) & ~EFL_ZF;
    if (v == 0) {
        lf_set_flags(c, f | EFL_ZF);
        return;
    }
    uint32_t idx = reverse ? 31u - (uint32_t)__builtin_clz(v) : (uint32_t)__builtin_ctz(v);
    reg_set(c, i->reg, i->opsize, idx);
    lf_set_flags(c, f);
}

void op_bsf(struct cpu *c, const struct insn *i) { bit_scan(c, i, false); }
void op_bsr(struct cpu *c, const struct insn *i) { bit_scan(c, i, true); }

/* ---- SETcc / CMOVcc / BSWAP ---- */
void op_setcc(struct cpu *c, const struct insn *i)
{
    rm_write(c, i, 1, cpu_cond(c, i->opcode & 15));
}

void op_cmov(struct cpu *c, const struct insn *i)
{
    uint32_t v = rm_read(c, i, i->opsize);   /* the source is read even when false */
    if (cpu_cond(c, i->opcode & 15))
        reg_set(c, i->reg, i->opsize, v);
}

void op_bswap(struct cpu *c, const struct insn *i)
{
    unsigned r = i->opcode & 7;
    if (i->opsize == 4)
        c->s.gpr[r] = __builtin_bswap32(c->s.gpr[r]);
    else
        set_reg16(c, r, 0);   /* undefined for 16 bits; hardware gives 0 */
}

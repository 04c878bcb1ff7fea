/* flags.h - lazy arithmetic flags: what handlers record after an operation.
 *
 * An arithmetic instruction stores its (size-truncated) operands and result
 * in cpu->lf; CF PF AF ZF SF OF are computed from them only when read
 * (flags.c: cpu_get_eflags, cpu_cond, ...).  Instructions that set flags in
 * unusual ways compute them eagerly and store them with LF_NONE.
 * cpu->s.eflags is not maintained while running: EFLAGS is cpu_get_eflags().
 */
#ifndef MORPH_SOFT_FLAGS_H
#define MORPH_SOFT_FLAGS_H

#include "cpu.h"

#define EFL_ARITH (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF)
/* Bits software can ever see as variable (the rest read as fixed 0, bit 1 as 1). */
#define EFL_VALID (EFL_ARITH | EFL_TF | EFL_IF | EFL_DF | EFL_IOPL | EFL_NT | \
                   EFL_RF | EFL_VM | EFL_AC | EFL_VIF | EFL_VIP | EFL_ID)

static inline void lf_record(struct cpu *c, enum lazy_op op, unsigned size,
                             uint32_t res, uint32_t op1, uint32_t op2)
{
    c->lf.op = (uint8_t)op;
    c->lf.size = (uint8_t)size;
    c->lf.res = res;
    c->lf.op1 = op1;
    c->lf.op2 = op2;
}

static inline void lf_record_aux(struct cpu *c, enum lazy_op op, unsigned size,
                                 uint32_t res, uint32_t op1, uint32_t op2, uint32_t aux)
{
    lf_record(c, op, size, res, op1, op2);
    c->lf.aux = aux;
}

/* Result of a logic op (AND OR XOR TEST): CF = OF = AF = 0. */
static inline void lf_logic(struct cpu *c, unsigned size, uint32_t res)
{
    lf_record(c, LF_LOGIC, size, res, 0, 0);
}

/* Store materialised arithmetic flags (EFL_ARITH bits of `flags`). */
static inline void lf_set_flags(struct cpu *c, uint32_t flags)
{
    c->lf.op = LF_NONE;
    c->lf.flags = flags & EFL_ARITH;
}

/* A rotate sets CF and OF and keeps the other flags: the previous record
 * stays (as rot_base) to answer for them, so rotates cost no flag work. */
static inline void lf_rotate(struct cpu *c, bool cf, bool of)
{
    uint32_t co = (cf ? EFL_CF : 0) | (of ? EFL_OF : 0);
    if (c->lf.op == LF_NONE) {
        c->lf.flags = (c->lf.flags & ~(EFL_CF | EFL_OF)) | co;
        return;
    }
    if (c->lf.op != LF_ROT) {
        c->lf.rot_base = c->lf.op;
        c->lf.op = LF_ROT;
    }
    c->lf.flags = co;
}

/* Condition cc (the low nibble of Jcc/SETcc/CMOVcc) where it is cheap to
 * decide: ZF and SF come from the recorded result of any operation (as
 * cpu_get_zf/cpu_get_sf), after a 32-bit compare or subtraction the
 * unsigned and signed conditions come straight from the operands, after a
 * logic op CF = OF = 0.  Returns false when the general path must decide.
 * With a constant cc the switches fold away. */
static inline __attribute__((always_inline)) bool cpu_cond_known(const struct cpu *c, unsigned cc,
                                                                  bool *out)
{
    const struct lazy_flags *lf = &c->lf;
    bool r;
    if (lf->op == LF_NONE)
        return false;
    bool zf = lf->res == 0, sf = (lf->res >> (lf->size * 8 - 1)) & 1;
    switch (cc >> 1) {
    case 2: r = zf; break;                                    /* E */
    case 4: r = sf; break;                                    /* S */
    default:
        if (lf->op == LF_SUB && lf->size == 4) {
            switch (cc >> 1) {
            case 1: r = lf->op1 < lf->op2; break;                     /* B */
            case 3: r = lf->op1 <= lf->op2; break;                    /* BE */
            case 6: r = (int32_t)lf->op1 < (int32_t)lf->op2; break;   /* L */
            case 7: r = (int32_t)lf->op1 <= (int32_t)lf->op2; break;  /* LE */
            default: return false;
            }
        } else if (lf->op == LF_LOGIC) {
            switch (cc >> 1) {
            case 0: case 1: r = false; break;                 /* O, B */
            case 3: r = zf; break;                            /* BE */
            case 6: r = sf; break;                            /* L */
            case 7: r = zf || sf; break;                      /* LE */
            default: return false;                            /* P */
            }
        } else {
            return false;
        }
    }
    *out = (cc & 1) ? !r : r;
    return true;
}

static inline __attribute__((always_inline)) bool cpu_cond_fast(struct cpu *c, unsigned cc)
{
    bool r;
    return cpu_cond_known(c, cc, &r) ? r : cpu_cond(c, cc);
}

/* The arithmetic flags now, as EFLAGS bits. */
uint32_t lf_arith_flags(const struct cpu *c);

/* Flags ZF SF PF of a size-byte result, as EFLAGS bits. */
uint32_t flags_szp(uint32_t res, unsigned size);

#endif

/* flags.c - lazy flags: EFLAGS on demand and condition codes (see flags.h). */
#include "flags.h"

static inline uint32_t sign_bit(unsigned size)
{
    return 1u << (size * 8 - 1);
}

/* Sign-extend a size-byte value to 32 bits. */
static inline int32_t sext(uint32_t v, unsigned size)
{
    return size == 1 ? (int8_t)v : size == 2 ? (int16_t)v : (int32_t)v;
}

uint32_t flags_szp(uint32_t res, unsigned size)
{
    uint32_t f = 0;
    if (res == 0)
        f |= EFL_ZF;
    if (res & sign_bit(size))
        f |= EFL_SF;
    if (!__builtin_parity(res & 0xff))
        f |= EFL_PF;
    return f;
}

static bool lazy_cf(const struct lazy_flags *lf)
{
    switch (lf->op) {
    case LF_ADD:   return lf->res < lf->op1;
    case LF_ADC:   return lf->aux ? lf->res <= lf->op1 : lf->res < lf->op1;
    case LF_SUB:   return lf->op1 < lf->op2;
    case LF_SBB:   return lf->aux ? lf->op1 <= lf->op2 : lf->op1 < lf->op2;
    case LF_NEG:   return lf->op1 != 0;
    case LF_INC:
    case LF_DEC:
    case LF_MUL:   return lf->aux & 1;
    case LF_SHL:   return ((uint64_t)lf->op1 << lf->aux) >> (lf->size * 8) & 1;
    case LF_SHR:   return lf->op1 >> (lf->aux - 1) & 1;
    case LF_SAR:   return sext(lf->op1, lf->size) >> (lf->aux - 1) & 1;
    case LF_LOGIC: return false;
    default:       return lf->flags & EFL_CF;
    }
}

static bool lazy_of(const struct lazy_flags *lf)
{
    if (lf->op == LF_NONE)
        return lf->flags & EFL_OF;
    uint32_t s = sign_bit(lf->size);
    switch (lf->op) {
    case LF_ADD:
    case LF_ADC:   return (lf->op1 ^ lf->res) & (lf->op2 ^ lf->res) & s;
    case LF_SUB:
    case LF_SBB:   return (lf->op1 ^ lf->op2) & (lf->op1 ^ lf->res) & s;
    case LF_NEG:   return lf->op1 == s;
    case LF_INC:   return lf->res == s;
    case LF_DEC:   return lf->op1 == s;
    case LF_MUL:   return lf->aux & 1;
    /* Defined for a count of 1; Intel computes the same formula for larger counts. */
    case LF_SHL:   return !!(lf->res & s) ^ lazy_cf(lf);
    case LF_SHR:   return ((lf->res << 1) ^ lf->res) & s;
    case LF_SAR:
    case LF_LOGIC: return false;
    default:       return lf->flags & EFL_OF;
    }
}

/* The record a rotate kept for SF ZF PF AF. */
static struct lazy_flags rot_base_record(const struct lazy_flags *lf)
{
    struct lazy_flags b = *lf;
    b.op = lf->rot_base;
    return b;
}

static bool lazy_af(const struct lazy_flags *lf)
{
    if (__builtin_expect(lf->op == LF_ROT, 0)) {
        struct lazy_flags b = rot_base_record(lf);
        return lazy_af(&b);
    }
    switch (lf->op) {
    case LF_ADD: case LF_ADC: case LF_SUB: case LF_SBB: case LF_NEG:
        return (lf->op1 ^ lf->op2 ^ lf->res) & 0x10;
    case LF_INC:   return (lf->res & 0xf) == 0;
    case LF_DEC:   return (lf->res & 0xf) == 0xf;
    case LF_NONE:  return lf->flags & EFL_AF;
    case LF_SHL: case LF_SHR: case LF_SAR:
        return lf->op2 & EFL_AF;   /* undefined: the host's (interp_bit.c) */
    default:       return false;   /* logic, multiply: AF undefined, reads 0 */
    }
}

uint32_t lf_arith_flags(const struct cpu *c)
{
    const struct lazy_flags *lf = &c->lf;
    if (lf->op == LF_NONE)
        return lf->flags & EFL_ARITH;
    uint32_t f = flags_szp(lf->res, lf->size);
    /* The common records directly (the same formulas as lazy_cf/of/af). */
    uint32_t s = sign_bit(lf->size), af = (lf->op1 ^ lf->op2 ^ lf->res) & 0x10;
    switch (lf->op) {
    case LF_LOGIC:
        return f;
    case LF_ADD:
        return f | (lf->res < lf->op1 ? EFL_CF : 0) |
               ((lf->op1 ^ lf->res) & (lf->op2 ^ lf->res) & s ? EFL_OF : 0) | (af ? EFL_AF : 0);
    case LF_SUB:
        return f | (lf->op1 < lf->op2 ? EFL_CF : 0) |
               ((lf->op1 ^ lf->op2) & (lf->op1 ^ lf->res) & s ? EFL_OF : 0) | (af ? EFL_AF : 0);
    case LF_ROT:
        return f | (lazy_af(lf) ? EFL_AF : 0) | (lf->flags & (EFL_CF | EFL_OF));
    default:
        break;
    }
    if (lazy_cf(lf))
        f |= EFL_CF;
    if (lazy_of(lf))
        f |= EFL_OF;
    if (lazy_af(lf))
        f |= EFL_AF;
    return f;
}

uint32_t cpu_get_eflags(struct cpu *c)
{
    return (c->eflags_rest & ~EFL_ARITH & EFL_VALID) | lf_arith_flags(c) | EFL_FIXED;
}

void cpu_set_eflags(struct cpu *c, uint32_t value, uint32_t mask)
{
    mask &= EFL_VALID;
    if (mask & EFL_ARITH) {
        uint32_t a = lf_arith_flags(c);
        lf_set_flags(c, (a & ~mask) | (value & mask));
    }
    c->eflags_rest = (c->eflags_rest & ~mask & ~EFL_ARITH) | (value & mask & ~EFL_ARITH);
}

bool cpu_get_cf(struct cpu *c) { return lazy_cf(&c->lf); }
bool cpu_get_of(struct cpu *c) { return lazy_of(&c->lf); }
bool cpu_get_af(struct cpu *c) { return lazy_af(&c->lf); }

bool cpu_get_zf(struct cpu *c)
{
    return c->lf.op == LF_NONE ? !!(c->lf.flags & EFL_ZF) : c->lf.res == 0;
}

bool cpu_get_sf(struct cpu *c)
{
    return c->lf.op == LF_NONE ? !!(c->lf.flags & EFL_SF) : !!(c->lf.res & sign_bit(c->lf.size));
}

bool cpu_get_pf(struct cpu *c)
{
    return c->lf.op == LF_NONE ? !!(c->lf.flags & EFL_PF) : !__builtin_parity(c->lf.res & 0xff);
}

/* Compare (SUB) results answer the unsigned/signed conditions directly. */
static bool cond_after_sub(const struct lazy_flags *lf, unsigned cc, bool *out)
{
    int32_t a = sext(lf->op1, lf->size), b = sext(lf->op2, lf->size);
    switch (cc >> 1) {
    case 1: *out = lf->op1 < lf->op2; break;    /* B */
    case 2: *out = lf->res == 0; break;         /* E */
    case 3: *out = lf->op1 <= lf->op2; break;   /* BE */
    case 6: *out = a < b; break;                /* L */
    case 7: *out = a <= b; break;               /* LE */
    default: return false;
    }
    if (cc & 1)
        *out = !*out;
    return true;
}

/* After a logic op CF = OF = 0: every condition is one of ZF, SF, PF. */
static bool cond_after_logic(const struct lazy_flags *lf, unsigned cc)
{
    bool zf = lf->res == 0, sf = lf->res & sign_bit(lf->size), r;
    switch (cc >> 1) {
    case 0: case 1: r = false; break;                      /* O, B */
    case 2: case 3: r = zf; break;                         /* E, BE */
    case 4: case 6: r = sf; break;                         /* S, L */
    case 5: r = !__builtin_parity(lf->res & 0xff); break;  /* P */
    default: r = zf || sf; break;                          /* LE */
    }
    return (cc & 1) ? !r : r;
}

bool cpu_cond(struct cpu *c, unsigned cc)
{
    bool r;
    if (c->lf.op == LF_SUB && cond_after_sub(&c->lf, cc, &r))
        return r;
    if (c->lf.op == LF_LOGIC)
        return cond_after_logic(&c->lf, cc);
    switch (cc >> 1) {
    case 0: r = cpu_get_of(c); break;
    case 1: r = cpu_get_cf(c); break;
    case 2: r = cpu_get_zf(c); break;
    case 3: r = cpu_get_cf(c) || cpu_get_zf(c); break;
    case 4: r = cpu_get_sf(c); break;
    case 5: r = cpu_get_pf(c); break;
    case 6: r = cpu_get_sf(c) != cpu_get_of(c); break;
    default: r = cpu_get_zf(c) || (cpu_get_sf(c) != cpu_get_of(c)); break;
    }
    return (cc & 1) ? !r : r;
}

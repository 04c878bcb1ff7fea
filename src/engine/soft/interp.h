/* interp.h - the interpreter's instruction handlers (interp_*.c) and the
 * helpers they share: register access, effective addresses, r/m operands.
 *
 * Handler discipline (cpu.h): every read and every access that can fault
 * first; memory writes next; registers and flags last. */
#ifndef MORPH_SOFT_INTERP_H
#define MORPH_SOFT_INTERP_H

#include "cpu.h"
#include "decode.h"
#include "flags.h"
#include "mem.h"

/* Every handler named in opcodes.def. */
#define OP(code, mnem, form, h16, h32) \
    void h16(struct cpu *c, const struct insn *i); void h32(struct cpu *c, const struct insn *i);
#define GRP(g, r, mnem, form, h16, h32) \
    void h16(struct cpu *c, const struct insn *i); void h32(struct cpu *c, const struct insn *i);
#include "opcodes.def"

/* Undefined encodings (#UD, one warning per opcode with TRACE_UNKNOWN) and
 * LOCK on an instruction that does not allow it (#UD). */
void op_undefined(struct cpu *c, const struct insn *i);
void op_lock_ud(struct cpu *c, const struct insn *i);

/* ---- registers ---- */
static inline uint8_t reg8(const struct cpu *c, unsigned r)
{
    return r < 4 ? (uint8_t)c->s.gpr[r] : (uint8_t)(c->s.gpr[r - 4] >> 8);
}

static inline void set_reg8(struct cpu *c, unsigned r, uint8_t v)
{
    if (r < 4)
        c->s.gpr[r] = (c->s.gpr[r] & ~0xffu) | v;
    else
        c->s.gpr[r - 4] = (c->s.gpr[r - 4] & ~0xff00u) | (uint32_t)v << 8;
}

static inline uint16_t reg16(const struct cpu *c, unsigned r)
{
    return (uint16_t)c->s.gpr[r];
}

static inline void set_reg16(struct cpu *c, unsigned r, uint16_t v)
{
    c->s.gpr[r] = (c->s.gpr[r] & ~0xffffu) | v;
}

static inline uint32_t reg_get(const struct cpu *c, unsigned r, unsigned size)
{
    return size == 1 ? reg8(c, r) : size == 2 ? reg16(c, r) : c->s.gpr[r];
}

static inline void reg_set(struct cpu *c, unsigned r, unsigned size, uint32_t v)
{
    if (size == 1)
        set_reg8(c, r, (uint8_t)v);
    else if (size == 2)
        set_reg16(c, r, (uint16_t)v);
    else
        c->s.gpr[r] = v;
}

static inline uint32_t size_mask(unsigned size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static inline uint32_t sign_extend(uint32_t v, unsigned size)
{
    return size == 1 ? (uint32_t)(int8_t)v : size == 2 ? (uint32_t)(int16_t)v : v;
}

/* ---- memory operands ---- */

/* Sized accesses; with a constant size they reduce to one call. */
static inline __attribute__((always_inline)) uint32_t mem_read(struct cpu *c, int seg, uint32_t off, unsigned size)
{
    return size == 1 ? cpu_read8(c, seg, off) : size == 2 ? cpu_read16(c, seg, off)
                                                          : cpu_read32(c, seg, off);
}

static inline __attribute__((always_inline)) void mem_write(struct cpu *c, int seg, uint32_t off, unsigned size, uint32_t v)
{
    if (size == 1)
        cpu_write8(c, seg, off, (uint8_t)v);
    else if (size == 2)
        cpu_write16(c, seg, off, (uint16_t)v);
    else
        cpu_write32(c, seg, off, v);
}

/* The memory operand of a read-modify-write instruction (ALU ops, shifts,
 * INC/DEC/NOT/NEG, BTS/BTR/BTC, XCHG/XADD/CMPXCHG): the hardware checks write
 * access before it reads, so a read-only segment or page, or a not-present
 * page, faults as a write even when nothing ends up written (shift count 0).
 * Fast path: the TLB's write tag already vouches for the write. */
static inline __attribute__((always_inline)) uint32_t mem_read_rmw(struct cpu *c, int seg, uint32_t off, unsigned size)
{
    const uint8_t *p = cpu_fast_ptr(c, seg, off, size, true);
    if (__builtin_expect(p != NULL, 1))
        return cpu_load(p, size);
    cpu_check_write(c, seg, off, size);
    return mem_read(c, seg, off, size);
}

static inline __attribute__((always_inline)) uint32_t insn_ea(const struct cpu *c, const struct insn *i)
{
    uint32_t a = (uint32_t)i->disp;
    if (i->base != INSN_NOREG)
        a += c->s.gpr[i->base];
    if (i->index != INSN_NOREG)
        a += c->s.gpr[i->index] << i->scale;
    return i->adsize == 2 ? (a & 0xffff) : a;
}

/* ---- decode-time forms of the r/m operand ----
 * The hottest handlers come in several forms (interp_forms.c picks one when
 * an insn is decoded): RM_ANY looks at the insn as decoded; RM_REG is known
 * to be mod 3; the memory forms are known to use 32-bit addressing:
 * RM_BASE [base + disp], RM_SIB [base + index * scale + disp], RM_ABS
 * [disp].  The form is a constant in each handler, so the tests it answers
 * disappear. */
enum rm_form { RM_ANY, RM_REG, RM_BASE, RM_SIB, RM_ABS };

#define RM_INLINE static inline __attribute__((always_inline))

/* A form whose memory operand's shape is known (it tries the fast path only). */
RM_INLINE bool rm_known_mem(enum rm_form f)
{
    return f >= RM_BASE;
}

RM_INLINE bool rm_is_reg(const struct insn *i, enum rm_form f)
{
    return f == RM_REG || (f == RM_ANY && i->mod == 3);
}

RM_INLINE uint32_t rm_ea(const struct cpu *c, const struct insn *i, enum rm_form f)
{
    switch (f) {
    case RM_BASE: return c->s.gpr[i->base] + (uint32_t)i->disp;
    case RM_SIB:  return c->s.gpr[i->base] + (c->s.gpr[i->index] << i->scale) + (uint32_t)i->disp;
    case RM_ABS:  return (uint32_t)i->disp;
    default:      return insn_ea(c, i);
    }
}

RM_INLINE uint32_t rm_read_f(struct cpu *c, const struct insn *i, unsigned size, enum rm_form f)
{
    if (rm_is_reg(i, f))
        return reg_get(c, i->rm, size);
    return mem_read(c, i->seg, rm_ea(c, i, f), size);
}

RM_INLINE void rm_write_f(struct cpu *c, const struct insn *i, unsigned size, uint32_t v, enum rm_form f)
{
    if (rm_is_reg(i, f))
        reg_set(c, i->rm, size, v);
    else
        mem_write(c, i->seg, rm_ea(c, i, f), size, v);
}

RM_INLINE uint32_t rm_read(struct cpu *c, const struct insn *i, unsigned size)
{
    return rm_read_f(c, i, size, RM_ANY);
}

RM_INLINE void rm_write(struct cpu *c, const struct insn *i, unsigned size, uint32_t v)
{
    rm_write_f(c, i, size, v, RM_ANY);
}

/* The destination of a read-modify-write instruction: its value, checked for
 * write access first (mem_read_rmw); *ea keeps the address for rm_write_back. */
RM_INLINE uint32_t rm_read_rmw_f(struct cpu *c, const struct insn *i, unsigned size, uint32_t *ea,
                                 enum rm_form f)
{
    if (rm_is_reg(i, f))
        return reg_get(c, i->rm, size);
    *ea = rm_ea(c, i, f);
    return mem_read_rmw(c, i->seg, *ea, size);
}

RM_INLINE uint32_t rm_read_rmw(struct cpu *c, const struct insn *i, unsigned size, uint32_t *ea)
{
    return rm_read_rmw_f(c, i, size, ea, RM_ANY);
}

RM_INLINE void rm_write_back_f(struct cpu *c, const struct insn *i, unsigned size, uint32_t ea,
                               uint32_t v, enum rm_form f)
{
    if (rm_is_reg(i, f))
        reg_set(c, i->rm, size, v);
    else
        mem_write(c, i->seg, ea, size, v);
}

RM_INLINE void rm_write_back(struct cpu *c, const struct insn *i, unsigned size, uint32_t ea, uint32_t v)
{
    rm_write_back_f(c, i, size, ea, v, RM_ANY);
}

/* The memory forms try the fast path only (cpu_fast_ptr): on a miss
 * they give up before doing anything and the general form runs instead.
 * That keeps the slow paths' calls, and the stack frame they need, out of
 * the fast forms.  Inside a DEFINE_RM_FORMS body (names c, i, f):
 *   RM_GET(size)             the operand's value
 *   RM_PUT(size, v)          store v to the operand
 *   RM_GET_RMW(size, &dest)  the value of a read-modify-write destination
 *   RM_PUT_RMW(size, &dest, v)  and the store of its result
 */
RM_INLINE bool rm_try_get(struct cpu *c, const struct insn *i, unsigned size, enum rm_form f, uint32_t *v)
{
    if (!rm_known_mem(f)) {
        *v = rm_read_f(c, i, size, f);
        return true;
    }
    const uint8_t *p = cpu_fast_ptr(c, i->seg, rm_ea(c, i, f), size, false);
    if (!p)
        return false;
    *v = cpu_load(p, size);
    return true;
}

RM_INLINE bool rm_try_put(struct cpu *c, const struct insn *i, unsigned size, uint32_t v, enum rm_form f)
{
    if (!rm_known_mem(f)) {
        rm_write_f(c, i, size, v, f);
        return true;
    }
    uint8_t *p = cpu_fast_ptr(c, i->seg, rm_ea(c, i, f), size, true);
    if (!p)
        return false;
    cpu_store(p, size, v);
    return true;
}

/* The destination of a read-modify-write body: rm_rmw_get reads it (checked
 * for writing first; false: a memory form's miss, nothing done) and
 * rm_rmw_put stores the result to the same place. */
struct rm_dest {
    uint8_t *p;      /* memory forms: the host pointer */
    uint32_t ea;     /* RM_ANY on memory: the effective address */
};

RM_INLINE bool rm_rmw_get(struct cpu *c, const struct insn *i, unsigned size, enum rm_form f,
                          struct rm_dest *d, uint32_t *v)
{
    if (rm_known_mem(f)) {
        d->p = cpu_fast_ptr(c, i->seg, rm_ea(c, i, f), size, true);
        if (!d->p)
            return false;
        *v = cpu_load(d->p, size);
        return true;
    }
    *v = rm_read_rmw_f(c, i, size, &d->ea, f);
    return true;
}

RM_INLINE void rm_rmw_put(struct cpu *c, const struct insn *i, unsigned size, enum rm_form f,
                          const struct rm_dest *d, uint32_t v)
{
    if (rm_known_mem(f))
        cpu_store(d->p, size, v);
    else
        rm_write_back_f(c, i, size, d->ea, v, f);
}

#define RM_GET(size) ({ uint32_t v_; if (!rm_try_get(c, i, (size), f, &v_)) return false; v_; })
#define RM_PUT(size, v) do { if (!rm_try_put(c, i, (size), (v), f)) return false; } while (0)
#define RM_GET_RMW(size, d) ({ uint32_t v_; if (!rm_rmw_get(c, i, (size), f, (d), &v_)) return false; v_; })
#define RM_PUT_RMW(size, d, v) rm_rmw_put(c, i, (size), f, (d), (v))

/* A handler in its forms: the body, a function of (c, i, f) that returns
 * true when done (false only from a memory form's fast-path miss, before
 * anything was done), is named name##_forms; name is the RM_ANY form that
 * opcodes.def lists, and a memory form that misses tail-calls it. */
#define DEFINE_RM_FORMS(name)                                                                \
    static inline __attribute__((always_inline)) bool name##_forms(struct cpu *c,           \
                                                                   const struct insn *i,    \
                                                                   enum rm_form f);         \
    void name(struct cpu *c, const struct insn *i) { (void)name##_forms(c, i, RM_ANY); }    \
    void name##__reg(struct cpu *c, const struct insn *i) { (void)name##_forms(c, i, RM_REG); } \
    RM_MEM_FORM(name, base, RM_BASE) RM_MEM_FORM(name, sib, RM_SIB) RM_MEM_FORM(name, abs, RM_ABS) \
    static inline __attribute__((always_inline)) bool name##_forms(struct cpu *c,           \
                                                                   const struct insn *i,    \
                                                                   enum rm_form f)
#define RM_MEM_FORM(name, suffix, form)                            \
    void name##__##suffix(struct cpu *c, const struct insn *i)     \
    {                                                              \
        if (!name##_forms(c, i, form))                             \
            name(c, i);                                            \
    }

/* The handlers that have forms. */
#define RM_FORM_ALU_ROW(X, n) \
    X(op_##n##_EbGb) X(op_##n##_EvGv_d) X(op_##n##_GbEb) X(op_##n##_GvEv_d) X(op_##n##_EbIb) X(op_##n##_EvI_d)
#define RM_FORM_SHIFT_ROW(X, n) X(op_##n##_Eb) X(op_##n##_Ev_d)
#define RM_FORM_HANDLERS(X)                                                                 \
    X(op_mov_EvGv_d) X(op_mov_GvEv_d) X(op_mov_EbGb) X(op_mov_GbEb) X(op_mov_EvIz_d)       \
    X(op_mov_EbIb) X(op_mov_EvGv_w) X(op_mov_GvEv_w) X(op_movzx_GvEb) X(op_movzx_GvEw)     \
    X(op_movsx_GvEb) X(op_movsx_GvEw) X(op_lea) X(op_test_EvGv_d) X(op_test_EvI_d)        \
    X(op_test_EbIb) X(op_test_EbGb) X(op_inc_Ev_d) X(op_dec_Ev_d)                          \
    RM_FORM_SHIFT_ROW(X, rol) RM_FORM_SHIFT_ROW(X, ror) RM_FORM_SHIFT_ROW(X, shl)           \
    RM_FORM_SHIFT_ROW(X, shr) RM_FORM_SHIFT_ROW(X, sar)                                     \
    RM_FORM_ALU_ROW(X, add) RM_FORM_ALU_ROW(X, or) RM_FORM_ALU_ROW(X, adc)                  \
    RM_FORM_ALU_ROW(X, sbb) RM_FORM_ALU_ROW(X, and) RM_FORM_ALU_ROW(X, sub)                 \
    RM_FORM_ALU_ROW(X, xor) RM_FORM_ALU_ROW(X, cmp)

#define RM_FORM_DECLARE(name)                                  \
    void name##__reg(struct cpu *c, const struct insn *i);     \
    void name##__base(struct cpu *c, const struct insn *i);    \
    void name##__sib(struct cpu *c, const struct insn *i);     \
    void name##__abs(struct cpu *c, const struct insn *i);
RM_FORM_HANDLERS(RM_FORM_DECLARE)
#undef RM_FORM_DECLARE

/* Jcc with its condition a constant: op_jcc_0 .. op_jcc_15. */
#define JCC_FORMS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) \
                     X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define JCC_FORM_DECLARE(cc) void op_jcc_##cc(struct cpu *c, const struct insn *i);
JCC_FORMS(JCC_FORM_DECLARE)
#undef JCC_FORM_DECLARE

/* The handler of decoded insn i in its most specific form (interp_forms.c);
 * i->exec is the RM_ANY form. */
insn_exec_fn interp_pick_form(const struct insn *i);

/* The instruction requires a memory operand (LEA, LGDT, ...). */
static inline void require_mem(struct cpu *c, const struct insn *i)
{
    if (i->mod == 3)
        cpu_ud(c);
}

/* Address-size register (ECX/ESI/EDI as CX/SI/DI under 16-bit addressing). */
static inline uint32_t areg(const struct cpu *c, const struct insn *i, unsigned r)
{
    return i->adsize == 2 ? (c->s.gpr[r] & 0xffff) : c->s.gpr[r];
}

static inline void set_areg(struct cpu *c, const struct insn *i, unsigned r, uint32_t v)
{
    if (i->adsize == 2)
        set_reg16(c, r, (uint16_t)v);
    else
        c->s.gpr[r] = v;
}

/* ---- control transfer ---- */

/* Near jump to target (truncated to the operand size); #GP(0) beyond CS.limit. */
static inline void jump_near(struct cpu *c, const struct insn *i, uint32_t target)
{
    if (i->opsize == 2)
        target &= 0xffff;
    if (target > c->s.seg[SEG_CS].limit)
        cpu_gp(c, 0);
    c->s.eip = target;
}

static inline unsigned iopl(const struct cpu *c)
{
    return (c->eflags_rest & EFL_IOPL) >> 12;
}

/* Privileged instruction: #GP(0) unless CPL 0 (real mode is CPL 0). */
static inline void require_cpl0(struct cpu *c)
{
    if (c->cpl != 0)
        cpu_gp(c, 0);
}

#endif

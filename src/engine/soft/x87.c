/* x87.c - x87 instructions: dispatch over D8-DF, the register stack, stack
 * faults, exception masking and the operand formats (see x87.h).
 *
 * Every instruction works on a copy of the FPU state and commits it at the
 * end, after its memory writes: a fault anywhere (a memory access, #MF)
 * leaves the architectural state untouched, as cpu.h requires. */
#include "x87.h"

#include <string.h>

#include "interp.h"
#include "x87_host.h"
#include "x87_priv.h"

/* ---- values ---- */

static uint64_t ld_sig(long double v)
{
    uint64_t m;
    memcpy(&m, &v, 8);
    return m;
}

static uint16_t ld_se(long double v)
{
    uint16_t se;
    memcpy(&se, (const uint8_t *)&v + 8, 2);
    return se;
}

static long double ld_make(uint16_t se, uint64_t sig)
{
    long double v = 0;
    memcpy(&v, &sig, 8);
    memcpy((uint8_t *)&v + 8, &se, 2);
    return v;
}

/* The default QNaN ("real indefinite") of masked invalid operations. */
static long double indefinite(void)
{
    return ld_make(0xffff, 0xc000000000000000ull);
}

unsigned x87_tag_of(long double v)
{
    unsigned exp = ld_se(v) & 0x7fff;
    uint64_t sig = ld_sig(v);
    if (exp == 0)
        return sig == 0 ? X87_TAG_ZERO : X87_TAG_SPECIAL;
    if (exp == 0x7fff || !(sig >> 63))
        return X87_TAG_SPECIAL;   /* NaN, infinity, unnormal */
    return X87_TAG_VALID;
}

/* ---- the register stack ---- */

static unsigned top(const struct x87_state *f)
{
    return (f->fsw >> 11) & 7;
}

static void set_top(struct x87_state *f, unsigned t)
{
    f->fsw = (uint16_t)((f->fsw & ~FSW_TOP) | ((t & 7) << 11));
}

static unsigned phys(const struct x87_state *f, unsigned i)
{
    return (top(f) + i) & 7;
}

static unsigned tag(const struct x87_state *f, unsigned p)
{
    return (f->ftw >> (2 * p)) & 3;
}

static void set_tag(struct x87_state *f, unsigned p, unsigned t)
{
    f->ftw = (uint16_t)((f->ftw & ~(3u << (2 * p))) | (t << (2 * p)));
}

static bool empty(const struct x87_state *f, unsigned i)
{
    return tag(f, phys(f, i)) == X87_TAG_EMPTY;
}

static long double st(const struct x87_state *f, unsigned i)
{
    return f->st[phys(f, i)];
}

static void put(struct x87_state *f, unsigned i, long double v)
{
    unsigned p = phys(f, i);
    f->st[p] = v;
    set_tag(f, p, x87_tag_of(v));
}

static void push(struct x87_state *f, long double v)
{
    set_top(f, top(f) - 1);
    put(f, 0, v);
}

static void pop(struct x87_state *f)
{
    set_tag(f, phys(f, 0), X87_TAG_EMPTY);
    set_top(f, top(f) + 1);
}

/* ---- status word ---- */

/* ES (and B, which mirrors it) summarise the unmasked exception flags. */
void x87_fsw_sync(struct x87_state *f)
{
    if (f->fsw & ~f->fcw & FSW_EXC)
        f->fsw |= FSW_ES | FSW_B;
    else
        f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

static void raise_flags(struct x87_state *f, unsigned flags)
{
    f->fsw |= (uint16_t)(flags & (FSW_EXC | FSW_SF));
    x87_fsw_sync(f);
}

static bool unmasked(const struct x87_state *f, unsigned flags)
{
    return (flags & ~f->fcw & FSW_EXC) != 0;
}

static void set_cc(struct x87_state *f, unsigned mask, unsigned bits)
{
    f->fsw = (uint16_t)((f->fsw & ~mask) | (bits & mask));
}

/* Stack underflow (C1 = 0) / overflow (C1 = 1): invalid operation with SF.
 * true when IE is masked, i.e. the caller delivers the indefinite. */
static bool stack_underflow(struct x87_state *f)
{
    raise_flags(f, FSW_IE | FSW_SF);
    set_cc(f, FSW_C1, 0);
    return f->fcw & FSW_IE;
}

static bool stack_overflow(struct x87_state *f)
{
    raise_flags(f, FSW_IE | FSW_SF);
    set_cc(f, FSW_C1, FSW_C1);
    return f->fcw & FSW_IE;
}

/* Record the exceptions and C1 of a computed result; false when an
 * unmasked pre-computation exception (IE, DE, ZE) leaves the destination
 * and the stack as they were. */
static bool accept_result(struct x87_state *f, unsigned sw)
{
    raise_flags(f, sw);
    set_cc(f, FSW_C1, sw);
    return !unmasked(f, sw & (FSW_IE | FSW_DE | FSW_ZE));
}

/* ---- one instruction in progress ---- */

enum x87_kind {
    K_DATA,      /* waits for pending exceptions, updates the last-instruction pointers */
    K_CONTROL,   /* waits, leaves the pointers (FLDCW, FLDENV, FRSTOR) */
    K_NOWAIT,    /* FN* control instructions: neither */
};

/* A waiting instruction with an exception pending: #MF under CR0.NE; with
 * NE = 0 FERR# (x87_ferr_pending) stands for it and execution goes on. */
static void check_pending(struct cpu *c)
{
    if ((c->s.fpu.fsw & FSW_ES) && (c->s.cr0 & CR0_NE))
        cpu_raise(c, EXC_MF, -1);
}

static void begin(struct x87_op *o, enum x87_kind kind)
{
    if (kind == K_NOWAIT)
        return;
    check_pending(o->c);
    if (kind != K_DATA)
        return;
    const struct insn *i = o->i;
    struct cpu *c = o->c;
    o->f.fop = (uint16_t)(((i->opcode & 7) << 8) | (i->mod << 6) | (i->reg << 3) | i->rm);
    o->f.fip = c->insn_eip;
    o->f.fcs = c->s.seg[SEG_CS].selector;
    if (i->mod != 3) {
        o->f.fdp = o->ea;
        o->f.fds = c->s.seg[i->seg].selector;
    }
}

/* ---- guest memory ---- */

static uint32_t mem_off(const struct x87_op *o, uint32_t k)
{
    uint32_t a = o->ea + k;
    return o->i->adsize == 2 ? (a & 0xffff) : a;
}

/* The host CPU accesses an m64 as one unit and an m80 as an m64 and then an
 * m16 (tests/fuzz/vectors/seg16.txt): an m64 crossing the segment limit is
 * #GP before any #PF of its first half, while an m80 whose first 8 bytes
 * fit takes their #PF first.  The checks of those units, in that order. */
static void check_read_units(struct x87_op *o, unsigned n)
{
    if (n == 8 || n == 10)
        cpu_check_read_seg(o->c, o->i->seg, mem_off(o, 0), 8);
}

/* Writes are all-or-nothing: every unit is checked (limit, then pages)
 * before the first byte is written. */
static void check_write_units(struct x87_op *o, unsigned n)
{
    if (n == 10) {
        cpu_check_write(o->c, o->i->seg, mem_off(o, 0), 8);
        cpu_check_write(o->c, o->i->seg, mem_off(o, 8), 2);
    } else {
        cpu_check_write(o->c, o->i->seg, mem_off(o, 0), n);
    }
}

void x87_read_bytes(struct x87_op *o, uint8_t *buf, unsigned n)
{
    check_read_units(o, n);
    unsigned k = 0;
    for (; k + 4 <= n; k += 4) {
        uint32_t v = cpu_read32(o->c, o->i->seg, mem_off(o, k));
        memcpy(buf + k, &v, 4);
    }
    for (; k < n; k += 2) {
        uint16_t v = cpu_read16(o->c, o->i->seg, mem_off(o, k));
        memcpy(buf + k, &v, 2);
    }
}

/* All-or-nothing: a multi-part write is checked whole before the first part. */
void x87_write_bytes(struct x87_op *o, const uint8_t *buf, unsigned n)
{
    if (n > 4)
        check_write_units(o, n);
    unsigned k = 0;
    for (; k + 4 <= n; k += 4) {
        uint32_t v;
        memcpy(&v, buf + k, 4);
        cpu_write32(o->c, o->i->seg, mem_off(o, k), v);
    }
    for (; k < n; k += 2) {
        uint16_t v;
        memcpy(&v, buf + k, 2);
        cpu_write16(o->c, o->i->seg, mem_off(o, k), v);
    }
}

/* ---- arithmetic ---- */

/* ModRM.reg of the arithmetic rows: FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR. */
static const enum x87_hop arith_hop[8] = {
    HOP_ADD, HOP_MUL, HOP_COM, HOP_COM, HOP_SUB, HOP_SUBR, HOP_DIV, HOP_DIVR,
};

/* The same operation with the operands exchanged (for ST(i) destinations,
 * which the host computes as its ST(0) so the operands keep their roles). */
static enum x87_hop swapped(enum x87_hop op)
{
    switch (op) {
    case HOP_SUB:  return HOP_SUBR;
    case HOP_SUBR: return HOP_SUB;
    case HOP_DIV:  return HOP_DIVR;
    case HOP_DIVR: return HOP_DIV;
    default:       return op;
    }
}

/* ST(dst) = a op b (a is the destination's old value), then maybe pop.
 * pre: exception flags of converting a memory operand. */
static void arith(struct x87_state *f, enum x87_hop op, unsigned dst,
                  long double a, long double b, unsigned pre, bool pop_after)
{
    struct x87_host_io io = { .in = { a, b } };
    x87_host_run(op, f->fcw, &io);
    if (!accept_result(f, (io.sw & (FSW_EXC | FSW_C1)) | pre))
        return;
    put(f, dst, io.out[0]);
    if (pop_after)
        pop(f);
}

/* D8/DC/DE register forms other than the compares. */
static void arith_reg(struct x87_state *f, unsigned reg, unsigned sti, bool to_sti, bool pop_after)
{
    unsigned dst = to_sti ? sti : 0;
    if (empty(f, 0) || empty(f, sti)) {
        if (stack_underflow(f)) {
            put(f, dst, indefinite());
            if (pop_after)
                pop(f);
        }
        return;
    }
    if (to_sti)
        arith(f, swapped(arith_hop[reg]), dst, st(f, sti), st(f, 0), 0, pop_after);
    else
        arith(f, arith_hop[reg], dst, st(f, 0), st(f, sti), 0, pop_after);
}

/* Compares: FCOM/FUCOM/FTST set C0 C2 C3 (C1 = 0); FCOMI/FUCOMI set ZF PF
 * CF and clear OF SF AF.  b_empty: the second operand is an empty register. */
static void compare(struct x87_op *o, enum x87_hop op, long double b, bool b_empty,
                    unsigned pops, bool eflags, const uint8_t *mem)
{
    struct x87_state *f = &o->f;
    unsigned cc;
    bool complete;            /* no unmasked exception: pop as asked */
    if (empty(f, 0) || b_empty) {
        complete = stack_underflow(f);
        cc = FSW_C0 | FSW_C2 | FSW_C3;   /* unordered, even when unmasked */
    } else {
        /* The condition codes are set even when an unmasked IE or DE is
         * reported (the hardware compares as unordered / by value). */
        struct x87_host_io io = { .in = { st(f, 0), b } };
        if (mem)
            memcpy(io.mem, mem, sizeof(io.mem));
        x87_host_run(op, f->fcw, &io);
        raise_flags(f, io.sw & FSW_EXC);
        if (!eflags)
            set_cc(f, FSW_C1, 0);
        cc = io.sw & (FSW_C0 | FSW_C2 | FSW_C3);
        complete = !unmasked(f, io.sw);
    }
    if (eflags) {
        uint32_t fl = ((cc & FSW_C3) ? EFL_ZF : 0) | ((cc & FSW_C2) ? EFL_PF : 0) |
                      ((cc & FSW_C0) ? EFL_CF : 0);
        cpu_set_eflags(o->c, fl, EFL_ZF | EFL_PF | EFL_CF | EFL_OF | EFL_SF | EFL_AF);
    } else {
        set_cc(f, FSW_C0 | FSW_C2 | FSW_C3, cc);
    }
    while (complete && pops--)
        pop(f);
}

/* ST(0) op memory operand (the D8/DA/DC/DE memory rows), n bytes. */
static void arith_mem(struct x87_op *o, unsigned n)
{
    struct x87_state *f = &o->f;
    unsigned reg = o->i->reg;
    struct x87_host_io io = { .in = { 0, 0 } };
    x87_read_bytes(o, io.mem, n);
    enum x87_hop op = (enum x87_hop)(HOP_MEM + ((o->i->opcode & 7) >> 1) * 8 + reg);
    if (reg == 2 || reg == 3) {
        compare(o, op, 0, false, reg == 3, false, io.mem);
        return;
    }
    if (empty(f, 0)) {
        if (stack_underflow(f))
            put(f, 0, indefinite());
        return;
    }
    io.in[0] = st(f, 0);
    x87_host_run(op, f->fcw, &io);
    if (accept_result(f, io.sw & (FSW_EXC | FSW_C1)))
        put(f, 0, io.out[0]);
}

/* m32fp / m64fp / m80bcd to extended precision (SNaN -> IE, denormal -> DE). */
static long double convert_in(struct x87_state *f, enum x87_hop op, const uint8_t *bytes,
                              unsigned n, unsigned *flags, bool *loaded)
{
    struct x87_host_io io = { .in = { 0, 0 } };
    memcpy(io.mem, bytes, n);
    x87_host_run(op, f->fcw, &io);
    *flags = io.sw & FSW_EXC;
    *loaded = io.depth == 1;   /* an unmasked IE keeps the value out; DE does not */
    return io.out[0];
}

static long double int_from_bytes(const uint8_t *b, unsigned n)
{
    if (n == 2) { int16_t v; memcpy(&v, b, 2); return v; }
    if (n == 4) { int32_t v; memcpy(&v, b, 4); return v; }
    int64_t v;
    memcpy(&v, b, 8);
    return (long double)v;
}

/* ---- loads and stores ---- */

/* Push v (from a conversion with exception flags `flags`; not `loaded`
 * when an unmasked exception stopped it). */
static void push_value(struct x87_state *f, long double v, unsigned flags, bool loaded)
{
    if (!empty(f, 7)) {
        if (stack_overflow(f))
            push(f, indefinite());
        return;
    }
    raise_flags(f, flags);
    set_cc(f, FSW_C1, 0);
    if (loaded)
        push(f, v);
}

/* Convert ST(0) for a store to memory (op: HOP_ST_*, n bytes).  false: an
 * unmasked exception (or stack underflow) forbids the write and the pop. */
static bool convert_out(struct x87_state *f, enum x87_hop op, uint8_t *out, unsigned n)
{
    struct x87_host_io io = { .in = { 0, 0 } };
    if (empty(f, 0)) {
        if (!stack_underflow(f))
            return false;
        io.in[0] = indefinite();
        x87_host_run(op, 0x037f, &io);   /* the indefinite of the format */
        memcpy(out, io.mem, n);
        return true;
    }
    io.in[0] = st(f, 0);
    x87_host_run(op, f->fcw, &io);
    raise_flags(f, io.sw);
    set_cc(f, FSW_C1, io.sw);
    if (unmasked(f, io.sw & (FSW_IE | FSW_DE | FSW_OE | FSW_UE)))
        return false;
    memcpy(out, io.mem, n);
    return true;
}

static void store_mem(struct x87_op *o, enum x87_hop op, unsigned n, bool pop_after)
{
    uint8_t buf[10];
    /* The destination's #PF/#GP comes before any x87 exception (as on the host). */
    check_write_units(o, n);
    if (!convert_out(&o->f, op, buf, n))
        return;
    x87_write_bytes(o, buf, n);
    if (pop_after)
        pop(&o->f);
}

static void fstp_m80(struct x87_op *o)
{
    struct x87_state *f = &o->f;
    long double v;
    check_write_units(o, 10);
    if (empty(f, 0)) {
        if (!stack_underflow(f))
            return;
        v = indefinite();
    } else {
        v = st(f, 0);
        set_cc(f, FSW_C1, 0);
    }
    x87_write_bytes(o, (const uint8_t *)&v, 10);
    pop(f);
}

static void load_mem(struct x87_op *o, unsigned n, enum x87_hop op)
{
    uint8_t b[10];
    x87_read_bytes(o, b, n);
    unsigned flags = 0;
    bool loaded = true;
    long double v;
    if (op == HOP_COUNT) {                 /* m80fp: a plain copy, no exceptions */
        v = 0;
        memcpy(&v, b, 10);
    } else {
        v = convert_in(&o->f, op, b, n, &flags, &loaded);
    }
    push_value(&o->f, v, flags, loaded);
}

static void fild(struct x87_op *o, unsigned n)
{
    uint8_t b[8];
    x87_read_bytes(o, b, n);
    push_value(&o->f, int_from_bytes(b, n), 0, true);
}

/* ---- register-form instructions ---- */

static void fld_sti(struct x87_state *f, unsigned sti)
{
    if (empty(f, sti)) {
        if (stack_underflow(f))
            push(f, indefinite());
        return;
    }
    if (!empty(f, 7)) {
        if (stack_overflow(f))
            push(f, indefinite());
        return;
    }
    push(f, st(f, sti));
    set_cc(f, FSW_C1, 0);
}

static void fst_sti(struct x87_state *f, unsigned sti, bool pop_after)
{
    if (empty(f, 0)) {
        if (!stack_underflow(f))
            return;
        put(f, sti, indefinite());
    } else {
        put(f, sti, st(f, 0));
        set_cc(f, FSW_C1, 0);
    }
    if (pop_after)
        pop(f);
}

/* D9 D8+i: FSTP without the stack-underflow check (an empty ST(0) is not
 * stored, no exception); the host (AMD) executes it so. */
static void fstp_nce(struct x87_state *f, unsigned sti)
{
    if (!empty(f, 0))
        put(f, sti, st(f, 0));
    set_cc(f, FSW_C1, 0);
    pop(f);
}

static void ffree(struct x87_state *f, unsigned sti, bool pop_after)
{
    set_tag(f, phys(f, sti), X87_TAG_EMPTY);
    set_cc(f, FSW_C1, 0);
    if (pop_after)
        pop(f);
}

static void fxch(struct x87_state *f, unsigned sti)
{
    if (empty(f, 0) || empty(f, sti)) {
        if (!stack_underflow(f))
            return;
        if (empty(f, 0))
            put(f, 0, indefinite());
        if (empty(f, sti))
            put(f, sti, indefinite());
    }
    long double a = st(f, 0), b = st(f, sti);
    put(f, 0, b);
    put(f, sti, a);
    set_cc(f, FSW_C1, 0);
}

/* FCMOVcc: DA C0-DF (B E BE U), DB C0-DF (NB NE NBE NU). */
static void fcmov(struct x87_op *o, unsigned sti)
{
    static const uint8_t cc[8] = { 0x2, 0x4, 0x6, 0xa, 0x3, 0x5, 0x7, 0xb };
    struct x87_state *f = &o->f;
    bool take = cpu_cond(o->c, cc[((o->i->opcode & 1) << 2) | o->i->reg]);
    if (empty(f, 0) || empty(f, sti)) {
        if (stack_underflow(f))
            put(f, 0, indefinite());
        return;
    }
    if (take)
        put(f, 0, st(f, sti));
}

static void one_operand(struct x87_state *f, enum x87_hop op, unsigned cc_from_host)
{
    if (empty(f, 0)) {
        set_cc(f, cc_from_host, 0);
        if (stack_underflow(f))
            put(f, 0, indefinite());
        return;
    }
    struct x87_host_io io = { .in = { st(f, 0), 0 } };
    x87_host_run(op, f->fcw, &io);
    set_cc(f, cc_from_host, io.sw);
    if (accept_result(f, io.sw & (FSW_EXC | FSW_C1)))
        put(f, 0, io.out[0]);
}

static void sign_op(struct x87_state *f, bool chs)
{
    if (empty(f, 0)) {
        if (stack_underflow(f))
            put(f, 0, indefinite());
        return;
    }
    long double v = st(f, 0);
    uint16_t se = ld_se(v);
    se = chs ? (uint16_t)(se ^ 0x8000) : (uint16_t)(se & 0x7fff);
    put(f, 0, ld_make(se, ld_sig(v)));
    set_cc(f, FSW_C1, 0);
}

static void fxam(struct x87_state *f)
{
    if (empty(f, 0)) {
        unsigned sign = (ld_se(st(f, 0)) & 0x8000) ? FSW_C1 : 0;
        set_cc(f, FSW_CC, FSW_C3 | FSW_C0 | sign);
        return;
    }
    struct x87_host_io io = { .in = { st(f, 0), 0 } };
    x87_host_run(HOP_XAM, f->fcw, &io);
    set_cc(f, FSW_CC, io.sw);
}

/* ST(0) and ST(1) -> ST(0) (FPREM FPREM1 FSCALE). */
static void two_operand(struct x87_state *f, enum x87_hop op, unsigned cc_from_host)
{
    if (empty(f, 0) || empty(f, 1)) {
        set_cc(f, cc_from_host & FSW_C2, 0);
        if (stack_underflow(f))
            put(f, 0, indefinite());
        return;
    }
    struct x87_host_io io = { .in = { st(f, 0), st(f, 1) } };
    x87_host_run(op, f->fcw, &io);
    set_cc(f, cc_from_host & FSW_C2, io.sw);
    if (!accept_result(f, io.sw & (FSW_EXC | FSW_C1)))
        return;
    /* FPREM with a NaN result reports C1 = C2 = 0 and leaves C0 and C3. */
    if (cc_from_host == FSW_CC && x87_tag_of(io.out[0]) == X87_TAG_SPECIAL &&
        (ld_se(io.out[0]) & 0x7fff) == 0x7fff && (ld_sig(io.out[0]) << 1) != 0)
        cc_from_host = FSW_C2;
    set_cc(f, cc_from_host, io.sw);
    put(f, 0, io.out[0]);
}

/* ST(1) = f(ST(1), ST(0)), pop (FPATAN FYL2X FYL2XP1). */
static void two_operand_pop(struct x87_state *f, enum x87_hop op)
{
    if (empty(f, 0) || empty(f, 1)) {
        if (stack_underflow(f)) {
            put(f, 1, indefinite());
            pop(f);
        }
        return;
    }
    struct x87_host_io io = { .in = { st(f, 0), st(f, 1) } };
    x87_host_run(op, f->fcw, &io);
    if (!accept_result(f, io.sw & (FSW_EXC | FSW_C1)))
        return;
    put(f, 1, io.out[0]);
    pop(f);
}

/* FPTAN FSINCOS FXTRACT: replace ST(0) and push a second value.  FPTAN and
 * FSINCOS leave everything alone with C2 = 1 for |x| >= 2^63. */
static void replace_push(struct x87_state *f, enum x87_hop op)
{
    if (empty(f, 0) || !empty(f, 7)) {
        if (op != HOP_XTRACT)
            set_cc(f, FSW_C2, 0);
        if (empty(f, 0) ? stack_underflow(f) : stack_overflow(f)) {
            put(f, 0, indefinite());
            push(f, indefinite());
        }
        return;
    }
    struct x87_host_io io = { .in = { st(f, 0), 0 } };
    x87_host_run(op, f->fcw, &io);
    if (op != HOP_XTRACT)
        set_cc(f, FSW_C2, io.sw);
    if (!accept_result(f, io.sw & (FSW_EXC | FSW_C1)) || io.depth != 2)
        return;
    put(f, 0, io.out[1]);
    push(f, io.out[0]);
}

static void load_const(struct x87_state *f, enum x87_hop op)
{
    struct x87_host_io io = { .in = { 0, 0 } };
    x87_host_run(op, f->fcw, &io);
    push_value(f, io.out[0], 0, true);
}

/* ---- dispatch ---- */

static _Noreturn void undefined(struct x87_op *o)
{
    op_undefined(o->c, o->i);
    __builtin_unreachable();
}

static void exec_d9_reg(struct x87_op *o)
{
    struct x87_state *f = &o->f;
    unsigned rm = o->i->rm;
    switch (o->i->reg) {
    case 0: begin(o, K_DATA); fld_sti(f, rm); return;
    case 1: begin(o, K_DATA); fxch(f, rm); return;
    case 2:
        if (rm != 0)
            undefined(o);
        begin(o, K_DATA);                      /* FNOP */
        return;
    case 3: begin(o, K_DATA); fstp_nce(f, rm); return;
    default: break;
    }
    static const int8_t d9_ok[32] = {
        /* E0 */ 1, 1, 0, 0, 1, 1, 0, 0, /* E8 */ 1, 1, 1, 1, 1, 1, 1, 0,
        /* F0 */ 1, 1, 1, 1, 1, 1, 1, 1, /* F8 */ 1, 1, 1, 1, 1, 1, 1, 1,
    };
    unsigned sub = ((o->i->reg - 4) << 3) | rm;
    if (!d9_ok[sub])
        undefined(o);
    begin(o, K_DATA);
    switch (0xe0 + sub) {
    case 0xe0: sign_op(f, true); break;
    case 0xe1: sign_op(f, false); break;
    case 0xe4: compare(o, HOP_TST, 0, false, 0, false, NULL); break;
    case 0xe5: fxam(f); break;
    case 0xe8: load_const(f, HOP_LD1); break;
    case 0xe9: load_const(f, HOP_LDL2T); break;
    case 0xea: load_const(f, HOP_LDL2E); break;
    case 0xeb: load_const(f, HOP_LDPI); break;
    case 0xec: load_const(f, HOP_LDLG2); break;
    case 0xed: load_const(f, HOP_LDLN2); break;
    case 0xee: load_const(f, HOP_LDZ); break;
    case 0xf0: one_operand(f, HOP_F2XM1, 0); break;
    case 0xf1: two_operand_pop(f, HOP_YL2X); break;
    case 0xf2: replace_push(f, HOP_PTAN); break;
    case 0xf3: two_operand_pop(f, HOP_PATAN); break;
    case 0xf4: replace_push(f, HOP_XTRACT); break;
    case 0xf5: two_operand(f, HOP_PREM1, FSW_CC); break;
    case 0xf6: set_top(f, top(f) - 1); set_cc(f, FSW_C1, 0); break;   /* FDECSTP */
    case 0xf7: set_top(f, top(f) + 1); set_cc(f, FSW_C1, 0); break;   /* FINCSTP */
    case 0xf8: two_operand(f, HOP_PREM, FSW_CC); break;
    case 0xf9: two_operand_pop(f, HOP_YL2XP1); break;
    case 0xfa: one_operand(f, HOP_SQRT, 0); break;
    case 0xfb: replace_push(f, HOP_SINCOS); break;
    case 0xfc: one_operand(f, HOP_RNDINT, 0); break;
    case 0xfd: two_operand(f, HOP_SCALE, 0); break;
    case 0xfe: one_operand(f, HOP_SIN, FSW_C2); break;
    case 0xff: one_operand(f, HOP_COS, FSW_C2); break;
    default: break;
    }
}

static void exec_db_reg(struct x87_op *o)
{
    struct x87_state *f = &o->f;
    unsigned reg = o->i->reg, rm = o->i->rm;
    if (reg < 4) {
        begin(o, K_DATA);
        fcmov(o, rm);
        return;
    }
    if (reg == 4) {
        switch (rm) {
        case 0: case 1: case 4:                /* FENI FDISI FSETPM: no-ops */
            return;
        case 2:                                /* FNCLEX */
            f->fsw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
            return;
        case 3:
            x87_fninit(f);
            return;
        default:
            undefined(o);
        }
    }
    if (reg == 5 || reg == 6) {                /* FUCOMI / FCOMI */
        begin(o, K_DATA);
        compare(o, reg == 5 ? HOP_UCOM : HOP_COM, st(f, rm), empty(f, rm), 0, true, NULL);
        return;
    }
    undefined(o);
}

static void exec_reg(struct x87_op *o)
{
    struct x87_state *f = &o->f;
    unsigned reg = o->i->reg, rm = o->i->rm;
    switch (o->i->opcode & 7) {
    case 0:
        begin(o, K_DATA);
        if (reg == 2 || reg == 3)
            compare(o, HOP_COM, st(f, rm), empty(f, rm), reg == 3, false, NULL);
        else
            arith_reg(f, reg, rm, false, false);
        return;
    case 1:
        exec_d9_reg(o);
        return;
    case 2:
        if (reg < 4) {
            begin(o, K_DATA);
            fcmov(o, rm);
        } else if (reg == 5 && rm == 1) {      /* FUCOMPP */
            begin(o, K_DATA);
            compare(o, HOP_UCOM, st(f, 1), empty(f, 1), 2, false, NULL);
        } else {
            undefined(o);
        }
        return;
    case 3:
        exec_db_reg(o);
        return;
    case 4:
        begin(o, K_DATA);
        if (reg == 2 || reg == 3)              /* FCOM2 / FCOMP3 aliases */
            compare(o, HOP_COM, st(f, rm), empty(f, rm), reg == 3, false, NULL);
        else
            arith_reg(f, reg, rm, true, false);
        return;
    case 5:
        switch (reg) {
        case 0: begin(o, K_DATA); ffree(f, rm, false); return;
        case 1: begin(o, K_DATA); fxch(f, rm); return;                            /* FXCH4 */
        case 2: begin(o, K_DATA); fst_sti(f, rm, false); return;
        case 3: begin(o, K_DATA); fst_sti(f, rm, true); return;
        case 4: case 5:                                                           /* FUCOM(P) */
            begin(o, K_DATA);
            compare(o, HOP_UCOM, st(f, rm), empty(f, rm), reg == 5, false, NULL);
            return;
        default: undefined(o);
        }
    case 6:
        if (reg == 2) {                        /* FCOMP5 alias */
            begin(o, K_DATA);
            compare(o, HOP_COM, st(f, rm), empty(f, rm), 1, false, NULL);
        } else if (reg == 3) {
            if (rm != 1)
                undefined(o);
            begin(o, K_DATA);                  /* FCOMPP */
            compare(o, HOP_COM, st(f, 1), empty(f, 1), 2, false, NULL);
        } else {
            begin(o, K_DATA);
            arith_reg(f, reg, rm, true, true);
        }
        return;
    case 7:
        switch (reg) {
        case 0:                                /* FFREEP */
            begin(o, K_DATA);
            ffree(f, rm, true);
            return;
        case 1: begin(o, K_DATA); fxch(f, rm); return;                 /* FXCH7 */
        case 2: case 3: begin(o, K_DATA); fst_sti(f, rm, true); return; /* FSTP8/9 */
        case 4:
            if (rm != 0)
                undefined(o);
            set_reg16(o->c, REG_EAX, f->fsw);  /* FNSTSW AX */
            return;
        case 5: case 6:                        /* FUCOMIP / FCOMIP */
            begin(o, K_DATA);
            compare(o, reg == 5 ? HOP_UCOM : HOP_COM, st(f, rm), empty(f, rm), 1, true, NULL);
            return;
        default: undefined(o);
        }
    }
}

static void exec_mem(struct x87_op *o)
{
    struct x87_state *f = &o->f;
    unsigned reg = o->i->reg;
    uint8_t b[2];
    o->ea = insn_ea(o->c, o->i);
    switch ((o->i->opcode & 7) << 3 | reg) {
    case 000: case 001: case 002: case 003: case 004: case 005: case 006: case 007:
        begin(o, K_DATA); arith_mem(o, 4); return;
    case 010: begin(o, K_DATA); load_mem(o, 4, HOP_LD_M32); return;
    case 012: begin(o, K_DATA); store_mem(o, HOP_ST_M32, 4, false); return;
    case 013: begin(o, K_DATA); store_mem(o, HOP_ST_M32, 4, true); return;
    case 014: begin(o, K_CONTROL); x87_fldenv(o); return;
    case 015:                                  /* FLDCW */
        begin(o, K_CONTROL);
        x87_read_bytes(o, b, 2);
        f->fcw = (uint16_t)(((b[0] | b[1] << 8) & 0x1f3f) | 0x40);
        x87_fsw_sync(f);
        return;
    case 016: x87_fnstenv(o); return;
    case 017: x87_write_bytes(o, (const uint8_t *)&f->fcw, 2); return;
    case 020: case 021: case 022: case 023: case 024: case 025: case 026: case 027:
        begin(o, K_DATA); arith_mem(o, 4); return;
    case 030: begin(o, K_DATA); fild(o, 4); return;
    case 032: begin(o, K_DATA); store_mem(o, HOP_ST_I32, 4, false); return;
    case 033: begin(o, K_DATA); store_mem(o, HOP_ST_I32, 4, true); return;
    case 035: begin(o, K_DATA); load_mem(o, 10, HOP_COUNT); return;
    case 037: begin(o, K_DATA); fstp_m80(o); return;
    case 040: case 041: case 042: case 043: case 044: case 045: case 046: case 047:
        begin(o, K_DATA); arith_mem(o, 8); return;
    case 050: begin(o, K_DATA); load_mem(o, 8, HOP_LD_M64); return;
    case 052: begin(o, K_DATA); store_mem(o, HOP_ST_M64, 8, false); return;
    case 053: begin(o, K_DATA); store_mem(o, HOP_ST_M64, 8, true); return;
    case 054: begin(o, K_CONTROL); x87_frstor(o); return;
    case 056: x87_fnsave(o); return;
    case 057: x87_write_bytes(o, (const uint8_t *)&f->fsw, 2); return;
    case 060: case 061: case 062: case 063: case 064: case 065: case 066: case 067:
        begin(o, K_DATA); arith_mem(o, 2); return;
    case 070: begin(o, K_DATA); fild(o, 2); return;
    case 072: begin(o, K_DATA); store_mem(o, HOP_ST_I16, 2, false); return;
    case 073: begin(o, K_DATA); store_mem(o, HOP_ST_I16, 2, true); return;
    case 074: begin(o, K_DATA); load_mem(o, 10, HOP_LD_BCD); return;
    case 075: begin(o, K_DATA); fild(o, 8); return;
    case 076: begin(o, K_DATA); store_mem(o, HOP_ST_BCD, 10, true); return;
    case 077: begin(o, K_DATA); store_mem(o, HOP_ST_I64, 8, true); return;
    default:   /* FISTTP (SSE3, not advertised) and the reserved encodings */
        undefined(o);
    }
}

void x87_exec(struct cpu *c, const struct insn *i)
{
    if (c->s.cr0 & (CR0_EM | CR0_TS))
        cpu_raise(c, EXC_NM, -1);
    struct x87_op o = { .c = c, .i = i, .f = c->s.fpu };
    if (i->mod == 3)
        exec_reg(&o);
    else
        exec_mem(&o);
    bool ferr_rises = !(c->s.fpu.fsw & FSW_ES) && (o.f.fsw & FSW_ES) && !(c->s.cr0 & CR0_NE);
    c->s.fpu = o.f;
    /* FERR# just asserted: end the run so the monitor raises IRQ 13 now,
     * as the PC's interrupt would arrive, not at the next unrelated exit. */
    if (ferr_rises)
        atomic_store(&c->kick, true);
}

void x87_fwait(struct cpu *c, const struct insn *i)
{
    (void)i;
    if ((c->s.cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        cpu_raise(c, EXC_NM, -1);
    check_pending(c);
}

bool x87_ferr_pending(const struct cpu *c)
{
    return (c->s.fpu.fsw & FSW_ES) && !(c->s.cr0 & CR0_NE);
}

void x87_fninit(struct x87_state *f)
{
    f->fcw = 0x037f;
    f->fsw = 0;
    f->ftw = 0xffff;
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
}

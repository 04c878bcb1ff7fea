/* gen.c - generation of user-mode instruction sequences for the
 * differential fuzzer, their layout and their text form.
 *
 * A sequence is a list of slots.  A slot loads the registers its
 * instruction needs (memory operands always point at a known address: the
 * data page, its unmapped neighbours, the stack page, or a 16-bit address),
 * then runs the instruction under test.  Branches only go forward, to a
 * slot start or the end, so every sequence terminates.  While generating,
 * the EFLAGS bits and x87 condition codes the SDM leaves undefined are
 * tracked; an instruction that reads an undefined flag is preceded by
 * `add eax, 0`, which defines all six, and x87 reads of undefined condition
 * codes are not generated.  The layout records the undefined set at every
 * instruction boundary; the comparison masks exactly those bits. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

uint64_t rng_next(struct rng *r)
{
    /* splitmix64: the data pages of stored vectors depend on it, so it must
     * never change. */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned percent) { return rng_below(r, 100) < percent; }

static const uint32_t edge32[] = {
    0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x7fffffff, 0x80000000u, 0x80000001u, 0xffffffffu, 0xfffffffeu, 0xffff8000u,
    0xffffff80u, 0x0000ff00u, 0x00ff00ffu, 0x55555555u, 0xaaaaaaaau, 0x12345678u,
    9, 10, 0x99, 0x0f, 0xf0,
};

/* x87 edge values for the data pages: floats, doubles (low then high dword). */
static const uint32_t edgef[] = {
    0x3f800000u, 0xbf800000u, 0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u,
    0x7fc00000u, 0x7fa00000u, 0x00000001u, 0x007fffffu, 0x7f7fffffu, 0x40490fdbu,
    0x3f000000u, 0x4b000000u, 0xcf000000u, 0x4effffffu,
};

static uint32_t pick_value(struct rng *r)
{
    switch (rng_below(r, 6)) {
    case 0: case 1:
        return edge32[rng_below(r, sizeof(edge32) / sizeof(edge32[0]))];
    case 2:
        return (uint32_t)rng_next(r) & (0xffu << (8 * rng_below(r, 4)));
    case 3:
        return rng_below(r, 64) - 32;
    default:
        return (uint32_t)rng_next(r);
    }
}

static uint32_t pick_imm(struct rng *r, unsigned size)
{
    uint32_t v = pick_value(r);
    return size == 4 ? v : size == 2 ? (v & 0xffff) : (v & 0xff);
}

/* ---- the data and stack pages of a case ---- */

static void fill_page(struct rng *r, uint8_t *p)
{
    for (unsigned k = 0; k < FZ_PAGE; k += 4) {
        uint32_t v;
        switch (rng_below(r, 10)) {
        case 0: case 1: case 2:
            v = edge32[rng_below(r, sizeof(edge32) / sizeof(edge32[0]))];
            break;
        case 3:
            v = edgef[rng_below(r, sizeof(edgef) / sizeof(edgef[0]))];
            break;
        case 4:
            v = rng_below(r, 16) << 20 | 0x3ff00000u;   /* high dword of a double near 1 */
            break;
        default:
            v = (uint32_t)rng_next(r);
        }
        memcpy(p + k, &v, 4);
    }
}

void fz_test_to_case(const struct fz_test *t, struct fz_case *c)
{
    memset(c, 0, sizeof(*c));
    c->magic = FZ_MAGIC;
    memcpy(c->regs, t->regs, sizeof(c->regs));
    c->eflags = t->eflags;
    c->eip = fz_code_end(t->mode) - t->len;
    c->x87 = t->x87;
    c->mode = t->mode;
    memcpy(c->code + FZ_CODE_MAX - t->len, t->code, t->len);
    struct rng r = { t->dseed };
    fill_page(&r, c->data);
    fill_page(&r, c->stack);
}

/* ---- building instructions ---- */

struct gen {
    struct rng *r;
    const struct gen_opts *o;
    struct g_seq *seq;
    int cur;                    /* slot being generated */
    uint32_t undef;             /* EFLAGS undefined now */
    uint16_t cundef;            /* FSW C bits undefined now */
    uint32_t incoming[GEN_MAX_SLOTS + 1];
    uint16_t cincoming[GEN_MAX_SLOTS + 1];
    bool failed;
};

static struct g_slot *slot(struct gen *g) { return &g->seq->slot[g->cur]; }

static struct g_insn *new_insn(struct gen *g)
{
    struct g_slot *s = slot(g);
    if (s->n >= GEN_SLOT_INSNS) {
        g->failed = true;
        s->n = GEN_SLOT_INSNS - 1;
    }
    struct g_insn *in = &s->in[s->n++];
    memset(in, 0, sizeof(*in));
    in->target = -1;
    return in;
}

static void emit(struct g_insn *in, uint8_t b)
{
    if (in->len < sizeof(in->b))
        in->b[in->len++] = b;
}

static void emit_n(struct g_insn *in, uint32_t v, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        emit(in, (uint8_t)(v >> (8 * k)));
}

/* The SS offset of a linear stack address in this sequence's mode (EBP
 * for ENTER/LEAVE is an offset in SS). */
static uint32_t stack_off(const struct gen *g, uint32_t linear)
{
    return linear - fz_ss_base(g->o->mode);
}

/* mov r32, imm32 (set-up: no flags). */
static void setup_reg(struct gen *g, int reg, uint32_t v)
{
    struct g_insn *in = new_insn(g);
    emit(in, (uint8_t)(0xb8 + reg));
    emit_n(in, v, 4);
}

/* mov dword/word [abs], imm (set-up of a memory operand). */
static struct g_insn *setup_mem(struct gen *g, uint32_t addr, uint32_t v, unsigned size)
{
    struct g_insn *in = new_insn(g);
    if (size == 2)
        emit(in, 0x66);
    emit(in, 0xc7);
    emit(in, 0x05);
    emit_n(in, addr, 4);
    emit_n(in, v, size);
    return in;
}

/* Make the flags `rd` defined before the next instruction. */
static void need_flags(struct gen *g, uint32_t rd)
{
    if (!(rd & g->undef))
        return;
    struct g_insn *in = new_insn(g);
    emit(in, 0x83);
    emit(in, 0xc0);
    emit(in, 0x00);
    in->def = FL_ALL;
    g->undef = 0;
}

/* ---- operands ---- */

#define REG_ESP_N 4
#define AV_ESP (1u << REG_ESP_N)

static int pick_reg(struct gen *g, uint32_t avoid)
{
    for (;;) {
        int r = (int)rng_below(g->r, 8);
        if (!(avoid & (1u << r)))
            return r;
    }
}

/* An address for an access of `size` bytes: mostly inside the data page,
 * sometimes straddling its ends or on the stack page, sometimes unmapped. */
static uint32_t pick_target(struct gen *g, unsigned size, bool a16)
{
    struct rng *r = g->r;
    unsigned k = rng_below(r, 100);
    if (size == 0)
        size = 1;
    if (k < 80)
        return FZ_DATA + rng_below(r, FZ_PAGE - size + 1);
    if (k < 86)
        return FZ_DATA + FZ_PAGE - 1 - rng_below(r, size > 1 ? size - 1 : 1);
    if (k < 89)
        return FZ_DATA - 1 - rng_below(r, size);
    if (a16)
        return rng_below(r, 0x10000);
    if (k < 96)
        return FZ_STACK_TOP0 - 0x100 + rng_below(r, 0x200);
    if (k < 98)
        return rng_below(r, 0x1000);
    return 0x40000000u + rng_below(r, 0x10000);
}

struct mem_opts {
    unsigned size;       /* bytes accessed */
    uint32_t avoid;      /* registers that must not be used for the address */
    bool a16_ok;
    int fixed_target;    /* use `target` */
    uint32_t target;
};

/* Emit ModRM (+SIB, displacement) for a memory operand with reg field
 * `regf`, loading the address registers in set-up instructions.  Returns
 * the linear address the operand names. */
static uint32_t gen_mem(struct gen *g, struct g_insn *pre_prefix_holder, struct g_insn **main,
                        int regf, const struct mem_opts *mo)
{
    (void)pre_prefix_holder;
    struct rng *r = g->r;
    /* In 16-bit code a16 operands use the segment's default addressing:
     * make them common there. */
    bool a16 = mo->a16_ok && chance(r, (g->o->mode & FZ_MODE_CS16) ? 50 : 8);
    uint32_t T = mo->fixed_target ? mo->target : pick_target(g, mo->size, a16);
    struct g_insn *in = *main;
    if (a16) {
        /* 16-bit forms: rm 0..7 = bx+si, bx+di, bp+si, bp+di, si, di, bp/disp16, bx. */
        static const int base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
        static const int idx16[8] = { 6, 7, 6, 7, -1, -1, -1, -1 };
        int rm = (int)rng_below(r, 8);
        int mod = (int)rng_below(r, 3);
        if (mo->avoid & (1u << base16[rm]) || (idx16[rm] >= 0 && (mo->avoid & (1u << idx16[rm]))))
            mod = 0, rm = 6;
        uint32_t disp = 0;
        unsigned dlen = 0;
        if (mod == 0 && rm == 6) {
            disp = T & 0xffff;
            dlen = 2;
        } else {
            if (mod == 1) {
                disp = (uint32_t)(int32_t)(int8_t)rng_next(r);
                dlen = 1;
            } else if (mod == 2) {
                disp = (uint32_t)rng_next(r) & 0xffff;
                dlen = 2;
            }
            uint32_t iv = 0;
            if (idx16[rm] >= 0) {
                iv = (uint32_t)rng_next(r);
                setup_reg(g, idx16[rm], iv);
            }
            uint32_t bv = ((T - disp - iv) & 0xffff) | ((uint32_t)rng_next(r) & 0xffff0000u);
            setup_reg(g, base16[rm], bv);
        }
        /* The set-up instructions went before; the main insn moves last. */
        struct g_slot *s = slot(g);
        struct g_insn tmp = *in;
        if (&s->in[s->n - 1] != in) {
            int at = (int)(in - s->in);
            memmove(&s->in[at], &s->in[at + 1], (size_t)(s->n - 1 - at) * sizeof(*in));
            s->in[s->n - 1] = tmp;
            in = &s->in[s->n - 1];
            *main = in;
        }
        /* 67 must come among the prefixes: the caller emitted prefixes and
         * opcode already; insert 67 at the front. */
        memmove(in->b + 1, in->b, in->len);
        in->b[0] = 0x67;
        in->len++;
        emit(in, (uint8_t)((mod << 6) | ((regf & 7) << 3) | rm));
        emit_n(in, disp, dlen);
        return T & 0xffff;
    }

    int form = (int)rng_below(r, 8);
    uint32_t disp;
    int base, index, scale;
    struct g_slot *s = slot(g);
    int at = (int)(in - s->in);
    int setups_before = s->n;
    switch (form) {
    case 0: /* [disp32] */
        emit(in, (uint8_t)(((regf & 7) << 3) | 5));
        emit_n(in, T, 4);
        break;
    case 1: case 2: case 3: { /* [base], [base+disp8], [base+disp32] */
        base = pick_reg(g, mo->avoid | AV_ESP);
        int mod = form - 1;
        if (mod == 0 && base == 5)
            mod = 1;
        disp = mod == 1 ? (uint32_t)(int32_t)(int8_t)rng_next(r) : mod == 2 ? pick_value(r) : 0;
        setup_reg(g, base, T - disp);
        emit(in, (uint8_t)((mod << 6) | ((regf & 7) << 3) | base));
        emit_n(in, disp, mod == 1 ? 1 : mod == 2 ? 4 : 0);
        break;
    }
    case 4: { /* [esp+disp8] on the stack page */
        if (mo->fixed_target) {
            T = mo->target;
            emit(in, (uint8_t)(((regf & 7) << 3) | 5));
            emit_n(in, T, 4);
            break;
        }
        int8_t d = (int8_t)(rng_below(r, 64) - 16);
        T = FZ_STACK_TOP0 + (uint32_t)(int32_t)d;   /* approximate: ESP moves with pushes */
        emit(in, (uint8_t)((1 << 6) | ((regf & 7) << 3) | 4));
        emit(in, 0x24);
        emit(in, (uint8_t)d);
        break;
    }
    default: { /* SIB: [base+index*scale+disp] or [index*scale+disp32] */
        index = pick_reg(g, mo->avoid | AV_ESP);
        scale = (int)rng_below(r, 4);
        bool nobase = chance(r, 20);
        base = nobase ? 5 : pick_reg(g, mo->avoid);
        int mod = nobase ? 0 : (int)rng_below(r, 3);
        if (!nobase && base == 5 && mod == 0)
            mod = 1;
        if (base == REG_ESP_N) {
            /* esp as base: the stack page. */
            int8_t d = (int8_t)rng_below(r, 64);
            uint32_t iv = rng_below(r, 16);
            setup_reg(g, index, iv);
            T = FZ_STACK_TOP0 + (uint32_t)d + (iv << scale);
            emit(in, (uint8_t)((1 << 6) | ((regf & 7) << 3) | 4));
            emit(in, (uint8_t)((scale << 6) | (index << 3) | 4));
            emit(in, (uint8_t)d);
            break;
        }
        disp = nobase || mod == 2 ? pick_value(r) : mod == 1 ? (uint32_t)(int32_t)(int8_t)rng_next(r) : 0;
        uint32_t iv = pick_value(r);
        if (!nobase && index == base) {
            /* v + v*s + disp = T: pick v, solve for disp (mod 2^32). */
            mod = 2;
            disp = T - iv * (1u + (1u << scale));
        } else if (nobase) {
            disp = T - (iv << scale);
        }
        setup_reg(g, index, iv);
        if (!nobase && index != base)
            setup_reg(g, base, T - disp - (iv << scale));
        emit(in, (uint8_t)((mod << 6) | ((regf & 7) << 3) | 4));
        emit(in, (uint8_t)((scale << 6) | (index << 3) | (nobase ? 5 : base)));
        emit_n(in, disp, nobase || mod == 2 ? 4 : mod == 1 ? 1 : 0);
        break;
    }
    }
    /* Move the main instruction after the set-up loads just added. */
    if (s->n != setups_before) {
        struct g_insn tmp = s->in[at];
        memmove(&s->in[at], &s->in[at + 1], (size_t)(s->n - 1 - at) * sizeof(tmp));
        s->in[s->n - 1] = tmp;
        *main = &s->in[s->n - 1];
    }
    return T;
}

/* ---- the instruction table ---- */

enum {
    F_M = 1u << 0,      /* ModRM */
    F_B = 1u << 1,      /* byte operands */
    F_I8 = 1u << 2,     /* imm8 */
    F_IZ = 1u << 3,     /* imm16/32 */
    F_I16 = 1u << 4,    /* imm16 */
    F_MEM = 1u << 5,    /* memory operand only */
    F_REG = 1u << 6,    /* register operand only */
    F_EW = 1u << 7,     /* E is written */
    F_GW = 1u << 8,     /* G is written */
    F_LK = 1u << 9,     /* LOCK allowed with a memory operand */
    F_NO66 = 1u << 10,
    F_W = 1u << 11,     /* E is a word whatever the operand size */
    F_RO = 1u << 12,    /* register in the opcode's low bits */
    F_EB = 1u << 13,    /* E is a byte, G is v (MOVZX/MOVSX) */
    F_IMPL = 1u << 14,  /* no operands we pick */
    F_BITOFF = 1u << 15,/* G is a bit offset into a memory E */
    F_ESZ2X = 1u << 16, /* memory E is twice the operand size (BOUND) */
    F_ESZ8 = 1u << 17,  /* memory E is 8 bytes (CMPXCHG8B) */
    F_IMPL_EAX = 1u << 18,
};

struct op_def {
    const char *name;
    uint16_t opc;       /* 0x0xx, or 0x1xx for 0F xx */
    int8_t ext;         /* /digit, or -1 when ModRM.reg is the G operand */
    uint32_t f;
    uint32_t rd, def, und;
};

#define AR (FL_ALL)
#define LOGIC_DEF (FL_ALL & ~FL_AF)
#define MULDEF (FL_CF | FL_OF)
#define MULUND (FL_SF | FL_ZF | FL_AF | FL_PF)

#define ALU(b, n, rd, def, und, w, lk)                                             \
    { n, b + 0, -1, F_M | F_B | (w ? F_EW : 0) | lk, rd, def, und },               \
    { n, b + 1, -1, F_M | (w ? F_EW : 0) | lk, rd, def, und },                     \
    { n, b + 2, -1, F_M | F_B | (w ? F_GW : 0), rd, def, und },                    \
    { n, b + 3, -1, F_M | (w ? F_GW : 0), rd, def, und },                          \
    { n, b + 4, 0, F_I8 | F_IMPL, rd, def, und },                                  \
    { n, b + 5, 0, F_IZ | F_IMPL, rd, def, und },                                  \
    { n, 0x80, (b) >> 3, F_M | F_B | F_I8 | (w ? F_EW : 0) | lk, rd, def, und },   \
    { n, 0x82, (b) >> 3, F_M | F_B | F_I8 | (w ? F_EW : 0) | lk, rd, def, und },   \
    { n, 0x81, (b) >> 3, F_M | F_IZ | (w ? F_EW : 0) | lk, rd, def, und },         \
    { n, 0x83, (b) >> 3, F_M | F_I8 | (w ? F_EW : 0) | lk, rd, def, und }

static const struct op_def ops[] = {
    ALU(0x00, "add", 0, AR, 0, 1, F_LK),
    ALU(0x08, "or", 0, LOGIC_DEF, FL_AF, 1, F_LK),
    ALU(0x10, "adc", FL_CF, AR, 0, 1, F_LK),
    ALU(0x18, "sbb", FL_CF, AR, 0, 1, F_LK),
    ALU(0x20, "and", 0, LOGIC_DEF, FL_AF, 1, F_LK),
    ALU(0x28, "sub", 0, AR, 0, 1, F_LK),
    ALU(0x30, "xor", 0, LOGIC_DEF, FL_AF, 1, F_LK),
    ALU(0x38, "cmp", 0, AR, 0, 0, 0),
    { "test", 0x84, -1, F_M | F_B, 0, LOGIC_DEF, FL_AF },
    { "test", 0x85, -1, F_M, 0, LOGIC_DEF, FL_AF },
    { "test", 0xa8, 0, F_I8 | F_IMPL, 0, LOGIC_DEF, FL_AF },
    { "test", 0xa9, 0, F_IZ | F_IMPL, 0, LOGIC_DEF, FL_AF },
    { "test", 0xf6, 0, F_M | F_B | F_I8, 0, LOGIC_DEF, FL_AF },
    { "test", 0xf7, 0, F_M | F_IZ, 0, LOGIC_DEF, FL_AF },
    { "not", 0xf6, 2, F_M | F_B | F_EW | F_LK, 0, 0, 0 },
    { "not", 0xf7, 2, F_M | F_EW | F_LK, 0, 0, 0 },
    { "neg", 0xf6, 3, F_M | F_B | F_EW | F_LK, 0, AR, 0 },
    { "neg", 0xf7, 3, F_M | F_EW | F_LK, 0, AR, 0 },
    { "mul", 0xf6, 4, F_M | F_B, 0, MULDEF, MULUND },
    { "mul", 0xf7, 4, F_M, 0, MULDEF, MULUND },
    { "imul", 0xf6, 5, F_M | F_B, 0, MULDEF, MULUND },
    { "imul", 0xf7, 5, F_M, 0, MULDEF, MULUND },
    { "div", 0xf6, 6, F_M | F_B, 0, 0, AR },
    { "div", 0xf7, 6, F_M, 0, 0, AR },
    { "idiv", 0xf6, 7, F_M | F_B, 0, 0, AR },
    { "idiv", 0xf7, 7, F_M, 0, 0, AR },
    { "imul", 0x1af, -1, F_M | F_GW, 0, MULDEF, MULUND },
    { "imul", 0x69, -1, F_M | F_GW | F_IZ, 0, MULDEF, MULUND },
    { "imul", 0x6b, -1, F_M | F_GW | F_I8, 0, MULDEF, MULUND },
    { "inc", 0x40, 0, F_RO, 0, FL_ALL & ~FL_CF, 0 },
    { "dec", 0x48, 0, F_RO, 0, FL_ALL & ~FL_CF, 0 },
    { "inc", 0xfe, 0, F_M | F_B | F_EW | F_LK, 0, FL_ALL & ~FL_CF, 0 },
    { "dec", 0xfe, 1, F_M | F_B | F_EW | F_LK, 0, FL_ALL & ~FL_CF, 0 },
    { "inc", 0xff, 0, F_M | F_EW | F_LK, 0, FL_ALL & ~FL_CF, 0 },
    { "dec", 0xff, 1, F_M | F_EW | F_LK, 0, FL_ALL & ~FL_CF, 0 },
    { "xchg", 0x86, -1, F_M | F_B | F_EW | F_GW | F_LK, 0, 0, 0 },
    { "xchg", 0x87, -1, F_M | F_EW | F_GW | F_LK, 0, 0, 0 },
    { "xchg", 0x90, 0, F_RO, 0, 0, 0 },
    { "mov", 0x88, -1, F_M | F_B | F_EW, 0, 0, 0 },
    { "mov", 0x89, -1, F_M | F_EW, 0, 0, 0 },
    { "mov", 0x8a, -1, F_M | F_B | F_GW, 0, 0, 0 },
    { "mov", 0x8b, -1, F_M | F_GW, 0, 0, 0 },
    { "mov", 0xc6, 0, F_M | F_B | F_EW | F_I8, 0, 0, 0 },
    { "mov", 0xc7, 0, F_M | F_EW | F_IZ, 0, 0, 0 },
    { "mov", 0xb0, 0, F_RO | F_B | F_I8, 0, 0, 0 },
    { "mov", 0xb8, 0, F_RO | F_IZ, 0, 0, 0 },
    { "lea", 0x8d, -1, F_M | F_MEM | F_GW, 0, 0, 0 },
    { "movzx", 0x1b6, -1, F_M | F_GW | F_EB, 0, 0, 0 },
    { "movzx", 0x1b7, -1, F_M | F_GW | F_W, 0, 0, 0 },
    { "movsx", 0x1be, -1, F_M | F_GW | F_EB, 0, 0, 0 },
    { "movsx", 0x1bf, -1, F_M | F_GW | F_W, 0, 0, 0 },
    { "cbw", 0x98, 0, F_IMPL, 0, 0, 0 },
    { "cwd", 0x99, 0, F_IMPL, 0, 0, 0 },
    { "bt", 0x1a3, -1, F_M | F_BITOFF, 0, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF },
    { "bts", 0x1ab, -1, F_M | F_BITOFF | F_EW | F_LK, 0, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF },
    { "btr", 0x1b3, -1, F_M | F_BITOFF | F_EW | F_LK, 0, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF },
    { "btc", 0x1bb, -1, F_M | F_BITOFF | F_EW | F_LK, 0, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF },
    { "bt", 0x1ba, 4, F_M | F_I8, 0, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF },
    { "bts", 0x1ba, 5, F_M | F_I8 | F_EW | F_LK, 0, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF },
    { "btr", 0x1ba, 6, F_M | F_I8 | F_EW | F_LK, 0, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF },
    { "btc", 0x1ba, 7, F_M | F_I8 | F_EW | F_LK, 0, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF },
    { "bsf", 0x1bc, -1, F_M | F_GW, 0, FL_ZF, FL_ALL & ~FL_ZF },
    { "bsr", 0x1bd, -1, F_M | F_GW, 0, FL_ZF, FL_ALL & ~FL_ZF },
    { "cmpxchg", 0x1b0, -1, F_M | F_B | F_EW | F_LK, 0, AR, 0 },
    { "cmpxchg", 0x1b1, -1, F_M | F_EW | F_LK, 0, AR, 0 },
    { "xadd", 0x1c0, -1, F_M | F_B | F_EW | F_GW | F_LK, 0, AR, 0 },
    { "xadd", 0x1c1, -1, F_M | F_EW | F_GW | F_LK, 0, AR, 0 },
    { "cmpxchg8b", 0x1c7, 1, F_M | F_MEM | F_EW | F_LK | F_ESZ8 | F_NO66, 0, FL_ZF, 0 },
    { "bswap", 0x1c8, 0, F_RO | F_NO66, 0, 0, 0 },
    { "push", 0x50, 0, F_RO, 0, 0, 0 },
    { "pop", 0x58, 0, F_RO, 0, 0, 0 },
    { "push", 0x68, 0, F_IZ | F_IMPL, 0, 0, 0 },
    { "push", 0x6a, 0, F_I8 | F_IMPL, 0, 0, 0 },
    { "push", 0xff, 6, F_M, 0, 0, 0 },
    { "pop", 0x8f, 0, F_M | F_EW, 0, 0, 0 },
    { "pusha", 0x60, 0, F_IMPL, 0, 0, 0 },
    { "popa", 0x61, 0, F_IMPL, 0, 0, 0 },
    { "pushf", 0x9c, 0, F_IMPL, FL_ALL, 0, 0 },
    { "lahf", 0x9f, 0, F_IMPL | F_NO66, FL_ALL & ~FL_OF, 0, 0 },
    { "sahf", 0x9e, 0, F_IMPL | F_NO66, 0, FL_ALL & ~FL_OF, 0 },
    { "clc", 0xf8, 0, F_IMPL | F_NO66, 0, FL_CF, 0 },
    { "stc", 0xf9, 0, F_IMPL | F_NO66, 0, FL_CF, 0 },
    { "cmc", 0xf5, 0, F_IMPL | F_NO66, FL_CF, FL_CF, 0 },
    { "cld", 0xfc, 0, F_IMPL | F_NO66, 0, 0, 0 },
    { "std", 0xfd, 0, F_IMPL | F_NO66, 0, 0, 0 },
    { "nop", 0x90, 0, F_IMPL | F_NO66, 0, 0, 0 },
    { "nop", 0x11f, 0, F_M, 0, 0, 0 },
    { "aaa", 0x37, 0, F_IMPL | F_NO66, FL_AF, FL_AF | FL_CF, FL_OF | FL_SF | FL_ZF | FL_PF },
    { "aas", 0x3f, 0, F_IMPL | F_NO66, FL_AF, FL_AF | FL_CF, FL_OF | FL_SF | FL_ZF | FL_PF },
    { "daa", 0x27, 0, F_IMPL | F_NO66, FL_AF | FL_CF, FL_ALL & ~FL_OF, FL_OF },
    { "das", 0x2f, 0, F_IMPL | F_NO66, FL_AF | FL_CF, FL_ALL & ~FL_OF, FL_OF },
    { "aam", 0xd4, 0, F_IMPL | F_I8 | F_NO66, 0, FL_SF | FL_ZF | FL_PF, FL_OF | FL_AF | FL_CF },
    { "aad", 0xd5, 0, F_IMPL | F_I8 | F_NO66, 0, FL_SF | FL_ZF | FL_PF, FL_OF | FL_AF | FL_CF },
    { "bound", 0x62, -1, F_M | F_MEM | F_ESZ2X, 0, 0, 0 },
    { "arpl", 0x63, -1, F_M | F_EW | F_W | F_NO66, 0, FL_ZF, 0 },
    { "mov", 0x8c, -1, F_M | F_EW | F_W, 0, 0, 0 },   /* Ew, Sreg: reg field fixed below */
    { "int3", 0xcc, 0, F_IMPL | F_NO66, 0, 0, 0 },
    { "into", 0xce, 0, F_IMPL | F_NO66, FL_OF, 0, 0 },
    /* INT1 (F1) is left out: this host (a guest itself) reports the #DB
     * of ICEBP with EIP at the instruction, not after it. */
    { "ud2", 0x10b, 0, F_IMPL, 0, 0, 0 },
    { "hlt", 0xf4, 0, F_IMPL, 0, 0, 0 },
    { "cli", 0xfa, 0, F_IMPL, 0, 0, 0 },
    { "sti", 0xfb, 0, F_IMPL, 0, 0, 0 },
    { "in", 0xe4, 0, F_IMPL | F_I8, 0, 0, 0 },
    { "in", 0xe5, 0, F_IMPL | F_I8, 0, 0, 0 },
    { "out", 0xe6, 0, F_IMPL | F_I8, 0, 0, 0 },
    { "out", 0xe7, 0, F_IMPL | F_I8, 0, 0, 0 },
    { "in", 0xec, 0, F_IMPL, 0, 0, 0 },
    { "out", 0xef, 0, F_IMPL, 0, 0, 0 },
    { "insb", 0x6c, 0, F_IMPL, 0, 0, 0 },
    { "outs", 0x6f, 0, F_IMPL, 0, 0, 0 },
    { "clts", 0x106, 0, F_IMPL, 0, 0, 0 },
    { "invd", 0x108, 0, F_IMPL, 0, 0, 0 },
    { "wbinvd", 0x109, 0, F_IMPL, 0, 0, 0 },
    { "wrmsr", 0x130, 0, F_IMPL, 0, 0, 0 },
    { "rdmsr", 0x132, 0, F_IMPL, 0, 0, 0 },
    { "mov cr", 0x120, 0, F_M | F_REG, 0, 0, 0 },
    { "mov cr", 0x122, 0, F_M | F_REG, 0, 0, 0 },
    { "mov dr", 0x121, 7, F_M | F_REG, 0, 0, 0 },
    { "lgdt", 0x101, 2, F_M | F_MEM, 0, 0, 0 },
    { "lidt", 0x101, 3, F_M | F_MEM, 0, 0, 0 },
    { "lmsw", 0x101, 6, F_M | F_W, 0, 0, 0 },
    { "invlpg", 0x101, 7, F_M | F_MEM, 0, 0, 0 },
    { "lldt", 0x100, 2, F_M | F_W, 0, 0, 0 },
    { "ltr", 0x100, 3, F_M | F_W, 0, 0, 0 },
    { "grp4 /7", 0xfe, 7, F_M | F_B, 0, 0, 0 },
    { "grp5 /7", 0xff, 7, F_M, 0, 0, 0 },
    { "lea reg", 0x8d, -1, F_M | F_REG | F_GW, 0, 0, 0 },
    { "bound reg", 0x62, -1, F_M | F_REG, 0, 0, 0 },
    { "cmpxchg8b reg", 0x1c7, 1, F_M | F_REG | F_NO66, 0, 0, 0 },
};

/* Condition code -> flags read. */
static uint32_t cc_reads(unsigned cc)
{
    static const uint32_t t[8] = { FL_OF, FL_CF, FL_ZF, FL_CF | FL_ZF, FL_SF, FL_PF,
                                   FL_SF | FL_OF, FL_ZF | FL_SF | FL_OF };
    return t[(cc >> 1) & 7];
}

static void emit_opcode(struct g_insn *in, uint16_t opc)
{
    if (opc & 0x100)
        emit(in, 0x0f);
    emit(in, (uint8_t)opc);
}

static void set_flags(struct g_insn *in, uint32_t rd, uint32_t def, uint32_t und)
{
    in->rd = rd;
    in->def = def;
    in->und = und;
}

static void name_slot(struct gen *g, const char *n)
{
    snprintf(slot(g)->name, sizeof(slot(g)->name), "%s", n);
}

static void apply_effect(struct gen *g, const struct g_insn *in)
{
    g->undef = (g->undef & ~(in->def | in->und)) | in->und;
    g->cundef = (uint16_t)((g->cundef & ~(in->cdef | in->cund)) | in->cund);
}

static const uint8_t seg_prefixes[6] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };

/* Prefixes: operand size, a segment override on memory operands, LOCK. */
static void emit_prefixes(struct gen *g, struct g_insn *in, bool o16, bool mem, bool lock)
{
    struct rng *r = g->r;
    if (lock)
        emit(in, 0xf0);
    if (mem && chance(r, 10))
        emit(in, seg_prefixes[rng_below(r, 6)]);
    if (o16)
        emit(in, 0x66);
}

/* The plain table-driven instructions. */
static void gen_plain(struct gen *g, const struct op_def *d)
{
    struct rng *r = g->r;
    bool o16 = !(d->f & (F_NO66)) && chance(r, (g->o->mode & FZ_MODE_CS16) ? 60 : 25);
    unsigned vsize = o16 ? 2 : 4;
    unsigned esize = (d->f & F_B) || (d->f & F_EB) ? 1 : (d->f & F_W) ? 2 : vsize;
    if (d->f & F_ESZ2X)
        esize = 2 * vsize;
    if (d->f & F_ESZ8)
        esize = 8;
    bool mem = (d->f & F_M) && !(d->f & F_REG) && ((d->f & F_MEM) || chance(r, 45));
    bool lock = mem && (d->f & F_LK) && chance(r, 15);
    /* LOCK where it is not allowed: #UD (but not on MOV CRn, which AMD
     * CPUs read as an access to CR8). */
    if (!lock && (d->opc & 0x1fc) != 0x120 && chance(r, 1))
        lock = true;
    need_flags(g, d->rd);
    name_slot(g, d->name);

    /* The G operand and set-ups it needs first. */
    int greg = 0;
    uint32_t avoid = 0;
    if (d->f & F_M) {
        if (d->ext >= 0) {
            greg = d->ext;
        } else {
            bool gbyte = (d->f & F_B) != 0;
            greg = pick_reg(g, (d->f & F_GW) && !gbyte ? AV_ESP : 0);
            if (d->opc == 0x8c)
                greg = (int)rng_below(r, 8) < 7 ? (int)rng_below(r, 6) : 6;
            if (d->opc == 0x120 || d->opc == 0x122)
                greg = (int)rng_below(r, 5);
            if (d->f & F_BITOFF) {
                if (mem) {
                    uint32_t off = (uint32_t)((int32_t)rng_below(r, 512) - 256);
                    setup_reg(g, greg, off);
                }
                avoid |= 1u << greg;
            }
        }
        if (d->opc == 0x1c7 || d->opc == 0x1b0 || d->opc == 0x1b1)
            avoid |= 1u;   /* EAX is an implicit operand: keep its value */
    }

    struct g_insn *in = new_insn(g);
    emit_prefixes(g, in, o16, mem, lock);
    uint16_t opc = d->opc;
    if (d->f & F_RO) {
        int reg = pick_reg(g, (d->f & F_B) ? 0 : AV_ESP);
        if (d->opc == 0x50)
            reg = (int)rng_below(r, 8);
        if (d->opc == 0x90 && reg == 0)
            reg = 1;
        opc = (uint16_t)(opc + reg);
    }
    emit_opcode(in, opc);
    if (d->f & F_M) {
        if (mem) {
            struct mem_opts mo = { .size = esize, .avoid = avoid, .a16_ok = true };
            gen_mem(g, NULL, &in, greg, &mo);
        } else {
            int rm = pick_reg(g, (d->f & F_EW) && !(d->f & F_B) ? AV_ESP : 0);
            if ((d->f & (F_EW | F_GW)) == 0 && d->ext == 6 && opc == 0xff)
                rm = (int)rng_below(r, 8);
            emit(in, (uint8_t)(0xc0 | ((greg & 7) << 3) | rm));
        }
    }
    if (d->f & F_I8) {
        uint32_t v = pick_imm(r, 1);
        if (d->opc == 0xd4 || d->opc == 0xd5)
            v = chance(r, 70) ? 10 : chance(r, 20) ? 0 : pick_imm(r, 1);
        emit(in, (uint8_t)v);
    }
    if (d->f & F_IZ)
        emit_n(in, pick_imm(r, vsize), vsize);
    if (d->f & F_I16)
        emit_n(in, pick_imm(r, 2), 2);
    /* BSF/BSR of 0: the SDM calls the destination undefined; it is compared
     * strictly anyway, as Intel and AMD CPUs (and Linux code) leave it
     * unchanged. */
    set_flags(in, d->rd, d->def, d->und);
}

/* Shifts and rotates: the count is always known here (an immediate, 1, or
 * CL loaded right before), so the flags' definedness is exact. */
static void gen_shift(struct gen *g)
{
    struct rng *r = g->r;
    static const int exts[] = { 0, 1, 2, 3, 4, 5, 7 };
    static const char *const names[] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
    int ext = exts[rng_below(r, 7)];
    bool byte = chance(r, 33);
    bool o16 = !byte && chance(r, 30);
    unsigned bits = byte ? 8 : o16 ? 16 : 32;
    int form = (int)rng_below(r, 3);   /* 0 imm8, 1 by 1, 2 by CL */
    static const uint8_t counts[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 255 };
    unsigned count = form == 1 ? 1 : chance(r, 70) ? counts[rng_below(r, sizeof(counts))] : rng_below(r, 256);
    unsigned c = count & 31;
    name_slot(g, names[ext]);

    uint32_t rd = (ext == 2 || ext == 3) ? FL_CF : 0, def = 0, und = 0;
    if (c != 0) {
        if (ext <= 3) {
            def = FL_CF;
            if (c == 1)
                def |= FL_OF;
            else
                und |= FL_OF;
        } else {
            def = FL_SF | FL_ZF | FL_PF | FL_CF;
            und = FL_AF;
            if (ext != 7 && c >= bits) {
                def &= ~FL_CF;
                und |= FL_CF;
            }
            if (c == 1)
                def |= FL_OF;
            else
                und |= FL_OF;
        }
    }
    need_flags(g, rd);
    bool mem = chance(r, 40);
    uint32_t avoid = form == 2 ? (1u << 1) : 0;
    struct g_insn *in = new_insn(g);
    emit_prefixes(g, in, o16, mem, false);
    emit(in, (uint8_t)((form == 0 ? 0xc0 : form == 1 ? 0xd0 : 0xd2) + (byte ? 0 : 1)));
    if (mem) {
        struct mem_opts mo = { .size = bits / 8, .avoid = avoid, .a16_ok = true };
        gen_mem(g, NULL, &in, ext, &mo);
    } else {
        emit(in, (uint8_t)(0xc0 | (ext << 3) | pick_reg(g, byte ? 0 : AV_ESP)));
    }
    if (form == 0)
        emit(in, (uint8_t)count);
    set_flags(in, rd, def, und);
    if (form == 2) {
        /* mov cl, count goes right before the shift. */
        struct g_slot *s = slot(g);
        struct g_insn main = *in;
        s->n--;
        struct g_insn *m = new_insn(g);
        emit(m, 0xb1);
        emit(m, (uint8_t)count);
        struct g_insn *again = new_insn(g);
        *again = main;
        (void)m;
    }
}

/* SHLD/SHRD. */
static void gen_shxd(struct gen *g)
{
    struct rng *r = g->r;
    bool right = chance(r, 50);
    bool cl = chance(r, 50);
    bool o16 = chance(r, 30);
    unsigned bits = o16 ? 16 : 32;
    unsigned count = chance(r, 50) ? (uint8_t[]){ 0, 1, 2, 15, 16, 31, 32, 33 }[rng_below(r, 8)] : rng_below(r, 256);
    unsigned c = count & 31;
    name_slot(g, right ? "shrd" : "shld");
    uint32_t def = 0, und = 0;
    if (o16 && c > 16) {
        /* Undefined by the SDM; morph matches the host's result (and the
         * SF ZF PF that follow it), not its CF and OF. */
        def = FL_SF | FL_ZF | FL_PF;
        und = FL_CF | FL_OF | FL_AF;
    } else if (c) {
        def = FL_CF | FL_SF | FL_ZF | FL_PF;
        und = FL_AF;
        if (c == 1)
            def |= FL_OF;
        else
            und |= FL_OF;
    }
    bool mem = chance(r, 40);
    int greg = pick_reg(g, 0);
    uint32_t avoid = cl ? (1u << 1) : 0;
    if (cl) {
        struct g_insn *m = new_insn(g);
        emit(m, 0xb1);
        emit(m, (uint8_t)count);
        if (greg == 1)
            greg = 2;
    }
    struct g_insn *in = new_insn(g);
    emit_prefixes(g, in, o16, mem, false);
    emit(in, 0x0f);
    emit(in, (uint8_t)((right ? 0xac : 0xa4) + (cl ? 1 : 0)));
    if (mem) {
        struct mem_opts mo = { .size = bits / 8, .avoid = avoid, .a16_ok = true };
        gen_mem(g, NULL, &in, greg, &mo);
    } else {
        int rm = pick_reg(g, AV_ESP | avoid);
        emit(in, (uint8_t)(0xc0 | (greg << 3) | rm));
    }
    if (!cl)
        emit(in, (uint8_t)count);
    set_flags(in, 0, def, und);
    /* mov cl after the address set-ups (they avoid ECX anyway). */
}

static int pick_target_slot(struct gen *g, int maxdist)
{
    int n = g->seq->n;
    int t = g->cur + 1 + (int)rng_below(g->r, (uint32_t)maxdist);
    return t >= n ? GEN_END : t;
}

static void add_target(struct gen *g, struct g_insn *in, int t, enum fix_kind k, unsigned off)
{
    in->target = (int8_t)t;
    in->fix_kind = (uint8_t)k;
    in->fix_off = (uint8_t)off;
    int idx = t == GEN_END ? g->seq->n : t;
    g->incoming[idx] |= g->undef;
    g->cincoming[idx] |= g->cundef;
}

static void gen_branch(struct gen *g)
{
    struct rng *r = g->r;
    unsigned kind = rng_below(r, 11);
    struct g_insn *in;
    unsigned cc = rng_below(r, 16);
    /* In 16-bit code half the branches keep the 16-bit operand size: rel16
     * displacements, IP truncated to 16 bits, 2-byte return addresses.
     * (No random draw in 32-bit code, so its sequences stay as they were.) */
    bool b16 = (g->o->mode & FZ_MODE_CS16) && chance(r, 50);
    enum fix_kind rel = b16 ? FIX_REL16 : FIX_REL32, abs = b16 ? FIX_ABS16 : FIX_ABS32;
    unsigned relsize = b16 ? 2 : 4;
    switch (kind) {
    case 0: case 1: /* Jcc rel8 */
        need_flags(g, cc_reads(cc));
        name_slot(g, "jcc8");
        in = new_insn(g);
        emit(in, (uint8_t)(0x70 + cc));
        emit(in, 0);
        in->rd = cc_reads(cc);
        add_target(g, in, pick_target_slot(g, 3), FIX_REL8, 1);
        break;
    case 2: case 3: /* Jcc rel32 (rel16) */
        need_flags(g, cc_reads(cc));
        name_slot(g, b16 ? "jcc16" : "jcc32");
        in = new_insn(g);
        emit(in, 0x0f);
        emit(in, (uint8_t)(0x80 + cc));
        emit_n(in, 0, relsize);
        in->rd = cc_reads(cc);
        add_target(g, in, pick_target_slot(g, 6), rel, 2);
        break;
    case 4: /* JMP rel8 / rel32 (rel16) */
        name_slot(g, "jmp");
        in = new_insn(g);
        if (chance(r, 50)) {
            emit(in, 0xeb);
            emit(in, 0);
            add_target(g, in, pick_target_slot(g, 3), FIX_REL8, 1);
        } else {
            emit(in, 0xe9);
            emit_n(in, 0, relsize);
            add_target(g, in, pick_target_slot(g, 6), rel, 1);
        }
        break;
    case 5: /* CALL rel32 (rel16) */
        name_slot(g, "call");
        in = new_insn(g);
        emit(in, 0xe8);
        emit_n(in, 0, relsize);
        add_target(g, in, pick_target_slot(g, 6), rel, 1);
        break;
    case 6: { /* LOOP/LOOPE/LOOPNE/JECXZ, maybe with 67 (CX) */
        unsigned op = rng_below(r, 4);
        static const char *const n[] = { "loopne", "loope", "loop", "jecxz" };
        uint32_t rd = op < 2 ? FL_ZF : 0;
        need_flags(g, rd);
        name_slot(g, n[op]);
        if (chance(r, 50))
            setup_reg(g, 1, pick_value(r));
        in = new_insn(g);
        if (chance(r, 20))
            emit(in, 0x67);
        emit(in, (uint8_t)(0xe0 + op));
        emit(in, 0);
        in->rd = rd;
        add_target(g, in, pick_target_slot(g, 3), FIX_REL8, in->len - 1);
        break;
    }
    case 7: case 8: { /* JMP/CALL through a register or memory */
        bool call = kind == 8;
        name_slot(g, call ? "call ind" : "jmp ind");
        int t = pick_target_slot(g, 5);
        if (chance(r, 50)) {
            int reg = pick_reg(g, AV_ESP);
            struct g_insn *s = new_insn(g);
            emit(s, (uint8_t)(0xb8 + reg));
            emit_n(s, 0, 4);
            add_target(g, s, t, FIX_ABS32, 1);
            in = new_insn(g);
            emit(in, 0xff);
            emit(in, (uint8_t)(0xc0 | ((call ? 2 : 4) << 3) | reg));
        } else {
            uint32_t a = FZ_DATA + (rng_below(r, FZ_PAGE / 4 - 1) * 4);
            struct g_insn *s = setup_mem(g, a, 0, 4);
            add_target(g, s, t, FIX_ABS32, 6);
            in = new_insn(g);
            emit(in, 0xff);
            emit(in, (uint8_t)(((call ? 2 : 4) << 3) | 5));
            emit_n(in, a, 4);
        }
        break;
    }
    default: { /* PUSH target; RET [imm16] */
        name_slot(g, "ret");
        int t = pick_target_slot(g, 5);
        struct g_insn *s = new_insn(g);
        emit(s, 0x68);
        emit_n(s, 0, relsize);
        s->keep16 = b16;
        add_target(g, s, t, abs, 1);
        in = new_insn(g);
        if (chance(r, 30)) {
            emit(in, 0xc2);
            emit_n(in, rng_below(r, 3) * 4 + (chance(r, 10) ? 2 : 0), 2);
        } else {
            emit(in, 0xc3);
        }
        break;
    }
    }
    in->keep16 = b16;
}

/* Selectors worth loading: null ones, Linux's flat user segments, kernel
 * segments (DPL 0), a 64-bit code segment, the TSS, empty entries, LDT. */
static uint16_t pick_selector(struct rng *r)
{
    static const uint16_t sels[] = { 0x00, 0x01, 0x03, 0x2b, 0x2b, 0x2b, 0x23, 0x23, 0x2b,
                                     0x2a, 0x29, 0x08, 0x0b, 0x10, 0x18, 0x1b, 0x33, 0x38,
                                     0x3b, 0x40, 0x43, 0x2f, 0x07, 0x80, 0xfffb,
                                     /* the LDT's 16-bit segments (fz.h), RPL 3 and 0 */
                                     0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x04, 0x0c, 0x37 };
    return sels[rng_below(r, sizeof(sels) / sizeof(sels[0]))];
}

static void gen_segment(struct gen *g)
{
    struct rng *r = g->r;
    unsigned kind = rng_below(r, 7);
    uint16_t sel = pick_selector(r);
    static const int loadable[] = { 0, 2, 3, 4, 5, 0, 3, 4, 5, 1 };
    int sreg = loadable[rng_below(r, 10)];
    struct g_insn *in;
    switch (kind) {
    case 0: case 1: { /* mov sreg, r/m16 */
        name_slot(g, "mov sreg");
        bool mem = chance(r, 40);
        if (mem) {
            uint32_t a = FZ_DATA + rng_below(r, FZ_PAGE - 2);
            setup_mem(g, a, sel, 2);
            in = new_insn(g);
            emit_prefixes(g, in, chance(r, 20), true, false);
            emit(in, 0x8e);
            struct mem_opts mo = { .size = 2, .fixed_target = 1, .target = a };
            gen_mem(g, NULL, &in, sreg, &mo);
        } else {
            int reg = pick_reg(g, AV_ESP);
            setup_reg(g, reg, (uint32_t)rng_next(r) << 16 | sel);
            in = new_insn(g);
            if (chance(r, 20))
                emit(in, 0x66);
            emit(in, 0x8e);
            emit(in, (uint8_t)(0xc0 | (sreg << 3) | reg));
        }
        break;
    }
    case 2: { /* push imm; pop sreg */
        name_slot(g, "pop sreg");
        static const uint16_t pops[] = { 0x07, 0x17, 0x1f, 0x1a1, 0x1a9 };
        uint16_t op = pops[rng_below(r, 5)];
        bool o16 = chance(r, 20);
        in = new_insn(g);
        if (o16)
            emit(in, 0x66);
        emit(in, 0x68);
        emit_n(in, sel, o16 ? 2 : 4);
        in = new_insn(g);
        if (o16)
            emit(in, 0x66);
        emit_opcode(in, op);
        break;
    }
    case 3: { /* push sreg */
        name_slot(g, "push sreg");
        static const uint16_t pushes[] = { 0x06, 0x0e, 0x16, 0x1e, 0x1a0, 0x1a8 };
        in = new_insn(g);
        if (chance(r, 25))
            emit(in, 0x66);
        emit_opcode(in, pushes[rng_below(r, 6)]);
        break;
    }
    case 4: { /* LAR/LSL */
        bool lsl = chance(r, 50);
        name_slot(g, lsl ? "lsl" : "lar");
        int src = pick_reg(g, AV_ESP), dst = pick_reg(g, AV_ESP);
        setup_reg(g, src, (uint32_t)rng_next(r) << 16 | sel);
        in = new_insn(g);
        if (chance(r, 25))
            emit(in, 0x66);
        emit(in, 0x0f);
        emit(in, lsl ? 0x03 : 0x02);
        emit(in, (uint8_t)(0xc0 | (dst << 3) | src));
        set_flags(in, 0, FL_ZF, 0);
        break;
    }
    case 5: { /* VERR/VERW */
        bool w = chance(r, 50);
        name_slot(g, w ? "verw" : "verr");
        int src = pick_reg(g, AV_ESP);
        setup_reg(g, src, sel);
        in = new_insn(g);
        emit(in, 0x0f);
        emit(in, 0x00);
        emit(in, (uint8_t)(0xc0 | ((w ? 5 : 4) << 3) | src));
        set_flags(in, 0, FL_ZF, 0);
        break;
    }
    default: { /* LDS/LES/LSS/LFS/LGS from a far pointer we write */
        static const uint16_t lops[] = { 0xc5, 0xc4, 0x1b2, 0x1b4, 0x1b5 };
        static const char *const names[] = { "lds", "les", "lss", "lfs", "lgs" };
        unsigned k = rng_below(r, 5);
        if (k == 2 && sel != 0x2b && chance(r, 50))
            sel = 0x2b;
        name_slot(g, names[k]);
        bool o16 = chance(r, 25);
        unsigned osz = o16 ? 2 : 4;
        uint32_t a = FZ_DATA + rng_below(r, FZ_PAGE - osz - 2);
        setup_mem(g, a + osz, sel, 2);
        int dst = pick_reg(g, AV_ESP);
        in = new_insn(g);
        if (o16)
            emit(in, 0x66);
        emit_opcode(in, lops[k]);
        struct mem_opts mo = { .size = osz + 2, .fixed_target = 1, .target = a };
        gen_mem(g, NULL, &in, dst, &mo);
        break;
    }
    }
}

/* String instructions with their registers set up: ESI/EDI in the data
 * page (or near its ends), a small ECX for REP forms, with 67 SI/DI/CX. */
static void gen_string(struct gen *g)
{
    struct rng *r = g->r;
    static const uint8_t opcodes[] = { 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };
    static const char *const names[] = { "movsb", "movs", "cmpsb", "cmps", "stosb", "stos",
                                         "lodsb", "lods", "scasb", "scas" };
    unsigned k = rng_below(r, 10);
    uint8_t op = opcodes[k];
    bool cmp = op == 0xa6 || op == 0xa7 || op == 0xae || op == 0xaf;
    unsigned rep = rng_below(r, 3);   /* 0 none, 1 F3, 2 F2 */
    bool a16 = chance(r, 15);
    bool o16 = chance(r, 25);
    name_slot(g, names[k]);
    uint32_t hi = a16 ? ((uint32_t)rng_next(r) & 0xffff0000u) : 0;
    uint32_t si = FZ_DATA + (chance(r, 85) ? 64 + rng_below(r, FZ_PAGE - 128) : rng_below(r, FZ_PAGE));
    uint32_t di = FZ_DATA + (chance(r, 85) ? 64 + rng_below(r, FZ_PAGE - 128) : rng_below(r, FZ_PAGE));
    if (chance(r, 10))
        si = FZ_STACK_TOP0 - 64 + rng_below(r, 128);
    setup_reg(g, 6, hi | si);
    setup_reg(g, 7, hi | di);
    uint32_t count = chance(r, 10) ? 0 : rng_below(r, 17);
    if (rep)
        setup_reg(g, 1, (a16 ? ((uint32_t)rng_next(r) & 0xffff0000u) : 0) | count);
    struct g_insn *in = new_insn(g);
    if (rep)
        emit(in, rep == 1 ? 0xf3 : 0xf2);
    if (a16)
        emit(in, 0x67);
    if (chance(r, 10) && op != 0xaa && op != 0xab && op != 0xae && op != 0xaf)
        emit(in, seg_prefixes[rng_below(r, 6)]);
    if (o16 && (op & 1))
        emit(in, 0x66);
    emit(in, op);
    /* A REP form with a zero count leaves the flags alone. */
    if (cmp && (!rep || count != 0))
        set_flags(in, 0, FL_ALL, 0);
}

static void gen_misc(struct gen *g)
{
    struct rng *r = g->r;
    unsigned kind = rng_below(r, 6);
    struct g_insn *in;
    switch (kind) {
    case 0: { /* push imm; popf (TF and AC never set) */
        name_slot(g, "popf");
        bool o16 = chance(r, 20);
        uint32_t v = ((uint32_t)rng_next(r) & ~0x40100u) | 0x2;
        in = new_insn(g);
        if (o16)
            emit(in, 0x66);
        emit(in, 0x68);
        emit_n(in, v, o16 ? 2 : 4);
        in = new_insn(g);
        if (o16)
            emit(in, 0x66);
        emit(in, 0x9d);
        set_flags(in, 0, FL_ALL, 0);
        break;
    }
    case 1: { /* ENTER with EBP on the stack page */
        name_slot(g, "enter");
        setup_reg(g, 5, stack_off(g, FZ_STACK_TOP0 - 32 + rng_below(r, 128)));
        in = new_insn(g);
        if (chance(r, 20))
            emit(in, 0x66);
        emit(in, 0xc8);
        emit_n(in, chance(r, 50) ? rng_below(r, 64) : rng_below(r, 0x400), 2);
        emit(in, (uint8_t)(chance(r, 60) ? rng_below(r, 4) : rng_below(r, 40)));
        break;
    }
    case 2: { /* LEAVE */
        name_slot(g, "leave");
        setup_reg(g, 5, stack_off(g, FZ_STACK_TOP0 - 128 + rng_below(r, 256)));
        in = new_insn(g);
        if (chance(r, 20))
            emit(in, 0x66);
        emit(in, 0xc9);
        break;
    }
    case 3: { /* XLAT */
        name_slot(g, "xlat");
        bool a16 = chance(r, 20);
        setup_reg(g, 3, (a16 ? ((uint32_t)rng_next(r) & 0xffff0000u) : 0) | (FZ_DATA + rng_below(r, FZ_PAGE)));
        in = new_insn(g);
        if (a16)
            emit(in, 0x67);
        if (chance(r, 10))
            emit(in, seg_prefixes[rng_below(r, 6)]);
        emit(in, 0xd7);
        break;
    }
    case 4: { /* MOV moffs */
        static const char *const n[] = { "mov al,moffs", "mov eax,moffs", "mov moffs,al", "mov moffs,eax" };
        unsigned op = rng_below(r, 4);
        name_slot(g, n[op]);
        bool a16 = chance(r, 15);
        bool o16 = chance(r, 25);
        uint32_t t = pick_target(g, (op & 1) ? (o16 ? 2 : 4) : 1, a16);
        in = new_insn(g);
        if (chance(r, 10))
            emit(in, seg_prefixes[rng_below(r, 6)]);
        if (a16)
            emit(in, 0x67);
        if (o16)
            emit(in, 0x66);
        emit(in, (uint8_t)(0xa0 + op));
        emit_n(in, t, a16 ? 2 : 4);
        break;
    }
    default: { /* INT n */
        name_slot(g, "int n");
        uint8_t n;
        do
            n = (uint8_t)rng_next(r);
        while (n == 0x80);
        if (chance(r, 30))
            n = (uint8_t)(3 + rng_below(r, 2));
        in = new_insn(g);
        emit(in, 0xcd);
        emit(in, n);
        break;
    }
    }
}

static void gen_cmovset(struct gen *g)
{
    struct rng *r = g->r;
    unsigned cc = rng_below(r, 16);
    need_flags(g, cc_reads(cc));
    bool set = chance(r, 50);
    name_slot(g, set ? "setcc" : "cmovcc");
    bool mem = chance(r, 40);
    bool o16 = !set && chance(r, 25);
    int greg = set ? 0 : pick_reg(g, AV_ESP);
    struct g_insn *in = new_insn(g);
    emit_prefixes(g, in, o16, mem, false);
    emit(in, 0x0f);
    emit(in, (uint8_t)((set ? 0x90 : 0x40) + cc));
    if (mem) {
        struct mem_opts mo = { .size = set ? 1 : o16 ? 2 : 4, .a16_ok = true };
        gen_mem(g, NULL, &in, greg, &mo);
    } else {
        emit(in, (uint8_t)(0xc0 | (greg << 3) | pick_reg(g, set ? 0 : AV_ESP)));
    }
    in->rd = cc_reads(cc);
}

/* ---- x87 ---- */

struct x87_op {
    const char *name;
    uint8_t esc;        /* D8..DF */
    uint8_t modrm;      /* register form: full ModRM (+i when `sti`); memory form: /digit */
    bool mem;
    bool sti;           /* low 3 bits pick ST(i) */
    uint8_t size;       /* memory operand bytes */
    uint16_t crd, cdef, cund;
    uint32_t erd, edef; /* EFLAGS read (FCMOV) / written (FCOMI) */
};

#define C_ARITH FSW_C1, FSW_C0 | FSW_C2 | FSW_C3
#define C_ALL 0, FSW_CC
#define C_UND 0, FSW_CC
static const struct x87_op x87_ops[] = {
    /* memory forms */
    { "fadd m32", 0xd8, 0, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fmul m32", 0xd8, 1, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fcom m32", 0xd8, 2, true, false, 4, 0, C_ALL, 0, 0 },
    { "fcomp m32", 0xd8, 3, true, false, 4, 0, C_ALL, 0, 0 },
    { "fsub m32", 0xd8, 4, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fsubr m32", 0xd8, 5, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fdiv m32", 0xd8, 6, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fdivr m32", 0xd8, 7, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fld m32", 0xd9, 0, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fst m32", 0xd9, 2, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fstp m32", 0xd9, 3, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fldcw", 0xd9, 5, true, false, 2, 0, C_UND, 0, 0 },
    { "fnstcw", 0xd9, 7, true, false, 2, 0, C_UND, 0, 0 },
    { "fiadd m32", 0xda, 0, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fimul m32", 0xda, 1, true, false, 4, 0, C_ARITH, 0, 0 },
    { "ficom m32", 0xda, 2, true, false, 4, 0, C_ALL, 0, 0 },
    { "ficomp m32", 0xda, 3, true, false, 4, 0, C_ALL, 0, 0 },
    { "fisub m32", 0xda, 4, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fisubr m32", 0xda, 5, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fidiv m32", 0xda, 6, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fidivr m32", 0xda, 7, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fild m32", 0xdb, 0, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fist m32", 0xdb, 2, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fistp m32", 0xdb, 3, true, false, 4, 0, C_ARITH, 0, 0 },
    { "fld m80", 0xdb, 5, true, false, 10, 0, C_ARITH, 0, 0 },
    { "fstp m80", 0xdb, 7, true, false, 10, 0, C_ARITH, 0, 0 },
    { "fadd m64", 0xdc, 0, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fmul m64", 0xdc, 1, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fcom m64", 0xdc, 2, true, false, 8, 0, C_ALL, 0, 0 },
    { "fcomp m64", 0xdc, 3, true, false, 8, 0, C_ALL, 0, 0 },
    { "fsub m64", 0xdc, 4, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fsubr m64", 0xdc, 5, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fdiv m64", 0xdc, 6, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fdivr m64", 0xdc, 7, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fld m64", 0xdd, 0, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fst m64", 0xdd, 2, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fstp m64", 0xdd, 3, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fnstsw m16", 0xdd, 7, true, false, 2, FSW_CC, C_UND, 0, 0 },
    { "fiadd m16", 0xde, 0, true, false, 2, 0, C_ARITH, 0, 0 },
    { "fimul m16", 0xde, 1, true, false, 2, 0, C_ARITH, 0, 0 },
    { "ficom m16", 0xde, 2, true, false, 2, 0, C_ALL, 0, 0 },
    { "ficomp m16", 0xde, 3, true, false, 2, 0, C_ALL, 0, 0 },
    { "fisub m16", 0xde, 4, true, false, 2, 0, C_ARITH, 0, 0 },
    { "fisubr m16", 0xde, 5, true, false, 2, 0, C_ARITH, 0, 0 },
    { "fidiv m16", 0xde, 6, true, false, 2, 0, C_ARITH, 0, 0 },
    { "fidivr m16", 0xde, 7, true, false, 2, 0, C_ARITH, 0, 0 },
    { "fild m16", 0xdf, 0, true, false, 2, 0, C_ARITH, 0, 0 },
    { "fist m16", 0xdf, 2, true, false, 2, 0, C_ARITH, 0, 0 },
    { "fistp m16", 0xdf, 3, true, false, 2, 0, C_ARITH, 0, 0 },
    { "fbld", 0xdf, 4, true, false, 10, 0, C_ARITH, 0, 0 },
    { "fild m64", 0xdf, 5, true, false, 8, 0, C_ARITH, 0, 0 },
    { "fbstp", 0xdf, 6, true, false, 10, 0, C_ARITH, 0, 0 },
    { "fistp m64", 0xdf, 7, true, false, 8, 0, C_ARITH, 0, 0 },
    /* register forms */
    { "fadd st,sti", 0xd8, 0xc0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fmul st,sti", 0xd8, 0xc8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fcom sti", 0xd8, 0xd0, false, true, 0, 0, C_ALL, 0, 0 },
    { "fcomp sti", 0xd8, 0xd8, false, true, 0, 0, C_ALL, 0, 0 },
    { "fsub st,sti", 0xd8, 0xe0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fsubr st,sti", 0xd8, 0xe8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fdiv st,sti", 0xd8, 0xf0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fdivr st,sti", 0xd8, 0xf8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fld sti", 0xd9, 0xc0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fxch", 0xd9, 0xc8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fnop", 0xd9, 0xd0, false, false, 0, 0, C_UND, 0, 0 },
    { "fchs", 0xd9, 0xe0, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fabs", 0xd9, 0xe1, false, false, 0, 0, C_ARITH, 0, 0 },
    { "ftst", 0xd9, 0xe4, false, false, 0, 0, C_ALL, 0, 0 },
    { "fxam", 0xd9, 0xe5, false, false, 0, 0, C_ALL, 0, 0 },
    { "fld1", 0xd9, 0xe8, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fldl2t", 0xd9, 0xe9, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fldl2e", 0xd9, 0xea, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fldpi", 0xd9, 0xeb, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fldlg2", 0xd9, 0xec, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fldln2", 0xd9, 0xed, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fldz", 0xd9, 0xee, false, false, 0, 0, C_ARITH, 0, 0 },
    { "f2xm1", 0xd9, 0xf0, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fyl2x", 0xd9, 0xf1, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fptan", 0xd9, 0xf2, false, false, 0, 0, FSW_C1 | FSW_C2, FSW_C0 | FSW_C3, 0, 0 },
    { "fpatan", 0xd9, 0xf3, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fxtract", 0xd9, 0xf4, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fprem1", 0xd9, 0xf5, false, false, 0, 0, C_ALL, 0, 0 },
    { "fdecstp", 0xd9, 0xf6, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fincstp", 0xd9, 0xf7, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fprem", 0xd9, 0xf8, false, false, 0, 0, C_ALL, 0, 0 },
    { "fyl2xp1", 0xd9, 0xf9, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fsqrt", 0xd9, 0xfa, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fsincos", 0xd9, 0xfb, false, false, 0, 0, FSW_C1 | FSW_C2, FSW_C0 | FSW_C3, 0, 0 },
    { "frndint", 0xd9, 0xfc, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fscale", 0xd9, 0xfd, false, false, 0, 0, C_ARITH, 0, 0 },
    { "fsin", 0xd9, 0xfe, false, false, 0, 0, FSW_C1 | FSW_C2, FSW_C0 | FSW_C3, 0, 0 },
    { "fcos", 0xd9, 0xff, false, false, 0, 0, FSW_C1 | FSW_C2, FSW_C0 | FSW_C3, 0, 0 },
    { "fcmovb", 0xda, 0xc0, false, true, 0, 0, C_ARITH, FL_CF, 0 },
    { "fcmove", 0xda, 0xc8, false, true, 0, 0, C_ARITH, FL_ZF, 0 },
    { "fcmovbe", 0xda, 0xd0, false, true, 0, 0, C_ARITH, FL_CF | FL_ZF, 0 },
    { "fcmovu", 0xda, 0xd8, false, true, 0, 0, C_ARITH, FL_PF, 0 },
    { "fucompp", 0xda, 0xe9, false, false, 0, 0, C_ALL, 0, 0 },
    { "fcmovnb", 0xdb, 0xc0, false, true, 0, 0, C_ARITH, FL_CF, 0 },
    { "fcmovne", 0xdb, 0xc8, false, true, 0, 0, C_ARITH, FL_ZF, 0 },
    { "fcmovnbe", 0xdb, 0xd0, false, true, 0, 0, C_ARITH, FL_CF | FL_ZF, 0 },
    { "fcmovnu", 0xdb, 0xd8, false, true, 0, 0, C_ARITH, FL_PF, 0 },
    { "fnclex", 0xdb, 0xe2, false, false, 0, 0, C_UND, 0, 0 },
    { "fninit", 0xdb, 0xe3, false, false, 0, 0, FSW_CC, 0, 0, 0 },
    { "fucomi", 0xdb, 0xe8, false, true, 0, 0, FSW_C1, 0, 0, FL_ALL },
    { "fcomi", 0xdb, 0xf0, false, true, 0, 0, FSW_C1, 0, 0, FL_ALL },
    { "fadd sti,st", 0xdc, 0xc0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fmul sti,st", 0xdc, 0xc8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fsubr sti,st", 0xdc, 0xe0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fsub sti,st", 0xdc, 0xe8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fdivr sti,st", 0xdc, 0xf0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fdiv sti,st", 0xdc, 0xf8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "ffree", 0xdd, 0xc0, false, true, 0, 0, C_UND, 0, 0 },
    { "fst sti", 0xdd, 0xd0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fstp sti", 0xdd, 0xd8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fucom", 0xdd, 0xe0, false, true, 0, 0, C_ALL, 0, 0 },
    { "fucomp", 0xdd, 0xe8, false, true, 0, 0, C_ALL, 0, 0 },
    { "faddp", 0xde, 0xc0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fmulp", 0xde, 0xc8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fcompp", 0xde, 0xd9, false, false, 0, 0, C_ALL, 0, 0 },
    { "fsubrp", 0xde, 0xe0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fsubp", 0xde, 0xe8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fdivrp", 0xde, 0xf0, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fdivp", 0xde, 0xf8, false, true, 0, 0, C_ARITH, 0, 0 },
    { "fnstsw ax", 0xdf, 0xe0, false, false, 0, FSW_CC, C_UND, 0, 0 },
    { "fucomip", 0xdf, 0xe8, false, true, 0, 0, FSW_C1, 0, 0, FL_ALL },
    { "fcomip", 0xdf, 0xf0, false, true, 0, 0, FSW_C1, 0, 0, FL_ALL },
};

static void gen_x87(struct gen *g)
{
    struct rng *r = g->r;
    const struct x87_op *x;
    do
        x = &x87_ops[rng_below(r, sizeof(x87_ops) / sizeof(x87_ops[0]))];
    while (x->crd & g->cundef);
    need_flags(g, x->erd);
    name_slot(g, x->name);
    struct g_insn *in = new_insn(g);
    if (x->mem) {
        emit_prefixes(g, in, false, true, false);
        emit(in, x->esc);
        uint32_t avoid = 0;
        struct mem_opts mo = { .size = x->size, .avoid = avoid, .a16_ok = true };
        if (x->esc == 0xd9 && x->modrm == 5 && chance(r, 70)) {
            /* FLDCW: mostly a control word we chose (precision, rounding,
             * sometimes unmasked exceptions). */
            uint32_t a = FZ_DATA + rng_below(r, FZ_PAGE - 2);
            uint16_t cw = (uint16_t)(0x0040 | (rng_below(r, 4) << 8) | (rng_below(r, 4) << 10) |
                                     (chance(r, 20) ? (rng_below(r, 64)) : 0x3f));
            setup_mem(g, a, cw, 2);
            in = &slot(g)->in[slot(g)->n - 2];
            struct g_insn keep = *in;
            slot(g)->in[slot(g)->n - 2] = slot(g)->in[slot(g)->n - 1];
            slot(g)->in[slot(g)->n - 1] = keep;
            in = &slot(g)->in[slot(g)->n - 1];
            mo.fixed_target = 1;
            mo.target = a;
        }
        gen_mem(g, NULL, &in, x->modrm, &mo);
    } else {
        emit(in, x->esc);
        emit(in, (uint8_t)(x->modrm + (x->sti ? rng_below(r, 8) : 0)));
    }
    in->rd = x->erd;
    in->def = x->edef;
    in->crd = x->crd;
    in->cdef = x->cdef;
    in->cund = x->cund;
}

/* ---- sequences ---- */

static void gen_one(struct gen *g)
{
    struct rng *r = g->r;
    if (g->o->x87 && (g->o->x87_only || chance(r, 25))) {
        gen_x87(g);
        return;
    }
    unsigned k = rng_below(r, 100);
    if (k < 55) {
        size_t n = sizeof(ops) / sizeof(ops[0]);
        const struct op_def *d = &ops[rng_below(r, (uint32_t)n)];
        gen_plain(g, d);
    } else if (k < 67) {
        gen_shift(g);
    } else if (k < 70) {
        gen_shxd(g);
    } else if (k < 80) {
        gen_branch(g);
    } else if (k < 85) {
        gen_string(g);
    } else if (k < 90) {
        gen_segment(g);
    } else if (k < 95) {
        gen_cmovset(g);
    } else {
        gen_misc(g);
    }
}

/* ESP at entry: the top of the stack page's first half, as an SS offset.
 * On a 16-bit stack ESP[31:16] sometimes holds junk (the CPU must keep it
 * and use SP), and on the expand-down one SP sometimes starts near 0, so
 * pushes wrap around to 0xfffe (still inside the segment). */
static uint32_t initial_esp(struct rng *r, uint32_t mode)
{
    uint32_t sp = FZ_STACK_TOP0 - fz_ss_base(mode);
    if ((mode & FZ_MODE_SS_MASK) == 0)
        return sp;
    if ((mode & FZ_MODE_SS_MASK) == FZ_MODE_SS16_ED && chance(r, 15))
        sp = rng_below(r, 8);
    /* The junk stays in 0x40000000..0x7fffffff: an ESP-based 32-bit
     * address then lands where the native runner has nothing mapped (its
     * own stack and libraries live near 0xf7000000-0xffffffff). */
    if (chance(r, 25))
        sp |= 0x40000000u | ((uint32_t)rng_next(r) & 0x3fff0000u);
    return sp;
}

void gen_sequence(struct rng *r, const struct gen_opts *o, struct g_seq *out)
{
    for (;;) {
        memset(out, 0, sizeof(*out));
        struct gen g = { .r = r, .o = o, .seq = out };
        int maxn = o->max_slots < 1 ? 1 : o->max_slots > GEN_MAX_SLOTS ? GEN_MAX_SLOTS : o->max_slots;
        out->n = 1 + (int)rng_below(r, (uint32_t)maxn);
        out->x87 = o->x87;
        for (int k = 0; k < 8; k++)
            out->regs[k] = pick_value(r);
        out->regs[4] = initial_esp(r, o->mode);
        out->mode = o->mode;
        out->eflags = ((uint32_t)rng_next(r) & (FL_ALL | 0x400u)) | 0x2u;
        out->dseed = rng_next(r);
        /* At entry every flag is defined (the case sets them). */
        for (g.cur = 0; g.cur < out->n; g.cur++) {
            g.undef |= g.incoming[g.cur];
            g.cundef |= g.cincoming[g.cur];
            int before = slot(&g)->n;
            gen_one(&g);
            for (int k = before; k < slot(&g)->n; k++)
                apply_effect(&g, &slot(&g)->in[k]);
        }
        struct fz_test t;
        if (!g.failed && gen_layout(out, out->n, &t))
            return;
    }
}

/* ---- layout ---- */

static bool is_prefix(uint8_t b)
{
    switch (b) {
    case 0xf0: case 0xf2: case 0xf3: case 0x26: case 0x2e: case 0x36: case 0x3e:
    case 0x64: case 0x65: case 0x66: case 0x67:
        return true;
    default:
        return false;
    }
}

/* The same instruction for 16-bit code: 66 and 67 toggled (dropped where
 * present, added in front where not), its fixup offset moved with the
 * bytes.  False if it grows past the 15-byte limit. */
static bool insn_for_code16(struct g_insn *in)
{
    uint8_t b[sizeof(in->b) + 2];
    unsigned n = 0, k = 0, dropped = 0;
    bool had66 = false, had67 = false;
    for (; k < in->len && is_prefix(in->b[k]); k++) {
        had66 |= in->b[k] == 0x66;
        had67 |= in->b[k] == 0x67;
    }
    if (!had66 && !in->keep16)
        b[n++] = 0x66;
    if (!had67)
        b[n++] = 0x67;
    for (unsigned j = 0; j < k; j++) {
        if (in->b[j] == 0x66 || in->b[j] == 0x67)
            dropped++;
        else
            b[n++] = in->b[j];
    }
    unsigned added = (had66 || in->keep16 ? 0 : 1) + (had67 ? 0 : 1);
    if (in->len - dropped + added > 15 || in->len - dropped + added > sizeof(in->b))
        return false;
    memcpy(b + n, in->b + k, in->len - k);
    n += in->len - k;
    if (in->fix_kind != FIX_NONE)
        in->fix_off = (uint8_t)(in->fix_off + added - dropped);
    memcpy(in->b, b, n);
    in->len = (uint8_t)n;
    return true;
}

bool gen_layout(const struct g_seq *s, int nslots, struct fz_test *t)
{
    static struct g_seq s16;
    if ((s->mode & FZ_MODE_CS16) && s != &s16) {
        s16 = *s;
        for (int k = 0; k < nslots; k++)
            for (int j = 0; j < s16.slot[k].n; j++)
                if (!insn_for_code16(&s16.slot[k].in[j]))
                    return false;
        return gen_layout(&s16, nslots, t);
    }
    memset(t, 0, sizeof(*t));
    t->mode = s->mode;
    memcpy(t->regs, s->regs, sizeof(t->regs));
    t->eflags = s->eflags;
    t->dseed = s->dseed;
    t->x87 = s->x87;
    uint32_t soff[GEN_MAX_SLOTS + 1];
    uint32_t len = 0;
    for (int k = 0; k < nslots; k++) {
        soff[k] = len;
        for (int j = 0; j < s->slot[k].n; j++)
            len += s->slot[k].in[j].len;
    }
    soff[nslots] = len;
    if (len > FZ_CODE_MAX)
        return false;
    t->len = len;
    uint32_t start = fz_code_end(s->mode) - len;
    uint32_t incoming[GEN_MAX_SLOTS + 1] = { 0 };
    uint16_t cincoming[GEN_MAX_SLOTS + 1] = { 0 };
    uint32_t undef = 0;
    uint16_t cundef = 0;
    uint32_t pos = 0;
    size_t wl = 0;
    for (int k = 0; k < nslots; k++) {
        undef |= incoming[k];
        cundef |= cincoming[k];
        const struct g_slot *sl = &s->slot[k];
        if (wl < sizeof(t->what) - 2)
            wl += (size_t)snprintf(t->what + wl, sizeof(t->what) - wl, "%s%s", k ? "," : "", sl->name);
        for (int j = 0; j < sl->n; j++) {
            struct g_insn in = sl->in[j];
            t->bnd[t->nbnd++] = (struct fz_bound){ (uint16_t)pos, undef, cundef };
            if (in.fix_kind != FIX_NONE) {
                int tk = in.target == GEN_END || in.target > nslots ? nslots : in.target;
                uint32_t dest = start + soff[tk];
                uint32_t next = start + pos + in.len;
                int32_t rel = (int32_t)(dest - next);
                /* dest is an offset in CS already (start is). */
                bool is_rel = in.fix_kind == FIX_REL8 || in.fix_kind == FIX_REL16 ||
                              in.fix_kind == FIX_REL32;
                uint32_t v = is_rel ? (uint32_t)rel : dest;
                unsigned size = in.fix_kind == FIX_REL8 ? 1 :
                                in.fix_kind == FIX_REL16 || in.fix_kind == FIX_ABS16 ? 2 : 4;
                if (in.fix_kind == FIX_REL8 && (rel < -128 || rel > 127))
                    return false;
                for (unsigned k = 0; k < size; k++)
                    in.b[in.fix_off + k] = (uint8_t)(v >> (8 * k));
                undef = (undef & ~(in.def | in.und)) | in.und;
                cundef = (uint16_t)((cundef & ~(in.cdef | in.cund)) | in.cund);
                incoming[tk] |= undef;
                cincoming[tk] |= cundef;
            } else {
                undef = (undef & ~(in.def | in.und)) | in.und;
                cundef = (uint16_t)((cundef & ~(in.cdef | in.cund)) | in.cund);
            }
            memcpy(t->code + pos, in.b, in.len);
            pos += in.len;
        }
    }
    undef |= incoming[nslots];
    cundef |= cincoming[nslots];
    t->bnd[t->nbnd++] = (struct fz_bound){ (uint16_t)pos, undef, cundef };
    return true;
}

void fz_test_undef_at(const struct fz_test *t, uint32_t eip, uint32_t *efl, uint16_t *fsw)
{
    uint32_t start = fz_code_end(t->mode) - t->len;
    uint32_t all = 0;
    uint16_t call = 0;
    for (int k = 0; k < t->nbnd; k++) {
        all |= t->bnd[k].efl_undef;
        call |= t->bnd[k].fsw_undef;
    }
    /* The last boundary at that offset wins: set-up loads share offsets
     * only when empty, which never happens. */
    for (int k = t->nbnd - 1; k >= 0; k--) {
        if (start + t->bnd[k].off == eip) {
            *efl = t->bnd[k].efl_undef;
            *fsw = t->bnd[k].fsw_undef;
            return;
        }
    }
    *efl = all;
    *fsw = call;
}

/* ---- text form ---- */

static size_t put_hex(char *buf, size_t n, const uint8_t *b, size_t len)
{
    size_t w = 0;
    for (size_t k = 0; k < len && w + 3 < n; k++)
        w += (size_t)snprintf(buf + w, n - w, "%02x", b[k]);
    return w;
}

void fz_test_format(const struct fz_test *t, char *buf, size_t n)
{
    size_t w = (size_t)snprintf(buf, n, "v1 code=");
    w += put_hex(buf + w, n - w, t->code, t->len);
    w += (size_t)snprintf(buf + w, n - w, " regs=%08x,%08x,%08x,%08x,%08x,%08x,%08x,%08x efl=%08x dseed=%016" PRIx64 " x87=%d bnd=",
                          t->regs[0], t->regs[1], t->regs[2], t->regs[3], t->regs[4], t->regs[5],
                          t->regs[6], t->regs[7], t->eflags, t->dseed, t->x87 ? 1 : 0);
    for (int k = 0; k < t->nbnd && w + 24 < n; k++)
        w += (size_t)snprintf(buf + w, n - w, "%s%x:%x:%x", k ? "," : "", t->bnd[k].off,
                              t->bnd[k].efl_undef, t->bnd[k].fsw_undef);
    if (t->mode && w + 12 < n)
        w += (size_t)snprintf(buf + w, n - w, " mode=%x", t->mode);
    if (w + 8 < n)
        snprintf(buf + w, n - w, " what=%s", t->what[0] ? t->what : "-");
}

static const char *field(const char *line, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = line; (p = strstr(p, key)) != NULL; p++) {
        if ((p == line || p[-1] == ' ') && p[kl] == '=')
            return p + kl + 1;
    }
    return NULL;
}

bool fz_test_parse(const char *line, struct fz_test *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (strncmp(line, "v1 ", 3) != 0) {
        snprintf(err, errlen, "not a v1 vector line");
        return false;
    }
    const char *p = field(line, "code");
    if (!p) {
        snprintf(err, errlen, "missing code=");
        return false;
    }
    while (isxdigit((unsigned char)p[0]) && isxdigit((unsigned char)p[1])) {
        if (t->len >= FZ_CODE_MAX) {
            snprintf(err, errlen, "code longer than %u bytes", FZ_CODE_MAX);
            return false;
        }
        unsigned v;
        sscanf(p, "%2x", &v);
        t->code[t->len++] = (uint8_t)v;
        p += 2;
    }
    if (t->len == 0) {
        snprintf(err, errlen, "empty code=");
        return false;
    }
    p = field(line, "regs");
    if (!p || sscanf(p, "%x,%x,%x,%x,%x,%x,%x,%x", &t->regs[0], &t->regs[1], &t->regs[2], &t->regs[3],
                     &t->regs[4], &t->regs[5], &t->regs[6], &t->regs[7]) != 8) {
        snprintf(err, errlen, "bad or missing regs= (8 hex values)");
        return false;
    }
    p = field(line, "efl");
    if (!p || sscanf(p, "%x", &t->eflags) != 1) {
        snprintf(err, errlen, "bad or missing efl=");
        return false;
    }
    p = field(line, "dseed");
    if (!p || sscanf(p, "%" SCNx64, &t->dseed) != 1) {
        snprintf(err, errlen, "bad or missing dseed=");
        return false;
    }
    p = field(line, "x87");
    t->x87 = p && *p == '1';
    p = field(line, "mode");
    if (p && (sscanf(p, "%x", &t->mode) != 1 || t->mode > FZ_MODE_MAX)) {
        snprintf(err, errlen, "bad mode=");
        return false;
    }
    p = field(line, "bnd");
    if (p) {
        while (t->nbnd < GEN_MAX_BOUNDS) {
            unsigned off, e, f;
            int used;
            if (sscanf(p, "%x:%x:%x%n", &off, &e, &f, &used) != 3)
                break;
            t->bnd[t->nbnd++] = (struct fz_bound){ (uint16_t)off, e, (uint16_t)f };
            p += used;
            if (*p != ',')
                break;
            p++;
        }
    }
    p = field(line, "what");
    if (p) {
        size_t k = 0;
        while (p[k] && p[k] != ' ' && p[k] != '\n' && k < sizeof(t->what) - 1) {
            t->what[k] = p[k];
            k++;
        }
    }
    return true;
}

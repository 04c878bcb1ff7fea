/* test_flags.c - lazy flags and the ALU handlers that record them, against
 * the host CPU as the oracle: the same operation runs natively (inline asm,
 * PUSHF) over edge-case operands and every defined flag must match.  Only
 * register operands are used, so no memory system is involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/soft/cpu.h"
#include "engine/soft/decode.h"
#include "engine/soft/flags.h"

#define ARITH (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF)

static const uint32_t edge[] = {
    0, 1, 2, 3, 0x0f, 0x10, 0x1f, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100,
    0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x10000, 0x55aa, 0x7fffffff,
    0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef,
};
#define N_EDGE (sizeof(edge) / sizeof(edge[0]))

static struct cpu *new_cpu(void)
{
    struct cpu *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->lf.op = LF_NONE;
    return c;
}

static uint32_t mask_of(unsigned size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* ---- host oracle ---- */
/* The asm moves RSP below the red zone before pushing. */
#define PRE  "sub $128, %%rsp\n\tpush %[fin]\n\tpopfq\n\t"
#define POST "\n\tpushfq\n\tpop %[f]\n\tadd $128, %%rsp"

enum hop { H_ADD, H_OR, H_ADC, H_SBB, H_AND, H_SUB, H_XOR, H_CMP, H_TEST,
           H_INC, H_DEC, H_NEG, H_NOT, H_SHL, H_SHR, H_SAR, H_ROL, H_ROR, H_RCL, H_RCR };

#define BIN_CASES(T, CX, CY)                                                             \
    switch (op) {                                                                         \
    case H_ADD: asm volatile(PRE "add %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_OR:  asm volatile(PRE "or %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_ADC: asm volatile(PRE "adc %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_SBB: asm volatile(PRE "sbb %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_AND: asm volatile(PRE "and %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_SUB: asm volatile(PRE "sub %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_XOR: asm volatile(PRE "xor %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_CMP: asm volatile(PRE "cmp %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_TEST: asm volatile(PRE "test %[y], %[x]" POST : [x] CX(x), [f] "=&r"(f) : [y] CY(y), [fin] "r"(fin) : "cc"); break; \
    case H_INC: asm volatile(PRE "inc %[x]" POST : [x] CX(x), [f] "=&r"(f) : [fin] "r"(fin) : "cc"); break; \
    case H_DEC: asm volatile(PRE "dec %[x]" POST : [x] CX(x), [f] "=&r"(f) : [fin] "r"(fin) : "cc"); break; \
    case H_NEG: asm volatile(PRE "neg %[x]" POST : [x] CX(x), [f] "=&r"(f) : [fin] "r"(fin) : "cc"); break; \
    case H_NOT: asm volatile(PRE "not %[x]" POST : [x] CX(x), [f] "=&r"(f) : [fin] "r"(fin) : "cc"); break; \
    case H_SHL: asm volatile(PRE "shl %%cl, %[x]" POST : [x] CX(x), [f] "=&r"(f) : "c"(cnt), [fin] "r"(fin) : "cc"); break; \
    case H_SHR: asm volatile(PRE "shr %%cl, %[x]" POST : [x] CX(x), [f] "=&r"(f) : "c"(cnt), [fin] "r"(fin) : "cc"); break; \
    case H_SAR: asm volatile(PRE "sar %%cl, %[x]" POST : [x] CX(x), [f] "=&r"(f) : "c"(cnt), [fin] "r"(fin) : "cc"); break; \
    case H_ROL: asm volatile(PRE "rol %%cl, %[x]" POST : [x] CX(x), [f] "=&r"(f) : "c"(cnt), [fin] "r"(fin) : "cc"); break; \
    case H_ROR: asm volatile(PRE "ror %%cl, %[x]" POST : [x] CX(x), [f] "=&r"(f) : "c"(cnt), [fin] "r"(fin) : "cc"); break; \
    case H_RCL: asm volatile(PRE "rcl %%cl, %[x]" POST : [x] CX(x), [f] "=&r"(f) : "c"(cnt), [fin] "r"(fin) : "cc"); break; \
    case H_RCR: asm volatile(PRE "rcr %%cl, %[x]" POST : [x] CX(x), [f] "=&r"(f) : "c"(cnt), [fin] "r"(fin) : "cc"); break; \
    }

#define CQ(v) "+q"(v)
#define CR(v) "+r"(v)
#define IQ(v) "q"(v)
#define IR(v) "r"(v)

/* Runs op natively; returns host RFLAGS, *a receives the result. */
static uint64_t host_op(enum hop op, unsigned size, uint32_t *a, uint32_t b, uint8_t cnt, bool cin)
{
    uint64_t f = 0, fin = 0x2 | (cin ? 1 : 0);
    if (size == 1) {
        uint8_t x = (uint8_t)*a, y = (uint8_t)b;
        BIN_CASES(uint8_t, CQ, IQ)
        *a = x;
    } else if (size == 2) {
        uint16_t x = (uint16_t)*a, y = (uint16_t)b;
        BIN_CASES(uint16_t, CR, IR)
        *a = x;
    } else {
        uint32_t x = *a, y = b;
        BIN_CASES(uint32_t, CR, IR)
        *a = x;
    }
    return f;
}

/* ---- guest side: decode the same instruction (eax/ax/al, ecx/cx/cl) and run it ---- */
struct genc {
    uint8_t op8, opv, modrm;   /* opcode for byte and word/dword forms, ModRM */
};

static const struct genc genc[] = {
    [H_ADD] = { 0x00, 0x01, 0xc8 }, [H_OR] = { 0x08, 0x09, 0xc8 }, [H_ADC] = { 0x10, 0x11, 0xc8 },
    [H_SBB] = { 0x18, 0x19, 0xc8 }, [H_AND] = { 0x20, 0x21, 0xc8 }, [H_SUB] = { 0x28, 0x29, 0xc8 },
    [H_XOR] = { 0x30, 0x31, 0xc8 }, [H_CMP] = { 0x38, 0x39, 0xc8 }, [H_TEST] = { 0x84, 0x85, 0xc8 },
    [H_INC] = { 0xfe, 0xff, 0xc0 }, [H_DEC] = { 0xfe, 0xff, 0xc8 }, [H_NEG] = { 0xf6, 0xf7, 0xd8 },
    [H_NOT] = { 0xf6, 0xf7, 0xd0 }, [H_SHL] = { 0xd2, 0xd3, 0xe0 }, [H_SHR] = { 0xd2, 0xd3, 0xe8 },
    [H_SAR] = { 0xd2, 0xd3, 0xf8 }, [H_ROL] = { 0xd2, 0xd3, 0xc0 }, [H_ROR] = { 0xd2, 0xd3, 0xc8 },
    [H_RCL] = { 0xd2, 0xd3, 0xd0 }, [H_RCR] = { 0xd2, 0xd3, 0xd8 },
};

static void guest_exec(struct cpu *c, const uint8_t *b, unsigned n)
{
    struct insn i;
    assert_int_equal(decode_insn(&i, b, n, true), DECODE_OK);
    assert_int_equal(i.len, n);
    i.exec(c, &i);
}

/* Flags defined after op for this size/count (the rest are undefined). */
static uint32_t defined_flags(enum hop op, unsigned size, unsigned count)
{
    unsigned bits = size * 8;
    switch (op) {
    case H_OR: case H_AND: case H_XOR: case H_TEST:
        return ARITH & ~EFL_AF;
    case H_NOT:
        return ARITH;                          /* unchanged */
    case H_SHL: case H_SHR: case H_SAR:
        if (count == 0)
            return ARITH;                      /* unchanged */
        return (EFL_CF | EFL_SF | EFL_ZF | EFL_PF | (count == 1 ? EFL_OF : 0)) &
               ~(count >= bits ? EFL_CF : 0);
    case H_ROL: case H_ROR:
        if (count == 0)
            return ARITH;
        return EFL_CF | EFL_SF | EFL_ZF | EFL_PF | EFL_AF | (count == 1 ? EFL_OF : 0);
    case H_RCL: case H_RCR:
        return EFL_CF | EFL_SF | EFL_ZF | EFL_PF | EFL_AF | (count == 1 ? EFL_OF : 0);
    default:
        return ARITH;
    }
}

/* Reference condition evaluation straight from flag bits (SDM table). */
static bool ref_cond(uint32_t f, unsigned cc)
{
    bool cf = f & EFL_CF, zf = f & EFL_ZF, sf = f & EFL_SF, of = f & EFL_OF, pf = f & EFL_PF, r;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return (cc & 1) ? !r : r;
}

static unsigned check_one(struct cpu *c, enum hop op, unsigned size, uint32_t a, uint32_t b,
                          unsigned count, bool cin)
{
    /* host */
    uint32_t hres = a;
    uint64_t hf = host_op(op, size, &hres, b, (uint8_t)count, cin);
    /* guest: start from the same flags the host started from */
    uint8_t bytes[4];
    unsigned n = 0;
    if (size == 2)
        bytes[n++] = 0x66;
    bytes[n++] = size == 1 ? genc[op].op8 : genc[op].opv;
    bytes[n++] = genc[op].modrm;
    c->s.gpr[REG_EAX] = a;
    c->s.gpr[REG_ECX] = (op >= H_SHL) ? count : b;
    cpu_set_eflags(c, cin ? EFL_CF : 0, ARITH);   /* the host starts from the same */
    guest_exec(c, bytes, n);
    uint32_t gf = cpu_get_eflags(c);
    uint32_t def = defined_flags(op, size, count & 31);
    uint32_t m = mask_of(size);
    unsigned bad = 0;
    if (op != H_CMP && op != H_TEST && (c->s.gpr[REG_EAX] & m) != (hres & m))
        bad++;
    if ((gf & def) != ((uint32_t)hf & def))
        bad++;
    for (unsigned cc = 0; cc < 16; cc++)
        if ((def & ARITH) == ARITH && cpu_cond(c, cc) != ref_cond((uint32_t)hf, cc))
            bad++;
    if (bad)
        print_message("op %d size %u a=%#x b=%#x count=%u cin=%d: guest res %#x flags %#x, host res %#x flags %#x (defined %#x)\n",
                      op, size, a, b, count, cin, c->s.gpr[REG_EAX] & m, gf & ARITH,
                      hres & m, (uint32_t)hf & ARITH, def);
    return bad;
}

static void run_binary(enum hop op)
{
    struct cpu *c = new_cpu();
    unsigned bad = 0;
    for (unsigned size = 1; size <= 4; size *= 2)
        for (unsigned x = 0; x < N_EDGE; x++)
            for (unsigned y = 0; y < N_EDGE; y++)
                for (int cin = 0; cin < 2; cin++)
                    bad += check_one(c, op, size, edge[x], edge[y], 0, cin);
    free(c);
    assert_int_equal(bad, 0);
}

static void test_add(void **s)  { (void)s; run_binary(H_ADD); }
static void test_adc(void **s)  { (void)s; run_binary(H_ADC); }
static void test_sub(void **s)  { (void)s; run_binary(H_SUB); }
static void test_sbb(void **s)  { (void)s; run_binary(H_SBB); }
static void test_cmp(void **s)  { (void)s; run_binary(H_CMP); }
static void test_logic(void **s)
{
    (void)s;
    run_binary(H_AND);
    run_binary(H_OR);
    run_binary(H_XOR);
    run_binary(H_TEST);
}

static void test_unary(void **s)
{
    (void)s;
    struct cpu *c = new_cpu();
    unsigned bad = 0;
    const enum hop ops[] = { H_INC, H_DEC, H_NEG, H_NOT };
    for (unsigned k = 0; k < 4; k++)
        for (unsigned size = 1; size <= 4; size *= 2)
            for (unsigned x = 0; x < N_EDGE; x++)
                for (int cin = 0; cin < 2; cin++)
                    bad += check_one(c, ops[k], size, edge[x], 0, 0, cin);
    free(c);
    assert_int_equal(bad, 0);
}

static void run_shift(enum hop op)
{
    struct cpu *c = new_cpu();
    unsigned bad = 0;
    static const unsigned counts[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63 };
    for (unsigned size = 1; size <= 4; size *= 2)
        for (unsigned x = 0; x < N_EDGE; x++)
            for (unsigned k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
                for (int cin = 0; cin < 2; cin++)
                    bad += check_one(c, op, size, edge[x], 0, counts[k], cin);
    free(c);
    assert_int_equal(bad, 0);
}

static void test_shifts(void **s)
{
    (void)s;
    run_shift(H_SHL);
    run_shift(H_SHR);
    run_shift(H_SAR);
}

static void test_rotates(void **s)
{
    (void)s;
    run_shift(H_ROL);
    run_shift(H_ROR);
    run_shift(H_RCL);
    run_shift(H_RCR);
}

/* ---- multiply: CF/OF and results ---- */
static void test_mul_imul(void **s)
{
    (void)s;
    struct cpu *c = new_cpu();
    unsigned bad = 0;
    for (unsigned size = 1; size <= 4; size *= 2)
        for (unsigned x = 0; x < N_EDGE; x++)
            for (unsigned y = 0; y < N_EDGE; y++)
                for (int sgn = 0; sgn < 2; sgn++) {
                    uint32_t a = edge[x], b = edge[y], lo, hi = 0;
                    uint64_t f, fin = 2;
                    if (size == 1) {
                        uint16_t ax = (uint8_t)a;
                        uint8_t y8 = (uint8_t)b;
                        if (sgn)
                            asm volatile(PRE "imulb %[y]" POST : "+a"(ax), [f] "=&r"(f) : [y] "q"(y8), [fin] "r"(fin) : "cc");
                        else
                            asm volatile(PRE "mulb %[y]" POST : "+a"(ax), [f] "=&r"(f) : [y] "q"(y8), [fin] "r"(fin) : "cc");
                        lo = ax;
                    } else if (size == 2) {
                        uint16_t ax = (uint16_t)a, dx, y16 = (uint16_t)b;
                        if (sgn)
                            asm volatile(PRE "imulw %[y]" POST : "+a"(ax), "=d"(dx), [f] "=&r"(f) : [y] "r"(y16), [fin] "r"(fin) : "cc");
                        else
                            asm volatile(PRE "mulw %[y]" POST : "+a"(ax), "=d"(dx), [f] "=&r"(f) : [y] "r"(y16), [fin] "r"(fin) : "cc");
                        lo = ax;
                        hi = dx;
                    } else {
                        uint32_t eax = a, edx;
                        if (sgn)
                            asm volatile(PRE "imull %[y]" POST : "+a"(eax), "=d"(edx), [f] "=&r"(f) : [y] "r"(b), [fin] "r"(fin) : "cc");
                        else
                            asm volatile(PRE "mull %[y]" POST : "+a"(eax), "=d"(edx), [f] "=&r"(f) : [y] "r"(b), [fin] "r"(fin) : "cc");
                        lo = eax;
                        hi = edx;
                    }
                    uint8_t bytes[3];
                    unsigned n = 0;
                    if (size == 2)
                        bytes[n++] = 0x66;
                    bytes[n++] = size == 1 ? 0xf6 : 0xf7;
                    bytes[n++] = sgn ? 0xe9 : 0xe1;   /* (i)mul ecx */
                    c->s.gpr[REG_EAX] = a;
                    c->s.gpr[REG_ECX] = b;
                    c->s.gpr[REG_EDX] = 0;
                    guest_exec(c, bytes, n);
                    uint32_t glo = size == 4 ? c->s.gpr[REG_EAX] : (c->s.gpr[REG_EAX] & 0xffff);
                    uint32_t ghi = size == 1 ? 0 : c->s.gpr[REG_EDX] & mask_of(size);
                    uint32_t gf = cpu_get_eflags(c) & (EFL_CF | EFL_OF);
                    if (glo != lo || ghi != hi || gf != ((uint32_t)f & (EFL_CF | EFL_OF))) {
                        bad++;
                        print_message("%smul size %u %#x*%#x: guest %#x:%#x f %#x host %#x:%#x f %#x\n",
                                      sgn ? "i" : "", size, a, b, ghi, glo, gf, hi, lo, (uint32_t)f);
                    }
                    /* two-operand IMUL r, r/m (0F AF) for 16/32 */
                    if (sgn && size > 1) {
                        uint32_t x2 = a;
                        uint64_t f2;
                        if (size == 2) {
                            uint16_t p = (uint16_t)a, q = (uint16_t)b;
                            asm volatile(PRE "imul %[q], %[p]" POST : [p] "+r"(p), [f] "=&r"(f2) : [q] "r"(q), [fin] "r"(fin) : "cc");
                            x2 = p;
                        } else {
                            asm volatile(PRE "imul %[q], %[p]" POST : [p] "+r"(x2), [f] "=&r"(f2) : [q] "r"(b), [fin] "r"(fin) : "cc");
                        }
                        uint8_t b2[4] = { 0x66, 0x0f, 0xaf, 0xc1 };
                        c->s.gpr[REG_EAX] = a;
                        c->s.gpr[REG_ECX] = b;
                        guest_exec(c, size == 2 ? b2 : b2 + 1, size == 2 ? 4 : 3);
                        if ((c->s.gpr[REG_EAX] & mask_of(size)) != (x2 & mask_of(size)) ||
                            (cpu_get_eflags(c) & (EFL_CF | EFL_OF)) != ((uint32_t)f2 & (EFL_CF | EFL_OF)))
                            bad++;
                    }
                }
    free(c);
    assert_int_equal(bad, 0);
}

/* ---- BSF/BSR (ZF), BT (CF), SHLD/SHRD ---- */
static void test_bit_ops(void **s)
{
    (void)s;
    struct cpu *c = new_cpu();
    unsigned bad = 0;
    for (unsigned x = 0; x < N_EDGE; x++) {
        uint32_t v = edge[x];
        for (int rev = 0; rev < 2; rev++) {
            uint32_t dst = 0x5a5a5a5a;
            uint64_t f, fin = 2;
            if (rev)
                asm volatile(PRE "bsr %[v], %[d]" POST : [d] "+r"(dst), [f] "=&r"(f) : [v] "r"(v), [fin] "r"(fin) : "cc");
            else
                asm volatile(PRE "bsf %[v], %[d]" POST : [d] "+r"(dst), [f] "=&r"(f) : [v] "r"(v), [fin] "r"(fin) : "cc");
            const uint8_t b[3] = { 0x0f, rev ? 0xbd : 0xbc, 0xc1 };   /* bsX eax, ecx */
            c->s.gpr[REG_EAX] = 0x5a5a5a5a;
            c->s.gpr[REG_ECX] = v;
            guest_exec(c, b, 3);
            if ((cpu_get_eflags(c) & EFL_ZF) != (f & EFL_ZF) || (v && c->s.gpr[REG_EAX] != dst))
                bad++;
        }
        for (unsigned bit = 0; bit < 40; bit += 3) {
            uint64_t f, fin = 2;
            uint32_t base = v;
            asm volatile(PRE "bt %[o], %[v]" POST : [f] "=&r"(f) : [v] "r"(base), [o] "r"(bit), [fin] "r"(fin) : "cc");
            const uint8_t b[3] = { 0x0f, 0xa3, 0xc8 };   /* bt eax, ecx */
            c->s.gpr[REG_EAX] = v;
            c->s.gpr[REG_ECX] = bit;
            guest_exec(c, b, 3);
            if ((cpu_get_eflags(c) & EFL_CF) != (f & EFL_CF))
                bad++;
        }
        for (unsigned y = 0; y < N_EDGE; y++)
            for (unsigned cnt = 0; cnt < 32; cnt += 5)
                for (int right = 0; right < 2; right++) {
                    uint32_t d = v, src = edge[y];
                    uint64_t f, fin = 2;
                    uint8_t cl = (uint8_t)cnt;
                    if (right)
                        asm volatile(PRE "shrd %%cl, %[s], %[d]" POST : [d] "+r"(d), [f] "=&r"(f) : [s] "r"(src), "c"(cl), [fin] "r"(fin) : "cc");
                    else
                        asm volatile(PRE "shld %%cl, %[s], %[d]" POST : [d] "+r"(d), [f] "=&r"(f) : [s] "r"(src), "c"(cl), [fin] "r"(fin) : "cc");
                    const uint8_t b[3] = { 0x0f, right ? 0xad : 0xa5, 0xd0 };   /* shXd eax, edx, cl */
                    c->s.gpr[REG_EAX] = v;
                    c->s.gpr[REG_EDX] = src;
                    c->s.gpr[REG_ECX] = cnt;
                    cpu_set_eflags(c, 0, ARITH);
                    guest_exec(c, b, 3);
                    uint32_t def = cnt == 0 ? ARITH : (EFL_CF | EFL_SF | EFL_ZF | EFL_PF | (cnt == 1 ? EFL_OF : 0));
                    if (c->s.gpr[REG_EAX] != d || (cpu_get_eflags(c) & def) != (f & def)) {
                        bad++;
                        print_message("sh%cd %#x,%#x,%u: guest %#x f %#x host %#x f %#x\n", right ? 'r' : 'l',
                                      v, src, cnt, c->s.gpr[REG_EAX], cpu_get_eflags(c) & ARITH, d, (uint32_t)f & ARITH);
                    }
                }
    }
    free(c);
    assert_int_equal(bad, 0);
}

/* ---- EFLAGS plumbing ---- */
static void test_eflags_roundtrip(void **s)
{
    (void)s;
    struct cpu *c = new_cpu();
    cpu_set_eflags(c, 0xffffffffu, 0xffffffffu);
    uint32_t f = cpu_get_eflags(c);
    /* reserved bits 3, 5, 15, 22-31 read 0; bit 1 reads 1 */
    assert_int_equal(f & (0x8u | 0x20u | 0x8000u | 0xffc00000u), 0);
    assert_true(f & EFL_FIXED);
    assert_int_equal(f & ARITH, ARITH);
    assert_true(f & EFL_IF);
    assert_true(f & EFL_ID);
    /* a masked write changes only the selected bits, even while lazy */
    const uint8_t add[] = { 0x01, 0xc8 };   /* add eax, ecx: 1 + 0xffffffff -> CF ZF AF PF */
    c->s.gpr[REG_EAX] = 1;
    c->s.gpr[REG_ECX] = 0xffffffff;
    guest_exec(c, add, 2);
    assert_int_equal(cpu_get_eflags(c) & ARITH, EFL_CF | EFL_ZF | EFL_AF | EFL_PF);
    cpu_set_eflags(c, 0, EFL_CF);
    assert_int_equal(cpu_get_eflags(c) & ARITH, EFL_ZF | EFL_AF | EFL_PF);
    assert_false(cpu_get_cf(c));
    assert_true(cpu_get_zf(c));
    cpu_set_eflags(c, EFL_SF | EFL_OF, EFL_SF | EFL_OF | EFL_IF);
    assert_int_equal(cpu_get_eflags(c) & (ARITH | EFL_IF), EFL_ZF | EFL_AF | EFL_PF | EFL_SF | EFL_OF);
    assert_true(cpu_cond(c, 0));    /* O */
    assert_false(cpu_cond(c, 12));  /* L: SF == OF */
    /* CLC/STC/CMC act on the materialised value */
    const uint8_t stc = 0xf9, cmc = 0xf5;
    guest_exec(c, &stc, 1);
    assert_true(cpu_get_cf(c));
    guest_exec(c, &cmc, 1);
    assert_false(cpu_get_cf(c));
    assert_true(cpu_get_zf(c));
    free(c);
}

/* INC/DEC keep CF from the previous lazy operation. */
static void test_inc_keeps_cf(void **s)
{
    (void)s;
    struct cpu *c = new_cpu();
    const uint8_t sub[] = { 0x29, 0xc8 }, inc = 0x40, dec = 0x48;   /* sub eax,ecx; inc eax; dec eax */
    c->s.gpr[REG_EAX] = 1;
    c->s.gpr[REG_ECX] = 2;
    guest_exec(c, sub, 2);         /* borrow: CF = 1 */
    assert_true(cpu_get_cf(c));
    guest_exec(c, &inc, 1);        /* 0xffffffff + 1 = 0: ZF, CF kept */
    assert_int_equal(c->s.gpr[REG_EAX], 0);
    assert_true(cpu_get_cf(c));
    assert_true(cpu_get_zf(c));
    guest_exec(c, &dec, 1);
    assert_true(cpu_get_cf(c));
    assert_true(cpu_get_sf(c));
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_adc),
        cmocka_unit_test(test_sub),
        cmocka_unit_test(test_sbb),
        cmocka_unit_test(test_cmp),
        cmocka_unit_test(test_logic),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_shifts),
        cmocka_unit_test(test_rotates),
        cmocka_unit_test(test_mul_imul),
        cmocka_unit_test(test_bit_ops),
        cmocka_unit_test(test_eflags_roundtrip),
        cmocka_unit_test(test_inc_keeps_cf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* host_flags.c - probe the host CPU's undefined flags (see host_flags.h). */
#include "engine/soft/host_flags.h"

#include "engine/engine.h"

#define ARITH (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF)

/* One 32-bit shift or rotate by CL on the host, from the given flags. */
#define HOST_SHIFT(name, insn)                                                         \
    static uint32_t name(uint32_t *v, uint8_t count, uint64_t in)                        \
    {                                                                                    \
        uint64_t f;                                                                      \
        __asm__ volatile("push %[in]\n\tpopfq\n\t" insn " %%cl, %[v]\n\tpushfq\n\tpop %[f]" \
                         : [f] "=r"(f), [v] "+r"(*v)                                     \
                         : [in] "r"(in), "c"(count)                                      \
                         : "cc");                                                        \
        return (uint32_t)f & ARITH;                                                      \
    }
HOST_SHIFT(host_shl, "shll")
HOST_SHIFT(host_shr, "shrl")
HOST_SHIFT(host_sar, "sarl")
HOST_SHIFT(host_rol, "roll")
HOST_SHIFT(host_ror, "rorl")
HOST_SHIFT(host_rcl, "rcll")
HOST_SHIFT(host_rcr, "rcrl")

static const uint32_t samples[] = {
    0, 1, 2, 0xf, 0x10, 0x1f, 0x7f, 0x80, 0xff, 0x1234, 0x8000, 0xffff, 0x12345678,
    0x40000000, 0x7fffffff, 0x80000000, 0x87654321, 0xc0000000, 0xfffffffe, 0xffffffff,
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

/* OF by the count-1 rule flags.c uses for every count: the top bit of the
 * result against CF (left) or against the bit below it (right). */
static bool of_rule(bool left, uint32_t r, uint32_t f)
{
    bool msb = r >> 31;
    bool want = left ? msb ^ (f & EFL_CF) : msb ^ ((r >> 30) & 1);
    return want == !!(f & EFL_OF);
}

static void probe_shifts(struct host_flag_rules *r)
{
    uint32_t (*const shift[3])(uint32_t *, uint8_t, uint64_t) = { host_shl, host_shr, host_sar };
    unsigned af_set = 0, af_clear = 0;
    bool of = true;
    for (unsigned op = 0; op < 3; op++)
        for (unsigned k = 0; k < NSAMPLES; k++)
            for (uint8_t n = 1; n < 32; n++)
                for (uint64_t in = 0x2; in <= 0x2 + EFL_AF; in += EFL_AF) {
                    uint32_t v = samples[k];
                    uint32_t f = shift[op](&v, n, in);
                    (f & EFL_AF) ? af_set++ : af_clear++;
                    if (n > 1)
                        of &= op == 2 ? !(f & EFL_OF) : of_rule(op == 0, v, f);
                }
    r->shift_af_known = !af_set || !af_clear;
    r->shift_af = af_set != 0;
    r->shift_of = of;
}

static void probe_rotates(struct host_flag_rules *r)
{
    uint32_t (*const rot[4])(uint32_t *, uint8_t, uint64_t) = { host_rol, host_ror, host_rcl, host_rcr };
    bool of = true;
    for (unsigned op = 0; op < 4; op++)
        for (unsigned k = 0; k < NSAMPLES; k++)
            for (uint8_t n = 2; n < 32; n++)
                for (uint64_t in = 0x2; in <= 0x3; in++) {
                    uint32_t v = samples[k];
                    uint32_t f = rot[op](&v, n, in);
                    of &= of_rule(op == 0 || op == 2, v, f);
                }
    r->rotate_of = of;
}

static uint32_t szp(uint32_t v)
{
    return (v == 0 ? EFL_ZF : 0) | ((v >> 31) ? EFL_SF : 0) |
           (__builtin_parity(v & 0xff) ? 0 : EFL_PF);
}

static void probe_mul(struct host_flag_rules *r)
{
    bool zero = true, from_result = true;
    for (unsigned a = 0; a < NSAMPLES; a++)
        for (unsigned b = 0; b < NSAMPLES; b++) {
            uint32_t lo = samples[a], hi, lo2 = samples[a];
            uint64_t f1, f2;
            __asm__ volatile("mull %[b]\n\tpushfq\n\tpop %[f]"
                             : [f] "=r"(f1), "+a"(lo), "=d"(hi) : [b] "r"(samples[b]) : "cc");
            __asm__ volatile("imull %[b], %[v]\n\tpushfq\n\tpop %[f]"
                             : [f] "=r"(f2), [v] "+r"(lo2) : [b] "r"(samples[b]) : "cc");
            uint32_t und = EFL_SF | EFL_ZF | EFL_AF | EFL_PF;
            zero &= !(f1 & und) && !(f2 & und);
            from_result &= (f1 & und) == szp(lo) && (f2 & und) == szp(lo2);
            (void)hi;
        }
    r->mul = zero ? MUL_FLAGS_ZERO : from_result ? MUL_FLAGS_FROM_RESULT : MUL_FLAGS_UNKNOWN;
}

/* SHLD/SHRD r32 by CL from flags `in`. */
static uint32_t host_dshift(bool left, uint32_t *a, uint32_t b, uint8_t count, uint64_t in)
{
    uint64_t f;
    if (left)
        __asm__ volatile("push %[in]\n\tpopfq\n\tshldl %%cl, %[b], %[a]\n\tpushfq\n\tpop %[f]"
                         : [f] "=r"(f), [a] "+r"(*a) : [b] "r"(b), [in] "r"(in), "c"(count) : "cc");
    else
        __asm__ volatile("push %[in]\n\tpopfq\n\tshrdl %%cl, %[b], %[a]\n\tpushfq\n\tpop %[f]"
                         : [f] "=r"(f), [a] "+r"(*a) : [b] "r"(b), [in] "r"(in), "c"(count) : "cc");
    return (uint32_t)f & ARITH;
}

static void probe_double_shifts(struct host_flag_rules *r)
{
    unsigned af_set = 0, af_clear = 0;
    bool of = true;
    for (unsigned left = 0; left < 2; left++)
        for (unsigned k = 0; k < NSAMPLES; k++)
            for (unsigned j = 0; j < NSAMPLES; j += 3)
                for (uint8_t n = 1; n < 32; n++) {
                    uint32_t v = samples[k];
                    uint32_t f = host_dshift(left, &v, samples[j], n, 0x2);
                    (f & EFL_AF) ? af_set++ : af_clear++;
                    of &= of_rule(left, v, f);
                }
    r->dshift_af_known = !af_set || !af_clear;
    r->dshift_af = af_set != 0;
    r->dshift_of = of;
}

/* BT and BSF/BSR: do the flags the SDM leaves undefined keep their values? */
static void probe_bit_ops(struct host_flag_rules *r)
{
    static const uint64_t ins[] = { 0x2, 0x2 | ARITH, 0x2 | EFL_CF | EFL_PF, 0x2 | EFL_SF | EFL_AF | EFL_OF };
    bool bt = true, scan = true;
    for (unsigned k = 0; k < NSAMPLES; k++)
        for (unsigned n = 0; n < 4; n++) {
            uint64_t in = ins[n], f1, f2, f3;
            uint32_t v = samples[k], d1 = 0, d2 = 0;
            __asm__ volatile("push %[in]\n\tpopfq\n\tbtl %[b], %[v]\n\tpushfq\n\tpop %[f]"
                             : [f] "=r"(f1) : [v] "r"(v), [b] "r"(k), [in] "r"(in) : "cc");
            __asm__ volatile("push %[in]\n\tpopfq\n\tbsfl %[v], %[d]\n\tpushfq\n\tpop %[f]"
                             : [f] "=r"(f2), [d] "+r"(d1) : [v] "r"(v), [in] "r"(in) : "cc");
            __asm__ volatile("push %[in]\n\tpopfq\n\tbsrl %[v], %[d]\n\tpushfq\n\tpop %[f]"
                             : [f] "=r"(f3), [d] "+r"(d2) : [v] "r"(v), [in] "r"(in) : "cc");
            uint32_t keep_bt = ARITH & ~EFL_CF, keep_scan = ARITH & ~EFL_ZF;
            bt &= (f1 & keep_bt) == (in & keep_bt);
            scan &= (f2 & keep_scan) == (in & keep_scan) && (f3 & keep_scan) == (in & keep_scan);
        }
    r->bt_keeps = bt;
    r->bitscan_keeps = scan;
}

void host_flag_rules_probe(struct host_flag_rules *r)
{
    probe_shifts(r);
    probe_rotates(r);
    probe_mul(r);
    probe_double_shifts(r);
    probe_bit_ops(r);
}

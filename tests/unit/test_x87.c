/* test_x87.c - the soft CPU's x87 against the host CPU as the oracle.
 *
 * The differential part runs every D8-DF encoding (register forms and
 * [esi] memory forms) on the soft CPU and natively: a stub in an executable
 * page does FRSTOR of the same starting state, the instruction itself,
 * FNSAVE (non-waiting, so unmasked exceptions stay pending and never trap),
 * and returns RAX and RFLAGS.  The register stack, tags, control and status
 * words, the memory operand, AX and the compare flags must match bit for
 * bit, over edge-case operands (signed zeros, denormals, pseudo-denormals,
 * unnormals, infinities, quiet/signalling NaNs, extremes, values needing
 * rounding, empty registers) under every precision and rounding control and
 * with exceptions masked and unmasked.  The last-instruction pointers are
 * not compared (the host's are 64-bit host addresses).
 *
 * Named tests then pin the semantics independently of the host: #NM, #MF
 * and FERR#, FNSAVE/FRSTOR and FNSTENV/FLDENV layouts and round trips,
 * integer indefinite, BCD, FXAM classes, FPREM quotient bits, stack faults,
 * constants under RC, and precise faults (state untouched). */
#include <stdio.h>
#include <sys/mman.h>

#include "soft_test_util.h"
#include "engine/cpu_state.h"
#include "engine/soft/decode.h"
#include "engine/soft/flags.h"
#include "engine/soft/x87.h"

#define MEM_GPA 0x1000u
#define MEM_LEN 128

/* ---- building blocks ---- */

static long double ld(uint16_t se, uint64_t sig)
{
    long double v = 0;
    memcpy(&v, &sig, 8);
    memcpy((uint8_t *)&v + 8, &se, 2);
    return v;
}

static const struct { uint16_t se; uint64_t sig; } edge80[] = {
    { 0x0000, 0 }, { 0x8000, 0 },                                   /* +-0 */
    { 0x3fff, 0x8000000000000000ull }, { 0xbfff, 0x8000000000000000ull }, /* +-1 */
    { 0x4000, 0xc90fdaa22168c235ull },                              /* pi */
    { 0x3ffd, 0xaaaaaaaaaaaaaaabull },                              /* 1/3 */
    { 0x4000, 0xa000000000000000ull }, { 0xc001, 0xe800000000000000ull }, /* 2.5, -7.25 */
    { 0x3fff, 0x8000000000000001ull }, { 0x3fff, 0xffffffffffffffffull }, /* 1+ulp, 2-ulp */
    { 0x403e, 0x8000000000000000ull }, { 0xc03e, 0xffffffffffffffffull }, /* 2^63, -(2^64-1) */
    { 0x401d, 0x8000000000000400ull },                              /* 2^30 + 1/2 ulp(32 bit) */
    { 0x7ffe, 0xffffffffffffffffull }, { 0xfffe, 0xffffffffffffffffull }, /* +-max */
    { 0x0001, 0x8000000000000000ull },                              /* min normal */
    { 0x0000, 0x0000000000000001ull }, { 0x8000, 0x4000000000000000ull }, /* denormals */
    { 0x0000, 0x8000000000000000ull },                              /* pseudo-denormal */
    { 0x4000, 0x4000000000000000ull },                              /* unnormal */
    { 0x7fff, 0x8000000000000000ull }, { 0xffff, 0x8000000000000000ull }, /* +-inf */
    { 0x7fff, 0xc000000000000001ull }, { 0xffff, 0xe123456789abcdefull }, /* QNaNs */
    { 0x7fff, 0xa000000000000000ull }, { 0xffff, 0x8000000000000001ull }, /* SNaNs */
    { 0xffff, 0xc000000000000000ull },                              /* indefinite */
    { 0x7fff, 0x0000000000000001ull },                              /* pseudo-NaN */
    { 0x3c01, 0x8000000000000000ull }, { 0x43fe, 0xfedcba9876543210ull }, /* double range edges */
    { 0x3f81, 0x8000000000000000ull }, { 0x407e, 0xffffff8000000000ull }, /* float range edges */
    { 0x3fbf, 0x8000000000000000ull },                              /* 2^-64 */
    { 0x4002, 0xb000000000000000ull },                              /* 11 */
};
#define N_EDGE80 (sizeof(edge80) / sizeof(edge80[0]))

/* xorshift, fixed seed: the same cases every run */
struct rng { uint64_t s; };
static uint64_t rnd(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static long double rnd_value(struct rng *r)
{
    uint64_t k = rnd(r);
    if (k % 4 != 0)
        return ld(edge80[(k >> 8) % N_EDGE80].se, edge80[(k >> 8) % N_EDGE80].sig);
    /* a random normal number of moderate exponent */
    uint16_t se = (uint16_t)((0x3fff - 70 + (rnd(r) % 140)) | ((k >> 40) & 1) << 15);
    return ld(se, rnd(r) | 0x8000000000000000ull);
}

/* Memory operand contents for each operand type. */
static void rnd_mem(struct rng *r, uint8_t *m)
{
    static const uint32_t f32[] = { 0, 0x80000000u, 0x3f800000u, 0x7f800000u, 0xff800000u,
                                    0x7fc00000u, 0x7fa00000u, 0x00000001u, 0x807fffffu,
                                    0x7f7fffffu, 0x40490fdbu, 0xc1200000u };
    static const uint64_t f64[] = { 0, 0x8000000000000000ull, 0x3ff0000000000000ull,
                                    0x7ff0000000000000ull, 0x7ff8000000000000ull,
                                    0x7ff4000000000000ull, 0x0000000000000001ull,
                                    0x800fffffffffffffull, 0x7fefffffffffffffull,
                                    0x400921fb54442d18ull, 0xc024000000000000ull };
    static const uint64_t ints[] = { 0, 1, 0xffffffffffffffffull, 0x7fff, 0x8000, 0x7fffffff,
                                     0x80000000u, 0x8000000000000000ull, 0x7fffffffffffffffull,
                                     12345, 0xfffffffffffffff6ull };
    static const uint8_t bcd[][10] = {
        { 0 }, { 0x34, 0x12 }, { 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x80 },
        { 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x80 }, { 0xab, 0xcd }, { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff },
    };
    memset(m, 0, MEM_LEN);
    uint64_t k = rnd(r);
    switch (k % 6) {
    case 0: memcpy(m, &f32[(k >> 8) % 12], 4); break;
    case 1: memcpy(m, &f64[(k >> 8) % 11], 8); break;
    case 2: memcpy(m, &ints[(k >> 8) % 11], 8); break;
    case 3: memcpy(m, bcd[(k >> 8) % 6], 10); break;
    case 4: { long double v = rnd_value(r); memcpy(m, &v, 10); break; }
    default: { uint64_t a = rnd(r), b = rnd(r); memcpy(m, &a, 8); memcpy(m + 8, &b, 8); break; }
    }
}

/* Control words: every PC x RC with all masked, plus unmasked sets. */
static const uint16_t cws[] = {
    0x037f, 0x027f, 0x007f, 0x077f, 0x0b7f, 0x0f7f, 0x067f, 0x0a7f, 0x0c7f, 0x047f, 0x087f, 0x0e7f,
    0x0360, 0x037e, 0x037b, 0x0377, 0x036f, 0x035f, 0x033f, 0x0f60, 0x0060,
};
#define N_CWS (sizeof(cws) / sizeof(cws[0]))

static void rnd_state(struct rng *r, struct x87_state *f)
{
    memset(f, 0, sizeof(*f));
    f->fcw = cws[rnd(r) % N_CWS] | 0x40;
    unsigned top = rnd(r) % 8;
    f->fsw = (uint16_t)((top << 11) | (rnd(r) & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)));
    uint64_t empties = rnd(r);
    unsigned depth = (unsigned)(rnd(r) % 9);   /* 0..8 registers in use */
    f->ftw = 0;
    for (unsigned k = 0; k < 8; k++) {
        unsigned p = (top + k) & 7;
        f->st[p] = rnd_value(r);
        bool in_use = k < depth && (empties >> k) % 8 != 0;
        f->ftw |= (uint16_t)((in_use ? x87_tag_of(f->st[p]) : X87_TAG_EMPTY) << (2 * p));
    }
}

/* ---- the host side ---- */

typedef void (*stub_fn)(void *image, void *mem, uint64_t *regs);

struct host {
    uint8_t *page;
};

static struct host host_new(void)
{
    struct host h;
    h.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(h.page != MAP_FAILED);
    return h;
}

/* 32-bit protected-mode FNSAVE image of f (what 64-bit FNSAVE uses). */
static void to_image(const struct x87_state *f, uint8_t *img)
{
    memset(img, 0, 108);
    uint32_t w[7] = { 0xffff0000u | f->fcw, 0xffff0000u | f->fsw, 0xffff0000u | f->ftw, 0, 0, 0, 0xffff0000u };
    memcpy(img, w, 28);
    unsigned top = (f->fsw >> 11) & 7;
    for (unsigned k = 0; k < 8; k++)
        memcpy(img + 28 + 10 * k, &f->st[(top + k) & 7], 10);
}

static void from_image(const uint8_t *img, struct x87_state *f)
{
    memset(f, 0, sizeof(*f));
    memcpy(&f->fcw, img, 2);
    memcpy(&f->fsw, img + 4, 2);
    memcpy(&f->ftw, img + 8, 2);
    unsigned top = (f->fsw >> 11) & 7;
    for (unsigned k = 0; k < 8; k++)
        memcpy(&f->st[(top + k) & 7], img + 28 + 10 * k, 10);
}

/* regs[0] = RAX in/out, regs[1] = RFLAGS in/out. */
static void host_exec(struct host *h, const uint8_t *insn, unsigned n, uint8_t *img, uint8_t *mem,
                      uint64_t regs[2])
{
    static const uint8_t pre[] = {
        0xdd, 0x27,               /* frstor (%rdi) */
        0xff, 0x72, 0x08,         /* push 8(%rdx) */
        0x9d,                     /* popfq */
        0x48, 0x8b, 0x02,         /* mov (%rdx), %rax */
    };
    static const uint8_t post[] = {
        0xdd, 0x37,               /* fnsave (%rdi) */
        0x48, 0x89, 0x02,         /* mov %rax, (%rdx) */
        0x9c,                     /* pushfq */
        0x8f, 0x42, 0x08,         /* pop 8(%rdx) */
        0xc3,                     /* ret */
    };
    uint8_t *p = h->page;
    memcpy(p, pre, sizeof(pre));
    p += sizeof(pre);
    memcpy(p, insn, n);
    p += n;
    memcpy(p, post, sizeof(post));
    __builtin___clear_cache((char *)h->page, (char *)p + sizeof(post));
    ((stub_fn)(void *)h->page)(img, mem, regs);
}

/* ---- the guest side ---- */

static struct guest *x87_guest(void)
{
    struct guest *g = guest_new();
    struct cpu_state s;
    cpu_state_power_on(&s);
    flat_protected(&s, 0);
    s.cr0 |= CR0_NE;
    s.gpr[REG_ESI] = MEM_GPA;
    soft_engine_ops.set_state(g->e, &s);
    return g;
}

/* Decode and execute one x87 instruction; returns the vector of a fault
 * or -1. */
static int guest_exec(struct guest *g, const uint8_t *insn, unsigned n)
{
    struct cpu *c = g->c;
    struct insn i;
    assert_int_equal(decode_insn(&i, insn, n, true), DECODE_OK);
    assert_int_equal(i.len, n);
    jmp_buf jb;
    c->fault_jmp = &jb;
    c->insn_eip = 0x2000;
    if (setjmp(jb) == 0) {
        if (insn[0] == 0x9b)
            x87_fwait(c, &i);
        else
            x87_exec(c, &i);
        return -1;
    }
    assert_true(c->fault_pending);
    c->fault_pending = false;
    c->s.events.exception_pending = false;
    return c->s.events.exception_vector;
}

/* ---- differential runs ---- */

struct diff_stats {
    unsigned runs, mismatches;
    unsigned per_enc[8][256];     /* mismatches by opcode, ModRM */
};

static bool same_state(const struct x87_state *a, const struct x87_state *b)
{
    if (a->fcw != b->fcw || a->fsw != b->fsw || a->ftw != b->ftw)
        return false;
    for (unsigned p = 0; p < 8; p++)
        if (memcmp(&a->st[p], &b->st[p], 10) != 0)
            return false;
    return true;
}

static void dump(const char *who, const struct x87_state *f)
{
    fprintf(stderr, "  %s: cw %04x sw %04x tw %04x\n", who, f->fcw, f->fsw, f->ftw);
    for (unsigned p = 0; p < 8; p++) {
        uint16_t se;
        uint64_t sig;
        memcpy(&sig, &f->st[p], 8);
        memcpy(&se, (const uint8_t *)&f->st[p] + 8, 2);
        fprintf(stderr, "    r%u %04x %016llx\n", p, se, (unsigned long long)sig);
    }
}

/* One instruction from one state: soft CPU vs host. */
static void diff_one(struct guest *g, struct host *h, const uint8_t *insn, unsigned n,
                     const struct x87_state *in, const uint8_t *mem, uint64_t flags, uint16_t ax,
                     struct diff_stats *st)
{
    struct cpu *c = g->c;
    uint8_t img[108], hmem[MEM_LEN];
    uint64_t regs[2] = { 0x1111000000000000ull | ax, 0x202 | (flags & 0x8d5) };

    to_image(in, img);
    memcpy(hmem, mem, MEM_LEN);
    host_exec(h, insn, n, img, hmem, regs);
    struct x87_state want;
    from_image(img, &want);

    c->s.fpu = *in;
    memcpy(g->ram + MEM_GPA, mem, MEM_LEN);
    c->s.gpr[REG_EAX] = 0x11110000u | ax;
    cpu_set_eflags(c, (uint32_t)flags, EFL_ARITH);
    int vec = guest_exec(g, insn, n);
    uint32_t gflags = cpu_get_eflags(c);

    st->runs++;
    bool ok = vec < 0 && same_state(&c->s.fpu, &want) &&
              memcmp(g->ram + MEM_GPA, hmem, MEM_LEN) == 0 &&
              (uint16_t)c->s.gpr[REG_EAX] == (uint16_t)regs[0] &&
              (gflags & EFL_ARITH) == (regs[1] & EFL_ARITH);
    if (!ok) {
        st->mismatches++;
        if (st->per_enc[insn[0] & 7][insn[1]]++ == 0 && getenv("X87_VERBOSE")) {
            fprintf(stderr, "mismatch on");
            for (unsigned k = 0; k < n; k++)
                fprintf(stderr, " %02x", insn[k]);
            fprintf(stderr, " (fault %d, ax %04x/%04x, flags %03x/%03x, mem %s)\n", vec,
                    (uint16_t)c->s.gpr[REG_EAX], (uint16_t)regs[0], gflags & EFL_ARITH,
                    (unsigned)(regs[1] & EFL_ARITH),
                    memcmp(g->ram + MEM_GPA, hmem, MEM_LEN) ? "differs" : "same");
            dump("input", in);
            dump("soft ", &c->s.fpu);
            dump("host ", &want);
        }
    }
}

/* Encodings the soft CPU treats as #UD (their native behaviour is not run). */
static bool reg_form_undefined(uint8_t op, uint8_t modrm)
{
    unsigned reg = (modrm >> 3) & 7, rm = modrm & 7;
    switch (op) {
    case 0xd9:
        if (reg == 2) return rm != 0;
        if (reg == 4) return rm == 2 || rm == 3 || rm == 6 || rm == 7;
        if (reg == 5) return rm == 7;
        return false;
    case 0xda: return reg >= 4 && !(reg == 5 && rm == 1);
    case 0xdb: return reg == 7 || (reg == 4 && rm > 4);
    case 0xdd: return reg >= 6;
    case 0xde: return reg == 3 && rm != 1;
    case 0xdf: return reg == 7 || (reg == 4 && rm != 0);
    default: return false;
    }
}

/* Memory forms compared natively: all but the environment/save forms
 * (pointer fields differ; tested below) and FISTTP (SSE3, #UD here). */
static bool mem_form_compared(uint8_t op, unsigned reg)
{
    switch (op) {
    case 0xd9: return reg != 1 && reg != 4 && reg != 6;
    case 0xdb: return reg != 1 && reg != 4 && reg != 6;
    case 0xdd: return reg != 1 && reg != 4 && reg != 5 && reg != 6;
    case 0xdf: return reg != 1;
    default: return true;
    }
}

static void run_diff(unsigned trials_per_encoding, bool mem_forms)
{
    struct guest *g = x87_guest();
    struct host h = host_new();
    struct rng r = { 0x9e3779b97f4a7c15ull };
    static struct diff_stats st;
    memset(&st, 0, sizeof(st));
    for (unsigned op = 0xd8; op <= 0xdf; op++) {
        for (unsigned m = 0; m < 256; m++) {
            bool reg_form = m >= 0xc0;
            if (reg_form == mem_forms)
                continue;
            if (reg_form && reg_form_undefined((uint8_t)op, (uint8_t)m))
                continue;
            if (!reg_form && ((m & 0xc7) != 0x06 || !mem_form_compared((uint8_t)op, (m >> 3) & 7)))
                continue;
            uint8_t insn[2] = { (uint8_t)op, (uint8_t)m };
            for (unsigned t = 0; t < trials_per_encoding; t++) {
                struct x87_state in;
                uint8_t mem[MEM_LEN];
                rnd_state(&r, &in);
                rnd_mem(&r, mem);
                diff_one(g, &h, insn, 2, &in, mem, rnd(&r), (uint16_t)rnd(&r), &st);
            }
        }
    }
    fprintf(stderr, "x87 %s forms: %u runs, %u mismatches\n", mem_forms ? "memory" : "register",
            st.runs, st.mismatches);
    for (unsigned op = 0; op < 8; op++)
        for (unsigned m = 0; m < 256; m++)
            if (st.per_enc[op][m])
                fprintf(stderr, "  %02x %02x: %u\n", 0xd8 + op, m, st.per_enc[op][m]);
    assert_int_equal(st.mismatches, 0);
    munmap(h.page, 4096);
    guest_free(g);
}

static void test_diff_register_forms(void **state)
{
    (void)state;
    run_diff(400, false);
}

static void test_diff_memory_forms(void **state)
{
    (void)state;
    run_diff(1500, true);
}

/* ---- named tests (through the decoder's routing) ---- */

/* Run bytes through decode + insn.exec; returns the fault vector or -1. */
static int run(struct guest *g, const uint8_t *b, unsigned n)
{
    struct cpu *c = g->c;
    struct insn i;
    assert_int_equal(decode_insn(&i, b, n, c->code32), DECODE_OK);
    assert_int_equal(i.len, n);
    jmp_buf jb;
    c->fault_jmp = &jb;
    c->insn_eip = 0x2000;
    if (setjmp(jb) == 0) {
        i.exec(c, &i);
        return -1;
    }
    c->fault_pending = false;
    c->s.events.exception_pending = false;
    return c->s.events.exception_vector;
}

#define RUN_OK(g, ...) do { const uint8_t b_[] = { __VA_ARGS__ };                      \
        assert_int_equal(run((g), b_, sizeof(b_)), -1); } while (0)
#define RUN_FAULT(g, vec, ...) do { const uint8_t b_[] = { __VA_ARGS__ };              \
        assert_int_equal(run((g), b_, sizeof(b_)), (vec)); } while (0)

static unsigned top_of(const struct cpu *c) { return (c->s.fpu.fsw >> 11) & 7; }
static long double st_of(const struct cpu *c, unsigned i) { return c->s.fpu.st[(top_of(c) + i) & 7]; }

static void test_routing_and_cpuid(void **state)
{
    (void)state;
    struct guest *g = x87_guest();
    struct insn i;
    static const uint8_t fld1[] = { 0xd9, 0xe8 }, fwait[] = { 0x9b };
    assert_int_equal(decode_insn(&i, fld1, 2, true), DECODE_OK);
    assert_ptr_equal(i.exec, x87_exec);
    assert_int_equal(decode_insn(&i, fwait, 1, true), DECODE_OK);
    assert_ptr_equal(i.exec, x87_fwait);
    RUN_OK(g, 0xdb, 0xe3);                        /* fninit */
    RUN_FAULT(g, EXC_UD, 0xdf, 0x0e);             /* fisttp m16: SSE3, not advertised */
    RUN_FAULT(g, EXC_UD, 0xdb, 0x0e);
    RUN_FAULT(g, EXC_UD, 0xdd, 0x0e);
    RUN_FAULT(g, EXC_UD, 0xd9, 0xd1);
    RUN_FAULT(g, EXC_UD, 0xd9, 0x0e);
    RUN_FAULT(g, EXC_UD, 0xdf, 0xe1);
    RUN_OK(g, 0xdb, 0xe0);                        /* feni, fdisi, fsetpm: no-ops */
    RUN_OK(g, 0xdb, 0xe1);
    RUN_OK(g, 0xdb, 0xe4);
    g->c->s.gpr[REG_EAX] = 1;
    jmp_buf jb;
    g->c->fault_jmp = &jb;
    if (setjmp(jb) == 0)
        cpu_cpuid(g->c);
    assert_true(g->c->s.gpr[REG_EDX] & 1);        /* FPU */
    guest_free(g);
}

static void test_device_not_available(void **state)
{
    (void)state;
    struct guest *g = x87_guest();
    struct cpu *c = g->c;
    c->s.cr0 |= CR0_EM;
    RUN_FAULT(g, EXC_NM, 0xd9, 0xe8);
    RUN_FAULT(g, EXC_NM, 0xdb, 0xe3);             /* even FNINIT */
    RUN_OK(g, 0x9b);                              /* FWAIT ignores EM */
    c->s.cr0 &= ~CR0_EM;
    c->s.cr0 |= CR0_TS;
    RUN_FAULT(g, EXC_NM, 0xd9, 0xe8);
    RUN_OK(g, 0x9b);                              /* TS without MP */
    c->s.cr0 |= CR0_MP;
    RUN_FAULT(g, EXC_NM, 0x9b);
    c->s.cr0 &= ~(CR0_TS | CR0_MP);
    RUN_OK(g, 0xdb, 0xe3);
    RUN_OK(g, 0xd9, 0xe8);
    assert_true(st_of(c, 0) == 1.0L);
    guest_free(g);
}

/* An unmasked zero divide: no result, ES; #MF at the next waiting
 * instruction with CR0.NE, FERR# without. */
static void test_pending_exception(void **state)
{
    (void)state;
    struct guest *g = x87_guest();
    struct cpu *c = g->c;
    uint16_t cw = 0x037b;                          /* ZE unmasked */
    memcpy(g->ram + MEM_GPA, &cw, 2);
    RUN_OK(g, 0xdb, 0xe3);                         /* fninit */
    RUN_OK(g, 0xd9, 0x2e);                         /* fldcw [esi] */
    RUN_OK(g, 0xd9, 0xe8);                         /* fld1 */
    RUN_OK(g, 0xd9, 0xee);                         /* fldz */
    RUN_OK(g, 0xde, 0xf9);                         /* fdivp: 1/0 */
    assert_int_equal(c->s.fpu.fsw & (FSW_ZE | FSW_ES | FSW_B), FSW_ZE | FSW_ES | FSW_B);
    assert_int_equal(top_of(c), 6);                /* not popped, operands kept */
    assert_true(st_of(c, 0) == 0.0L && st_of(c, 1) == 1.0L);
    struct x87_state before = c->s.fpu;
    RUN_FAULT(g, EXC_MF, 0xd9, 0xe8);              /* next waiting instruction */
    assert_memory_equal(&c->s.fpu, &before, sizeof(before));
    RUN_FAULT(g, EXC_MF, 0x9b);                    /* FWAIT */
    RUN_OK(g, 0xdf, 0xe0);                         /* fnstsw ax: no wait */
    assert_int_equal(c->s.gpr[REG_EAX] & 0xffff, c->s.fpu.fsw);
    assert_false(x87_ferr_pending(c));
    c->s.cr0 &= ~CR0_NE;                           /* the PC's IRQ 13 path */
    assert_true(x87_ferr_pending(c));
    RUN_OK(g, 0x9b);
    RUN_OK(g, 0xd9, 0xe8);                         /* goes on (IGNNE#) */
    RUN_OK(g, 0xdb, 0xe2);                         /* fnclex */
    assert_false(x87_ferr_pending(c));
    assert_int_equal(c->s.fpu.fsw & 0x80ff, 0);
    /* masking the flag through FLDCW also drops ES */
    c->s.cr0 |= CR0_NE;
    RUN_OK(g, 0xd9, 0xe8);
    RUN_OK(g, 0xd9, 0xee);
    RUN_OK(g, 0xde, 0xf9);
    assert_true(c->s.fpu.fsw & FSW_ES);
    cw = 0x037f;
    memcpy(g->ram + MEM_GPA, &cw, 2);
    RUN_FAULT(g, EXC_MF, 0xd9, 0x2e);              /* FLDCW waits first */
    RUN_OK(g, 0xdb, 0xe2);
    RUN_OK(g, 0xd9, 0x2e);
    guest_free(g);
}

/* Fill the state with a recognisable stack and pointers. */
static void sample_state(struct x87_state *f)
{
    struct rng r = { 12345 };
    rnd_state(&r, f);
    f->fcw = 0x0a7f;
    f->fsw &= (uint16_t)~(FSW_ES | FSW_B | FSW_EXC);
    f->fsw |= FSW_PE | FSW_UE;
    f->fip = 0x1234;
    f->fcs = 0x08;
    f->fop = 0x5a5;
    f->fdp = 0x4321;
    f->fds = 0x10;
}

static void real_mode(struct guest *g)
{
    struct cpu_state s;
    cpu_state_power_on(&s);
    s.gpr[REG_ESI] = MEM_GPA;
    soft_engine_ops.set_state(g->e, &s);
}

static void check_roundtrip(struct guest *g, bool op16, bool real)
{
    struct cpu *c = g->c;
    struct x87_state orig;
    sample_state(&orig);
    c->s.fpu = orig;
    /* [esi] needs 32-bit addressing (67 in real mode); 66 flips the size */
    uint8_t insn[4];
    unsigned n = 0;
    if (op16 != !c->code32)
        insn[n++] = 0x66;
    if (!c->code32)
        insn[n++] = 0x67;
    insn[n++] = 0xdd;
    insn[n++] = 0x36;                              /* fnsave [esi] */
    assert_int_equal(run(g, insn, n), -1);
    assert_int_equal(c->s.fpu.fcw, 0x037f);        /* FNSAVE re-initialises */
    assert_int_equal(c->s.fpu.ftw, 0xffff);
    assert_int_equal(c->s.fpu.fsw, 0);
    unsigned env = op16 ? 14 : 28;
    assert_int_equal(get32(g, MEM_GPA) & 0xffff, 0x0a7f);
    /* ST(0) comes right after the environment */
    assert_memory_equal(g->ram + MEM_GPA + env, &orig.st[(orig.fsw >> 11) & 7], 10);
    for (unsigned p = 0; p < 8; p++)
        c->s.fpu.st[p] = -99.0L;
    insn[n - 1] = 0x26;                            /* frstor [esi] */
    assert_int_equal(run(g, insn, n), -1);
    struct x87_state *f = &c->s.fpu;
    assert_int_equal(f->fcw, orig.fcw);
    assert_int_equal(f->fsw, orig.fsw);
    assert_int_equal(f->ftw, orig.ftw);
    for (unsigned p = 0; p < 8; p++)
        assert_memory_equal(&f->st[p], &orig.st[p], 10);
    if (real) {                                    /* linear pointers, selectors dropped */
        assert_int_equal(f->fip, orig.fip + (orig.fcs << 4));
        assert_int_equal(f->fdp, orig.fdp + (orig.fds << 4));
        assert_int_equal(f->fop, orig.fop);
    } else {
        assert_int_equal(f->fip, orig.fip);
        assert_int_equal(f->fcs, orig.fcs);
        assert_int_equal(f->fdp, orig.fdp);
        assert_int_equal(f->fds, orig.fds);
        if (!op16)
            assert_int_equal(f->fop, orig.fop);
    }
}

static void test_save_restore_formats(void **state)
{
    (void)state;
    struct guest *g = x87_guest();
    check_roundtrip(g, false, false);
    check_roundtrip(g, true, false);
    real_mode(g);
    check_roundtrip(g, true, true);
    check_roundtrip(g, false, true);
    guest_free(g);
}

/* The 32-bit protected-mode image against the host's FNSAVE/FNSTENV:
 * control/status/tag words with their reserved halves, registers; and
 * FNSTENV then masks every exception. */
static void test_image_matches_host(void **state)
{
    (void)state;
    struct guest *g = x87_guest();
    struct cpu *c = g->c;
    struct host h = host_new();
    struct x87_state f;
    sample_state(&f);
    f.fcw = 0x037f;
    uint8_t img[108], mem[MEM_LEN] = { 0 };
    uint64_t regs[2] = { 0, 0x202 };
    static const uint8_t fnop[] = { 0xd9, 0xd0 };
    to_image(&f, img);
    host_exec(&h, fnop, 2, img, mem, regs);        /* the host's own FNSAVE image */
    c->s.fpu = f;
    RUN_OK(g, 0xd9, 0xd0);
    RUN_OK(g, 0xdd, 0x36);
    assert_memory_equal(g->ram + MEM_GPA, img, 12);
    assert_memory_equal(g->ram + MEM_GPA + 26, img + 26, 2);
    assert_memory_equal(g->ram + MEM_GPA + 28, img + 28, 80);
    c->s.fpu = f;
    c->s.fpu.fsw |= FSW_ZE | FSW_ES | FSW_B;
    c->s.fpu.fcw = 0x037b;
    RUN_OK(g, 0xd9, 0x36);                         /* fnstenv: no wait */
    assert_int_equal(get32(g, MEM_GPA + 4) & FSW_ES, FSW_ES);
    assert_int_equal(c->s.fpu.fcw, 0x037f);
    assert_int_equal(c->s.fpu.fsw & (FSW_ES | FSW_B), 0);
    munmap(h.page, 4096);
    guest_free(g);
}

static void test_known_values(void **state)
{
    (void)state;
    struct guest *g = x87_guest();
    struct cpu *c = g->c;
    uint8_t *m = g->ram + MEM_GPA;
    long double v;

    RUN_OK(g, 0xdb, 0xe3);
    v = 1e10L;
    memcpy(m, &v, 10);
    RUN_OK(g, 0xdb, 0x2e);                         /* fld m80 */
    RUN_OK(g, 0xdb, 0x16);                         /* fist m32: overflow */
    assert_int_equal(get32(g, MEM_GPA), 0x80000000u);
    assert_true(c->s.fpu.fsw & FSW_IE);
    RUN_OK(g, 0xdf, 0x16);                         /* fist m16 */
    assert_int_equal(get32(g, MEM_GPA) & 0xffff, 0x8000);

    RUN_OK(g, 0xdb, 0xe3);
    int32_t k = -1234;
    memcpy(m, &k, 4);
    RUN_OK(g, 0xdb, 0x06);                         /* fild m32 */
    RUN_OK(g, 0xdf, 0x36);                         /* fbstp */
    static const uint8_t bcd[10] = { 0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0x80 };
    assert_memory_equal(m, bcd, 10);
    assert_int_equal(c->s.fpu.ftw, 0xffff);
    RUN_OK(g, 0xdf, 0x26);                         /* fbld */
    assert_true(st_of(c, 0) == -1234.0L);

    /* FXAM classes */
    RUN_OK(g, 0xdb, 0xe3);
    RUN_OK(g, 0xd9, 0xe5);
    assert_int_equal(c->s.fpu.fsw & (FSW_C0 | FSW_C2 | FSW_C3), FSW_C3 | FSW_C0);   /* empty */
    RUN_OK(g, 0xd9, 0xee);
    RUN_OK(g, 0xd9, 0xe5);
    assert_int_equal(c->s.fpu.fsw & (FSW_C0 | FSW_C2 | FSW_C3), FSW_C3);            /* zero */
    RUN_OK(g, 0xd9, 0xe0);                         /* fchs: -0 */
    RUN_OK(g, 0xd9, 0xe5);
    assert_int_equal(c->s.fpu.fsw & FSW_CC, FSW_C3 | FSW_C1);
    RUN_OK(g, 0xd9, 0xe8);
    RUN_OK(g, 0xd9, 0xe5);
    assert_int_equal(c->s.fpu.fsw & FSW_CC, FSW_C2);                                 /* normal */

    /* FPREM: 7 rem 2 = 1, quotient 3 -> Q0 (C1) = 1, Q1 (C3) = 1, Q2 (C0) = 0 */
    RUN_OK(g, 0xdb, 0xe3);
    k = 2;
    memcpy(m, &k, 4);
    RUN_OK(g, 0xdb, 0x06);
    k = 7;
    memcpy(m, &k, 4);
    RUN_OK(g, 0xdb, 0x06);
    RUN_OK(g, 0xd9, 0xf8);
    assert_true(st_of(c, 0) == 1.0L);
    assert_int_equal(c->s.fpu.fsw & FSW_CC, FSW_C1 | FSW_C3);

    /* FLDPI rounds by RC: nearest and up ...c235, down and chop ...c234 */
    static const uint16_t rc_cw[4] = { 0x037f, 0x077f, 0x0b7f, 0x0f7f };
    static const uint64_t pi_sig[4] = { 0xc90fdaa22168c235ull, 0xc90fdaa22168c234ull,
                                        0xc90fdaa22168c235ull, 0xc90fdaa22168c234ull };
    for (unsigned rc = 0; rc < 4; rc++) {
        RUN_OK(g, 0xdb, 0xe3);
        memcpy(m, &rc_cw[rc], 2);
        RUN_OK(g, 0xd9, 0x2e);
        RUN_OK(g, 0xd9, 0xeb);
        v = st_of(c, 0);
        uint64_t sig;
        memcpy(&sig, &v, 8);
        assert_int_equal(sig, pi_sig[rc]);
    }

    /* stack overflow: the ninth push (masked) */
    RUN_OK(g, 0xdb, 0xe3);
    for (unsigned n = 0; n < 8; n++)
        RUN_OK(g, 0xd9, 0xe8);
    assert_int_equal(c->s.fpu.ftw, 0);
    RUN_OK(g, 0xd9, 0xee);
    assert_int_equal(c->s.fpu.fsw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF | FSW_C1);
    v = st_of(c, 0);
    assert_int_equal(((const uint16_t *)&v)[4], 0xffff);   /* the indefinite */
    /* stack underflow: FADD with an empty ST(1) after FFREE */
    RUN_OK(g, 0xdb, 0xe2);
    RUN_OK(g, 0xdd, 0xc1);                         /* ffree st(1) */
    RUN_OK(g, 0xd8, 0xc1);
    assert_int_equal(c->s.fpu.fsw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF);

    /* FCOMI: ZF PF CF from the compare, OF SF AF cleared */
    RUN_OK(g, 0xdb, 0xe3);
    RUN_OK(g, 0xd9, 0xe8);                         /* 1 */
    RUN_OK(g, 0xd9, 0xee);                         /* 0 < 1 */
    cpu_set_eflags(c, EFL_OF | EFL_SF | EFL_AF | EFL_ZF, EFL_ARITH);
    RUN_OK(g, 0xdb, 0xf1);
    assert_int_equal(cpu_get_eflags(c) & EFL_ARITH, EFL_CF);
    guest_free(g);
}

/* A faulting store leaves the FPU as it was (the instruction restarts). */
static void test_precise_fault(void **state)
{
    (void)state;
    struct guest *g = x87_guest();
    struct cpu *c = g->c;
    RUN_OK(g, 0xdb, 0xe3);
    RUN_OK(g, 0xd9, 0xeb);
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    s.seg[SEG_DS].limit = MEM_GPA + 7;             /* 10 bytes do not fit */
    soft_engine_ops.set_state(g->e, &s);
    struct x87_state before = c->s.fpu;
    RUN_FAULT(g, EXC_GP, 0xdb, 0x3e);              /* fstp m80 */
    assert_memory_equal(&c->s.fpu, &before, sizeof(before));
    RUN_FAULT(g, EXC_GP, 0xdd, 0x36);              /* fnsave: no partial re-init */
    assert_memory_equal(&c->s.fpu, &before, sizeof(before));
    assert_int_equal(get32(g, MEM_GPA), 0);        /* nothing written */
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_register_forms),
        cmocka_unit_test(test_diff_memory_forms),
        cmocka_unit_test(test_routing_and_cpuid),
        cmocka_unit_test(test_device_not_available),
        cmocka_unit_test(test_pending_exception),
        cmocka_unit_test(test_save_restore_formats),
        cmocka_unit_test(test_image_matches_host),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_precise_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

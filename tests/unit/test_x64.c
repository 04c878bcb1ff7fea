/* test_x64.c - the translator's x86-64 encoder (src/engine/soft/x64.c):
 * every emitter over legacy and R8-R15 registers, the ModRM/SIB special
 * cases (RSP/R12 bases need a SIB, RBP/R13 bases need a displacement, no
 * base is a SIB with base 101 and disp32), index registers and scales,
 * displacement widths and operand sizes 1/2/4/8, checked against
 * capstone's 64-bit decoding of the bytes: mnemonic, the length of the
 * whole emitted sequence, and each operand's register, memory parts,
 * size and immediate.  Then rel32 branches and their patching, the flag
 * save/restore pair and the buffer overflow rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include <capstone/capstone.h>

#include "engine/soft/x64.h"

static csh cs;

static int setup(void **st)
{
    (void)st;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
        return -1;
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    cs_close(&cs);
    return 0;
}

/* Capstone's name of encoder register r (0-15) at operand size 1/2/4/8. */
static x86_reg cs_reg(unsigned r, unsigned size)
{
    static const x86_reg r64[16] = {
        X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP, X86_REG_RSI, X86_REG_RDI,
        X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11, X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15 };
    static const x86_reg r32[16] = {
        X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX, X86_REG_ESP, X86_REG_EBP, X86_REG_ESI, X86_REG_EDI,
        X86_REG_R8D, X86_REG_R9D, X86_REG_R10D, X86_REG_R11D, X86_REG_R12D, X86_REG_R13D, X86_REG_R14D, X86_REG_R15D };
    static const x86_reg r16[16] = {
        X86_REG_AX, X86_REG_CX, X86_REG_DX, X86_REG_BX, X86_REG_SP, X86_REG_BP, X86_REG_SI, X86_REG_DI,
        X86_REG_R8W, X86_REG_R9W, X86_REG_R10W, X86_REG_R11W, X86_REG_R12W, X86_REG_R13W, X86_REG_R14W, X86_REG_R15W };
    /* with a REX prefix 4-7 are SPL BPL SIL DIL, which the encoder must give */
    static const x86_reg r8[16] = {
        X86_REG_AL, X86_REG_CL, X86_REG_DL, X86_REG_BL, X86_REG_SPL, X86_REG_BPL, X86_REG_SIL, X86_REG_DIL,
        X86_REG_R8B, X86_REG_R9B, X86_REG_R10B, X86_REG_R11B, X86_REG_R12B, X86_REG_R13B, X86_REG_R14B, X86_REG_R15B };
    assert_true(r < 16);
    switch (size) {
    case 1: return r8[r];
    case 2: return r16[r];
    case 4: return r32[r];
    default: return r64[r];
    }
}

/* ---- expected operands ---- */

enum { OP_REG = 1, OP_MEM, OP_IMM };

struct want {
    int kind;
    unsigned size;          /* operand size in bytes */
    unsigned reg;           /* OP_REG */
    struct x64_mem mem;     /* OP_MEM */
    int64_t imm;            /* OP_IMM: compared within `size` bytes */
};

static struct want R(unsigned reg, unsigned size) { return (struct want){ .kind = OP_REG, .size = size, .reg = reg }; }
static struct want M(struct x64_mem m, unsigned size) { return (struct want){ .kind = OP_MEM, .size = size, .mem = m }; }
static struct want I(int64_t imm, unsigned size) { return (struct want){ .kind = OP_IMM, .size = size, .imm = imm }; }

static struct x64_mem sib(unsigned base, unsigned index, unsigned scale, int32_t disp)
{
    return (struct x64_mem){ (uint8_t)base, (uint8_t)index, (uint8_t)scale, disp };
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static void check_op(const cs_x86_op *got, const struct want *w, const char *what, unsigned k)
{
    switch (w->kind) {
    case OP_REG:
        if (got->type != X86_OP_REG || got->reg != cs_reg(w->reg, w->size))
            fail_msg("%s: operand %u: want register %s, got %s", what, k,
                     cs_reg_name(cs, cs_reg(w->reg, w->size)),
                     got->type == X86_OP_REG ? cs_reg_name(cs, got->reg) : "(not a register)");
        break;
    case OP_MEM: {
        if (got->type != X86_OP_MEM)
            fail_msg("%s: operand %u is not memory", what, k);
        x86_reg base = w->mem.base == X_NONE ? X86_REG_INVALID : cs_reg(w->mem.base, 8);
        x86_reg index = w->mem.index == X_NONE ? X86_REG_INVALID : cs_reg(w->mem.index, 8);
        if (got->mem.base != base || got->mem.index != index)
            fail_msg("%s: operand %u: base/index %s/%s, want %s/%s", what, k,
                     got->mem.base ? cs_reg_name(cs, got->mem.base) : "-",
                     got->mem.index ? cs_reg_name(cs, got->mem.index) : "-",
                     base ? cs_reg_name(cs, base) : "-", index ? cs_reg_name(cs, index) : "-");
        if (index != X86_REG_INVALID)
            assert_int_equal(got->mem.scale, 1 << w->mem.scale);
        assert_int_equal(got->mem.segment, X86_REG_INVALID);
        if (got->mem.disp != w->mem.disp)
            fail_msg("%s: operand %u: disp %lld, want %d", what, k, (long long)got->mem.disp, w->mem.disp);
        break;
    }
    case OP_IMM:
        if (got->type != X86_OP_IMM ||
            ((uint64_t)got->imm & size_mask(w->size)) != ((uint64_t)w->imm & size_mask(w->size)))
            fail_msg("%s: operand %u: immediate 0x%llx, want 0x%llx", what, k,
                     (unsigned long long)got->imm, (unsigned long long)w->imm);
        break;
    }
    if (got->size != w->size)
        fail_msg("%s: operand %u: size %u, want %u", what, k, got->size, w->size);
}

/* The bytes [buf, buf+len) must decode as exactly one instruction,
 * `mnemonic` with the given operands in Intel order. */
static void check_insn(const uint8_t *buf, size_t len, const char *mnemonic, unsigned n, ...)
{
    cs_insn *insn;
    size_t count = cs_disasm(cs, buf, len, 0x1000, 1, &insn);
    char hex[64] = "";
    for (size_t k = 0; k < len && k < 20; k++)
        snprintf(hex + 3 * k, sizeof(hex) - 3 * k, "%02x ", buf[k]);
    if (count != 1)
        fail_msg("%s: [%s] does not decode", mnemonic, hex);
    char what[512];
    snprintf(what, sizeof(what), "%s [%s] = %s %s", mnemonic, hex, insn->mnemonic, insn->op_str);
    if (insn->size != len)
        fail_msg("%s: decoded %u of %zu bytes", what, insn->size, len);
    if (strcmp(insn->mnemonic, mnemonic) != 0)
        fail_msg("%s: wrong mnemonic", what);
    const cs_x86 *d = &insn->detail->x86;
    if (d->op_count != n)
        fail_msg("%s: %u operands, want %u", what, d->op_count, n);
    va_list ap;
    va_start(ap, n);
    for (unsigned k = 0; k < n; k++) {
        struct want w = va_arg(ap, struct want);
        check_op(&d->operands[k], &w, what, k);
    }
    va_end(ap);
    cs_free(insn, count);
}

/* Emit into a fresh buffer with statement `emit` (using `x`), then check. */
#define CHECK(emit, ...) do {                                                  \
        uint8_t buf_[32];                                                      \
        struct x64 xb_, *x = &xb_;                                             \
        x64_init(x, buf_, sizeof(buf_));                                       \
        emit;                                                                  \
        assert_false(x->overflow);                                             \
        check_insn(buf_, x64_pos(x), __VA_ARGS__);                             \
    } while (0)

static const unsigned sizes[] = { 1, 2, 4, 8 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Memory operands covering the encoding special cases. */
static const struct x64_mem *mems(unsigned *n)
{
    static struct x64_mem m[64];
    unsigned k = 0;
    /* every base with disp 0, 8-bit (both signs) and 32-bit (both signs):
     * RSP/R12 need a SIB, RBP/R13 cannot use mod 00 */
    static const int32_t disps[] = { 0, 1, -128, 127, 128, -129, 0x12345678, (int32_t)0x80000000 };
    for (unsigned b = 0; b < 16; b++)
        for (unsigned d = 0; d < sizeof(disps) / sizeof(disps[0]); d += (b & 3) == 0 ? 1 : 3)
            if (k < 48)
                m[k++] = x64_at(b, disps[d]);
    /* index registers (legacy and extended) with each scale, with special bases */
    m[k++] = sib(X_RAX, X_RCX, 0, 0);
    m[k++] = sib(X_RSP, X_RBX, 1, 8);
    m[k++] = sib(X_RBP, X_RSI, 2, 0);
    m[k++] = sib(X_R13, X_R9, 3, 0);
    m[k++] = sib(X_R12, X_R12, 2, -4);
    m[k++] = sib(X_R15, X_RBP, 3, 0x1000);
    m[k++] = sib(X_RDI, X_R13, 0, -200);
    m[k++] = sib(X_R11, X_R14, 1, 0);
    /* no base: [index*scale + disp32] and an absolute [disp32] */
    m[k++] = sib(X_NONE, X_RDX, 2, 0x40);
    m[k++] = sib(X_NONE, X_R10, 3, 0);
    m[k++] = sib(X_NONE, X_NONE, 0, 0x7ff0);
    m[k++] = sib(X_NONE, X_NONE, 0, -8);
    assert_true(k <= sizeof(m) / sizeof(m[0]));
    *n = k;
    return m;
}

static void test_mov_register_forms(void **st)
{
    (void)st;
    for (unsigned s = 0; s < NSIZES; s++)
        for (unsigned d = 0; d < 16; d++)
            for (unsigned r = 0; r < 16; r++)
                CHECK(x64_mov_rr(x, sizes[s], d, r), "mov", 2, R(d, sizes[s]), R(r, sizes[s]));
}

static void test_load_store_lea_every_memory_form(void **st)
{
    (void)st;
    unsigned n;
    const struct x64_mem *m = mems(&n);
    static const unsigned regs[] = { X_RAX, X_RCX, X_RSP, X_RBP, X_RSI, X_RDI, X_R8, X_R12, X_R13, X_R15 };
    for (unsigned k = 0; k < n; k++)
        for (unsigned s = 0; s < NSIZES; s++)
            for (unsigned r = 0; r < sizeof(regs) / sizeof(regs[0]); r++) {
                unsigned size = sizes[s], reg = regs[r];
                CHECK(x64_load(x, size, reg, m[k]), "mov", 2, R(reg, size), M(m[k], size));
                CHECK(x64_store(x, size, m[k], reg), "mov", 2, M(m[k], size), R(reg, size));
                if (size != 1)
                    CHECK(x64_lea(x, size, reg, m[k]), "lea", 2, R(reg, size), M(m[k], size));
            }
}

static void test_store_immediate(void **st)
{
    (void)st;
    unsigned n;
    const struct x64_mem *m = mems(&n);
    static const uint32_t imms[] = { 0, 0x7f, 0x80, 0xffffffffu, 0x12345678u, 0x80000000u };
    for (unsigned k = 0; k < n; k++)
        for (unsigned s = 0; s < NSIZES; s++)
            for (unsigned i = 0; i < sizeof(imms) / sizeof(imms[0]); i++) {
                unsigned size = sizes[s];
                /* 8 bytes: imm32 sign-extended, as the CPU does */
                int64_t want = size == 8 ? (int64_t)(int32_t)imms[i] : (int64_t)imms[i];
                CHECK(x64_store_imm32(x, size, m[k], imms[i]), "mov", 2, M(m[k], size), I(want, size));
            }
}

static void test_mov_immediates(void **st)
{
    (void)st;
    for (unsigned r = 0; r < 16; r++) {
        CHECK(x64_mov_imm32(x, r, 0xdeadbeefu), "mov", 2, R(r, 4), I(0xdeadbeef, 4));
        CHECK(x64_mov_imm32(x, r, 0), "mov", 2, R(r, 4), I(0, 4));
        CHECK(x64_mov_imm64(x, r, 0x123456789abcdef0ull), "movabs", 2, R(r, 8), I(0x123456789abcdef0ll, 8));
        CHECK(x64_mov_imm64(x, r, 1), "movabs", 2, R(r, 8), I(1, 8));
    }
}

static const char *const alu_names[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };

static void test_alu_immediate_forms(void **st)
{
    (void)st;
    /* 0 and the imm8/imm32 boundaries: 83 takes -128..127, the rest 81 */
    static const int32_t imms[] = { 0, 1, -1, 127, -128, 128, -129, 0x7fffffff, INT32_MIN };
    unsigned n;
    const struct x64_mem *m = mems(&n);
    for (unsigned ext = 0; ext < 8; ext++)
        for (unsigned s = 0; s < NSIZES; s++)
            for (unsigned i = 0; i < sizeof(imms) / sizeof(imms[0]); i++) {
                unsigned size = sizes[s];
                /* a byte operation keeps the low byte; a word one the low word */
                int64_t want = size == 1 ? (int8_t)imms[i] : size == 2 ? (int16_t)imms[i] : imms[i];
                if (size == 2 && (imms[i] > 0xffff || imms[i] < -0x8000))
                    continue;
                for (unsigned r = 0; r < 16; r++)
                    CHECK(x64_alu_ri(x, size, ext, r, imms[i]), alu_names[ext], 2, R(r, size), I(want, size));
                for (unsigned k = 0; k < n; k += 3)
                    CHECK(x64_alu_mi(x, size, ext, m[k], imms[i]), alu_names[ext], 2, M(m[k], size), I(want, size));
            }
}

static void test_generic_opcode_forms(void **st)
{
    (void)st;
    unsigned n;
    const struct x64_mem *m = mems(&n);
    /* two-byte opcodes through the same ModRM path: imul r, r/m; movzx r, r/m8 */
    for (unsigned r = 0; r < 16; r++)
        for (unsigned b = 0; b < 16; b++) {
            CHECK(x64_op_rr(x, 4, 0x0faf, 2, r, b), "imul", 2, R(r, 4), R(b, 4));
            CHECK(x64_op_rr(x, 8, 0x0faf, 2, r, b), "imul", 2, R(r, 8), R(b, 8));
            CHECK(x64_op_rr(x, 2, 0x0faf, 2, r, b), "imul", 2, R(r, 2), R(b, 2));
            /* a byte r/m 4-7 under a 32-bit operation would mean AH-BH:
             * the encoder documents byte operands as AL-BL and R8B-R15B */
            if (b < 4 || b >= 8)
                CHECK(x64_op_rr(x, 4, 0x0fb6, 2, r, b), "movzx", 2, R(r, 4), R(b, 1));
        }
    for (unsigned k = 0; k < n; k++) {
        CHECK(x64_op_rm(x, 4, 0x0faf, 2, X_R9, m[k]), "imul", 2, R(X_R9, 4), M(m[k], 4));
        CHECK(x64_op_rm(x, 4, 0x0fb7, 2, X_RDX, m[k]), "movzx", 2, R(X_RDX, 4), M(m[k], 2));
        /* an opcode extension in the reg field: not r/m */
        CHECK(x64_op_rm(x, 4, 0xf7, 1, 3, m[k]), "neg", 1, M(m[k], 4));
        CHECK(x64_op_rm(x, 1, 0xfe, 1, 0, m[k]), "inc", 1, M(m[k], 1));
    }
    /* byte ALU register forms with both operands anywhere in 0-15 */
    for (unsigned r = 0; r < 16; r++)
        for (unsigned b = 0; b < 16; b++)
            CHECK(x64_op_rr(x, 1, 0x00, 1, r, b), "add", 2, R(b, 1), R(r, 1));
}

static void test_push_pop_and_indirect_branches(void **st)
{
    (void)st;
    for (unsigned r = 0; r < 16; r++) {
        CHECK(x64_push(x, r), "push", 1, R(r, 8));
        CHECK(x64_pop(x, r), "pop", 1, R(r, 8));
        CHECK(x64_call_reg(x, r), "call", 1, R(r, 8));
        CHECK(x64_jmp_reg(x, r), "jmp", 1, R(r, 8));
    }
    unsigned n;
    const struct x64_mem *m = mems(&n);
    for (unsigned k = 0; k < n; k++)
        CHECK(x64_jmp_mem(x, m[k]), "jmp", 1, M(m[k], 8));
    CHECK(x64_ret(x), "ret", 0);
}

/* A branch's target as capstone decodes it at address `at`. */
static uint64_t branch_target(const uint8_t *code, size_t len, uint64_t at, const char *mnemonic)
{
    cs_insn *insn;
    size_t count = cs_disasm(cs, code, len, at, 1, &insn);
    assert_int_equal(count, 1);
    assert_int_equal(insn->size, len);
    if (strcmp(insn->mnemonic, mnemonic) != 0)
        fail_msg("%s decoded as %s %s", mnemonic, insn->mnemonic, insn->op_str);
    assert_int_equal(insn->detail->x86.op_count, 1);
    assert_int_equal(insn->detail->x86.operands[0].type, X86_OP_IMM);
    uint64_t t = (uint64_t)insn->detail->x86.operands[0].imm;
    cs_free(insn, count);
    return t;
}

static void test_rel32_branches_and_patching(void **st)
{
    (void)st;
    static const char *const jcc[16] = { "jo", "jno", "jb", "jae", "je", "jne", "jbe", "ja",
                                         "js", "jns", "jp", "jnp", "jl", "jge", "jle", "jg" };
    /* The code is written at buf (the writable view) and "runs" at exec;
     * x64_set_rel32 works from the exec address of the field. */
    uint8_t buf[64];
    const uint64_t exec = 0x7f0000100000ull;
    const uint64_t targets[] = { exec, exec + 6, exec + 0x7fff0000ull, exec - 0x7fff0000ull, exec + 0x123 };
    for (unsigned t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        for (int kind = 0; kind < 3 + 16; kind++) {
            struct x64 x;
            x64_init(&x, buf, sizeof(buf));
            x64_byte(&x, 0x90);            /* the branch does not start the buffer */
            uint32_t start = x64_pos(&x), field;
            const char *mn;
            if (kind == 0) { field = x64_jmp_rel32(&x); mn = "jmp"; }
            else if (kind == 1) { field = x64_call_rel32(&x); mn = "call"; }
            else if (kind == 2) { field = x64_jcc_rel32(&x, 0x10 + 4); mn = "je"; }   /* cc masked to 4 bits */
            else { field = x64_jcc_rel32(&x, (unsigned)kind - 3); mn = jcc[kind - 3]; }
            assert_false(x.overflow);
            uint32_t len = x64_pos(&x) - start;
            assert_int_equal(len, kind < 2 ? 5 : 6);
            assert_int_equal(field, x64_pos(&x) - 4);   /* the rel32 ends the insn */
            /* unpatched: a zero displacement, the next instruction */
            assert_int_equal(branch_target(buf + start, len, exec + start, mn), exec + start + len);
            x64_set_rel32(buf + field, (const uint8_t *)(uintptr_t)(exec + field),
                          (const uint8_t *)(uintptr_t)targets[t]);
            assert_int_equal(branch_target(buf + start, len, exec + start, mn), targets[t]);
        }
    }
}

static void test_flags_save_restore_sequences(void **st)
{
    (void)st;
    uint8_t buf[16];
    struct x64 x;
    x64_init(&x, buf, sizeof(buf));
    x64_flags_to_ax(&x);
    assert_int_equal(x64_pos(&x), 4);
    check_insn(buf, 1, "lahf", 0);
    check_insn(buf + 1, 3, "seto", 1, R(X_RAX, 1));
    x64_init(&x, buf, sizeof(buf));
    x64_flags_from_ax(&x);
    assert_int_equal(x64_pos(&x), 3);
    check_insn(buf, 2, "add", 2, R(X_RAX, 1), I(0x7f, 1));
    check_insn(buf + 2, 1, "sahf", 0);
    /* The trick the pair relies on: AL is 0 or 1 (SETO), and AL + 0x7f
     * overflows (as a signed byte) exactly when AL is 1. */
    for (int al = 0; al <= 1; al++) {
        int sum = (int8_t)al + 0x7f;
        assert_int_equal(sum > 127, al == 1);
    }
}

/* Run the pair on this CPU: every combination of the six arithmetic flags
 * must come back from EFLAGS -> AX -> EFLAGS unchanged, with EFLAGS
 * cleared in between. */
static void test_flags_round_trip_on_the_host(void **st)
{
    (void)st;
    size_t size = 4096;
    uint8_t *code = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(code != MAP_FAILED);
    struct x64 x;
    x64_init(&x, code, (uint32_t)size);
    x64_push(&x, X_RDI);
    x64_byte(&x, 0x9d);                         /* popfq: EFLAGS = the argument */
    x64_flags_to_ax(&x);
    x64_mov_rr(&x, 8, X_RCX, X_RAX);
    x64_byte(&x, 0x6a); x64_byte(&x, 0x02);     /* push 2 */
    x64_byte(&x, 0x9d);                         /* popfq: every arithmetic flag clear */
    x64_mov_rr(&x, 8, X_RAX, X_RCX);
    x64_flags_from_ax(&x);
    x64_byte(&x, 0x9c);                         /* pushfq */
    x64_pop(&x, X_RAX);
    x64_ret(&x);
    assert_false(x.overflow);
    assert_int_equal(mprotect(code, size, PROT_READ | PROT_EXEC), 0);
    uint64_t (*run)(uint64_t) = (uint64_t (*)(uint64_t))(uintptr_t)code;
    static const uint64_t bits[6] = { 0x1, 0x4, 0x10, 0x40, 0x80, 0x800 };   /* CF PF AF ZF SF OF */
    for (unsigned m = 0; m < 64; m++) {
        uint64_t in = 0x2;
        for (unsigned b = 0; b < 6; b++)
            if (m & (1u << b))
                in |= bits[b];
        uint64_t out = run(in);
        if ((out & 0x8d5) != (in & 0x8d5))
            fail_msg("flags 0x%03llx came back as 0x%03llx", (unsigned long long)in,
                     (unsigned long long)(out & 0x8d5));
    }
    munmap(code, size);
}

static void test_overflow_stops_writing(void **st)
{
    (void)st;
    uint8_t buf[16];
    memset(buf, 0xcc, sizeof(buf));
    struct x64 x;
    x64_init(&x, buf, 4);                    /* room for 4 of mov r64, imm64's 10 */
    x64_mov_imm64(&x, X_R9, 0x1122334455667788ull);
    assert_true(x.overflow);
    assert_int_equal(x64_pos(&x), 4);        /* filled up to the end, no further */
    for (unsigned k = 4; k < sizeof(buf); k++)
        assert_int_equal(buf[k], 0xcc);
    /* stays set and still writes nothing */
    x64_ret(&x);
    assert_true(x.overflow);
    assert_int_equal(x64_pos(&x), 4);
    /* exactly enough room is no overflow */
    x64_init(&x, buf, 10);
    x64_mov_imm64(&x, X_R9, 0x1122334455667788ull);
    assert_false(x.overflow);
    assert_int_equal(x64_pos(&x), 10);
    x64_init(&x, buf, 0);
    x64_u32(&x, 1);
    assert_true(x.overflow);
    assert_int_equal(x64_pos(&x), 0);
    /* a rel32 branch that does not fit still returns a position, beyond
     * which nothing was written */
    x64_init(&x, buf, 3);
    memset(buf, 0xcc, sizeof(buf));
    (void)x64_jcc_rel32(&x, 5);
    assert_true(x.overflow);
    assert_int_equal(buf[3], 0xcc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mov_register_forms),
        cmocka_unit_test(test_load_store_lea_every_memory_form),
        cmocka_unit_test(test_store_immediate),
        cmocka_unit_test(test_mov_immediates),
        cmocka_unit_test(test_alu_immediate_forms),
        cmocka_unit_test(test_generic_opcode_forms),
        cmocka_unit_test(test_push_pop_and_indirect_branches),
        cmocka_unit_test(test_rel32_branches_and_patching),
        cmocka_unit_test(test_flags_save_restore_sequences),
        cmocka_unit_test(test_flags_round_trip_on_the_host),
        cmocka_unit_test(test_overflow_stops_writing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

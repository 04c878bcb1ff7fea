/* Self-modifying code against the binary translator (issue 7): stores into
 * the block being run, into a chained block, into translated code on
 * another page, REP MOVSB over code, stores across a page boundary, and a
 * hot loop with an instruction straddling pages.  The code is in
 * jit_smc_code.asm.  Every patched routine first runs HOT_RUNS times
 * storing to a data word (so it is translated under the default threshold
 * of 50 runs too), then once storing into its own code, ROUNDS times. */
#include "io.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "jit_smc";

#define ROUNDS 200
#define HOT_RUNS 60

/* jit_smc_code.asm */
uint32_t smc_same_block(volatile void *dst, uint32_t v);
uint32_t smc_next_byte(volatile void *dst, uint32_t v);
uint32_t smc_chain_a(volatile void *dst, uint32_t v);
uint32_t smc_p1_call(volatile void *dst, uint32_t v);
uint32_t smc_rep_self(const uint8_t *src, volatile void *dst);
void store32(volatile void *dst, uint32_t v);
uint32_t smc_p2_func(void);
uint32_t smc_cross2(void);
uint32_t smc_cross_straddle(void);
uint32_t loop_cross(uint32_t n);
uint32_t smc_big(const uint32_t *p);
extern uint8_t smc_big_imm[];
extern uint8_t smc_same_imm[], smc_next_imm[], smc_chain_imm[], smc_p2_imm[], smc_rep_mov[];
extern uint8_t smc_cross2_patch[], smc_straddle_imm[];

static volatile uint32_t dummy[4];

/* A value per round that differs in every byte from the round before. */
static uint32_t round_value(int r)
{
    return 0x01010101u * (uint32_t)(r + 1) ^ 0x80402010u;
}

/* A routine that stores v to dst itself and returns what its (maybe
 * patched) code computes: want(v) after storing v into code at target. */
struct self_patch {
    const char *name;
    uint32_t (*fn)(volatile void *dst, uint32_t v);
    uint8_t *target;
    uint32_t (*want)(uint32_t v);
};

static uint32_t same(uint32_t v) { return v; }
static uint32_t low_byte(uint32_t v) { return v & 0xFF; }
static uint32_t plus1(uint32_t v) { return v + 1; }

static void run_self_patch(const struct self_patch *t)
{
    uint32_t last = 0, got = 0;
    int bad = -1, at_patch = 0;
    /* Round 0 starts from the code as assembled: patch once first. */
    t->fn(t->target, 0x5A5A5A5A);
    last = 0x5A5A5A5A;
    for (int r = 0; r < ROUNDS && bad < 0; r++) {
        for (int k = 0; k < HOT_RUNS && bad < 0; k++) {
            got = t->fn(dummy, 0xDEAD0000u + (uint32_t)k);
            if (got != t->want(last))
                bad = r;
        }
        if (bad >= 0)
            break;
        uint32_t v = round_value(r);
        got = t->fn(t->target, v);
        last = v;
        if (got != t->want(v)) {
            bad = r;
            at_patch = 1;
        }
    }
    check(t->name, bad < 0, "round %d: returned %x, want %x (%s)", bad, got, t->want(last),
          at_patch ? "the run that patched" : "a run after the patch");
}

static void test_self_patching(void)
{
    static const struct self_patch tests[] = {
        { "smc_store_into_running_block", smc_same_block, smc_same_imm, same },
        { "smc_byte_store_into_next_insn", smc_next_byte, smc_next_imm, low_byte },
        { "smc_store_into_chained_block", smc_chain_a, smc_chain_imm, plus1 },
        { "smc_store_into_hot_code_on_other_page", smc_p1_call, smc_p2_imm, same },
    };
    for (unsigned k = 0; k < sizeof(tests) / sizeof(tests[0]); k++)
        run_self_patch(&tests[k]);
}

/* "mov eax, imm32" as bytes. */
static void mov_eax_bytes(uint8_t b[5], uint32_t v)
{
    b[0] = 0xB8;
    b[1] = (uint8_t)v;
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)(v >> 16);
    b[4] = (uint8_t)(v >> 24);
}

static void test_rep_movsb_self(void)
{
    static volatile uint8_t scratch[8];
    uint8_t code[5];
    uint32_t last = 0x33333333, got = 0;
    int bad = -1;
    for (int r = 0; r < ROUNDS && bad < 0; r++) {
        mov_eax_bytes(code, 0x12345678);
        for (int k = 0; k < HOT_RUNS && bad < 0; k++) {
            got = smc_rep_self(code, scratch);
            if (got != last)
                bad = r;
        }
        if (bad >= 0)
            break;
        last = round_value(r);
        mov_eax_bytes(code, last);
        got = smc_rep_self(code, smc_rep_mov);
        if (got != last)
            bad = r;
    }
    check("smc_rep_movsb_into_running_block", bad < 0, "round %d: returned %x, want %x", bad, got, last);
}

/* A fresh code buffer rewritten with REP MOVSB, then called until hot. */
static uint8_t code_buf[64] __attribute__((aligned(64)));

static void test_rep_movsb_buffer(void)
{
    uint8_t code[6];
    int bad = -1;
    uint32_t got = 0, v = 0;
    for (int r = 0; r < ROUNDS && bad < 0; r++) {
        v = round_value(r);
        mov_eax_bytes(code, v);
        code[5] = 0xC3;                                   /* ret */
        void *dst = code_buf;
        const void *src = code;
        uint32_t n = sizeof(code);
        __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
        for (int k = 0; k < HOT_RUNS && bad < 0; k++) {
            got = ((uint32_t (*)(void))(uintptr_t)code_buf)();
            if (got != v)
                bad = r;
        }
    }
    check("smc_rep_movsb_then_call", bad < 0, "round %d: returned %x, want %x", bad, got, v);
}

/* Patches by store32 (itself hot) at target, of code run by fn. */
static void run_store_patch(const char *name, uint32_t (*fn)(void), uint8_t *target,
                            uint32_t (*value)(int r), uint32_t (*want)(uint32_t v))
{
    uint32_t last = value(-1), got = 0;
    store32(target, last);
    int bad = -1;
    for (int r = 0; r < ROUNDS && bad < 0; r++) {
        for (int k = 0; k < HOT_RUNS && bad < 0; k++) {
            store32(dummy, (uint32_t)k);
            got = fn();
            if (got != want(last))
                bad = r;
        }
        if (bad >= 0)
            break;
        last = value(r);
        store32(target, last);
        got = fn();
        if (got != want(last))
            bad = r;
    }
    check(name, bad < 0, "round %d: returned %x, want %x", bad, got, want(last));
}

/* smc_cross2's patch: X, the SUB opcode, Y, RET. */
static uint32_t cross2_value(int r)
{
    uint32_t x = (uint32_t)(r * 7 + 0x40) & 0xFF, y = (uint32_t)(r * 3 + 1) & 0xFF;
    return x | 0x2Cu << 8 | y << 16 | 0xC3u << 24;
}

static uint32_t cross2_want(uint32_t v)
{
    return ((v & 0xFF) - ((v >> 16) & 0xFF)) & 0xFF;
}

static uint32_t straddle_value(int r) { return round_value(r + 1000); }
static uint32_t plus7(uint32_t v) { return v + 7; }

static void test_cross_page_patches(void)
{
    run_store_patch("smc_store_across_page_into_two_insns", smc_cross2, smc_cross2_patch,
                    cross2_value, cross2_want);
    run_store_patch("smc_store_across_page_into_straddling_insn", smc_cross_straddle,
                    smc_straddle_imm, straddle_value, plus7);
}

static void test_loop_cross(void)
{
    uint32_t want = 200u * (3u + 0x01020304u), got = 0;
    int bad = -1;
    for (int r = 0; r < 20 && bad < 0; r++) {
        got = loop_cross(200);
        if (got != want)
            bad = r;
    }
    check("hot_loop_with_insn_straddling_pages", bad < 0, "round %d: %x, want %x", bad, got, want);
}

/* Enough retranslations of smc_big (each after a patch and HOT_RUNS
 * calls) to fill the 32 MiB translated-code cache more than once. */
#define BIG_ROUNDS 12000

static void test_cache_refill(void)
{
    static uint32_t vals[28];
    uint32_t sum = 0;
    for (unsigned k = 0; k < 28; k++) {
        vals[k] = 0x1000u * (k + 1) + k;
        sum += vals[k];
    }
    int bad = -1;
    uint32_t got = 0, v = 0;
    for (int r = 0; r < BIG_ROUNDS && bad < 0; r++) {
        v = round_value(r);
        store32(smc_big_imm, v);
        for (int k = 0; k < HOT_RUNS && bad < 0; k++)
            if ((got = smc_big(vals)) != v + sum)
                bad = r;
    }
    check("smc_retranslations_past_cache_flush", bad < 0, "round %d: returned %x, want %x", bad,
          got, v + sum);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    test_self_patching();
    test_rep_movsb_self();
    test_rep_movsb_buffer();
    test_cross_page_patches();
    test_loop_cross();
    test_cache_refill();
    return test_finish();
}

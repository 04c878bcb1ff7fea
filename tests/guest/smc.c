/* Self-modifying code: code that already ran (and may sit in a decode cache)
 * is patched and must run with the new bytes. */
#include "io.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "smc";

typedef uint32_t (*fn0)(void);

/* A function in .text: "mov eax, imm32; ret". */
__asm__(".text\n"
        ".globl smc_text_func\n"
        "smc_text_func:\n"
        "    movl $0x11111111, %eax\n"
        "    ret\n");
extern uint8_t smc_text_func[];

static void put_mov_eax_ret(volatile uint8_t *p, uint32_t imm)
{
    p[0] = 0xB8;
    p[1] = imm;
    p[2] = imm >> 8;
    p[3] = imm >> 16;
    p[4] = imm >> 24;
    p[5] = 0xC3;
}

static void patch_imm32(volatile uint8_t *p, uint32_t imm)
{
    p[0] = imm;
    p[1] = imm >> 8;
    p[2] = imm >> 16;
    p[3] = imm >> 24;
}

static void test_patch_text(void)
{
    fn0 f = (fn0)smc_text_func;
    uint32_t sum = 0;
    for (int i = 0; i < 100; i++)
        sum += f();
    check("smc_original_runs", sum == 100u * 0x11111111, "sum %x", sum);
    patch_imm32(smc_text_func + 1, 0x22222222);
    uint32_t v = f();
    check("smc_patch_executed_immediate", v == 0x22222222, "returned %x", v);
    int bad = -1;
    for (uint32_t i = 0; i < 1000 && bad < 0; i++) {
        patch_imm32(smc_text_func + 1, i * 7919);
        if (f() != i * 7919)
            bad = (int)i;
    }
    check("smc_patch_repeatedly", bad < 0, "stale result at iteration %d", bad);
}

static uint8_t buf[8192] __attribute__((aligned(4096)));

static void test_fresh_buffer(void)
{
    volatile uint8_t *p = buf + 64;
    put_mov_eax_ret(p, 0xC0DE0001);
    uint32_t a = ((fn0)(uintptr_t)p)();
    put_mov_eax_ret(p, 0xC0DE0002);
    uint32_t b = ((fn0)(uintptr_t)p)();
    check("smc_fresh_buffer_call", a == 0xC0DE0001 && b == 0xC0DE0002, "returned %x then %x", a, b);

    /* rep movsb writing over code that already ran. */
    uint8_t tmpl[6];
    put_mov_eax_ret(tmpl, 0xC0DE0003);
    void *dst = (void *)(uintptr_t)p;
    const void *src = tmpl;
    uint32_t n = sizeof(tmpl);
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
    uint32_t c = ((fn0)(uintptr_t)p)();
    check("smc_rep_movsb_over_code", c == 0xC0DE0003, "returned %x", c);

    /* An instruction straddling a page boundary; patch only its tail. */
    volatile uint8_t *q = buf + 4096 - 2;
    put_mov_eax_ret(q, 0xAAAAAAAA);
    uint32_t d = ((fn0)(uintptr_t)q)();
    patch_imm32(q + 1, 0xBBBBBBBB);       /* bytes 2..4 are in the next page */
    q[3] = 0xCC;
    uint32_t e = ((fn0)(uintptr_t)q)();
    check("smc_insn_across_page_boundary", d == 0xAAAAAAAA && e == 0xBBCCBBBB, "returned %x then %x", d, e);
}

static void test_next_insn(void)
{
    /* Patch the immediate of the next instruction, then jmp to it. */
    int bad = -1;
    for (uint32_t i = 1; i < 50 && bad < 0; i++) {
        uint32_t v;
        __asm__ volatile("movb %b1, 1f+1\n\t"
                         "jmp 1f\n\t"
                         "1: movb $0, %%al\n\t"
                         "movzbl %%al, %0"
                         : "=a"(v) : "q"((uint8_t)i) : "memory");
        if (v != i)
            bad = (int)i;
    }
    check("smc_next_insn_after_jmp", bad < 0, "stale immediate at iteration %d", bad);

    /* Same without the jmp: x86 detects stores to prefetched code on the same CPU. */
    bad = -1;
    for (uint32_t i = 1; i < 50 && bad < 0; i++) {
        uint32_t v;
        __asm__ volatile("movb %b1, 1f+1\n\t"
                         "1: movb $0, %%al\n\t"
                         "movzbl %%al, %0"
                         : "=a"(v) : "q"((uint8_t)i) : "memory");
        if (v != i)
            bad = (int)i;
    }
    check("smc_next_insn_no_jmp", bad < 0, "stale immediate at iteration %d", bad);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    test_patch_text();
    test_fresh_buffer();
    test_next_insn();
    return test_finish();
}

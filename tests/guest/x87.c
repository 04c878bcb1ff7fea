/* x87 exceptions and a few results: an unmasked zero-divide reported as #MF
 * at the next waiting instruction with CR0.NE=1, and as IRQ 13 (FERR#,
 * cleared by a write to port 0xF0) with CR0.NE=0; #NM for CR0.TS/MP/EM and
 * CLTS; FSQRT, FPREM, FBSTP and FIST under each rounding mode. */
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "printf.h"
#include "test.h"

/* Built twice: x87.elf (CR0.NE=1 paths, #NM, results) and, with X87_FERR,
 * x87_ferr.elf (the CR0.NE=0 / IRQ 13 path, which QEMU 7.2 cannot run). */
#ifdef X87_FERR
const char test_program_name[] = "x87_ferr";
#else
const char test_program_name[] = "x87";
#endif

#define CR0_MP 0x02u
#define CR0_EM 0x04u
#define CR0_TS 0x08u
#define CR0_NE 0x20u
#define SW_ZE 0x0004u
#define SW_IE 0x0001u
#define SW_ES 0x0080u
#define SW_C0 0x0100u
#define SW_C1 0x0200u
#define SW_C2 0x0400u
#define SW_C3 0x4000u
#define SW_B  0x8000u
#define CW_ZE_UNMASKED 0x037Bu

static const float zero_f = 0.0f;

static void fpu_reset(uint32_t ne)
{
    uint32_t cr0 = READ_CR(0) & ~(CR0_EM | CR0_TS | CR0_NE);
    WRITE_CR(0, cr0 | CR0_MP | ne);
    __asm__ volatile("fninit");
}

static uint16_t fnstsw(void)
{
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=a"(sw));
    return sw;
}

static void fldcw(uint16_t cw)
{
    __asm__ volatile("fldcw %0" : : "m"(cw));
}

static __attribute__((unused)) void test_mf(void)
{
    fpu_reset(CR0_NE);
    fldcw(CW_ZE_UNMASKED);
    uint32_t div_at;
    __asm__ volatile("fld1\n\t"
                     "movl $1f, %0\n"
                     "1: fdivs %1\n\t"
                     : "=m"(div_at) : "m"(zero_f) : "memory");
    uint16_t sw = fnstsw();
    check("mf_not_raised_by_the_faulting_insn", caught.hit == 0, "vector %u", caught.vector);
    check("fnstsw_es_ze_b", (sw & (SW_ES | SW_ZE | SW_B)) == (SW_ES | SW_ZE | SW_B), "sw %x", sw);

    /* The next waiting instruction (here FLD1, not executed) raises #MF. */
    __asm__ volatile(CATCH_ASM("fld1") : : : "memory");
    uint16_t sw2 = fnstsw();
    check("mf_at_next_waiting_insn", caught.hit == 1 && caught.vector == 16 && caught.eip == catch_insn,
          "hit %d vector %u eip %x (want 16 at %x)", caught.hit, caught.vector, caught.eip, catch_insn);
    check("mf_faulting_insn_not_executed", ((sw2 >> 11) & 7) == ((sw >> 11) & 7), "top %u before, %u after",
          (sw >> 11) & 7, (sw2 >> 11) & 7);
    catch_reset();
    /* Again at FWAIT: still pending. */
    __asm__ volatile(CATCH_ASM("fwait") "fnclex" : : : "memory");
    check("mf_at_fwait", caught.hit == 1 && caught.vector == 16 && caught.eip == catch_insn,
          "hit %d vector %u eip %x (want 16 at %x)", caught.hit, caught.vector, caught.eip, catch_insn);
    catch_reset();

    struct __attribute__((packed)) {
        uint32_t cw, sw, tw, fip, fcs_fop, fdp, fds;
    } env;
    __asm__ volatile("fnstenv %0" : "=m"(env));
    check("fnstenv_fip_is_faulting_insn", env.fip == div_at, "fip %x (fdivs at %x)", env.fip, div_at);
    check("fnclex_cleared_es", (env.sw & (SW_ES | SW_ZE | SW_B)) == 0, "sw %x", env.sw);
    __asm__ volatile(CATCH_ASM("fwait") : : : "memory");
    check("no_mf_after_fnclex", caught.hit == 0, "vector %u", caught.vector);
    catch_reset();

    /* Masked: no exception, result is infinity, ZE still flagged. */
    fpu_reset(CR0_NE);
    float r = 0;
    __asm__ volatile("fld1\n\tfdivs %1\n\tfstps %0\n\tfwait" : "=m"(r) : "m"(zero_f) : "memory");
    sw = fnstsw();
    union { float f; uint32_t u; } ru = { r };
    check("masked_zero_divide_inf", caught.hit == 0 && ru.u == 0x7F800000 && (sw & SW_ZE) && !(sw & SW_ES),
          "hit %d result %x sw %x", caught.hit, ru.u, sw);
    catch_reset();
}

static volatile uint32_t irq13_count, irq13_sw, irq13_irr_after;

static void irq13_handler(struct int_frame *f)
{
    (void)f;
    irq13_count++;
    irq13_sw = fnstsw();
    outb(0xF0, 0);                  /* clear the FERR# latch, as on a PC */
    __asm__ volatile("fnclex");
    pic_eoi(13);
    irq13_irr_after = pic_read_irr(1);
}

static __attribute__((unused)) void test_irq13(void)
{
    fpu_reset(0);
    fldcw(CW_ZE_UNMASKED);
    idt_set_handler(IRQ_VECTOR(13), irq13_handler);
    pic_unmask(13);
    sti();
    __asm__ volatile("fld1\n\tfdivs %0\n\t" CATCH_ASM("fwait") "nop\n\tnop\n\tnop\n\tnop"
                     : : "m"(zero_f) : "memory");
    for (volatile int i = 0; i < 1000; i++)
        ;
    cli();
    check("ne0_no_mf", caught.hit == 0, "vector %u raised", caught.vector);
    check("ne0_irq13_once", irq13_count == 1, "%u IRQ 13", irq13_count);
    check("ne0_irq13_sees_es_ze", (irq13_sw & (SW_ES | SW_ZE)) == (SW_ES | SW_ZE), "sw %x", irq13_sw);
    check("port_f0_cleared_irq13", (irq13_irr_after & 0x20) == 0, "slave IRR %x", irq13_irr_after);
    catch_reset();
    /* Nothing pending any more. */
    sti();
    __asm__ volatile("fwait\n\tnop\n\tnop");
    for (volatile int i = 0; i < 1000; i++)
        ;
    cli();
    check("ne0_irq13_not_repeated", irq13_count == 1, "%u IRQ 13", irq13_count);
    pic_mask(13);
    fpu_reset(CR0_NE);
}

static volatile uint32_t nm_count, nm_eip, nm_cr0;

static void nm_handler(struct int_frame *f)
{
    nm_count++;
    nm_eip = f->eip;
    nm_cr0 = READ_CR(0);
    __asm__ volatile("clts");
    WRITE_CR(0, READ_CR(0) & ~CR0_EM);
}

static __attribute__((unused)) void test_nm(void)
{
    fpu_reset(CR0_NE);
    idt_set_handler(7, nm_handler);
    WRITE_CR(0, READ_CR(0) | CR0_TS);
    uint32_t at;
    float one = 0;
    __asm__ volatile("movl $1f, %0\n"
                     "1: fld1\n\t"
                     "fstps %1\n\tfwait" : "=m"(at), "=m"(one) : : "memory");
    check("nm_ts_on_fld1", nm_count == 1 && nm_eip == at && (nm_cr0 & CR0_TS), "count %u eip %x (want %x) cr0 %x",
          nm_count, nm_eip, at, nm_cr0);
    check("nm_clts_retry_executes", one == 1.0f && !(READ_CR(0) & CR0_TS), "value %x cr0 %x", (uint32_t)one,
          READ_CR(0));

    nm_count = 0;
    WRITE_CR(0, (READ_CR(0) | CR0_TS) & ~CR0_MP);
    __asm__ volatile("fwait");
    check("fwait_ts_mp0_no_nm", nm_count == 0, "count %u", nm_count);
    WRITE_CR(0, READ_CR(0) | CR0_MP);
    __asm__ volatile("movl $1f, %0\n1: fwait" : "=m"(at) : : "memory");
    check("fwait_ts_mp1_nm", nm_count == 1 && nm_eip == at, "count %u eip %x (want %x)", nm_count, nm_eip, at);

    nm_count = 0;
    WRITE_CR(0, READ_CR(0) | CR0_EM);
    __asm__ volatile("fwait");
    check("fwait_em_no_nm", nm_count == 0, "count %u", nm_count);
    __asm__ volatile("movl $1f, %0\n1: fld1\n\tfstp %%st(0)" : "=m"(at) : : "memory");
    check("nm_em_on_fld1", nm_count == 1 && nm_eip == at, "count %u eip %x (want %x)", nm_count, nm_eip, at);
    idt_set_handler(7, 0);
    fpu_reset(CR0_NE);
}

static int same80(const void *a, const void *b)
{
    const uint8_t *x = a, *y = b;
    for (int i = 0; i < 10; i++)
        if (x[i] != y[i])
            return 0;
    return 1;
}

static __attribute__((unused)) void test_arith(void)
{
    fpu_reset(CR0_NE);
    static const double two = 2.0;
    static const long double want = 1.41421356237309504880168872420969807857L;
    union { long double f; uint32_t w[3]; } got;
    __asm__ volatile("fldl %1\n\tfsqrt\n\tfstpt %0" : "=m"(got.f) : "m"(two));
    check("fsqrt_2_extended", same80(&got.f, &want), "got %x:%x:%x", got.w[2] & 0xFFFF, got.w[1], got.w[0]);

    static const double a = 10.5, b = 3.0;
    double rem;
    uint16_t sw;
    __asm__ volatile("fldl %3\n\tfldl %2\n\tfprem\n\tfnstsw %%ax\n\tfstpl %0\n\tfstp %%st(0)"
                     : "=m"(rem), "=a"(sw) : "m"(a), "m"(b));
    check("fprem_10_5_by_3", rem == 1.5 && !(sw & SW_C2) && (sw & (SW_C0 | SW_C3 | SW_C1)) == (SW_C3 | SW_C1),
          "rem*2 %d sw %x", (int)(rem * 2), sw);

    /* 2^100 mod 3 = 1, needing more than one partial step. */
    static const float big = 1267650600228229401496703205376.0f, three = 3.0f;
    int steps = 0;
    uint16_t first_sw = 0;
    __asm__ volatile("flds %0\n\tflds %1" : : "m"(three), "m"(big));
    do {
        __asm__ volatile("fprem\n\tfnstsw %0" : "=a"(sw));
        if (!steps)
            first_sw = sw;
    } while ((sw & SW_C2) && ++steps < 100);
    __asm__ volatile("fstpl %0\n\tfstp %%st(0)" : "=m"(rem));
    check("fprem_partial_c2", (first_sw & SW_C2) && steps >= 1 && steps < 100 && rem == 1.0,
          "first sw %x steps %d rem*4 %d", first_sw, steps, (int)(rem * 4));

    /* FBSTP: packed BCD, sign in the top byte, rounded per RC. */
    static const int32_t n1 = 12345678, n2 = -42;
    static const uint8_t bcd1[10] = { 0x78, 0x56, 0x34, 0x12 }, bcd2[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0x80 };
    static const uint8_t bcd25[10] = { 0x02 }, bcd35[10] = { 0x04 };
    static const double d25 = 2.5, d35 = 3.5;
    uint8_t out[10];
    __asm__ volatile("fildl %1\n\tfbstp %0" : "=m"(out) : "m"(n1) : "memory");
    check("fbstp_12345678", same80(out, bcd1), "%x %x %x %x .. %x", out[0], out[1], out[2], out[3], out[9]);
    __asm__ volatile("fildl %1\n\tfbstp %0" : "=m"(out) : "m"(n2) : "memory");
    check("fbstp_negative", same80(out, bcd2), "%x .. %x", out[0], out[9]);
    __asm__ volatile("fldl %1\n\tfbstp %0" : "=m"(out) : "m"(d25) : "memory");
    check("fbstp_round_half_even_down", same80(out, bcd25), "%x", out[0]);
    __asm__ volatile("fldl %1\n\tfbstp %0" : "=m"(out) : "m"(d35) : "memory");
    check("fbstp_round_half_even_up", same80(out, bcd35), "%x", out[0]);

    /* FIST under each rounding mode. */
    static const double vals[4] = { 2.5, -2.5, 3.5, -3.5 };
    static const int32_t want_rc[4][4] = {
        { 2, -2, 4, -4 },   /* nearest even */
        { 2, -3, 3, -4 },   /* down */
        { 3, -2, 4, -3 },   /* up */
        { 2, -2, 3, -3 },   /* toward zero */
    };
    static const char *const rc_names[4] = { "fist_rc_nearest", "fist_rc_down", "fist_rc_up", "fist_rc_chop" };
    for (int rc = 0; rc < 4; rc++) {
        fldcw((uint16_t)(0x037F | rc << 10));
        int32_t r[4];
        int16_t r16;
        for (int i = 0; i < 4; i++)
            __asm__ volatile("fldl %1\n\tfistpl %0" : "=m"(r[i]) : "m"(vals[i]));
        __asm__ volatile("fldl %1\n\tfistps %0" : "=m"(r16) : "m"(vals[3]));
        check(rc_names[rc], r[0] == want_rc[rc][0] && r[1] == want_rc[rc][1] && r[2] == want_rc[rc][2] &&
                                r[3] == want_rc[rc][3] && r16 == want_rc[rc][3],
              "%d %d %d %d (16-bit %d)", r[0], r[1], r[2], r[3], r16);
    }
    fldcw(0x037F);
    __asm__ volatile("fnclex");
    static const double huge = 1e10;
    int32_t ind = 0;
    __asm__ volatile("fldl %1\n\tfistpl %0" : "=m"(ind) : "m"(huge));
    sw = fnstsw();
    check("fist_overflow_indefinite", (uint32_t)ind == 0x80000000u && (sw & SW_IE), "value %x sw %x", (uint32_t)ind,
          sw);
    __asm__ volatile("fninit");
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
#ifdef X87_FERR
    test_irq13();
#else
    test_mf();
    test_nm();
    test_arith();
#endif
    return test_finish();
}

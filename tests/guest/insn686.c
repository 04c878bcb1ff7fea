/* i686 instructions outside the everyday set: CMPXCHG8B, LAR/LSL/VERR/VERW,
 * ARPL, BOUND, ENTER/LEAVE with nesting levels, SMSW/LMSW, and the store
 * forms SGDT/SIDT/SLDT/STR. */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "insn686";

#define EFL_ZF 0x40u
#define SEL_LDT    SEL_SPARE(0)
#define SEL_CONF   SEL_SPARE(1)   /* conforming code, DPL 0 */
#define SEL_DPL3RO SEL_SPARE(2)   /* read-only data, DPL 3 */
#define SEL_XONLY  SEL_SPARE(3)   /* execute-only code */

static void expect_fault(const char *name, uint32_t vector, uint32_t err)
{
    check(name, caught.hit == 1 && caught.vector == vector &&
                    (err == 0xFFFFFFFF || caught.error == err) && caught.eip == catch_insn,
          "hit %d vector %u error %x eip %x (want vector %u error %x at %x)", caught.hit,
          caught.vector, caught.error, caught.eip, vector, err, catch_insn);
    catch_reset();
}

static void test_cmpxchg8b(void)
{
    static volatile uint64_t m;
    uint32_t lo, hi, fl;

    m = 0x1122334455667788ull;
    lo = 0x55667788;
    hi = 0x11223344;
    __asm__ volatile("lock cmpxchg8b %[m]\n\tpushfl\n\tpopl %[f]"
                     : [m] "+m"(m), "+a"(lo), "+d"(hi), [f] "=r"(fl)
                     : "b"(0xCAFEBABE), "c"(0xDEADBEEF) : "cc");
    check("cmpxchg8b_equal_stores", m == 0xDEADBEEFCAFEBABEull && (fl & EFL_ZF) &&
                                         lo == 0x55667788 && hi == 0x11223344,
          "mem %llx zf %u edx:eax %x:%x", (unsigned long long)m, !!(fl & EFL_ZF), hi, lo);

    lo = 0x55667788;
    hi = 0x11223344;
    __asm__ volatile("cmpxchg8b %[m]\n\tpushfl\n\tpopl %[f]"
                     : [m] "+m"(m), "+a"(lo), "+d"(hi), [f] "=r"(fl)
                     : "b"(1), "c"(2) : "cc");
    check("cmpxchg8b_differ_loads", m == 0xDEADBEEFCAFEBABEull && !(fl & EFL_ZF) &&
                                        lo == 0xCAFEBABE && hi == 0xDEADBEEF,
          "mem %llx zf %u edx:eax %x:%x", (unsigned long long)m, !!(fl & EFL_ZF), hi, lo);

    /* Only the high half differs: still a mismatch. */
    m = 0x0000000100000002ull;
    lo = 2;
    hi = 0;
    __asm__ volatile("cmpxchg8b %[m]\n\tpushfl\n\tpopl %[f]"
                     : [m] "+m"(m), "+a"(lo), "+d"(hi), [f] "=r"(fl)
                     : "b"(7), "c"(7) : "cc");
    check("cmpxchg8b_high_half_compared", m == 0x0000000100000002ull && !(fl & EFL_ZF) &&
                                              lo == 2 && hi == 1,
          "mem %llx zf %u edx:eax %x:%x", (unsigned long long)m, !!(fl & EFL_ZF), hi, lo);

    /* A register operand is #UD. */
    __asm__ volatile(CATCH_ASM(".byte 0x0f, 0xc7, 0xc8") : : : "memory");
    expect_fault("cmpxchg8b_register_ud", 6, 0xFFFFFFFF);
}

/* LAR/LSL/VERR/VERW: result and ZF, dest untouched on failure. */
struct selq {
    uint32_t val, zf;
};

static struct selq do_lar(uint32_t sel)
{
    struct selq r = { 0x5A5A5A5A, 0 };
    uint32_t fl;
    __asm__ volatile("larl %[s], %[v]\n\tpushfl\n\tpopl %[f]" : [v] "+r"(r.val), [f] "=r"(fl) : [s] "r"(sel) : "cc");
    r.zf = !!(fl & EFL_ZF);
    return r;
}

static struct selq do_lsl(uint32_t sel)
{
    struct selq r = { 0x5A5A5A5A, 0 };
    uint32_t fl;
    __asm__ volatile("lsll %[s], %[v]\n\tpushfl\n\tpopl %[f]" : [v] "+r"(r.val), [f] "=r"(fl) : [s] "r"(sel) : "cc");
    r.zf = !!(fl & EFL_ZF);
    return r;
}

static uint32_t do_verr(uint16_t sel)
{
    uint32_t fl;
    __asm__ volatile("verr %w[s]\n\tpushfl\n\tpopl %[f]" : [f] "=r"(fl) : [s] "r"(sel) : "cc");
    return !!(fl & EFL_ZF);
}

static uint32_t do_verw(uint16_t sel)
{
    uint32_t fl;
    __asm__ volatile("verw %w[s]\n\tpushfl\n\tpopl %[f]" : [f] "=r"(fl) : [s] "r"(sel) : "cc");
    return !!(fl & EFL_ZF);
}

static void test_lar_lsl(void)
{
    struct selq q;
    /* The accessed bit (bit 8) depends on whether the CPU wrote it back. */
    q = do_lar(SEL_CODE32);
    check("lar_code32", q.zf && (q.val & 0x00F0FE00) == 0x00C09A00, "zf %u value %x", q.zf, q.val);
    q = do_lar(SEL_DATA16);
    check("lar_data16", q.zf && (q.val & 0x00F0FE00) == 0x00009200, "zf %u value %x", q.zf, q.val);
    q = do_lar(SEL_TSS);
    check("lar_busy_tss", q.zf && (q.val & 0x00F0FF00) == 0x00008B00, "zf %u value %x", q.zf, q.val);
    q = do_lar(0);
    check("lar_null_zf0", !q.zf && q.val == 0x5A5A5A5A, "zf %u value %x", q.zf, q.val);
    q = do_lar(0x1238);
    check("lar_beyond_gdt_zf0", !q.zf && q.val == 0x5A5A5A5A, "zf %u value %x", q.zf, q.val);
    /* An interrupt gate type is not valid for LAR; a call gate is. */
    gdt_set_gate(SEL_SPARE(4), SEL_CODE32, 0x1234, 0x8E, 0);
    q = do_lar(SEL_SPARE(4));
    check("lar_interrupt_gate_zf0", !q.zf, "zf %u value %x", q.zf, q.val);
    gdt_set_gate(SEL_SPARE(4), SEL_CODE32, 0x1234, ACC_CALL_GATE, 2);
    q = do_lar(SEL_SPARE(4));
    check("lar_call_gate", q.zf && (q.val & 0xFF00) == 0x8C00, "zf %u value %x", q.zf, q.val);

    q = do_lsl(SEL_SMALL);
    check("lsl_byte_granular", q.zf && q.val == 0xFFF, "zf %u value %x", q.zf, q.val);
    q = do_lsl(SEL_CODE32);
    check("lsl_page_granular", q.zf && q.val == 0xFFFFFFFF, "zf %u value %x", q.zf, q.val);
    q = do_lsl(SEL_TSS);
    check("lsl_tss", q.zf && q.val == TSS_LIMIT_NOIO, "zf %u value %x", q.zf, q.val);
    q = do_lsl(SEL_SPARE(4));
    check("lsl_call_gate_zf0", !q.zf && q.val == 0x5A5A5A5A, "zf %u value %x", q.zf, q.val);

    /* From CPL 0 with RPL 3 a DPL 0 segment fails the privilege check. */
    q = do_lar(SEL_DATA32 | 3);
    check("lar_rpl3_dpl0_zf0", !q.zf, "zf %u value %x", q.zf, q.val);
    q = do_lar(SEL_DPL3RO | 3);
    check("lar_rpl3_dpl3", q.zf, "zf %u value %x", q.zf, q.val);
    /* Conforming code ignores the privilege check. */
    q = do_lar(SEL_CONF | 3);
    check("lar_conforming_any_rpl", q.zf, "zf %u value %x", q.zf, q.val);

    check("verr_code_readable", do_verr(SEL_CODE32) == 1, "zf 0");
    check("verr_code_execute_only", do_verr(SEL_XONLY) == 0, "zf 1");
    check("verw_code", do_verw(SEL_CODE32) == 0, "zf 1");
    check("verw_data", do_verw(SEL_DATA32) == 1, "zf 0");
    check("verw_readonly_data", do_verw(SEL_RODATA32) == 0, "zf 1");
    check("verr_readonly_data", do_verr(SEL_RODATA32) == 1, "zf 0");
    check("verr_null", do_verr(0) == 0, "zf 1");
    check("verr_tss_system", do_verr(SEL_TSS) == 0, "zf 1");
    check("verw_rpl3_dpl0", do_verw(SEL_DATA32 | 3) == 0, "zf 1");
}

static void test_arpl(void)
{
    uint16_t d = 0x0011;
    uint32_t fl;
    __asm__ volatile("arpl %w[s], %w[d]\n\tpushfl\n\tpopl %[f]" : [d] "+r"(d), [f] "=r"(fl) : [s] "r"(0x4B) : "cc");
    check("arpl_raises_rpl", d == 0x0013 && (fl & EFL_ZF), "dest %x zf %u", d, !!(fl & EFL_ZF));
    d = 0x0013;
    __asm__ volatile("arpl %w[s], %w[d]\n\tpushfl\n\tpopl %[f]" : [d] "+r"(d), [f] "=r"(fl) : [s] "r"(0x41) : "cc");
    check("arpl_keeps_higher_rpl", d == 0x0013 && !(fl & EFL_ZF), "dest %x zf %u", d, !!(fl & EFL_ZF));
    static volatile uint16_t m = 0x1230;
    __asm__ volatile("arpl %w[s], %[m]\n\tpushfl\n\tpopl %[f]" : [m] "+m"(m), [f] "=r"(fl) : [s] "r"(0x2) : "cc");
    check("arpl_memory", m == 0x1232 && (fl & EFL_ZF), "dest %x zf %u", m, !!(fl & EFL_ZF));
}

static void test_bound(void)
{
    static const int32_t b32[2] = { -5, 10 };
    static const int16_t b16[2] = { 100, 200 };
    int32_t idx = -5;
    __asm__ volatile(CATCH_ASM("boundl %0, (%1)") : : "r"(idx), "r"(b32) : "memory");
    check("bound_lower_edge_ok", caught.hit == 0, "vector %u", caught.vector);
    idx = 10;
    __asm__ volatile(CATCH_ASM("boundl %0, (%1)") : : "r"(idx), "r"(b32) : "memory");
    check("bound_upper_edge_ok", caught.hit == 0, "vector %u", caught.vector);
    idx = 11;
    __asm__ volatile(CATCH_ASM("boundl %0, (%1)") : : "r"(idx), "r"(b32) : "memory");
    expect_fault("bound_above_br", 5, 0xFFFFFFFF);
    idx = -6;
    __asm__ volatile(CATCH_ASM("boundl %0, (%1)") : : "r"(idx), "r"(b32) : "memory");
    expect_fault("bound_below_signed_br", 5, 0xFFFFFFFF);
    uint16_t i16 = 150;
    __asm__ volatile(CATCH_ASM("boundw %0, (%1)") : : "r"(i16), "r"(b16) : "memory");
    check("bound16_ok", caught.hit == 0, "vector %u", caught.vector);
    i16 = 99;
    __asm__ volatile(CATCH_ASM("boundw %0, (%1)") : : "r"(i16), "r"(b16) : "memory");
    expect_fault("bound16_below_br", 5, 0xFFFFFFFF);
    __asm__ volatile(CATCH_ASM(".byte 0x62, 0xc0") : : : "memory");
    expect_fault("bound_register_operand_ud", 6, 0xFFFFFFFF);
}

/* ENTER imm16, level on a scratch stack with a fake display above EBP. */
struct enter_out {
    uint32_t ebp_after, esp_after, w[6], ebp_restored, esp_restored;
};
__asm__(".text\n"
        "enter_probe:\n"                 /* void enter_probe(struct enter_out *, uint32_t *stack_top, int level) */
        "    pushl %ebp\n"
        "    pushl %ebx\n"
        "    pushl %esi\n"
        "    pushl %edi\n"
        "    movl 20(%esp), %esi\n"      /* out */
        "    movl 24(%esp), %ecx\n"      /* scratch stack top */
        "    movl 28(%esp), %eax\n"      /* level: 0, 1 or 3 */
        "    movl %esp, %edi\n"
        "    movl %ecx, %esp\n"
        "    movl %ecx, %ebp\n"
        "    addl $64, %ebp\n"           /* fake caller frame with a display above */
        "    cmpl $1, %eax\n"
        "    je 1f\n"
        "    cmpl $3, %eax\n"
        "    je 3f\n"
        "    enter $12, $0\n"
        "    jmp 9f\n"
        "1:  enter $12, $1\n"
        "    jmp 9f\n"
        "3:  enter $12, $3\n"
        "9:  movl %ebp, 0(%esi)\n"
        "    movl %esp, 4(%esi)\n"
        "    movl 0(%ebp), %eax\n  movl %eax, 8(%esi)\n"
        "    movl -4(%ebp), %eax\n movl %eax, 12(%esi)\n"
        "    movl -8(%ebp), %eax\n movl %eax, 16(%esi)\n"
        "    movl -12(%ebp), %eax\n movl %eax, 20(%esi)\n"
        "    movl -16(%ebp), %eax\n movl %eax, 24(%esi)\n"
        "    movl -20(%ebp), %eax\n movl %eax, 28(%esi)\n"
        "    leave\n"
        "    movl %ebp, 32(%esi)\n"
        "    movl %esp, 36(%esi)\n"
        "    movl %edi, %esp\n"
        "    popl %edi\n"
        "    popl %esi\n"
        "    popl %ebx\n"
        "    popl %ebp\n"
        "    ret\n");
void enter_probe(struct enter_out *o, uint32_t *stack_top, int level);

static void test_enter_leave(void)
{
    static uint32_t stack[64] __attribute__((aligned(16)));
    uint32_t *top = &stack[40];
    uint32_t top_a = (uint32_t)top, caller_ebp = top_a + 64;
    struct enter_out o;
    for (int i = 0; i < 64; i++)
        stack[i] = 0xD0000000 + i;
    /* Display entries the CPU copies: [caller_ebp - 4], [caller_ebp - 8]. */
    enter_probe(&o, top, 0);
    check("enter_level0", o.ebp_after == top_a - 4 && o.esp_after == top_a - 16 && o.w[0] == caller_ebp,
          "ebp %x esp %x [ebp] %x (top %x)", o.ebp_after, o.esp_after, o.w[0], top_a);
    check("leave_level0", o.ebp_restored == caller_ebp && o.esp_restored == top_a, "ebp %x esp %x",
          o.ebp_restored, o.esp_restored);

    enter_probe(&o, top, 1);
    check("enter_level1", o.ebp_after == top_a - 4 && o.esp_after == top_a - 20 &&
                              o.w[0] == caller_ebp && o.w[1] == top_a - 4,
          "ebp %x esp %x frame %x %x (top %x)", o.ebp_after, o.esp_after, o.w[0], o.w[1], top_a);

    uint32_t d1 = stack[(caller_ebp - 4 - (uint32_t)stack) / 4];
    uint32_t d2 = stack[(caller_ebp - 8 - (uint32_t)stack) / 4];
    enter_probe(&o, top, 3);
    check("enter_level3_display", o.ebp_after == top_a - 4 && o.esp_after == top_a - 28 &&
                                      o.w[0] == caller_ebp && o.w[1] == d1 && o.w[2] == d2 &&
                                      o.w[3] == top_a - 4,
          "ebp %x esp %x frame %x %x %x %x (want %x %x %x %x)", o.ebp_after, o.esp_after, o.w[0],
          o.w[1], o.w[2], o.w[3], caller_ebp, d1, d2, top_a - 4);
    check("leave_level3", o.ebp_restored == caller_ebp && o.esp_restored == top_a, "ebp %x esp %x",
          o.ebp_restored, o.esp_restored);
}

static void test_msw(void)
{
    uint32_t cr0 = READ_CR(0), r = 0xFFFFFFFF;
    uint16_t m = 0;
    __asm__ volatile("smsw %0" : "=r"(r));
    check("smsw_register_low16", (r & 0xFFFF) == (cr0 & 0xFFFF), "smsw %x cr0 %x", r, cr0);
    __asm__ volatile("smsw %0" : "=m"(m));
    check("smsw_memory", m == (cr0 & 0xFFFF), "smsw %x cr0 %x", m, cr0);
    /* LMSW sets MP and TS, cannot clear PE, ignores bits above 3. */
    uint16_t v = (uint16_t)((cr0 & 0xFFF0) | 0x000A | 0x0020);
    __asm__ volatile("lmsw %0" : : "r"(v) : "memory");
    uint32_t after = READ_CR(0);
    check("lmsw_sets_mp_ts", (after & 0xF) == 0xB, "cr0 %x", after);
    check("lmsw_ignores_high_bits", (after & 0xFFFFFFF0) == (cr0 & 0xFFFFFFF0), "cr0 %x (was %x)", after, cr0);
    v = 0;
    __asm__ volatile("lmsw %0" : : "r"(v) : "memory");
    after = READ_CR(0);
    check("lmsw_cannot_clear_pe", (after & 0xF) == 0x1, "cr0 %x", after);
    __asm__ volatile("clts");
    WRITE_CR(0, cr0);
}

static void test_store_tables(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } g = { 0, 0 }, i = { 0, 0 }, want_i = { 0x123, 0x00ABC000 };
    __asm__ volatile("sgdt %0" : "=m"(g));
    check("sgdt", g.base == (uint32_t)gdt && g.limit == (0x58 + 8 * GDT_SPARE_COUNT) - 1,
          "base %x limit %x (gdt at %p)", g.base, g.limit, gdt);
    __asm__ volatile("sidt %0" : "=m"(i));
    uint32_t idt_base = i.base;
    check("sidt_current", i.limit == 256 * 8 - 1, "limit %x base %x", i.limit, i.base);
    __asm__ volatile("lidt %1\n\tsidt %0" : "=m"(i) : "m"(want_i));
    idt_load_limit(256 * 8 - 1);
    check("sidt_after_lidt", i.base == want_i.base && i.limit == want_i.limit, "base %x limit %x", i.base, i.limit);
    (void)idt_base;

    uint32_t r = 0xFFFFFFFF;
    __asm__ volatile("sldt %0" : "=r"(r));
    check("sldt_null", (r & 0xFFFF) == 0, "ldtr %x", r);
    static uint64_t ldt[2] __attribute__((aligned(8))) = { 0, 0x00CF92000000FFFFull };
    gdt_set_seg(SEL_LDT, (uint32_t)ldt, sizeof(ldt) - 1, ACC_LDT, 0);
    __asm__ volatile("lldt %w0" : : "r"(SEL_LDT));
    uint16_t m = 0;
    __asm__ volatile("sldt %0" : "=r"(r));
    __asm__ volatile("sldt %0" : "=m"(m));
    check("sldt_after_lldt", (r & 0xFFFF) == SEL_LDT && m == SEL_LDT, "ldtr %x mem %x", r, m);
    /* The LDT is usable: load selector 8|TI from it. */
    uint32_t fsv;
    __asm__ volatile("movw $0x0c, %%ax\n\tmovw %%ax, %%fs\n\tmovw %%fs, %%ax\n\tmovzwl %%ax, %0\n\t"
                     "xorl %%eax, %%eax\n\tmovw %%ax, %%fs"
                     : "=r"(fsv) : : "eax");
    check("ldt_selector_loads", fsv == 0x0c, "fs %x", fsv);
    __asm__ volatile("lldt %w0" : : "r"(0));

    __asm__ volatile("str %0" : "=r"(r));
    __asm__ volatile("str %0" : "=m"(m));
    check("str", (r & 0xFFFF) == SEL_TSS && m == SEL_TSS, "tr %x mem %x", r, m);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    static struct tss32 tss;
    static uint8_t kstack[4096] __attribute__((aligned(16)));
    tss_install(&tss, SEL_TSS, TSS_LIMIT_NOIO, (uint32_t)(kstack + sizeof(kstack)));
    gdt_set_seg(SEL_CONF, 0, 0xFFFFF, 0x9E, 0xC);
    gdt_set_seg(SEL_DPL3RO, 0, 0xFFFFF, 0xF0, 0xC);
    gdt_set_seg(SEL_XONLY, 0, 0xFFFFF, 0x98, 0xC);

    test_cmpxchg8b();
    test_lar_lsl();
    test_arpl();
    test_bound();
    test_enter_leave();
    test_msw();
    test_store_tables();
    return test_finish();
}

/* test_seg.c - segment register loads and their faults, segmented access
 * checks (limits, expand-down, read-only, null), far transfers, LLDT/LTR,
 * and the I/O permission bitmap. */
#include "soft_test_util.h"

#define GDT 0x2000u
#define LDT 0x3000u

enum {
    SEL_CODE0 = 0x08, SEL_DATA0 = 0x10, SEL_DATA3 = 0x1b, SEL_RODATA = 0x20,
    SEL_XONLY = 0x28, SEL_NP = 0x30, SEL_EXPDOWN = 0x38, SEL_LDT = 0x40,
    SEL_TSS = 0x48, SEL_SMALL = 0x50, SEL_CODE3 = 0x5b, SEL_CONF = 0x60,
    SEL_NPSTACK = 0x68, SEL_LDT_DATA = 0x04 | 0x0,  /* LDT entry 0 */
};

static void put_desc(struct guest *g, uint32_t table, uint16_t sel, uint64_t d)
{
    memcpy(g->ram + table + (sel & ~7u), &d, 8);
}

static uint64_t get_desc(struct guest *g, uint32_t table, uint16_t sel)
{
    uint64_t d;
    memcpy(&d, g->ram + table + (sel & ~7u), 8);
    return d;
}

static struct guest *seg_guest(unsigned cpl)
{
    struct guest *g = guest_new();
    put_desc(g, GDT, SEL_CODE0, make_desc(0, 0xfffff, 0xc09b));
    put_desc(g, GDT, SEL_DATA0, make_desc(0, 0xfffff, 0xc092));        /* accessed bit clear */
    put_desc(g, GDT, SEL_DATA3, make_desc(0x10000, 0xffff, 0x40f3));
    put_desc(g, GDT, SEL_RODATA, make_desc(0, 0xffff, 0x4091));
    put_desc(g, GDT, SEL_XONLY, make_desc(0, 0xffff, 0x4099));
    put_desc(g, GDT, SEL_NP, make_desc(0, 0xffff, 0x4013));
    put_desc(g, GDT, SEL_EXPDOWN, make_desc(0, 0x0fff, 0x4097));
    put_desc(g, GDT, SEL_LDT, make_desc(LDT, 0x17, 0x0082));
    put_desc(g, GDT, SEL_TSS, make_desc(0x4000, 0x67 + 8192 / 8 + 1, 0x0089));
    put_desc(g, GDT, SEL_SMALL, make_desc(0x5000, 0x0ff, 0x4093));
    put_desc(g, GDT, SEL_CODE3, make_desc(0, 0xfffff, 0xc0fb));
    put_desc(g, GDT, SEL_CONF, make_desc(0, 0xfffff, 0xc09f));
    put_desc(g, GDT, SEL_NPSTACK, make_desc(0, 0xffff, 0x4013));
    put_desc(g, LDT, 0, make_desc(0x7000, 0xfff, 0x4093));
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    flat_protected(&s, cpl);
    s.gdtr = (struct dtable_reg){ GDT, 0x6f };
    soft_engine_ops.set_state(g->e, &s);
    return g;
}

static void test_data_load_and_accessed_bit(void **st)
{
    (void)st;
    struct guest *g = seg_guest(0);
    struct cpu *c = g->c;
    assert_false(get_desc(g, GDT, SEL_DATA0) & (1ull << 40));
    EXPECT_OK(c, cpu_load_seg(c, SEG_DS, SEL_DATA0));
    assert_int_equal(c->s.seg[SEG_DS].selector, SEL_DATA0);
    assert_int_equal(c->s.seg[SEG_DS].base, 0);
    assert_int_equal(c->s.seg[SEG_DS].limit, 0xffffffffu);
    assert_true(get_desc(g, GDT, SEL_DATA0) & (1ull << 40));
    EXPECT_OK(c, cpu_load_seg(c, SEG_ES, SEL_DATA3 & ~3));   /* RPL 0, DPL 3: fine at CPL 0 */
    assert_int_equal(c->s.seg[SEG_ES].base, 0x10000);
    assert_int_equal(c->s.seg[SEG_ES].limit, 0xffff);
    /* Byte-granular limit checks on the loaded segment. */
    EXPECT_OK(c, cpu_load_seg(c, SEG_FS, SEL_SMALL));
    EXPECT_OK(c, cpu_write32(c, SEG_FS, 0xfc, 0x01020304));
    assert_int_equal(get32(g, 0x50fc), 0x01020304);
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write32(c, SEG_FS, 0xfd, 0));
    EXPECT_FAULT(c, EXC_GP, 0, (void)cpu_read8(c, SEG_FS, 0x100));
    guest_free(g);
}

static void test_load_faults(void **st)
{
    (void)st;
    struct guest *g = seg_guest(0);
    struct cpu *c = g->c;
    EXPECT_FAULT(c, EXC_GP, 0x78, cpu_load_seg(c, SEG_DS, 0x78));          /* past the GDT limit */
    EXPECT_FAULT(c, EXC_GP, SEL_XONLY, cpu_load_seg(c, SEG_DS, SEL_XONLY)); /* execute-only code */
    EXPECT_FAULT(c, EXC_NP, SEL_NP, cpu_load_seg(c, SEG_DS, SEL_NP));
    EXPECT_FAULT(c, EXC_GP, SEL_LDT, cpu_load_seg(c, SEG_DS, SEL_LDT));     /* system descriptor */
    EXPECT_FAULT(c, EXC_GP, 0x04, cpu_load_seg(c, SEG_DS, 0x04));           /* no LDT loaded */
    /* SS: null, read-only, wrong privilege, not present (#SS). */
    EXPECT_FAULT(c, EXC_GP, 0, cpu_load_seg(c, SEG_SS, 0));
    EXPECT_FAULT(c, EXC_GP, SEL_RODATA, cpu_load_seg(c, SEG_SS, SEL_RODATA));
    EXPECT_FAULT(c, EXC_GP, 0x18, cpu_load_seg(c, SEG_SS, SEL_DATA3));      /* RPL != CPL */
    EXPECT_FAULT(c, EXC_GP, 0x18, cpu_load_seg(c, SEG_SS, 0x18));           /* DPL != CPL */
    EXPECT_FAULT(c, EXC_SS, SEL_NPSTACK, cpu_load_seg(c, SEG_SS, SEL_NPSTACK));
    /* Nothing was loaded by a failed load. */
    assert_int_equal(c->s.seg[SEG_DS].selector, 0x10);
    assert_int_equal(c->s.seg[SEG_SS].selector, 0x10);
    EXPECT_OK(c, cpu_load_seg(c, SEG_SS, SEL_DATA0));
    assert_int_equal(c->s.events.interrupt_shadow, 1);
    guest_free(g);
}

static void test_privilege_at_cpl3(void **st)
{
    (void)st;
    struct guest *g = seg_guest(3);
    struct cpu *c = g->c;
    EXPECT_FAULT(c, EXC_GP, SEL_DATA0, cpu_load_seg(c, SEG_DS, SEL_DATA0 | 3));   /* DPL 0 < CPL 3 */
    EXPECT_OK(c, cpu_load_seg(c, SEG_DS, SEL_DATA3));
    EXPECT_OK(c, cpu_load_seg(c, SEG_ES, SEL_CONF | 3));    /* conforming readable code: no DPL check */
    EXPECT_FAULT(c, EXC_GP, 0, cpu_lldt(c, SEL_LDT));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write_cr(c, 0, 0));
    guest_free(g);
}

static void test_null_readonly_expand_down(void **st)
{
    (void)st;
    struct guest *g = seg_guest(0);
    struct cpu *c = g->c;
    EXPECT_OK(c, cpu_load_seg(c, SEG_GS, 0));
    assert_true(c->s.seg[SEG_GS].attr & SEGA_UNUSABLE);
    EXPECT_FAULT(c, EXC_GP, 0, (void)cpu_read8(c, SEG_GS, 0));
    EXPECT_OK(c, cpu_load_seg(c, SEG_FS, SEL_RODATA));
    EXPECT_OK(c, (void)cpu_read32(c, SEG_FS, 0x100));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write32(c, SEG_FS, 0x100, 1));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_check_write(c, SEG_FS, 0x100, 4));
    /* Expand-down, limit 0xfff, B=1: valid offsets 0x1000..0xffffffff. */
    EXPECT_OK(c, cpu_load_seg(c, SEG_ES, SEL_EXPDOWN));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write32(c, SEG_ES, 0x800, 1));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write32(c, SEG_ES, 0xffe, 1));   /* straddles the limit */
    EXPECT_OK(c, cpu_write32(c, SEG_ES, 0x1000, 0xfeedface));
    assert_int_equal(get32(g, 0x1000), 0xfeedface);
    /* Writes to CS fault; SS limit violations are #SS. */
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write8(c, SEG_CS, 0x100, 1));
    EXPECT_OK(c, cpu_load_seg(c, SEG_DS, SEL_SMALL));
    c->s.seg[SEG_SS] = c->s.seg[SEG_DS];
    cpu_mode_changed(c);
    EXPECT_FAULT(c, EXC_SS, 0, (void)cpu_read32(c, SEG_SS, 0x200));
    guest_free(g);
}

static void test_lldt_ltr(void **st)
{
    (void)st;
    struct guest *g = seg_guest(0);
    struct cpu *c = g->c;
    EXPECT_FAULT(c, EXC_GP, SEL_DATA0, cpu_lldt(c, SEL_DATA0));
    EXPECT_OK(c, cpu_lldt(c, SEL_LDT));
    assert_int_equal(c->s.ldtr.base, LDT);
    EXPECT_OK(c, cpu_load_seg(c, SEG_DS, 0x04));    /* LDT entry 0 */
    assert_int_equal(c->s.seg[SEG_DS].base, 0x7000);
    EXPECT_FAULT(c, EXC_GP, 0x18 | 4, cpu_load_seg(c, SEG_DS, 0x1c));   /* past the LDT */
    EXPECT_FAULT(c, EXC_GP, SEL_LDT, cpu_ltr(c, SEL_LDT));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_ltr(c, 0));
    EXPECT_OK(c, cpu_ltr(c, SEL_TSS));
    assert_int_equal(c->s.tr.base, 0x4000);
    assert_int_equal((get_desc(g, GDT, SEL_TSS) >> 40) & 0xf, 0xb);   /* busy */
    EXPECT_FAULT(c, EXC_GP, SEL_TSS, cpu_ltr(c, SEL_TSS));              /* already busy */
    guest_free(g);
}

static void test_io_permission_bitmap(void **st)
{
    (void)st;
    struct guest *g = seg_guest(0);
    struct cpu *c = g->c;
    EXPECT_OK(c, cpu_ltr(c, SEL_TSS));
    uint16_t map = 0x68;
    memcpy(g->ram + 0x4066, &map, 2);
    memset(g->ram + 0x4068, 0xff, 8192 / 8 + 1);
    g->ram[0x4068 + 0x60 / 8] &= (uint8_t)~1u;     /* allow port 0x60 only */
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    uint16_t tr = s.tr.selector;
    struct seg_cache trc = s.tr;
    flat_protected(&s, 3);
    s.tr = trc;
    s.tr.selector = tr;
    soft_engine_ops.set_state(g->e, &s);
    EXPECT_OK(c, cpu_check_io(c, 0x60, 1));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_check_io(c, 0x60, 2));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_check_io(c, 0x3f8, 1));
    guest_free(g);
}

static void test_far_jmp_and_real_mode_loads(void **st)
{
    (void)st;
    struct guest *g = seg_guest(0);
    struct cpu *c = g->c;
    EXPECT_FAULT(c, EXC_GP, SEL_DATA0, cpu_far_jmp(c, SEL_DATA0, 0x1000));
    EXPECT_FAULT(c, EXC_GP, SEL_CODE3 & ~3, cpu_far_jmp(c, SEL_CODE3, 0x1000));  /* DPL 3 != CPL 0 */
    EXPECT_FAULT(c, EXC_GP, 0, cpu_far_jmp(c, 0, 0x1000));
    EXPECT_OK(c, cpu_far_jmp(c, SEL_CODE0, 0x1234));
    assert_int_equal(c->s.eip, 0x1234);
    assert_int_equal(c->s.seg[SEG_CS].selector, SEL_CODE0);
    assert_true(c->code32);
    /* Back to real mode: loads set base = selector * 16. */
    EXPECT_OK(c, cpu_write_cr(c, 0, c->s.cr0 & ~CR0_PE));
    EXPECT_OK(c, cpu_load_seg(c, SEG_DS, 0x1234));
    assert_int_equal(c->s.seg[SEG_DS].base, 0x12340);
    EXPECT_OK(c, cpu_far_jmp(c, 0x2000, 0x10));
    assert_int_equal(c->s.seg[SEG_CS].base, 0x20000);
    assert_false(c->code32);
    assert_int_equal(c->cpl, 0);
    guest_free(g);
}

static void test_call_gate_to_inner_privilege_and_back(void **st)
{
    (void)st;
    struct guest *g = seg_guest(0);
    struct cpu *c = g->c;
    /* Call gate 0x70 (DPL 3) -> SEL_CODE0:0x5000, 2 dword parameters. */
    uint64_t gate = 0x5000u | ((uint64_t)SEL_CODE0 << 16) | (2ull << 32) | (0xecull << 40);
    put_desc(g, GDT, 0x70, gate);
    put_desc(g, GDT, 0x78, make_desc(0, 0xfffff, 0xc0f3));   /* user stack, DPL 3 */
    c->s.gdtr.limit = 0x7f;
    EXPECT_OK(c, cpu_ltr(c, SEL_TSS));
    put32(g, 0x4004, 0x9000);       /* esp0 */
    put32(g, 0x4008, SEL_DATA0);    /* ss0 */
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    struct seg_cache tr = s.tr;
    flat_protected(&s, 3);
    s.seg[SEG_SS].selector = 0x7b;
    s.seg[SEG_CS].selector = SEL_CODE3;
    s.tr = tr;
    s.gdtr.limit = 0x7f;
    s.gpr[REG_ESP] = 0x6ff8;
    s.eip = 0x1234;
    soft_engine_ops.set_state(g->e, &s);
    put32(g, 0x6ff8, 0x11111111);   /* parameter 0 */
    put32(g, 0x6ffc, 0x22222222);   /* parameter 1 */
    /* JMP through the gate cannot change privilege. */
    EXPECT_FAULT(c, EXC_GP, 0x70, cpu_far_jmp(c, 0x73, 0));
    c->insn_eip = c->s.eip = 0x1234;   /* (the fault restored EIP to insn_eip) */
    EXPECT_OK(c, cpu_far_call(c, 0x73, 0, 4));
    assert_int_equal(c->cpl, 0);
    assert_int_equal(c->s.seg[SEG_CS].selector, SEL_CODE0);
    assert_int_equal(c->s.eip, 0x5000);
    assert_int_equal(c->s.seg[SEG_SS].selector, SEL_DATA0);
    assert_int_equal(c->s.gpr[REG_ESP], 0x9000 - 24);
    assert_int_equal(get32(g, 0x9000 - 4), 0x7b);          /* old SS */
    assert_int_equal(get32(g, 0x9000 - 8), 0x6ff8);        /* old ESP */
    assert_int_equal(get32(g, 0x9000 - 12), 0x22222222);   /* parameters, same order */
    assert_int_equal(get32(g, 0x9000 - 16), 0x11111111);
    assert_int_equal(get32(g, 0x9000 - 20), 0x5b);         /* old CS */
    assert_int_equal(get32(g, 0x9000 - 24), 0x1234);       /* return EIP */
    /* RET 8 back to CPL 3 pops the parameters from both stacks. */
    EXPECT_OK(c, cpu_far_ret(c, 4, 8));
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->s.eip, 0x1234);
    assert_int_equal(c->s.seg[SEG_SS].selector, 0x7b);
    assert_int_equal(c->s.gpr[REG_ESP], 0x7000);
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_load_and_accessed_bit),
        cmocka_unit_test(test_load_faults),
        cmocka_unit_test(test_privilege_at_cpl3),
        cmocka_unit_test(test_null_readonly_expand_down),
        cmocka_unit_test(test_lldt_ltr),
        cmocka_unit_test(test_io_permission_bitmap),
        cmocka_unit_test(test_far_jmp_and_real_mode_loads),
        cmocka_unit_test(test_call_gate_to_inner_privilege_and_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

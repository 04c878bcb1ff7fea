/* test_mmu.c - the soft CPU's paging and memory access: 4 KiB and 4 MiB
 * pages, U/S and R/W with and without CR0.WP, accessed/dirty bits, #PF
 * error codes and CR2, global pages across CR3 writes, INVLPG, page tables
 * and PTEs pointing outside RAM (MMIO exits, never host memory), ROM. */
#include "soft_test_util.h"

#define PD      0x100000u
#define PT      0x101000u     /* page table for linear 0x400000-0x7fffff */
#define P  0x1u
#define RW 0x2u
#define US 0x4u
#define A  0x20u
#define D  0x40u
#define PS 0x80u
#define G  0x100u

static void map4k(struct guest *g, uint32_t lin, uint32_t phys, uint32_t flags)
{
    assert_int_equal(lin >> 22, 1);
    put32(g, PD + 4, PT | P | RW | US);
    put32(g, PT + ((lin >> 12) & 0x3ff) * 4, phys | flags);
}

/* Flat protected mode with paging on (CR3 = PD), CPL 0. */
static struct guest *paged_guest(uint32_t cr0_extra, uint32_t cr4)
{
    struct guest *g = guest_new();
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    flat_protected(&s, 0);
    s.cr0 |= CR0_PG | cr0_extra;
    s.cr3 = PD;
    s.cr4 = cr4;
    soft_engine_ops.set_state(g->e, &s);
    return g;
}

static void set_cpl(struct guest *g, unsigned cpl)
{
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    uint32_t cr0 = s.cr0, cr3 = s.cr3, cr4 = s.cr4;
    flat_protected(&s, cpl);
    s.cr0 = cr0;
    s.cr3 = cr3;
    s.cr4 = cr4;
    soft_engine_ops.set_state(g->e, &s);
    assert_int_equal(g->c->cpl, cpl);
}

static void test_4k_walk_sets_accessed_and_dirty(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, 0);
    struct cpu *c = g->c;
    map4k(g, 0x400000, 0x200000, P | RW);
    map4k(g, 0x401000, 0x201000, P | RW);
    EXPECT_OK(c, cpu_write32(c, SEG_DS, 0x400010, 0x11223344));
    assert_int_equal(get32(g, 0x200010), 0x11223344);
    assert_int_equal(get32(g, PT) & (A | D), A | D);
    assert_true(get32(g, PD + 4) & A);
    /* A read sets A but not D. */
    volatile uint32_t v = 0;
    put32(g, 0x201020, 0xcafe);
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x401020));
    assert_int_equal(v, 0xcafe);
    assert_int_equal(get32(g, PT + 4) & (A | D), A);
    /* The first write after a read still reaches the page tables (D). */
    EXPECT_OK(c, cpu_write8(c, SEG_DS, 0x401021, 0x77));
    assert_int_equal(get32(g, PT + 4) & (A | D), A | D);
    assert_int_equal(get32(g, 0x201020), 0x77fe);
    guest_free(g);
}

static void test_4m_page(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, CR4_PSE);
    struct cpu *c = g->c;
    put32(g, PD + 2 * 4, 0x800000 | P | RW | PS);      /* lin 8M -> phys 8M */
    put32(g, PD + 3 * 4, 0x400000 | P | RW | PS);      /* lin 12M -> phys 4M */
    EXPECT_OK(c, cpu_write32(c, SEG_DS, 0xc12344, 0xabcdef01));
    assert_int_equal(get32(g, 0x412344), 0xabcdef01);
    assert_int_equal(get32(g, PD + 12) & (A | D), A | D);
    volatile uint32_t v = 0;
    put32(g, 0x9ffffc, 0x5555aaaa);
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x9ffffc));
    assert_int_equal(v, 0x5555aaaa);
    assert_int_equal(get32(g, PD + 8) & (A | D), A);
    /* Without CR4.PSE the PS bit is ignored: the PDE points at a table. */
    EXPECT_OK(c, cpu_write_cr(c, 4, 0));
    put32(g, 0x400000 + ((0xc12344 >> 12) & 0x3ff) * 4, 0);   /* not present */
    EXPECT_FAULT(c, EXC_PF, 0, cpu_read32(c, SEG_DS, 0xc12344));
    guest_free(g);
}

static void test_not_present_error_codes_and_cr2(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, 0);
    struct cpu *c = g->c;
    EXPECT_FAULT(c, EXC_PF, 0, cpu_read32(c, SEG_DS, 0x00123456));   /* PDE not present */
    assert_int_equal(c->s.cr2, 0x00123456);
    map4k(g, 0x400000, 0x200000, P | RW);
    EXPECT_FAULT(c, EXC_PF, PFEC_W, cpu_write8(c, SEG_DS, 0x405678, 1));   /* PTE not present */
    assert_int_equal(c->s.cr2, 0x405678);
    set_cpl(g, 3);
    EXPECT_FAULT(c, EXC_PF, PFEC_W | PFEC_U, cpu_write8(c, SEG_DS, 0x405679, 1));
    assert_int_equal(c->s.cr2, 0x405679);
    guest_free(g);
}

static void test_user_supervisor(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, 0);
    struct cpu *c = g->c;
    map4k(g, 0x400000, 0x200000, P | RW);        /* supervisor page */
    map4k(g, 0x401000, 0x201000, P | US);        /* user read-only */
    map4k(g, 0x402000, 0x202000, P | RW | US);   /* user read-write */
    set_cpl(g, 3);
    EXPECT_FAULT(c, EXC_PF, PFEC_P | PFEC_U, cpu_read8(c, SEG_DS, 0x400100));
    assert_int_equal(c->s.cr2, 0x400100);
    EXPECT_FAULT(c, EXC_PF, PFEC_P | PFEC_W | PFEC_U, cpu_write8(c, SEG_DS, 0x401100, 1));
    EXPECT_OK(c, (void)cpu_read8(c, SEG_DS, 0x401100));
    EXPECT_OK(c, cpu_write8(c, SEG_DS, 0x402100, 9));
    assert_int_equal(g->ram[0x202100], 9);
    /* System accesses (descriptor tables) are supervisor accesses at CPL 3. */
    EXPECT_OK(c, (void)cpu_lin_read(c, 0x400100, 4, true));
    /* The U/S bit of the directory entry counts too. */
    put32(g, PD + 4, PT | P | RW);
    cpu_tlb_flush(c, true);
    EXPECT_FAULT(c, EXC_PF, PFEC_P | PFEC_U, cpu_read8(c, SEG_DS, 0x402100));
    guest_free(g);
}

static void test_write_protect(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, 0);
    struct cpu *c = g->c;
    map4k(g, 0x401000, 0x201000, P | US);        /* read-only */
    /* CR0.WP clear: the supervisor may write read-only pages. */
    EXPECT_OK(c, cpu_write32(c, SEG_DS, 0x401000, 0x1234));
    assert_int_equal(get32(g, 0x201000), 0x1234);
    EXPECT_OK(c, cpu_write_cr(c, 0, c->s.cr0 | CR0_WP));
    EXPECT_FAULT(c, EXC_PF, PFEC_P | PFEC_W, cpu_write32(c, SEG_DS, 0x401000, 0x5678));
    assert_int_equal(get32(g, 0x201000), 0x1234);
    guest_free(g);
}

static void test_global_pages_and_invlpg(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, CR4_PGE);
    struct cpu *c = g->c;
    put32(g, 0x200000, 0xaaaa0000);
    put32(g, 0x201000, 0xbbbb0000);
    put32(g, 0x202000, 0xcccc0000);
    map4k(g, 0x400000, 0x200000, P | RW | G);    /* global */
    map4k(g, 0x401000, 0x201000, P | RW);        /* not global */
    volatile uint32_t v = 0;
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x400000));
    assert_int_equal(v, 0xaaaa0000);
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x401000));
    assert_int_equal(v, 0xbbbb0000);
    /* Remap both to 0x202000 behind the TLB's back, then reload CR3. */
    map4k(g, 0x400000, 0x202000, P | RW | G);
    map4k(g, 0x401000, 0x202000, P | RW);
    EXPECT_OK(c, cpu_write_cr(c, 3, PD));
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x400000));
    assert_int_equal(v, 0xaaaa0000);             /* global entry survived */
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x401000));
    assert_int_equal(v, 0xcccc0000);             /* non-global entry flushed */
    EXPECT_OK(c, cpu_invlpg(c, 0x400000));
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x400000));
    assert_int_equal(v, 0xcccc0000);
    /* Clearing CR4.PGE flushes global entries too. */
    map4k(g, 0x400000, 0x200000, P | RW | G);
    EXPECT_OK(c, cpu_write_cr(c, 4, 0));
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x400000));
    assert_int_equal(v, 0xaaaa0000);
    guest_free(g);
}

static void test_pte_outside_ram_is_mmio(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, 0);
    struct cpu *c = g->c;
    map4k(g, 0x400000, 0xfee00000u, P | RW);
    map4k(g, 0x401000, 0x00fff000u, P | RW);     /* last RAM page: in bounds */
    EXPECT_EXIT(c, (void)cpu_read32(c, SEG_DS, 0x400030));
    assert_int_equal(g->exit.reason, EXIT_MMIO);
    assert_int_equal(g->exit.mmio.gpa, 0xfee00030u);
    assert_int_equal(g->exit.mmio.size, 4);
    assert_false(g->exit.mmio.write);
    /* The monitor answers; the re-executed access replays it. */
    c->log.e[c->log.count].data = 0x12345678;
    c->log.count++;
    c->log.pending = false;
    c->log.pos = 0;
    volatile uint32_t v = 0;
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x400030));
    assert_int_equal(v, 0x12345678);
    c->log.count = c->log.pos = 0;
    EXPECT_EXIT(c, cpu_write16(c, SEG_DS, 0x400040, 0xbeef));
    assert_int_equal(g->exit.reason, EXIT_MMIO);
    assert_true(g->exit.mmio.write);
    assert_int_equal(g->exit.mmio.size, 2);
    assert_int_equal(g->exit.mmio.data, 0xbeef);
    c->log.count = c->log.pos = 0;
    c->log.pending = false;
    /* A PTE past the end of RAM by a few bytes only is split correctly. */
    EXPECT_OK(c, cpu_write32(c, SEG_DS, 0x401ffc, 0x01020304));
    assert_int_equal(get32(g, 0xfffffc), 0x01020304);
    guest_free(g);
}

static void test_page_tables_outside_ram(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, 0);
    struct cpu *c = g->c;
    /* Page directory outside RAM: reads as not present, no host access. */
    EXPECT_OK(c, cpu_write_cr(c, 3, 0xf0000000u));
    EXPECT_FAULT(c, EXC_PF, 0, cpu_read32(c, SEG_DS, 0x400000));
    /* Page table outside RAM. */
    EXPECT_OK(c, cpu_write_cr(c, 3, PD));
    put32(g, PD + 4, 0xfffff000u | P | RW | US);
    EXPECT_FAULT(c, EXC_PF, PFEC_W, cpu_write32(c, SEG_DS, 0x400000, 1));
    guest_free(g);
}

static void test_beyond_ram_without_paging(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    struct cpu *c = g->c;
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    flat_protected(&s, 0);
    soft_engine_ops.set_state(g->e, &s);
    EXPECT_EXIT(c, (void)cpu_read8(c, SEG_DS, TEST_RAM_SIZE));
    assert_int_equal(g->exit.reason, EXIT_MMIO);
    assert_int_equal(g->exit.mmio.gpa, TEST_RAM_SIZE);
    c->log.count = c->log.pos = 0;
    c->log.pending = false;
    /* An access straddling the end of RAM: the RAM half is read, the rest
     * goes out as MMIO, never past the host buffer. */
    EXPECT_EXIT(c, (void)cpu_read32(c, SEG_DS, TEST_RAM_SIZE - 2));
    assert_int_equal(g->exit.mmio.gpa, TEST_RAM_SIZE);
    assert_int_equal(g->exit.mmio.size, 2);
    c->log.count = c->log.pos = 0;
    c->log.pending = false;
    /* Past the 4 GiB limit of the flat segment: #GP, not a wrapped access. */
    EXPECT_FAULT(c, EXC_GP, 0, (void)cpu_read32(c, SEG_DS, 0xfffffffeu));
    guest_free(g);
}

static void test_page_crossing_write_is_all_or_nothing(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, 0);
    struct cpu *c = g->c;
    map4k(g, 0x400000, 0x200000, P | RW);
    put32(g, 0x200ffc, 0);
    EXPECT_FAULT(c, EXC_PF, PFEC_W, cpu_write32(c, SEG_DS, 0x400ffe, 0xffffffffu));
    assert_int_equal(c->s.cr2, 0x401000);
    assert_int_equal(get32(g, 0x200ffc), 0);
    map4k(g, 0x401000, 0x300000, P | RW);
    EXPECT_OK(c, cpu_write32(c, SEG_DS, 0x400ffe, 0xa1b2c3d4u));
    assert_int_equal(g->ram[0x200ffe], 0xd4);
    assert_int_equal(g->ram[0x200fff], 0xc3);
    assert_int_equal(g->ram[0x300000], 0xb2);
    assert_int_equal(g->ram[0x300001], 0xa1);
    volatile uint32_t v = 0;
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x400ffe));
    assert_int_equal(v, 0xa1b2c3d4u);
    guest_free(g);
}

static void test_rom_writes_dropped(void **state)
{
    (void)state;
    struct guest *g = guest_new();
    uint8_t rom[4096];
    memset(rom, 0x5a, sizeof(rom));
    /* ROM listed first wins over RAM at the same address. */
    g->mem.region[1] = g->mem.region[0];
    g->mem.region[0] = (struct mem_region){ .gpa = 0x10000, .size = sizeof(rom), .host = rom, .readonly = true };
    g->mem.count = 2;
    struct cpu *c = g->c;
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    flat_protected(&s, 0);
    soft_engine_ops.set_state(g->e, &s);
    volatile uint32_t v = 0;
    EXPECT_OK(c, cpu_write32(c, SEG_DS, 0x10010, 0));
    EXPECT_OK(c, v = cpu_read32(c, SEG_DS, 0x10010));
    assert_int_equal(v, 0x5a5a5a5a);
    assert_int_equal(rom[0x10], 0x5a);
    guest_free(g);
}

static void test_cr_checks(void **state)
{
    (void)state;
    struct guest *g = paged_guest(0, 0);
    struct cpu *c = g->c;
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write_cr(c, 0, CR0_PG));          /* PG without PE */
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write_cr(c, 4, CR4_PAE));         /* not implemented */
    EXPECT_FAULT(c, EXC_UD, 0, cpu_write_cr(c, 5, 0));
    set_cpl(g, 3);
    EXPECT_FAULT(c, EXC_GP, 0, cpu_write_cr(c, 3, PD));
    EXPECT_FAULT(c, EXC_GP, 0, cpu_invlpg(c, 0));
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_4k_walk_sets_accessed_and_dirty),
        cmocka_unit_test(test_4m_page),
        cmocka_unit_test(test_not_present_error_codes_and_cr2),
        cmocka_unit_test(test_user_supervisor),
        cmocka_unit_test(test_write_protect),
        cmocka_unit_test(test_global_pages_and_invlpg),
        cmocka_unit_test(test_pte_outside_ram_is_mmio),
        cmocka_unit_test(test_page_tables_outside_ram),
        cmocka_unit_test(test_beyond_ram_without_paging),
        cmocka_unit_test(test_page_crossing_write_is_all_or_nothing),
        cmocka_unit_test(test_rom_writes_dropped),
        cmocka_unit_test(test_cr_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

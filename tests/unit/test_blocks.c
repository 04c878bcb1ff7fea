/* test_blocks.c - the soft engine's block execution (soft_engine.c): straight
 * runs of instructions executed back to back must behave exactly as one
 * instruction at a time - self-modifying code inside the running block,
 * precise faults and instruction counts in the middle of a block, an
 * instruction crossing a page in a straight line, a CS limit inside a
 * block, a block left by a taken branch, and a store into an instruction
 * that crosses a page (held by the fetch cache). */
#include "soft_test_util.h"
#include "engine/cpu_state.h"

static void put_desc(struct guest *g, uint32_t gdt, unsigned idx, uint64_t d)
{
    memcpy(g->ram + gdt + idx * 8, &d, 8);
}

static void put_gate(struct guest *g, uint32_t idt, unsigned vec, uint16_t sel, uint32_t off)
{
    uint64_t d = (off & 0xffffu) | ((uint64_t)sel << 16) | ((uint64_t)0x8e << 40) |
                 ((uint64_t)(off >> 16) << 48);
    memcpy(g->ram + idt + vec * 8, &d, 8);
}

/* GDT at 0x2000 (flat code 0x08, data 0x10), IDT at 0x3000. */
static void with_tables(struct guest *g, uint32_t cs_limit)
{
    put_desc(g, 0x2000, 1, make_desc(0, 0xfffff, 0xc09b));
    put_desc(g, 0x2000, 2, make_desc(0, 0xfffff, 0xc093));
    struct cpu_state s = guest_state(g);
    s.gdtr = (struct dtable_reg){ 0x2000, 23 };
    s.idtr = (struct dtable_reg){ 0x3000, 0x7ff };
    s.seg[SEG_CS].limit = cs_limit;
    soft_engine_ops.set_state(g->e, &s);
}

/* mov byte [0x1008],0x42 / mov eax,0x44332211 (its first immediate byte is
 * at 0x1008) / hlt: the store rewrites the next instruction of its own
 * block, which must run as rewritten. */
static const uint8_t prog_smc[] = {
    0xc6, 0x05, 0x08, 0x10, 0x00, 0x00, 0x42,
    0xb8, 0x11, 0x22, 0x33, 0x44,
    0xf4
};

static void test_store_into_own_block(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_smc, sizeof(prog_smc));
    guest_flat32_at(g, 0x1000);
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(guest_state(g).gpr[REG_EAX], 0x44332242u);
    assert_int_equal(guest_stats(g).instructions, 3);
    /* Again, now that the page's code was re-decoded: the store writes the
     * same byte, and the result is the same. */
    guest_flat32_at(g, 0x1000);
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(guest_state(g).gpr[REG_EAX], 0x44332242u);
    guest_free(g);
}

/* mov eax,1 / xor ecx,ecx / div ecx (#DE) / mov ebx,2 / hlt
 * handler at 0x1020: mov edx,[esp] / hlt */
static const uint8_t prog_de[] = {
    0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xc9, 0xf7, 0xf1, 0xbb, 0x02, 0x00, 0x00, 0x00, 0xf4
};
static const uint8_t handler_edx_eip[] = { 0x8b, 0x14, 0x24, 0xf4 };

static void test_fault_in_the_middle_of_a_block(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_de, sizeof(prog_de));
    put_bytes(g, 0x1020, handler_edx_eip, sizeof(handler_edx_eip));
    put_gate(g, 0x3000, 0, 0x08, 0x1020);
    guest_flat32_at(g, 0x1000);
    with_tables(g, 0xffffffffu);
    assert_int_equal(guest_run(g), EXIT_HLT);
    struct cpu_state s = guest_state(g);
    assert_int_equal(s.gpr[REG_EDX], 0x1007);      /* the DIV, not the block start */
    assert_int_equal(s.gpr[REG_EAX], 1);
    assert_int_equal(s.gpr[REG_EBX], 0);            /* nothing after the fault ran */
    assert_int_equal(guest_stats(g).instructions, 2 + 2);       /* mov, xor; handler's mov, hlt */
    guest_free(g);
}

/* mov eax,1 / mov ebx,2 / hlt with CS.limit 0x1006: the second MOV ends
 * past the limit and faults (#GP(0)) after the first ran.
 * handler at 0x1020 (through a flat CS): mov edx,[esp+4] (above the error
 * code) / hlt */
static const uint8_t prog_limit[] = {
    0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, 0x02, 0x00, 0x00, 0x00, 0xf4
};
static const uint8_t handler_edx_eip_err[] = { 0x8b, 0x54, 0x24, 0x04, 0xf4 };

static void test_cs_limit_inside_a_block(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_limit, sizeof(prog_limit));
    put_bytes(g, 0x1020, handler_edx_eip_err, sizeof(handler_edx_eip_err));
    put_gate(g, 0x3000, 13, 0x08, 0x1020);
    guest_flat32_at(g, 0x1000);
    with_tables(g, 0x1006);
    assert_int_equal(guest_run(g), EXIT_HLT);
    struct cpu_state s = guest_state(g);
    assert_int_equal(s.gpr[REG_EAX], 1);
    assert_int_equal(s.gpr[REG_EBX], 0);
    assert_int_equal(s.gpr[REG_EDX], 0x1005);
    guest_free(g);
}

/* nop x14 up to 0x1ffe, mov eax,0x12345678 across the page boundary
 * (0x1ffe-0x2002), inc eax, hlt. */
static void test_instruction_across_a_page_in_line(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    memset(g->ram + 0x1ff0, 0x90, 14);
    static const uint8_t tail[] = { 0xb8, 0x78, 0x56, 0x34, 0x12, 0x40, 0xf4 };
    put_bytes(g, 0x1ffe, tail, sizeof(tail));
    guest_flat32_at(g, 0x1ff0);
    assert_int_equal(guest_run(g), EXIT_HLT);
    struct cpu_state s = guest_state(g);
    assert_int_equal(s.gpr[REG_EAX], 0x12345679u);
    assert_int_equal(s.eip, 0x2005);
    assert_int_equal(guest_stats(g).instructions, 14 + 3);
    guest_free(g);
}

/* L: mov eax,0x12345678 (0x1ffe-0x2002, across the page) / test ebx,ebx /
 * jnz done / inc ebx / mov byte [0x1fff],0x99 / jmp L / done: hlt
 * The second run of the crossing insn must see its rewritten first
 * immediate byte (the only code in its 128-byte block of the first page). */
static void test_store_into_an_insn_across_a_page(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    static const uint8_t code[] = {
        0xb8, 0x78, 0x56, 0x34, 0x12, 0x85, 0xdb, 0x75, 0x0a, 0x43,
        0xc6, 0x05, 0xff, 0x1f, 0x00, 0x00, 0x99, 0xeb, 0xed, 0xf4
    };
    put_bytes(g, 0x1ffe, code, sizeof(code));
    guest_flat32_at(g, 0x1ffe);
    assert_int_equal(guest_run(g), EXIT_HLT);
    struct cpu_state s = guest_state(g);
    assert_int_equal(s.gpr[REG_EAX], 0x12345699u);
    assert_int_equal(s.gpr[REG_EBX], 1);
    assert_int_equal(s.eip, 0x2012);
    guest_free(g);
}

/* mov ecx,3 / L: dec ecx / jnz L (taken twice: the block is left in the
 * middle of its line) / mov ebx,ecx / jmp over / mov ebx,0xbad / over: hlt */
static const uint8_t prog_branch[] = {
    0xb9, 0x03, 0x00, 0x00, 0x00, 0x49, 0x75, 0xfd, 0x89, 0xcb,
    0xeb, 0x05, 0xbb, 0xad, 0x0b, 0x00, 0x00, 0xf4
};

static void test_taken_branches_leave_the_block(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_branch, sizeof(prog_branch));
    put32(g, 0x8000 - 4, 0);
    guest_flat32_at(g, 0x1000);
    g->c->s.gpr[REG_EBX] = 7;
    assert_int_equal(guest_run(g), EXIT_HLT);
    struct cpu_state s = guest_state(g);
    assert_int_equal(s.gpr[REG_ECX], 0);
    assert_int_equal(s.gpr[REG_EBX], 0);
    assert_int_equal(s.eip, 0x1012);
    assert_int_equal(guest_stats(g).instructions, 1 + 2 * 3 + 1 + 1 + 1);
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_into_own_block),
        cmocka_unit_test(test_fault_in_the_middle_of_a_block),
        cmocka_unit_test(test_cs_limit_inside_a_block),
        cmocka_unit_test(test_instruction_across_a_page_in_line),
        cmocka_unit_test(test_taken_branches_leave_the_block),
        cmocka_unit_test(test_store_into_an_insn_across_a_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_a20.c - the A20 gate of the soft engine (engine_ops.set_a20): with
 * the gate disabled, bit 20 of every guest-physical address is 0 - real-mode
 * data and code at FFFF:xxxx wrap to the first 64 KiB, page-table walks read
 * and update the wrapped tables, and pages map to the wrapped frame.  The
 * gate changing between runs (as when the monitor handles an OUT to the
 * keyboard controller or port 0x92) takes effect for the very next access,
 * even for addresses already in the TLB and code already decoded. */
#include "soft_test_util.h"

/* Runs to the next OUT 0xf4 and returns the byte written. */
static uint8_t run_to_out(struct guest *g)
{
    assert_int_equal(guest_run(g), EXIT_IO);
    assert_int_equal(g->exit.io.port, 0xf4);
    assert_false(g->exit.io.in);
    return (uint8_t)g->exit.io.data;
}

/*      mov ax,0xffff / mov ds,ax
 * top: mov al,[0x10]          ; FFFF:0010 = physical 0x100000, or 0 wrapped
 *      out 0xf4,al
 *      jmp top */
static const uint8_t prog_read_wrap[] = {
    0xb8, 0xff, 0xff, 0x8e, 0xd8,
    0xa0, 0x10, 0x00,
    0xe6, 0xf4,
    0xeb, 0xf9,
};

static void test_real_mode_read_wraps_only_with_a20_off(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    exit_policy_solicit_port(&g->policy, 0xf4);
    g->ram[0x000000] = 0x11;
    g->ram[0x100000] = 0x22;
    put_bytes(g, 0x7c00, prog_read_wrap, sizeof(prog_read_wrap));
    guest_real_mode_at(g, 0x7c00, 0x7000);

    assert_int_equal(run_to_out(g), 0x22);          /* enabled after create */
    soft_engine_ops.set_a20(g->e, false);           /* the TLB maps 0x100000 by now */
    assert_int_equal(run_to_out(g), 0x11);
    soft_engine_ops.set_a20(g->e, false);           /* no change */
    assert_int_equal(run_to_out(g), 0x11);
    soft_engine_ops.set_a20(g->e, true);
    assert_int_equal(run_to_out(g), 0x22);
    guest_free(g);
}

/* mov ax,0xffff / mov ds,ax / mov byte [0x20],0x5a / hlt */
static const uint8_t prog_write_wrap[] = {
    0xb8, 0xff, 0xff, 0x8e, 0xd8, 0xc6, 0x06, 0x20, 0x00, 0x5a, 0xf4,
};

static void test_real_mode_write_wraps_with_a20_off(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x7c00, prog_write_wrap, sizeof(prog_write_wrap));
    soft_engine_ops.set_a20(g->e, false);
    guest_real_mode_at(g, 0x7c00, 0x7000);           /* set_state keeps the gate */
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(g->ram[0x000010], 0x5a);
    assert_int_equal(g->ram[0x100010], 0);
    guest_free(g);
}

/* top: out 0xf4,al
 *      call 0xffff:0x0510     ; physical 0x100500, or 0x500 wrapped
 *      mov al,cl
 *      jmp top
 * 0x100500: mov cl,2 / retf      0x000500: mov cl,1 / retf */
static const uint8_t prog_call_wrap[] = {
    0xe6, 0xf4,
    0x9a, 0x10, 0x05, 0xff, 0xff,
    0x88, 0xc8,
    0xeb, 0xf5,
};

static void test_code_fetch_wraps_and_decoded_code_follows_the_gate(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    exit_policy_solicit_port(&g->policy, 0xf4);
    static const uint8_t high[] = { 0xb1, 0x02, 0xcb }, low[] = { 0xb1, 0x01, 0xcb };
    put_bytes(g, 0x100500, high, sizeof(high));
    put_bytes(g, 0x000500, low, sizeof(low));
    put_bytes(g, 0x7c00, prog_call_wrap, sizeof(prog_call_wrap));
    guest_real_mode_at(g, 0x7c00, 0x7000);

    run_to_out(g);                                   /* before the first call */
    assert_int_equal(run_to_out(g), 2);
    assert_int_equal(run_to_out(g), 2);              /* now decoded and cached */
    soft_engine_ops.set_a20(g->e, false);
    assert_int_equal(run_to_out(g), 1);
    assert_int_equal(run_to_out(g), 1);
    soft_engine_ops.set_a20(g->e, true);
    assert_int_equal(run_to_out(g), 2);
    guest_free(g);
}

/* Flat 32-bit code with paging (CR3 = 0x101000, PSE):
 *   mov eax,[0x400000]   ; PDE 1: a 4 MiB page
 *   mov ebx,[0x500000]   ; the same page, 1 MiB further in
 *   mov ecx,[0x800000]   ; PDE 2: a page table at 0x102000
 *   hlt */
static const uint8_t prog_paged[] = {
    0xa1, 0x00, 0x00, 0x40, 0x00,
    0x8b, 0x1d, 0x00, 0x00, 0x50, 0x00,
    0x8b, 0x0d, 0x00, 0x00, 0x80, 0x00,
    0xf4,
};

/* Two page directories, at 0x1000 (what CR3 = 0x101000 reaches with A20
 * off) and 0x101000, and two page tables, at 0x2000 and 0x102000. */
static struct guest *paged_guest(bool a20)
{
    struct guest *g = guest_new();
    put32(g, 0x001000, 0x00000083);                  /* 0-4 MiB identity, 4 MiB page */
    put32(g, 0x001004, 0x00800083);                  /* 4-8 MiB -> 0x800000 */
    put32(g, 0x001008, 0x00102003);                  /* 8 MiB: page table 0x102000 */
    put32(g, 0x101000, 0x00000083);
    put32(g, 0x101004, 0x00c00083);                  /* 4-8 MiB -> 0xc00000 */
    put32(g, 0x101008, 0x00102003);
    put32(g, 0x002000, 0x00003003);                  /* -> page 0x3000 */
    put32(g, 0x102000, 0x00004003);                  /* -> page 0x4000 */
    put32(g, 0x800000, 0x11111111);
    put32(g, 0x900000, 0x22222222);
    put32(g, 0xc00000, 0x33333333);
    put32(g, 0xd00000, 0x44444444);
    put32(g, 0x003000, 0x55555555);
    put32(g, 0x004000, 0x66666666);
    put_bytes(g, 0x7c00, prog_paged, sizeof(prog_paged));

    soft_engine_ops.set_a20(g->e, a20);
    struct cpu_state s;
    cpu_state_power_on(&s);
    flat_protected(&s, 0);
    s.cr0 |= CR0_PG;
    s.cr3 = 0x101000;
    s.cr4 = CR4_PSE;
    s.eip = 0x7c00;
    soft_engine_ops.set_state(g->e, &s);
    assert_int_equal(guest_run(g), EXIT_HLT);
    return g;
}

static void test_page_walk_and_frames_wrap_with_a20_off(void **st)
{
    (void)st;
    struct guest *g = paged_guest(false);
    struct cpu_state s = guest_state(g);
    assert_int_equal(s.gpr[REG_EAX], 0x11111111);    /* directory at 0x1000 */
    assert_int_equal(s.gpr[REG_EBX], 0x11111111);    /* frame 0x900000 wrapped to 0x800000 */
    assert_int_equal(s.gpr[REG_ECX], 0x55555555);    /* table at 0x2000 */
    /* Accessed bits went to the wrapped tables. */
    assert_true(get32(g, 0x001004) & 0x20);
    assert_true(get32(g, 0x001008) & 0x20);
    assert_true(get32(g, 0x002000) & 0x20);
    assert_false(get32(g, 0x101004) & 0x20);
    assert_false(get32(g, 0x102000) & 0x20);
    guest_free(g);

    g = paged_guest(true);
    s = guest_state(g);
    assert_int_equal(s.gpr[REG_EAX], 0x33333333);
    assert_int_equal(s.gpr[REG_EBX], 0x44444444);
    assert_int_equal(s.gpr[REG_ECX], 0x66666666);
    assert_true(get32(g, 0x101004) & 0x20);
    assert_false(get32(g, 0x001004) & 0x20);
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_mode_read_wraps_only_with_a20_off),
        cmocka_unit_test(test_real_mode_write_wraps_with_a20_off),
        cmocka_unit_test(test_code_fetch_wraps_and_decoded_code_follows_the_gate),
        cmocka_unit_test(test_page_walk_and_frames_wrap_with_a20_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_soft_engine.c - small guest programs (hand-assembled bytes, the
 * assembly in comments) run through soft_engine_ops: real mode, the switch
 * to protected mode, port-I/O and MMIO exits with resumption and replay,
 * HLT, a triple fault, self-modifying code, interrupt injection with the
 * IRQ window, #PF handled and resumed, a user-mode round trip through the
 * TSS stack, CPUID exits, and kick from another thread. */
#include <pthread.h>
#include <time.h>

#include "soft_test_util.h"

/* mov ax,0x1234 / mov bx,ax / add bx,1 / hlt */
static const uint8_t prog_real[] = { 0xb8, 0x34, 0x12, 0x89, 0xc3, 0x83, 0xc3, 0x01, 0xf4 };

static void test_real_mode_and_hlt(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x7c00, prog_real, sizeof(prog_real));
    guest_real_mode_at(g, 0x7c00, 0);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EAX] & 0xffff, 0x1234);
    assert_int_equal(s.gpr[REG_EBX] & 0xffff, 0x1235);
    assert_int_equal(s.eip, 0x7c09);
    assert_true(s.events.halted);
    /* A halted CPU stays halted. */
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(guest_state(g).eip, 0x7c09);
    struct engine_stats stats = guest_stats(g);
    assert_int_equal(stats.instructions, 4);
    guest_free(g);
}

static void test_power_on_state(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    struct cpu_state s = guest_state(g);
    assert_int_equal(s.seg[SEG_CS].selector, 0xf000);
    assert_int_equal(s.seg[SEG_CS].base, 0xffff0000u);
    assert_int_equal(s.eip, 0xfff0);
    assert_int_equal(s.cr0, 0x60000010u);
    assert_int_equal(s.eflags, 2);
    assert_int_equal(s.gpr[REG_EDX], CPU_SIGNATURE);
    /* Nothing at the reset vector (no ROM here): fetching is an internal
     * error, not a crash. */
    assert_int_equal(guest_run(g), EXIT_INTERNAL_ERROR);
    assert_int_equal(g->exit.internal.eip, 0xfff0);
    guest_free(g);
}

/* mov al,0x42 / out 0xf4,al / in al,0x60 / mov bl,al / mov dx,0x80 / out dx,al / hlt */
static const uint8_t prog_io[] = { 0xb0, 0x42, 0xe6, 0xf4, 0xe4, 0x60, 0x88, 0xc3,
                                   0xba, 0x80, 0x00, 0xee, 0xf4 };

static void test_port_io_exits(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    exit_policy_solicit_port(&g->policy, 0xf4);
    exit_policy_solicit_port(&g->policy, 0x60);
    put_bytes(g, 0x7c00, prog_io, sizeof(prog_io));
    guest_real_mode_at(g, 0x7c00, 0);

    assert_int_equal(guest_run(g), EXIT_IO);
    assert_int_equal(g->exit.io.port, 0xf4);
    assert_int_equal(g->exit.io.size, 1);
    assert_false(g->exit.io.in);
    assert_int_equal(g->exit.io.data, 0x42);

    assert_int_equal(guest_run(g), EXIT_IO);
    assert_int_equal(g->exit.io.port, 0x60);
    assert_true(g->exit.io.in);
    assert_int_equal(guest_state(g).eip, 0x7c04);  /* still at the IN */
    g->exit.io.data = 0x5a;

    /* Port 0x80 is not solicited: the engine drops the write. */
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EBX] & 0xff, 0x5a);
    struct engine_stats stats = guest_stats(g);
    assert_int_equal(stats.unsolicited_io, 1);
    assert_int_equal(stats.instructions, 7);
    guest_free(g);
}

/* 16-bit: cli / lgdt [gdtr] / mov eax,cr0 / or al,1 / mov cr0,eax / jmp 0x08:pm
 * 32-bit pm: mov ax,0x10 / mov ds,ax / mov es,ax / mov ss,ax / mov esp,0x9000
 *            mov dword [0x5000],0xcafebabe / push 0x11 / pop ebx / hlt
 * gdt: null, code 0x00cf9a000000ffff, data 0x00cf92000000ffff; gdtr */
static const uint8_t prog_pm[] = {
    0xfa, 0x0f, 0x01, 0x16, 0x48, 0x7c, 0x0f, 0x20, 0xc0, 0x0c, 0x01, 0x0f,
    0x22, 0xc0, 0xea, 0x13, 0x7c, 0x08, 0x00, 0x66, 0xb8, 0x10, 0x00, 0x8e,
    0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x90, 0x00, 0x00, 0xc7, 0x05,
    0x00, 0x50, 0x00, 0x00, 0xbe, 0xba, 0xfe, 0xca, 0x6a, 0x11, 0x5b, 0xf4,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,
    0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,
    0x17, 0x00, 0x30, 0x7c, 0x00, 0x00
};

static void test_protected_mode_switch(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x7c00, prog_pm, sizeof(prog_pm));
    guest_real_mode_at(g, 0x7c00, 0);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_true(s.cr0 & CR0_PE);
    assert_int_equal(s.seg[SEG_CS].selector, 0x08);
    assert_int_equal(s.seg[SEG_CS].limit, 0xffffffffu);
    assert_true(s.seg[SEG_CS].attr & SEGA_DB);
    assert_int_equal(s.seg[SEG_SS].selector, 0x10);
    assert_int_equal(get32(g, 0x5000), 0xcafebabe);
    assert_int_equal(s.gpr[REG_EBX], 0x11);
    assert_int_equal(s.gpr[REG_ESP], 0x9000);
    assert_int_equal(s.gdtr.base, 0x7c30);
    /* The accessed bit was set in the GDT. */
    assert_true(g->ram[0x7c30 + 8 + 5] & 1);
    guest_free(g);
}

/* mov eax,[0xfee00000] / mov [0xfee00004],eax / add dword [0xfee00008],5 / hlt */
static const uint8_t prog_mmio[] = { 0xa1, 0x00, 0x00, 0xe0, 0xfe, 0xa3, 0x04, 0x00, 0xe0, 0xfe,
                                     0x83, 0x05, 0x08, 0x00, 0xe0, 0xfe, 0x05, 0xf4 };

static void test_mmio_exits_with_replay(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_mmio, sizeof(prog_mmio));
    guest_flat32_at(g, 0x1000);

    assert_int_equal(guest_run(g), EXIT_MMIO);
    assert_int_equal(g->exit.mmio.gpa, 0xfee00000u);
    assert_false(g->exit.mmio.write);
    assert_int_equal(g->exit.mmio.size, 4);
    g->exit.mmio.data = 0xdeadbeef;

    assert_int_equal(guest_run(g), EXIT_MMIO);
    assert_int_equal(g->exit.mmio.gpa, 0xfee00004u);
    assert_true(g->exit.mmio.write);
    assert_int_equal(g->exit.mmio.data, 0xdeadbeef);

    /* add [mmio],5: a read exit, then the write of the sum, then on. */
    assert_int_equal(guest_run(g), EXIT_MMIO);
    assert_int_equal(g->exit.mmio.gpa, 0xfee00008u);
    assert_false(g->exit.mmio.write);
    g->exit.mmio.data = 10;
    assert_int_equal(guest_run(g), EXIT_MMIO);
    assert_int_equal(g->exit.mmio.gpa, 0xfee00008u);
    assert_true(g->exit.mmio.write);
    assert_int_equal(g->exit.mmio.data, 15);
    assert_int_equal(guest_state(g).eip, 0x1000 + 10); /* still at the ADD */

    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EAX], 0xdeadbeef);
    assert_int_equal(s.eflags & EFL_ZF, 0);
    guest_free(g);
}

static void test_triple_fault(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    static const uint8_t ud2[] = { 0x0f, 0x0b };
    put_bytes(g, 0x1000, ud2, sizeof(ud2));
    guest_flat32_at(g, 0x1000);
    struct cpu_state s = guest_state(g);
    s.idtr.limit = 0;           /* every delivery fails */
    soft_engine_ops.set_state(g->e, &s);
    assert_int_equal(guest_run(g), EXIT_SHUTDOWN);
    assert_int_equal(g->exit.shutdown.eip, 0x1000);
    assert_int_equal(g->exit.shutdown.vector, EXC_GP);
    assert_non_null(strstr(g->exit.shutdown.reason, "triple fault"));
    /* The CPU stays shut down. */
    assert_int_equal(guest_run(g), EXIT_SHUTDOWN);
    struct soft_event_record r[SOFT_EVENT_RING];
    size_t n = soft_engine_recent_events(g->e, r, SOFT_EVENT_RING);
    assert_int_equal(n, 3);                 /* #UD, #GP, #DF attempted */
    assert_int_equal(r[0].vector, EXC_UD);
    assert_int_equal(r[1].vector, EXC_GP);
    assert_int_equal(r[2].vector, EXC_DF);
    guest_free(g);
}

/* mov esp,0x8000 / call patch / mov ebx,eax / mov byte [patch+1],7 / call patch
 * mov edx,2 / again: mov byte [target+1],dl / target: mov ecx,0 / dec edx / jnz again
 * hlt / patch: mov eax,1 / ret */
static const uint8_t prog_smc[] = {
    0xbc, 0x00, 0x80, 0x00, 0x00, 0xe8, 0x22, 0x00, 0x00, 0x00, 0x89, 0xc3,
    0xc6, 0x05, 0x2d, 0x10, 0x00, 0x00, 0x07, 0xe8, 0x14, 0x00, 0x00, 0x00,
    0xba, 0x02, 0x00, 0x00, 0x00, 0x88, 0x15, 0x24, 0x10, 0x00, 0x00, 0xb9,
    0x00, 0x00, 0x00, 0x00, 0x4a, 0x75, 0xf2, 0xf4, 0xb8, 0x01, 0x00, 0x00,
    0x00, 0xc3
};

static void test_self_modifying_code(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_smc, sizeof(prog_smc));
    guest_flat32_at(g, 0x1000);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EBX], 1);     /* before the patch */
    assert_int_equal(s.gpr[REG_EAX], 7);     /* after it */
    assert_int_equal(s.gpr[REG_ECX], 1);     /* the last write to the next insn */
    struct engine_stats stats = guest_stats(g);
    assert_true(stats.decode_cache_flushes >= 3);

    /* The monitor writing code (a loader) invalidates by hand. */
    static const uint8_t mov_ebx_5_hlt[] = { 0xbb, 0x05, 0x00, 0x00, 0x00, 0xf4 };
    put_bytes(g, 0x1000, mov_ebx_5_hlt, sizeof(mov_ebx_5_hlt));
    soft_engine_invalidate_code(g->e, 0x1000, sizeof(mov_ebx_5_hlt));
    s.eip = 0x1000;
    s.events.halted = false;
    /* (set_state drops the cache too; go through the narrow path here) */
    g->c->s.eip = 0x1000;
    g->c->s.events.halted = false;
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(guest_state(g).gpr[REG_EBX], 5);
    guest_free(g);
}

/* Data next to code in one page: writes outside the code's 128-byte blocks
 * keep the decoded instructions.
 * mov ecx,100 / l: mov [0x1800],ecx / dec ecx / jnz l / hlt */
static void test_data_writes_in_a_code_page(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    static const uint8_t prog[] = { 0xb9, 0x64, 0x00, 0x00, 0x00, 0x89, 0x0d, 0x00, 0x18, 0x00, 0x00,
                                    0x49, 0x75, 0xf7, 0xf4 };
    put_bytes(g, 0x1000, prog, sizeof(prog));
    guest_flat32_at(g, 0x1000);
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(get32(g, 0x1800), 1);
    struct engine_stats stats = guest_stats(g);
    assert_int_equal(stats.decode_cache_flushes, 0);
    assert_int_equal(stats.instructions, 1 + 3 * 100 + 1);
    guest_free(g);
}

/* cli / xor ax,ax / mov ds,ax / mov ss,ax / mov sp,0x7000
 * mov word [0x80],handler / mov word [0x82],0 / xor cx,cx / sti / nop / hlt
 * mov dx,cx / hlt / handler: mov cx,0x77 / iret */
static const uint8_t prog_irq[] = {
    0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x70, 0xc7, 0x06,
    0x80, 0x00, 0x1e, 0x7c, 0xc7, 0x06, 0x82, 0x00, 0x00, 0x00, 0x31, 0xc9,
    0xfb, 0x90, 0xf4, 0x89, 0xca, 0xf4, 0xb9, 0x77, 0x00, 0xcf
};

static void test_interrupt_window_and_injection(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x7c00, prog_irq, sizeof(prog_irq));
    guest_real_mode_at(g, 0x7c00, 0);
    assert_false(soft_engine_ops.interrupt_ready(g->e));
    soft_engine_ops.request_interrupt_window(g->e, true);
    assert_int_equal(guest_run(g), EXIT_IRQ_WINDOW);
    /* STI's shadow covers the NOP: the window opens after it. */
    assert_int_equal(guest_state(g).eip, 0x7c1a);
    assert_true(soft_engine_ops.interrupt_ready(g->e));
    soft_engine_ops.request_interrupt_window(g->e, false);
    soft_engine_ops.inject_interrupt(g->e, 0x20);
    assert_false(soft_engine_ops.interrupt_ready(g->e));
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_ECX] & 0xffff, 0x77);
    assert_int_equal(s.gpr[REG_EDX] & 0xffff, 0);
    assert_int_equal(s.eip, 0x7c1b);
    assert_int_equal(s.gpr[REG_ESP] & 0xffff, 0x7000);
    /* Halted: an injected interrupt wakes it, the handler returns after HLT. */
    s.gpr[REG_ECX] = 0;
    soft_engine_ops.set_state(g->e, &s);
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_true(soft_engine_ops.interrupt_ready(g->e));
    soft_engine_ops.inject_interrupt(g->e, 0x20);
    assert_int_equal(guest_run(g), EXIT_HLT);
    s = guest_state(g);
    assert_int_equal(s.gpr[REG_EDX] & 0xffff, 0x77);
    assert_int_equal(s.eip, 0x7c1e);
    struct engine_stats stats = guest_stats(g);
    assert_int_equal(stats.interrupts, 2);
    guest_free(g);
}

/* Paging on, linear 4M-8M not mapped.  IDT[14] -> pf_handler.
 * mov esp,0x8000 / mov eax,[0x400000] / mov ebx,eax / hlt
 * pf_handler: mov dword [0x100004],0x00400083 / mov ecx,cr2 / pop edx / iret */
static const uint8_t prog_pf[] = {
    0xbc, 0x00, 0x80, 0x00, 0x00, 0xa1, 0x00, 0x00, 0x40, 0x00, 0x89, 0xc3,
    0xf4, 0xc7, 0x05, 0x04, 0x00, 0x10, 0x00, 0x83, 0x00, 0x40, 0x00, 0x0f,
    0x20, 0xd1, 0x5a, 0xcf
};

static void put_gate(struct guest *g, uint32_t idt, unsigned vec, uint16_t sel, uint32_t off, uint8_t type)
{
    uint64_t d = (off & 0xffffu) | ((uint64_t)sel << 16) | ((uint64_t)type << 40) |
                 ((uint64_t)(off >> 16) << 48);
    memcpy(g->ram + idt + vec * 8, &d, 8);
}

static void put_desc(struct guest *g, uint32_t gdt, unsigned idx, uint64_t d)
{
    memcpy(g->ram + gdt + idx * 8, &d, 8);
}

/* GDT at 0x2000: flat ring-0 code (0x08) and data (0x10). */
static void put_flat_gdt(struct guest *g)
{
    put_desc(g, 0x2000, 1, make_desc(0, 0xfffff, 0xc09b));
    put_desc(g, 0x2000, 2, make_desc(0, 0xfffff, 0xc093));
}

/* TSS at 0x4000 (selector 0x28) with the ring-0 stack 0x10:0x9000. */
static void put_ring0_tss(struct guest *g)
{
    put_desc(g, 0x2000, 5, make_desc(0x4000, 0x67, 0x0089));
    put32(g, 0x4004, 0x9000);                 /* esp0 */
    put32(g, 0x4008, 0x10);                   /* ss0 */
}

/* Flat 32-bit ring 0 at eip with the GDT at 0x2000 and the IDT at 0x3000. */
static void guest_flat32_with_tables(struct guest *g, uint32_t eip, uint16_t gdt_limit)
{
    guest_flat32_at(g, eip);
    struct cpu_state s = guest_state(g);
    s.gdtr = (struct dtable_reg){ 0x2000, gdt_limit };
    s.idtr = (struct dtable_reg){ 0x3000, 0x7ff };
    soft_engine_ops.set_state(g->e, &s);
}

static void test_page_fault_handled_and_resumed(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_pf, sizeof(prog_pf));
    put_flat_gdt(g);
    put_gate(g, 0x3000, 14, 0x08, 0x100d, 0x8e);
    put32(g, 0x100000, 0x00000083);          /* 4M page: identity 0-4M */
    put32(g, 0x400000, 0x600d);
    guest_flat32_at(g, 0x1000);
    struct cpu_state s = guest_state(g);
    s.gdtr = (struct dtable_reg){ 0x2000, 23 };
    s.idtr = (struct dtable_reg){ 0x3000, 0x7ff };
    s.cr3 = 0x100000;
    s.cr4 = CR4_PSE;
    s.cr0 |= CR0_PG;
    soft_engine_ops.set_state(g->e, &s);
    assert_int_equal(guest_run(g), EXIT_HLT);
    s = guest_state(g);
    assert_int_equal(s.gpr[REG_EBX], 0x600d);
    assert_int_equal(s.gpr[REG_ECX], 0x400000);    /* CR2 */
    assert_int_equal(s.gpr[REG_EDX], 0);           /* error code: read, not present, supervisor */
    assert_int_equal(s.gpr[REG_ESP], 0x8000);
    struct engine_stats stats = guest_stats(g);
    assert_int_equal(stats.exceptions, 1);
    guest_free(g);
}

/* CPL0: ltr 0x28, iret to CPL3 user_code.  user_code: mov ds,0x23 /
 * mov eax,5 / int 0x80 / mov esi,eax / int 0x81
 * h80 (DPL3 gate): mov ebx,[esp+4] / mov eax,9 / iret     h81: mov edi,esp / hlt */
static const uint8_t prog_user[] = {
    0x66, 0xb8, 0x28, 0x00, 0x0f, 0x00, 0xd8, 0x6a, 0x23, 0x68, 0x00, 0x70,
    0x00, 0x00, 0x68, 0x02, 0x02, 0x00, 0x00, 0x6a, 0x1b, 0x68, 0x1b, 0x10,
    0x00, 0x00, 0xcf, 0x66, 0xb8, 0x23, 0x00, 0x8e, 0xd8, 0xb8, 0x05, 0x00,
    0x00, 0x00, 0xcd, 0x80, 0x89, 0xc6, 0xcd, 0x81, 0x8b, 0x5c, 0x24, 0x04,
    0xb8, 0x09, 0x00, 0x00, 0x00, 0xcf, 0x89, 0xe7, 0xf4
};

static void test_user_mode_round_trip(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_user, sizeof(prog_user));
    put_flat_gdt(g);
    put_desc(g, 0x2000, 3, make_desc(0, 0xfffff, 0xc0fb));
    put_desc(g, 0x2000, 4, make_desc(0, 0xfffff, 0xc0f3));
    put_ring0_tss(g);
    put_gate(g, 0x3000, 0x80, 0x08, 0x102c, 0xee);
    put_gate(g, 0x3000, 0x81, 0x08, 0x1036, 0xee);
    put_gate(g, 0x3000, 0x82, 0x08, 0x1036, 0x8e);   /* DPL 0: INT from CPL3 -> #GP */
    guest_flat32_with_tables(g, 0x1000, 47);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_ESI], 9);
    assert_int_equal(s.gpr[REG_EBX], 0x1b);                  /* CS pushed by INT 0x80 */
    assert_int_equal(s.gpr[REG_EDI], 0x9000 - 20);           /* ss, esp, eflags, cs, eip */
    assert_int_equal(s.seg[SEG_SS].selector, 0x10);
    assert_int_equal(s.seg[SEG_CS].selector, 0x08);
    assert_int_equal(get32(g, 0x9000 - 8), 0x7000);          /* user ESP */
    assert_int_equal(get32(g, 0x9000 - 4), 0x23);            /* user SS */
    assert_true(g->ram[0x2000 + 5 * 8 + 5] & 2);              /* TSS busy */
    assert_int_equal(s.tr.selector, 0x28);
    guest_free(g);
}

static void test_cpuid(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    g->policy.cpuid_leaves[0] = 1;
    g->policy.n_cpuid_leaves = 1;
    /* xor eax,eax / cpuid / mov esi,ebx / mov eax,1 / cpuid / hlt */
    static const uint8_t prog[] = { 0x31, 0xc0, 0x0f, 0xa2, 0x89, 0xde, 0xb8, 0x01, 0x00, 0x00, 0x00,
                                    0x0f, 0xa2, 0xf4 };
    put_bytes(g, 0x1000, prog, sizeof(prog));
    guest_flat32_at(g, 0x1000);
    assert_int_equal(guest_run(g), EXIT_CPUID);
    assert_int_equal(g->exit.cpuid.leaf, 1);
    assert_int_equal(g->exit.cpuid.eax, CPU_SIGNATURE);
    assert_true(g->exit.cpuid.edx & (1u << 3));         /* PSE */
    assert_true(g->exit.cpuid.edx & (1u << 4));         /* TSC */
    g->exit.cpuid.ebx = 0x1234;
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_ESI], 0x756e6547);      /* "Genu" */
    assert_int_equal(s.gpr[REG_EBX], 0x1234);
    assert_int_equal(s.gpr[REG_EAX], CPU_SIGNATURE);
    assert_int_equal(s.eip, 0x100e);
    guest_free(g);
}

static void *kick_later(void *arg)
{
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    soft_engine_ops.kick(arg);
    return NULL;
}

static void test_kick(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    static const uint8_t spin[] = { 0xeb, 0xfe };   /* jmp $ */
    put_bytes(g, 0x1000, spin, sizeof(spin));
    guest_flat32_at(g, 0x1000);
    soft_engine_ops.kick(g->e);
    assert_int_equal(guest_run(g), EXIT_KICKED);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kick_later, g->e), 0);
    assert_int_equal(guest_run(g), EXIT_KICKED);
    pthread_join(t, NULL);
    struct engine_stats stats = guest_stats(g);
    assert_true(stats.instructions > 1000);
    assert_int_equal(guest_state(g).eip, 0x1000);
    guest_free(g);
}

/* IDT[1] -> db1.  pushf / or dword [esp],0x100 / popf / nop / nop / nop
 * pushf / and dword [esp],~0x100 / popf / hlt     db1: inc esi / iret */
static const uint8_t prog_tf[] = {
    0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0x90, 0x90,
    0x9c, 0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff, 0x9d, 0xf4, 0x46, 0xcf
};

static void test_single_step(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_tf, sizeof(prog_tf));
    put_flat_gdt(g);
    put_gate(g, 0x3000, 1, 0x08, 0x1016, 0x8e);
    guest_flat32_with_tables(g, 0x1000, 23);
    struct cpu_state s = guest_run_to_hlt(g);
    /* Traps after nop, nop, nop, pushf, and, popf (TF was set as each began). */
    assert_int_equal(s.gpr[REG_ESI], 6);
    assert_true(s.dr[6] & 0x4000);
    assert_int_equal(s.eflags & EFL_TF, 0);
    assert_int_equal(s.gpr[REG_ESP], 0x8000);
    guest_free(g);
}

/* IF=0: sti / mov ss,ax / mov sp,0x7000 / nop / hlt */
static const uint8_t prog_movss[] = { 0xfb, 0x8e, 0xd0, 0xbc, 0x00, 0x70, 0x90, 0xf4 };

static void test_mov_ss_shadow(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x7c00, prog_movss, sizeof(prog_movss));
    guest_real_mode_at(g, 0x7c00, 0);
    soft_engine_ops.request_interrupt_window(g->e, true);
    assert_int_equal(guest_run(g), EXIT_IRQ_WINDOW);
    /* STI covers MOV SS, MOV SS covers MOV SP: the window opens at the NOP. */
    assert_int_equal(guest_state(g).eip, 0x7c06);
    guest_free(g);
}

/* IVT[2] -> handler.  xor ax,ax / mov ds,ax / mov [8],handler / mov [10],0
 * cli / hlt / hlt     handler: mov di,0x55 / iret */
static const uint8_t prog_nmi[] = {
    0x31, 0xc0, 0x8e, 0xd8, 0xc7, 0x06, 0x08, 0x00, 0x13, 0x7c, 0xc7, 0x06,
    0x0a, 0x00, 0x00, 0x00, 0xfa, 0xf4, 0xf4, 0xbf, 0x55, 0x00, 0xcf
};

static void test_nmi_wakes_halted_cpu(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x7c00, prog_nmi, sizeof(prog_nmi));
    guest_real_mode_at(g, 0x7c00, 0);
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(guest_state(g).eip, 0x7c12);
    assert_false(soft_engine_ops.interrupt_ready(g->e));   /* IF = 0 */
    assert_int_equal(guest_run(g), EXIT_HLT);
    soft_engine_ops.inject_nmi(g->e);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EDI] & 0xffff, 0x55);
    assert_int_equal(s.eip, 0x7c13);
    assert_false(s.events.nmi_blocked);                     /* IRET unblocked NMIs */
    guest_free(g);
}

static void test_traces(void **st)
{
    (void)st;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    struct guest *g = guest_new_traced(TRACE_INSNS | TRACE_INTERRUPTS, out);
    put_bytes(g, 0x7c00, prog_real, sizeof(prog_real));
    put32(g, 0x30 * 4, 0x7c08);                 /* IVT[0x30] -> the HLT */
    guest_real_mode_at(g, 0x7c00, 0);
    struct cpu_state s = guest_run_to_hlt(g);
    s.eflags |= EFL_IF;
    soft_engine_ops.set_state(g->e, &s);
    soft_engine_ops.inject_interrupt(g->e, 0x30);
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(guest_state(g).eip, 0x7c09);
    fclose(out);
    assert_non_null(strstr(buf, "0000:00007c00 b83412"));
    assert_non_null(strstr(buf, "mov ax, 0x1234"));
    assert_non_null(strstr(buf, "hlt"));
    assert_non_null(strstr(buf, "interrupt vector 0x30"));
    free(buf);
    guest_free(g);
}

/* mov ax,0x1234 / mov ds,ax (#GP: past the GDT) / hlt
 * df_handler (0x1007): mov edi,[esp] / mov esi,[esp+4] / hlt */
static const uint8_t prog_df[] = { 0x66, 0xb8, 0x34, 0x12, 0x8e, 0xd8, 0xf4, 0x8b, 0x3c, 0x24,
                                   0x8b, 0x74, 0x24, 0x04, 0xf4 };

static void test_double_fault(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_df, sizeof(prog_df));
    put_flat_gdt(g);
    put_gate(g, 0x3000, 13, 0x08, 0x1007, 0x0e);   /* #GP gate not present: #NP */
    put_gate(g, 0x3000, 8, 0x08, 0x1007, 0x8e);
    guest_flat32_with_tables(g, 0x1000, 23);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EDI], 0);          /* #DF error code */
    assert_int_equal(s.gpr[REG_ESI], 0x1004);     /* the faulting MOV DS */
    struct soft_event_record r[SOFT_EVENT_RING];
    size_t n = soft_engine_recent_events(g->e, r, SOFT_EVENT_RING);
    /* #GP, then the #NP raised while delivering it became #DF. */
    assert_int_equal(n, 2);
    assert_int_equal(r[0].vector, EXC_GP);
    assert_int_equal(r[0].error, 0x1234);          /* selector with TI (no LDT) */
    assert_int_equal(r[1].vector, EXC_DF);
    assert_int_equal(r[1].error, 0);
    guest_free(g);
}

/* A software INT to a gate whose DPL is below CPL raises #GP(vector*8+2). */
static void test_int_gate_dpl_check(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    static const uint8_t prog[] = { 0xcd, 0x40 };           /* int 0x40 */
    static const uint8_t gp_handler[] = { 0x8b, 0x3c, 0x24, 0xf4 };   /* mov edi,[esp] / hlt */
    put_bytes(g, 0x1000, prog, sizeof(prog));
    put_bytes(g, 0x1100, gp_handler, sizeof(gp_handler));
    put_flat_gdt(g);
    put_desc(g, 0x2000, 3, make_desc(0, 0xfffff, 0xc0fb));
    put_desc(g, 0x2000, 4, make_desc(0, 0xfffff, 0xc0f3));
    put_ring0_tss(g);
    put_gate(g, 0x3000, 0x40, 0x08, 0x1100, 0x8e);   /* DPL 0 */
    put_gate(g, 0x3000, 13, 0x08, 0x1100, 0x8e);
    struct cpu_state s;
    cpu_state_power_on(&s);
    flat_protected(&s, 3);
    s.seg[SEG_CS].selector = 0x1b;
    s.seg[SEG_SS].selector = s.seg[SEG_DS].selector = 0x23;
    s.gdtr = (struct dtable_reg){ 0x2000, 47 };
    s.idtr = (struct dtable_reg){ 0x3000, 0x7ff };
    s.tr = (struct seg_cache){ .selector = 0x28, .base = 0x4000, .limit = 0x67, .attr = 0x8b };
    s.eip = 0x1000;
    s.gpr[REG_ESP] = 0x7000;
    soft_engine_ops.set_state(g->e, &s);
    assert_int_equal(guest_run(g), EXIT_HLT);
    s = guest_state(g);
    assert_int_equal(s.gpr[REG_EDI], 0x40 * 8 + 2);
    assert_int_equal(get32(g, 0x9000 - 20), 0x1000);   /* EIP of the INT */
    guest_free(g);
}

/* Ring 0: ltr / iret to v86 at 2000:0000 (VM, IOPL 3, IF), SS:SP 3000:0100.
 * v86: mov ax,0x1234 / mov ds,ax / int 0x30
 * h30 (0x1026): mov edi,[esp+24] (v86 DS) / mov ebx,ds / mov esi,[esp+4] (CS) / hlt */
static const uint8_t prog_v86[] = {
    0x66, 0xb8, 0x28, 0x00, 0x0f, 0x00, 0xd8, 0x6a, 0x00, 0x6a, 0x00, 0x6a,
    0x00, 0x6a, 0x00, 0x68, 0x00, 0x30, 0x00, 0x00, 0x68, 0x00, 0x01, 0x00,
    0x00, 0x68, 0x02, 0x32, 0x02, 0x00, 0x68, 0x00, 0x20, 0x00, 0x00, 0x6a,
    0x00, 0xcf, 0x8b, 0x7c, 0x24, 0x18, 0x8c, 0xdb, 0x8b, 0x74, 0x24, 0x04,
    0xf4
};
static const uint8_t prog_v86_code[] = { 0xb8, 0x34, 0x12, 0x8e, 0xd8, 0xcd, 0x30 };

static void test_virtual_8086_round_trip(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_v86, sizeof(prog_v86));
    put_bytes(g, 0x20000, prog_v86_code, sizeof(prog_v86_code));
    put_flat_gdt(g);
    put_ring0_tss(g);
    put_gate(g, 0x3000, 0x30, 0x08, 0x1026, 0xee);
    guest_flat32_with_tables(g, 0x1000, 47);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EDI], 0x1234);          /* DS pushed from v86 */
    assert_int_equal(s.gpr[REG_EBX] & 0xffff, 0);       /* DS nulled in the handler */
    assert_int_equal(s.gpr[REG_ESI], 0x2000);           /* v86 CS */
    assert_int_equal(s.gpr[REG_ESP], 0x9000 - 36);      /* 9 dwords */
    assert_int_equal(s.eflags & EFL_VM, 0);
    assert_int_equal(get32(g, 0x9000 - 36), 7);          /* EIP after INT */
    assert_int_equal(get32(g, 0x9000 - 28) & EFL_VM, EFL_VM);
    assert_int_equal(get32(g, 0x9000 - 24), 0x100);      /* v86 SP */
    assert_int_equal(get32(g, 0x9000 - 20), 0x3000);     /* v86 SS */
    guest_free(g);
}

/* Task A (0x1000): ltr 0x28 / call 0x30:0 (TSS B) / mov esi,0x77
 *                  mov ax,0x1234 / mov ds,ax (#GP -> #NP -> #DF) / hlt
 * Task B (0x1100): mov edi,0x55 / iret (NT: back to A)
 * Task C (0x1200, #DF task gate): mov ebx,[esp] / mov ecx,esp / hlt */
static const uint8_t prog_task_a[] = {
    0x66, 0xb8, 0x28, 0x00, 0x0f, 0x00, 0xd8, 0x9a, 0x00, 0x00, 0x00, 0x00,
    0x30, 0x00, 0xbe, 0x77, 0x00, 0x00, 0x00, 0x66, 0xb8, 0x34, 0x12, 0x8e,
    0xd8, 0xf4
};
static const uint8_t prog_task_b[] = { 0xbf, 0x55, 0x00, 0x00, 0x00, 0xcf };
static const uint8_t prog_task_c[] = { 0x8b, 0x1c, 0x24, 0x89, 0xe1, 0xf4 };

static void put_tss(struct guest *g, uint32_t base, uint32_t eip, uint32_t esp)
{
    put32(g, base + 0x20, eip);
    put32(g, base + 0x24, 0x2);
    put32(g, base + 0x38, esp);
    for (unsigned k = 0; k < 6; k++)
        put32(g, base + 0x48 + 4 * k, k == SEG_CS ? 0x08 : 0x10);
}

static void test_task_switches(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_task_a, sizeof(prog_task_a));
    put_bytes(g, 0x1100, prog_task_b, sizeof(prog_task_b));
    put_bytes(g, 0x1200, prog_task_c, sizeof(prog_task_c));
    put_flat_gdt(g);
    put_desc(g, 0x2000, 5, make_desc(0x4000, 0x67, 0x0089));   /* A */
    put_desc(g, 0x2000, 6, make_desc(0x4100, 0x67, 0x0089));   /* B */
    put_desc(g, 0x2000, 7, make_desc(0x4200, 0x67, 0x0089));   /* C */
    put_tss(g, 0x4100, 0x1100, 0x6000);
    put_tss(g, 0x4200, 0x1200, 0x7000);
    put_gate(g, 0x3000, 13, 0x08, 0x1000, 0x0e);   /* not present: #GP -> #NP -> #DF */
    put_gate(g, 0x3000, 8, 0x38, 0, 0x85);          /* task gate to C */
    guest_flat32_with_tables(g, 0x1000, 63);
    struct cpu_state s = guest_run_to_hlt(g);
    /* In task C, from the double fault. */
    assert_int_equal(s.tr.selector, 0x38);
    assert_int_equal(s.eip, 0x1206);
    assert_int_equal(s.gpr[REG_EBX], 0);               /* #DF error code */
    assert_int_equal(s.gpr[REG_ECX], 0x7000 - 4);
    assert_true(s.cr0 & CR0_TS);
    assert_true(s.eflags & EFL_NT);
    assert_int_equal(get32(g, 0x4200) & 0xffff, 0x28);  /* link: task A */
    /* Task B ran and returned: its state was saved, it is no longer busy. */
    assert_int_equal(get32(g, 0x4100 + 0x28 + 4 * REG_EDI), 0x55);
    assert_int_equal(get32(g, 0x4100 + 0x20), 0x1106);
    assert_int_equal((g->ram[0x2000 + 6 * 8 + 5] & 0xf), 0x9);
    /* Task A resumed after the CALL and faulted at the MOV DS. */
    assert_int_equal(get32(g, 0x4000 + 0x28 + 4 * REG_ESI), 0x77);
    assert_int_equal(get32(g, 0x4000 + 0x20), 0x1017);
    assert_int_equal((g->ram[0x2000 + 5 * 8 + 5] & 0xf), 0xb);   /* A busy (nested) */
    assert_int_equal((g->ram[0x2000 + 7 * 8 + 5] & 0xf), 0xb);   /* C busy */
    guest_free(g);
}

static void test_exit_names(void **st)
{
    (void)st;
    assert_string_equal(exit_reason_name(EXIT_IO), "io");
    assert_string_equal(exit_reason_name(EXIT_SHUTDOWN), "shutdown");
    assert_string_equal(exit_reason_name(EXIT_REASON_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_mode_and_hlt),
        cmocka_unit_test(test_power_on_state),
        cmocka_unit_test(test_port_io_exits),
        cmocka_unit_test(test_protected_mode_switch),
        cmocka_unit_test(test_mmio_exits_with_replay),
        cmocka_unit_test(test_triple_fault),
        cmocka_unit_test(test_self_modifying_code),
        cmocka_unit_test(test_data_writes_in_a_code_page),
        cmocka_unit_test(test_interrupt_window_and_injection),
        cmocka_unit_test(test_page_fault_handled_and_resumed),
        cmocka_unit_test(test_user_mode_round_trip),
        cmocka_unit_test(test_cpuid),
        cmocka_unit_test(test_kick),
        cmocka_unit_test(test_single_step),
        cmocka_unit_test(test_mov_ss_shadow),
        cmocka_unit_test(test_nmi_wakes_halted_cpu),
        cmocka_unit_test(test_traces),
        cmocka_unit_test(test_double_fault),
        cmocka_unit_test(test_int_gate_dpl_check),
        cmocka_unit_test(test_virtual_8086_round_trip),
        cmocka_unit_test(test_task_switches),
        cmocka_unit_test(test_exit_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

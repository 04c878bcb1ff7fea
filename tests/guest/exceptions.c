/* Exception and software-interrupt delivery: vectors, error codes, and the
 * pushed return address (faults point at the faulting instruction, traps
 * after it). */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "exceptions";

/* Checks the last caught event: vector, error code (if err != ~0), and the
 * pushed EIP relative to the instruction under test. */
static void expect(const char *name, uint32_t vector, uint32_t err, uint32_t eip_delta)
{
    uint32_t want_eip = catch_insn + eip_delta;
    if (caught.hit != 1)
        fail(name, "expected vector %u, nothing was raised", vector);
    else if (caught.vector != vector)
        fail(name, "expected vector %u, got %u (error %x)", vector, caught.vector, caught.error);
    else if (err != 0xFFFFFFFF && caught.error != err)
        fail(name, "vector %u error code %x, expected %x", vector, caught.error, err);
    else if (caught.eip != want_eip)
        fail(name, "vector %u pushed eip %x, expected %x", vector, caught.eip, want_eip);
    else
        pass(name);
    catch_reset();
}

static void test_divide(void)
{
    uint32_t a = 1234, d = 5;
    __asm__ volatile("xorl %%ecx, %%ecx\n\t" CATCH_ASM("divl %%ecx")
                     : "+a"(a), "+d"(d) : : "ecx", "memory");
    expect("de_div_by_zero", 0, 0xFFFFFFFF, 0);
    check("de_state_unchanged", a == 1234 && d == 5, "eax %x edx %x after #DE", a, d);

    a = 0x80000000;
    d = 0xFFFFFFFF;
    __asm__ volatile("movl $-1, %%ecx\n\t" CATCH_ASM("idivl %%ecx")
                     : "+a"(a), "+d"(d) : : "ecx", "memory");
    expect("de_idiv_int_min_by_minus1", 0, 0xFFFFFFFF, 0);

    a = 0x1000;
    __asm__ volatile("movb $1, %%cl\n\t" CATCH_ASM("divb %%cl")
                     : "+a"(a) : : "ecx", "memory");
    expect("de_div8_quotient_overflow", 0, 0xFFFFFFFF, 0);

    /* The pushed EIP of a fault covers the prefixes too. */
    a = 1;
    d = 0;
    __asm__ volatile("xorl %%ecx, %%ecx\n\t" CATCH_ASM("divw %%cx")
                     : "+a"(a), "+d"(d) : : "ecx", "memory");
    expect("de_prefixed_insn_eip", 0, 0xFFFFFFFF, 0);

    /* No exception for a valid division. */
    a = 100;
    d = 0;
    __asm__ volatile("movl $7, %%ecx\n\t" CATCH_ASM("divl %%ecx")
                     : "+a"(a), "+d"(d) : : "ecx", "memory");
    check("div_ok_no_fault", caught.hit == 0 && a == 14 && d == 2,
          "hit %d eax %u edx %u", caught.hit, a, d);
    catch_reset();
}

static void test_invalid_opcode(void)
{
    __asm__ volatile(CATCH_ASM("ud2") : : : "memory");
    expect("ud_ud2", 6, 0xFFFFFFFF, 0);
    /* LEA with a register operand is an invalid encoding. */
    __asm__ volatile(CATCH_ASM(".byte 0x8d, 0xc0") : : : "memory");
    expect("ud_lea_register_operand", 6, 0xFFFFFFFF, 0);
    /* LOCK on an instruction without a memory destination. */
    __asm__ volatile(CATCH_ASM(".byte 0xf0, 0x01, 0xc0") : : : "memory");
    expect("ud_lock_register_add", 6, 0xFFFFFFFF, 0);
}

static void test_segment_faults(void)
{
    /* Selector beyond the GDT limit: #GP with the selector as error code. */
    __asm__ volatile("movw $0x1238, %%ax\n\t" CATCH_ASM("movw %%ax, %%ds")
                     : : : "eax", "memory");
    expect("gp_selector_beyond_gdt", 13, 0x1238, 0);

    /* An LDT selector while LDTR is null: RPL bits are not in the error code. */
    __asm__ volatile("movw $0x1237, %%ax\n\t" CATCH_ASM("movw %%ax, %%fs")
                     : : : "eax", "memory");
    expect("gp_ldt_selector_error_code", 13, 0x1234, 0);

    /* A not-present data segment: #NP(selector). */
    __asm__ volatile("movw %0, %%ax\n\t" CATCH_ASM("movw %%ax, %%gs")
                     : : "i"(SEL_NOTPRES) : "eax", "memory");
    expect("np_segment_not_present", 11, SEL_NOTPRES, 0);

    /* SS must be writable: #GP(selector). */
    __asm__ volatile("movw %0, %%ax\n\t" CATCH_ASM("movw %%ax, %%ss")
                     : : "i"(SEL_RODATA32) : "eax", "memory");
    expect("gp_readonly_segment_into_ss", 13, SEL_RODATA32, 0);

    /* A write through a read-only data segment: #GP(0). */
    static volatile uint32_t target = 7;
    uint32_t readback;
    __asm__ volatile("movw %[sel], %%ax\n\t"
                     "movw %%ax, %%es\n\t"
                     "movl %%es:(%[p]), %[rb]\n\t"
                     CATCH_ASM("movl $99, %%es:(%[p])")
                     "movw %[flat], %%ax\n\t"
                     "movw %%ax, %%es\n\t"
                     : [rb] "=&r"(readback)
                     : [sel] "i"(SEL_RODATA32), [flat] "i"(SEL_DATA32), [p] "r"(&target)
                     : "eax", "memory");
    expect("gp_write_readonly_segment", 13, 0, 0);
    check("readonly_segment_readable_and_unchanged", readback == 7 && target == 7,
          "read %u, target now %u", readback, target);

    /* Beyond a segment limit: #GP(0); within it is fine. */
    uint32_t v = 0;
    __asm__ volatile("movw %[sel], %%ax\n\t"
                     "movw %%ax, %%es\n\t"
                     "movl %%es:0xFFC, %[v]\n\t"
                     CATCH_ASM("movl %%es:0xFFD, %[v]")
                     "movw %[flat], %%ax\n\t"
                     "movw %%ax, %%es\n\t"
                     : [v] "+r"(v)
                     : [sel] "i"(SEL_SMALL), [flat] "i"(SEL_DATA32)
                     : "eax", "memory");
    expect("gp_segment_limit", 13, 0, 0);
}

static volatile uint32_t soft_int_eip, soft_int_count;

static void int40_handler(struct int_frame *f)
{
    soft_int_count++;
    soft_int_eip = f->eip;
    f->eax = f->eax * 2 + 1;     /* results reach the interrupted code */
}

static void test_traps(void)
{
    __asm__ volatile(CATCH_ASM("int3") : : : "memory");
    expect("bp_int3_eip_after", 3, 0xFFFFFFFF, 1);

    idt_set_handler(0x40, int40_handler);
    uint32_t a = 20, at;
    __asm__ volatile("movl $1f, %[at]\n\t"
                     "1: int $0x40\n\t"
                     : "+a"(a), [at] "=m"(at) : : "memory");
    check("int_n_handler_called", soft_int_count == 1 && a == 41,
          "count %u eax %u", soft_int_count, a);
    check("int_n_returns_after", soft_int_eip == at + 2, "pushed eip %x, insn at %x",
          soft_int_eip, at);
    for (int i = 0; i < 100; i++)
        __asm__ volatile("int $0x40" : "+a"(a) : : "memory");
    check("int_n_repeated", soft_int_count == 101, "count %u", soft_int_count);

    __asm__ volatile("movl $0x7fffffff, %%eax\n\t"
                     "addl $1, %%eax\n\t"
                     CATCH_ASM("into") : : : "eax", "memory");
    expect("of_into_overflow_set", 4, 0xFFFFFFFF, 1);
    __asm__ volatile("movl $1, %%eax\n\t"
                     "addl $1, %%eax\n\t"
                     CATCH_ASM("into") : : : "eax", "memory");
    check("into_no_overflow_no_trap", caught.hit == 0, "vector %u raised", caught.vector);
    catch_reset();

    /* BOUND: #BR is a fault (optional: a CPU without BOUND raises #UD). */
    static const int32_t bounds[2] = { 0, 3 };
    __asm__ volatile("movl $2, %%eax\n\t"
                     CATCH_ASM("boundl %%eax, (%0)") : : "r"(bounds) : "eax", "memory");
    if (caught.hit == 1 && caught.vector == 6) {
        kprintf("SKIP bound: BOUND raises #UD (optional)\n");
    } else {
        check("bound_in_range", caught.hit == 0, "vector %u raised", caught.vector);
        catch_reset();
        __asm__ volatile("movl $5, %%eax\n\t"
                         CATCH_ASM("boundl %%eax, (%0)") : : "r"(bounds) : "eax", "memory");
        expect("br_bound_out_of_range", 5, 0xFFFFFFFF, 0);
    }
    catch_reset();
}

static void test_idt_limit(void)
{
    /* A vector beyond the IDT limit: #GP(vector*8 + 2) (IDT bit set). */
    idt_load_limit(0x40 * 8 - 1);
    __asm__ volatile(CATCH_ASM("int $0x50") : : : "memory");
    idt_load_limit(256 * 8 - 1);
    expect("gp_int_beyond_idt_limit", 13, 0x50 * 8 + 2, 0);
}

static void test_double_fault(void)
{
    /* #GP whose gate is not present: delivering it raises #NP, and a
     * contributory fault during a contributory fault is a double fault
     * (error code 0). */
    idt_set_present(13, 0);
    __asm__ volatile("movw $0x1238, %%ax\n\t" CATCH_ASM("movw %%ax, %%ds")
                     : : : "eax", "memory");
    idt_set_present(13, 1);
    check("df_fault_during_fault_delivery", caught.hit == 1 && caught.vector == 8 && caught.error == 0,
          "hit %d vector %u error %x", caught.hit, caught.vector, caught.error);
    catch_reset();

    /* A not-present gate alone: #NP with the IDT bit, vector*8+2. */
    idt_set_present(0x42, 0);
    __asm__ volatile(CATCH_ASM("int $0x42") : : : "memory");
    idt_set_present(0x42, 1);
    expect("np_gate_not_present", 11, 0x42 * 8 + 2, 0);
}

static volatile uint32_t gate_flags_inside, gate_pushed_flags, gate_pushed_cs;

static void int41_handler(struct int_frame *f)
{
    gate_flags_inside = read_eflags();
    gate_pushed_flags = f->eflags;
    gate_pushed_cs = f->cs;
}

static void test_gate_context(void)
{
    /* An interrupt gate clears IF inside the handler; IRET restores it. */
    idt_set_handler(0x41, int41_handler);
    uint32_t after;
    __asm__ volatile("sti\n\tint $0x41\n\tpushfl\n\tpopl %0\n\tcli" : "=r"(after) : : "memory");
    check("int_gate_clears_if", !(gate_flags_inside & 0x200) && (gate_pushed_flags & 0x200),
          "IF inside %u, pushed IF %u", (gate_flags_inside >> 9) & 1, (gate_pushed_flags >> 9) & 1);
    check("iret_restores_if", after & 0x200, "eflags after iret %x", after);
    check("int_pushed_cs", gate_pushed_cs == SEL_CODE32, "cs %x", gate_pushed_cs);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    test_divide();
    test_invalid_opcode();
    test_segment_faults();
    test_traps();
    test_idt_limit();
    test_double_fault();
    test_gate_context();
    return test_finish();
}

/* Hardware task switching: JMP and CALL to a TSS descriptor (busy bits, NT,
 * back link, saved state, IRET back to the caller), CALL through a task gate
 * in the GDT, #GP for a switch to a busy task, and double faults delivered
 * through a task gate in the IDT (as Linux handles them) from a #GP whose
 * gate is not present and from a #PF whose handler's stack is not mapped. */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "taskgate";

#define TSS_B    SEL_SPARE(0)
#define TSS_DF   SEL_SPARE(1)
#define GATE_B   SEL_SPARE(2)
#define EFL_NT   0x4000u
#define CR0_TS   0x8u

static struct tss32 tss_main, tss_b, tss_df;
static uint8_t stack_b[8192] __attribute__((aligned(16)));
static uint8_t stack_df[8192] __attribute__((aligned(16)));
typedef volatile uint32_t table[1024] __attribute__((aligned(4096)));
static table pd;

/* What task B saw on its last run. */
volatile uint32_t b_iret;          /* 1: return with IRET, 0: JMP back to the main task */
static volatile struct {
    uint32_t count, tr, eflags, link, acc_main, acc_b, cr0, es, main_eip;
} b;

/* Task bodies: an assembly loop around a C function. */
__asm__(".text\n"
        ".globl task_b_entry\n"
        "task_b_entry:\n"
        "    call task_b_body\n"
        "    cmpl $0, b_iret\n"
        "    je 1f\n"
        "    iret\n"
        "    jmp task_b_entry\n"
        "1:  ljmp $0x50, $0\n"
        "    jmp task_b_entry\n"
        ".globl task_df_entry\n"
        "task_df_entry:\n"
        "    popl df_error\n"
        "    movl %esp, df_esp\n"
        "    call task_df_body\n"
        "    iret\n"
        "    jmp task_df_entry\n");
void task_b_entry(void);
void task_df_entry(void);

void task_b_body(void);
void task_b_body(void)
{
    uint32_t tr = 0, es = 0;
    __asm__ volatile("str %w0\n\tmovw %%es, %w1" : "+r"(tr), "+r"(es));
    b.count++;
    b.tr = tr & 0xFFFF;
    b.es = es & 0xFFFF;
    b.eflags = read_eflags();
    b.link = tss_b.link;
    b.acc_main = gdt_access(SEL_TSS);
    b.acc_b = gdt_access(TSS_B);
    b.cr0 = READ_CR(0);
    b.main_eip = tss_main.eip;
}

/* Double-fault task. */
volatile uint32_t df_error, df_esp, df_recover_eip, df_recover_esp;
static volatile struct {
    uint32_t count, tr, eflags, link, acc_main, acc_df, main_eip, cr2;
} df;

void task_df_body(void);
void task_df_body(void)
{
    uint32_t tr = 0;
    __asm__ volatile("str %w0" : "+r"(tr));
    df.count++;
    df.tr = tr & 0xFFFF;
    df.eflags = read_eflags();
    df.link = tss_df.link;
    df.acc_main = gdt_access(SEL_TSS);
    df.acc_df = gdt_access(TSS_DF);
    df.main_eip = tss_main.eip;
    df.cr2 = READ_CR(2);
    kprintf("PASS double_fault_task_gate_handler_runs (fault at eip %x)\n", tss_main.eip);
    /* Resume the interrupted task somewhere sane. */
    idt_set_present(13, 1);
    tss_main.eip = df_recover_eip;
    tss_main.esp = df_recover_esp;
    __asm__ volatile("clts");
}

static void init_task(struct tss32 *t, void (*entry)(void), uint8_t *stack, uint32_t size)
{
    t->eip = (uint32_t)entry;
    t->esp = (uint32_t)(stack + size);
    t->eflags = 0x2;
    t->cs = SEL_CODE32;
    t->ss = t->ds = t->es = t->fs = t->gs = SEL_DATA32;
    t->cr3 = READ_CR(3);
    t->ldt = 0;
    t->iomap_base = sizeof(struct tss32) + 0x100;
}

static void test_jmp(void)
{
    uint32_t ebx, esi, edi, ret_at, es;
    tss_b.link = 0xDEAD;
    b_iret = 0;
    __asm__ volatile("movl $0xB0B0B0B0, %%ebx\n\t"
                     "movl $0x51515151, %%esi\n\t"
                     "movl $0xD1D1D1D1, %%edi\n\t"
                     "movl $1f, %[ret]\n\t"
                     "ljmp %[sel], $0\n"
                     "1:\n\t"
                     "movl %%ebx, %[ebx]\n\t"
                     "movl %%esi, %[esi]\n\t"
                     "movl %%edi, %[edi]\n\t"
                     "movw %%es, %w[es]\n\t"
                     : [ebx] "=m"(ebx), [esi] "=m"(esi), [edi] "=m"(edi), [ret] "=m"(ret_at), [es] "=r"(es)
                     : [sel] "i"(TSS_B) : "ebx", "esi", "edi", "memory");
    uint32_t cr0 = READ_CR(0);
    __asm__ volatile("clts");
    check("jmp_task_ran", b.count == 1 && b.tr == TSS_B, "count %u tr %x", b.count, b.tr);
    check("jmp_task_loads_segments", b.es == SEL_SMALL && (es & 0xFFFF) == SEL_DATA32, "es in task %x, back %x",
          b.es, es & 0xFFFF);
    check("jmp_no_nt_no_link", !(b.eflags & EFL_NT) && b.link == 0xDEAD, "eflags %x link %x", b.eflags, b.link);
    check("jmp_busy_bits", b.acc_main == ACC_TSS32 && b.acc_b == ACC_TSS32_BUSY, "main %x b %x", b.acc_main, b.acc_b);
    check("jmp_saves_outgoing_eip", b.main_eip == ret_at, "saved eip %x (want %x)", b.main_eip, ret_at);
    check("task_switch_sets_ts", (b.cr0 & CR0_TS) && (cr0 & CR0_TS), "cr0 in task %x, back %x", b.cr0, cr0);
    check("jmp_back_restores_registers", ebx == 0xB0B0B0B0 && esi == 0x51515151 && edi == 0xD1D1D1D1,
          "ebx %x esi %x edi %x", ebx, esi, edi);
    check("jmp_back_busy_bits", gdt_access(SEL_TSS) == ACC_TSS32_BUSY && gdt_access(TSS_B) == ACC_TSS32,
          "main %x b %x", gdt_access(SEL_TSS), gdt_access(TSS_B));
}

static void test_call(void)
{
    uint32_t ebx;
    b_iret = 1;
    __asm__ volatile("movl $0xCA11CA11, %%ebx\n\t"
                     "lcall %[sel], $0\n\t"
                     "movl %%ebx, %[ebx]\n\t"
                     : [ebx] "=m"(ebx) : [sel] "i"(TSS_B) : "ebx", "memory");
    __asm__ volatile("clts");
    check("call_task_ran", b.count == 2 && b.tr == TSS_B, "count %u tr %x", b.count, b.tr);
    check("call_sets_nt_and_link", (b.eflags & EFL_NT) && b.link == SEL_TSS, "eflags %x link %x", b.eflags, b.link);
    check("call_busy_bits", b.acc_main == ACC_TSS32_BUSY && b.acc_b == ACC_TSS32_BUSY, "main %x b %x", b.acc_main,
          b.acc_b);
    check("iret_back_to_caller", ebx == 0xCA11CA11 && !(read_eflags() & EFL_NT), "ebx %x eflags %x", ebx,
          read_eflags());
    check("iret_clears_busy_and_saved_nt", gdt_access(TSS_B) == ACC_TSS32 && !(tss_b.eflags & EFL_NT),
          "b %x saved eflags %x", gdt_access(TSS_B), tss_b.eflags);

    tss_b.link = 0;
    __asm__ volatile("lcall %[sel], $0" : : [sel] "i"(GATE_B | 0) : "ebx", "memory");
    __asm__ volatile("clts");
    check("call_through_gdt_task_gate", b.count == 3 && b.link == SEL_TSS && (b.eflags & EFL_NT) &&
                                            gdt_access(TSS_B) == ACC_TSS32,
          "count %u link %x eflags %x b %x", b.count, b.link, b.eflags, gdt_access(TSS_B));

    /* Switching to a busy task: #GP(selector). */
    __asm__ volatile(CATCH_ASM("ljmp %[sel], $0") : : [sel] "i"(SEL_TSS) : "memory");
    check("jmp_to_busy_task_gp", caught.hit == 1 && caught.vector == 13 && caught.error == SEL_TSS &&
                                     caught.eip == catch_insn,
          "hit %d vector %u error %x", caught.hit, caught.vector, caught.error);
    catch_reset();
    __asm__ volatile(CATCH_ASM("lcall %[sel], $0") : : [sel] "i"(SEL_TSS) : "memory");
    check("call_to_busy_task_gp", caught.hit == 1 && caught.vector == 13 && caught.error == SEL_TSS,
          "hit %d vector %u error %x", caught.hit, caught.vector, caught.error);
    catch_reset();
}

static const char *cat(const char *a, const char *b)
{
    static char buf[80];
    int n = 0;
    while (*a && n < 40)
        buf[n++] = *a++;
    while (*b && n < 79)
        buf[n++] = *b++;
    buf[n] = 0;
    return buf;
}

static void check_df(const char *what, uint32_t count, uint32_t fault_eip)
{
    check(cat(what, "_task_ran"), df.count == count && df.tr == TSS_DF, "count %u tr %x", df.count, df.tr);
    check(cat(what, "_error_code_on_task_stack"), df_error == 0 && df_esp == (uint32_t)(stack_df + sizeof(stack_df)),
          "error %x esp after pop %x (top %p)", df_error, df_esp, stack_df + sizeof(stack_df));
    check(cat(what, "_nested_link_nt"), df.link == SEL_TSS && (df.eflags & EFL_NT), "link %x eflags %x", df.link,
          df.eflags);
    check(cat(what, "_busy_bits"), df.acc_main == ACC_TSS32_BUSY && df.acc_df == ACC_TSS32_BUSY, "main %x df %x",
          df.acc_main, df.acc_df);
    check(cat(what, "_saved_faulting_eip"), df.main_eip == fault_eip, "saved eip %x (want %x)", df.main_eip,
          fault_eip);
    check(cat(what, "_iret_back"), gdt_access(TSS_DF) == ACC_TSS32 && gdt_access(SEL_TSS) == ACC_TSS32_BUSY,
          "df %x main %x", gdt_access(TSS_DF), gdt_access(SEL_TSS));
}

static void test_double_fault(void)
{
    idt_set_task_gate(8, TSS_DF);
    uint32_t fault_at, ebx;

    /* #GP whose gate is not present: #NP while delivering #GP -> #DF. */
    idt_set_present(13, 0);
    __asm__ volatile("movl $1f, df_recover_eip\n\t"
                     "movl %%esp, df_recover_esp\n\t"
                     "movl $2f, %[at]\n\t"
                     "movl $0xDFDF0001, %%ebx\n\t"
                     "movw $0x1238, %%ax\n"
                     "2:  movw %%ax, %%fs\n"       /* beyond the GDT limit: #GP */
                     "1:\n\t"
                     "movl %%ebx, %[ebx]\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "movw %%ax, %%fs\n\t"
                     : [at] "=m"(fault_at), [ebx] "=m"(ebx) : : "eax", "ebx", "memory");
    check_df("df_gp_gate_np", 1, fault_at);
    check("df_gp_gate_np_registers_kept", ebx == 0xDFDF0001, "ebx %x", ebx);

    /* #PF while pushing the #PF frame on an unmapped stack -> #DF (Linux's
     * stack-overflow case); the task gate gives the handler a good stack. */
    for (uint32_t i = 0; i < 16; i++)
        pd[i] = (i << 22) | 0x83;                      /* 4 MiB pages, P | RW */
    WRITE_CR(3, pd);
    WRITE_CR(4, READ_CR(4) | 0x10);
    WRITE_CR(0, READ_CR(0) | 0x80000000);
    tss_main.cr3 = tss_df.cr3 = tss_b.cr3 = (uint32_t)pd;
    __asm__ volatile("movl $1f, df_recover_eip\n\t"
                     "movl %%esp, df_recover_esp\n\t"
                     "movl $2f, %[at]\n\t"
                     "movl %%esp, %%ecx\n\t"
                     "movl $0x40001000, %%esp\n"
                     "2:  movl 0x50000000, %%eax\n"     /* unmapped: #PF, frame push #PF */
                     "1:\n\t"
                     : [at] "=m"(fault_at) : : "eax", "ecx", "memory");
    check_df("df_pf_stack_unmapped", 2, fault_at);
    check("df_pf_cr2_in_unmapped_stack", df.cr2 >= 0x40000000 && df.cr2 < 0x40001000, "cr2 %x", df.cr2);
    WRITE_CR(0, READ_CR(0) & ~0x80000000u);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    static uint8_t kstack[4096] __attribute__((aligned(16)));
    tss_install(&tss_main, SEL_TSS, TSS_LIMIT_NOIO, (uint32_t)(kstack + sizeof(kstack)));
    tss_main.cr3 = READ_CR(3);
    init_task(&tss_b, task_b_entry, stack_b, sizeof(stack_b));
    tss_b.es = SEL_SMALL;
    init_task(&tss_df, task_df_entry, stack_df, sizeof(stack_df));
    gdt_set_seg(TSS_B, (uint32_t)&tss_b, TSS_LIMIT_NOIO, ACC_TSS32, 0);
    gdt_set_seg(TSS_DF, (uint32_t)&tss_df, TSS_LIMIT_NOIO, ACC_TSS32, 0);
    gdt_set_gate(GATE_B, TSS_B, 0, ACC_TASK_GATE, 0);

    test_jmp();
    test_call();
    test_double_fault();
    return test_finish();
}

/* Ring 3: entering user mode with IRET through a TSS, system calls through a
 * DPL-3 gate, and the protection checks user code meets (privileged
 * instructions, IOPL, gate DPL, segment DPL, U/S and R/W page bits). */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "usermode";

#define UCS (SEL_UCODE32 | 3)
#define UDS (SEL_UDATA32 | 3)
#define SYS_ADD1 1
#define SYS_EXIT 2

struct tss {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
} __attribute__((packed));

static struct tss tss;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
extern uint64_t gdt[];

/* Paging: 0-4 MiB through a page table (user-accessible except two test
 * pages), the rest through 4 MiB user pages. */
typedef volatile uint32_t table[1024] __attribute__((aligned(4096)));
static table pd, pt;
static volatile uint32_t kernel_only_page[1024] __attribute__((aligned(4096)));
static volatile uint32_t user_ro_page[1024] __attribute__((aligned(4096)));

static void setup_paging(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        pt[i] = (i << 12) | 0x7;                       /* P | RW | US */
    pt[(uint32_t)kernel_only_page >> 12] &= ~0x4u;      /* supervisor only */
    pt[(uint32_t)user_ro_page >> 12] &= ~0x2u;          /* read-only */
    pd[0] = (uint32_t)pt | 0x7;
    for (uint32_t i = 1; i < 16; i++)
        pd[i] = (i << 22) | 0x87;                      /* 4 MiB, P | RW | US */
    WRITE_CR(3, pd);
    WRITE_CR(4, READ_CR(4) | 0x10);
    WRITE_CR(0, READ_CR(0) | 0x80010000);              /* PG | WP */
}

static void setup_tss(void)
{
    tss.ss0 = SEL_DATA32;
    tss.esp0 = (uint32_t)(kstack + sizeof(kstack));
    tss.iomap_base = sizeof(tss);                       /* no I/O bitmap */
    uint32_t base = (uint32_t)&tss, limit = sizeof(tss) - 1;
    gdt[SEL_TSS / 8] = (uint64_t)(limit & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 |
                       (uint64_t)0x89 << 40 |          /* present, 32-bit available TSS */
                       (uint64_t)((limit >> 16) & 0xF) << 48 | (uint64_t)(base >> 24) << 56;
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

/* Kernel side of the round trip: enter_user saves the kernel context and
 * IRETs to ring 3; the SYS_EXIT system call comes back to it. */
static volatile uint32_t kernel_esp;
__asm__(".text\n"
        ".globl enter_user\n"
        "enter_user:\n"                 /* void enter_user(void (*fn)(void), uint32_t user_esp) */
        "    pushal\n"
        "    movl %esp, kernel_esp\n"
        "    movl 36(%esp), %eax\n"      /* fn */
        "    movl 40(%esp), %ecx\n"      /* user stack */
        "    pushl $0x4B\n"              /* SS = user data | 3 */
        "    pushl %ecx\n"
        "    pushl $0x202\n"             /* EFLAGS: IF, IOPL 0 */
        "    pushl $0x43\n"              /* CS = user code | 3 */
        "    pushl %eax\n"
        "    movw $0x4B, %dx\n"
        "    movw %dx, %ds\n"
        "    movw %dx, %es\n"
        "    movw %dx, %fs\n"
        "    movw %dx, %gs\n"
        "    iret\n"
        ".globl leave_user\n"
        "leave_user:\n"
        "    movl kernel_esp, %esp\n"
        "    movw $0x10, %dx\n"
        "    movw %dx, %ds\n"
        "    movw %dx, %es\n"
        "    movw %dx, %fs\n"
        "    movw %dx, %gs\n"
        "    popal\n"
        "    ret\n");
void enter_user(void (*fn)(void), uint32_t user_esp);
void leave_user(void) __attribute__((noreturn));

static volatile struct {
    uint32_t syscall_cs, syscall_cpl, syscall_esp, syscall_user_ss, syscall_count;
} seen;

static void syscall_handler(struct int_frame *f)
{
    uint32_t cs;
    __asm__ volatile("movl %%cs, %0" : "=r"(cs));
    seen.syscall_count++;
    seen.syscall_cs = f->cs;
    seen.syscall_cpl = cs & 3;
    seen.syscall_esp = (uint32_t)&cs;
    seen.syscall_user_ss = f->user_ss;
    if (f->eax == SYS_EXIT)
        leave_user();
    if (f->eax == SYS_ADD1)
        f->ebx += 1;
}

/* Results recorded in ring 3, reported from ring 0. */
struct fault_result {
    int hit;
    uint32_t vector, error, eip_ok, cr2;
};
static volatile struct {
    uint32_t cpl, add1, popf_if;
    struct fault_result r[10];
} user;

static void record(int i)
{
    user.r[i].hit = caught.hit;
    user.r[i].vector = caught.vector;
    user.r[i].error = caught.error;
    user.r[i].eip_ok = caught.eip == catch_insn;
    user.r[i].cr2 = caught.cr2;
    caught.hit = 0;
    caught.vector = caught.error = caught.eip = caught.cr2 = 0xFFFFFFFF;
}

enum { R_CLI, R_HLT, R_IN, R_CR3, R_GATE_DPL, R_LOAD_KDS, R_PF_READ, R_PF_WRITE, R_PF_RO, R_WRITE_OK };

static void user_main(void)
{
    uint32_t cs, v;
    __asm__ volatile("movl %%cs, %0" : "=r"(cs));
    user.cpl = cs & 3;

    v = 41;
    __asm__ volatile("int $0x80" : "+b"(v) : "a"(SYS_ADD1) : "memory");
    user.add1 = v;

    __asm__ volatile(CATCH_ASM("cli") : : : "memory");
    record(R_CLI);
    __asm__ volatile(CATCH_ASM("hlt") : : : "memory");
    record(R_HLT);
    __asm__ volatile(CATCH_ASM("inb $0x80, %%al") : : : "eax", "memory");
    record(R_IN);
    __asm__ volatile(CATCH_ASM("movl %%eax, %%cr3") : : "a"(0) : "memory");
    record(R_CR3);
    __asm__ volatile(CATCH_ASM("int $0x81") : : : "memory");
    record(R_GATE_DPL);
    __asm__ volatile("movw %0, %%ax\n\t" CATCH_ASM("movw %%ax, %%ds")
                     : : "i"(SEL_DATA32) : "eax", "memory");
    record(R_LOAD_KDS);
    __asm__ volatile(CATCH_ASM("movl (%0), %%eax") : : "r"(&kernel_only_page[3]) : "eax", "memory");
    record(R_PF_READ);
    __asm__ volatile(CATCH_ASM("movl %%eax, (%0)") : : "r"(&kernel_only_page[5]), "a"(1) : "memory");
    record(R_PF_WRITE);
    __asm__ volatile(CATCH_ASM("movl %%eax, (%0)") : : "r"(&user_ro_page[7]), "a"(1) : "memory");
    record(R_PF_RO);
    v = user_ro_page[7];
    __asm__ volatile(CATCH_ASM("movl %%eax, (%0)") : : "r"(&user.popf_if), "a"(v) : "memory");
    record(R_WRITE_OK);

    /* POPF in ring 3 with IOPL 0 leaves IF alone, silently. */
    uint32_t f;
    __asm__ volatile("pushfl\n\tandl $~0x200, (%%esp)\n\tpopfl\n\tpushfl\n\tpopl %0" : "=r"(f));
    user.popf_if = f & 0x200;

    __asm__ volatile("int $0x80" : : "a"(SYS_EXIT) : "memory");
    for (;;)
        ;
}

static void expect_user(int i, const char *name, uint32_t vector, uint32_t error)
{
    volatile struct fault_result *r = &user.r[i];
    check(name, r->hit == 1 && r->vector == vector && r->error == error && r->eip_ok,
          "hit %d vector %u error %x (want %u/%x), eip at insn %u", r->hit, r->vector, r->error,
          vector, error, r->eip_ok);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    setup_paging();
    setup_tss();
    idt_set_handler(0x80, syscall_handler);
    idt_set_dpl(0x80, 3);
    kernel_only_page[3] = 0x5EC2E7;

    enter_user(user_main, (uint32_t)(ustack + sizeof(ustack)));
    pass("back_from_user_mode");

    check("user_mode_cpl3", user.cpl == 3, "CPL %u in user code", user.cpl);
    check("syscall_dpl3_gate", seen.syscall_count == 2 && user.add1 == 42, "count %u result %u",
          seen.syscall_count, user.add1);
    check("syscall_frame_user_cs_ss", seen.syscall_cs == UCS && seen.syscall_user_ss == UDS,
          "pushed cs %x ss %x", seen.syscall_cs, seen.syscall_user_ss);
    check("syscall_runs_on_tss_esp0_stack",
          seen.syscall_cpl == 0 && seen.syscall_esp > (uint32_t)kstack &&
              seen.syscall_esp < (uint32_t)kstack + sizeof(kstack),
          "cpl %u esp %x (kernel stack %p)", seen.syscall_cpl, seen.syscall_esp, kstack);
    expect_user(R_CLI, "user_cli_gp", 13, 0);
    expect_user(R_HLT, "user_hlt_gp", 13, 0);
    expect_user(R_IN, "user_in_iopl0_gp", 13, 0);
    expect_user(R_CR3, "user_mov_cr3_gp", 13, 0);
    expect_user(R_GATE_DPL, "user_int_dpl0_gate_gp", 13, 0x81 * 8 + 2);
    expect_user(R_LOAD_KDS, "user_load_kernel_ds_gp", 13, SEL_DATA32);
    expect_user(R_PF_READ, "user_read_supervisor_page_pf", 14, 5);
    expect_user(R_PF_WRITE, "user_write_supervisor_page_pf", 14, 7);
    expect_user(R_PF_RO, "user_write_readonly_page_pf", 14, 7);
    check("user_pf_cr2", user.r[R_PF_READ].cr2 == (uint32_t)&kernel_only_page[3], "cr2 %x",
          user.r[R_PF_READ].cr2);
    check("user_write_user_page_ok", user.r[R_WRITE_OK].hit == 0, "vector %u", user.r[R_WRITE_OK].vector);
    check("user_popf_keeps_if", user.popf_if != 0, "IF cleared by POPF at CPL 3 with IOPL 0");
    return test_finish();
}

/* SYSENTER/SYSEXIT: the SYSENTER_CS/ESP/EIP MSRs, the flat selectors they
 * imply (CS, SS = CS+8, SYSEXIT CS+16 / SS+24 with RPL 3), ESP and EIP from
 * the MSRs and from ECX/EDX, IF cleared on entry, and #GP(0) for a zero
 * SYSENTER_CS or SYSEXIT outside ring 0. */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "sysenter";

#define MSR_SYSENTER_CS  0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define SE_BASE SEL_SPARE(0)        /* code0, data0, code3, data3 in a row */

static uint8_t kstack[8192] __attribute__((aligned(16)));      /* TSS esp0 */
static uint8_t sestack[4096] __attribute__((aligned(16)));     /* SYSENTER_ESP */
static uint8_t ustack[8192] __attribute__((aligned(16)));

/* What the kernel side saw on each SYSENTER, and what ring 3 saw after SYSEXIT. */
volatile uint32_t k_cs, k_ss, k_esp, k_eflags, k_ecx, k_edx, k_count;
volatile uint32_t u_cs, u_ss, u_esp, u_eip_ok, u_eflags;

/* The SYSENTER entry point: record and return with SYSEXIT (EDX = EIP,
 * ECX = ESP, both left as the caller set them). */
__asm__(".text\n"
        ".globl sysenter_entry\n"
        "sysenter_entry:\n"
        "    movl %esp, k_esp\n"
        "    movl %ecx, k_ecx\n"
        "    movl %edx, k_edx\n"
        "    pushl %eax\n"
        "    movw %cs, %ax\n"
        "    movzwl %ax, %eax\n"
        "    movl %eax, k_cs\n"
        "    movw %ss, %ax\n"
        "    movzwl %ax, %eax\n"
        "    movl %eax, k_ss\n"
        "    pushfl\n"
        "    popl %eax\n"
        "    movl %eax, k_eflags\n"
        "    incl k_count\n"
        "    popl %eax\n"
        "    sysexit\n"
        /* Ring 0 -> ring 3 by SYSEXIT: void sysexit_to_user(fn, user_esp). */
        ".globl sysexit_to_user\n"
        "sysexit_to_user:\n"
        "    pushal\n"
        "    movl %esp, sysexit_kernel_esp\n"
        "    movl 36(%esp), %edx\n"
        "    movl 40(%esp), %ecx\n"
        "    movw $0x4B, %ax\n"
        "    movw %ax, %ds\n"
        "    movw %ax, %es\n"
        "    sti\n"
        "    sysexit\n"
        ".globl sysexit_back\n"
        "sysexit_back:\n"
        "    movl sysexit_kernel_esp, %esp\n"
        "    movw $0x10, %ax\n"
        "    movw %ax, %ds\n"
        "    movw %ax, %es\n"
        "    movw %ax, %fs\n"
        "    movw %ax, %gs\n"
        "    cli\n"
        "    popal\n"
        "    ret\n"
        ".data\n"
        "sysexit_kernel_esp: .long 0\n"
        ".text\n");
void sysenter_entry(void);
void sysexit_to_user(void (*fn)(void), uint32_t user_esp);
void sysexit_back(void) __attribute__((noreturn));

static void sys_exit_handler(struct int_frame *f)
{
    (void)f;
    sysexit_back();
}

static volatile struct {
    uint32_t count, ret_eip_ok, esp_same, ebx_kept;
    int gp_sysexit_hit;
    uint32_t gp_sysexit_vec, gp_sysexit_err;
    int gp_cs0_hit;
    uint32_t gp_cs0_vec, gp_cs0_err, gp_cs0_eip_ok;
} u;

static void user_main(void)
{
    uint32_t v;
    __asm__ volatile("movw %%cs, %w0" : "=r"(v));
    u_cs = v & 0xFFFF;
    __asm__ volatile("movw %%ss, %w0" : "=r"(v));
    u_ss = v & 0xFFFF;
    __asm__ volatile("movl %%esp, %0" : "=r"(v));
    u_esp = v;
    u_eflags = read_eflags();

    /* Round trip: SYSENTER with ECX = ESP, EDX = the return address. */
    uint32_t esp_before, esp_after, ret_at, ebx = 0x5EB0;
    __asm__ volatile("movl %%esp, %[before]\n\t"
                     "movl %%esp, %%ecx\n\t"
                     "movl $1f, %%edx\n\t"
                     "movl %%edx, %[ret]\n\t"
                     "sysenter\n"
                     "1:\n\t"
                     "movl %%esp, %[after]\n\t"
                     : [before] "=m"(esp_before), [after] "=m"(esp_after), [ret] "=m"(ret_at), "+b"(ebx)
                     : : "ecx", "edx", "memory");
    u.ret_eip_ok = k_edx == ret_at;
    u.esp_same = esp_before == esp_after && k_ecx == esp_before;
    u.ebx_kept = ebx == 0x5EB0;
    for (int i = 0; i < 50; i++)
        __asm__ volatile("movl %%esp, %%ecx\n\tmovl $1f, %%edx\n\tsysenter\n1:" : : : "ecx", "edx", "memory");
    u.count = k_count;

    /* SYSEXIT at CPL 3: #GP(0). */
    catch_reset();
    __asm__ volatile(CATCH_ASM("sysexit") : : : "memory");
    u.gp_sysexit_hit = caught.hit;
    u.gp_sysexit_vec = caught.vector;
    u.gp_sysexit_err = caught.error;

    /* SYSENTER_CS = 0 (written by the kernel before this): #GP(0). */
    __asm__ volatile("int $0x81" : : : "memory");
    catch_reset();
    __asm__ volatile(CATCH_ASM("sysenter") : : : "memory");
    u.gp_cs0_hit = caught.hit;
    u.gp_cs0_vec = caught.vector;
    u.gp_cs0_err = caught.error;
    u.gp_cs0_eip_ok = caught.eip == catch_insn;
    __asm__ volatile("int $0x80" : : : "memory");
    for (;;)
        ;
}

static void zero_cs_handler(struct int_frame *f)
{
    (void)f;
    wrmsr(MSR_SYSENTER_CS, 0);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    static struct tss32 tss;
    tss_install(&tss, SEL_TSS, TSS_LIMIT_NOIO, (uint32_t)(kstack + sizeof(kstack)));
    /* The GDT entries SYSENTER/SYSEXIT imply (they are not read, but an
     * IRET back to ring 3 would read them). */
    gdt_set_seg(SE_BASE, 0, 0xFFFFF, 0x9A, 0xC);
    gdt_set_seg(SE_BASE + 8, 0, 0xFFFFF, 0x92, 0xC);
    gdt_set_seg(SE_BASE + 16, 0, 0xFFFFF, 0xFA, 0xC);
    gdt_set_seg(SE_BASE + 24, 0, 0xFFFFF, 0xF2, 0xC);
    idt_set_handler(0x80, sys_exit_handler);
    idt_set_dpl(0x80, 3);
    idt_set_handler(0x81, zero_cs_handler);
    idt_set_dpl(0x81, 3);

    /* CPUID.1:EDX.SEP: a family-6 CPU of model >= 3 with SEP has SYSENTER
     * (the Pentium Pro's SEP bit is a known lie). */
    uint32_t id[4];
    cpuid(1, 0, id);
    uint32_t family = (id[0] >> 8) & 0xF, model = (id[0] >> 4) & 0xF, stepping = id[0] & 0xF;
    check("cpuid_sep_advertised", (id[3] & (1u << 11)) && !(family == 6 && model < 3 && stepping < 3),
          "CPUID.1 eax %x edx %x: SYSENTER/SYSEXIT not advertised", id[0], id[3]);

    /* SYSENTER_CS = 0 at CPL 0: #GP(0). */
    wrmsr(MSR_SYSENTER_CS, 0);
    __asm__ volatile(CATCH_ASM("sysenter") : : : "memory");
    check("sysenter_cs0_gp_ring0", caught.hit == 1 && caught.vector == 13 && caught.error == 0 &&
                                       caught.eip == catch_insn,
          "hit %d vector %u error %x", caught.hit, caught.vector, caught.error);
    catch_reset();
    __asm__ volatile(CATCH_ASM("sysexit") : : : "memory");
    check("sysexit_cs0_gp", caught.hit == 1 && caught.vector == 13 && caught.error == 0,
          "hit %d vector %u error %x", caught.hit, caught.vector, caught.error);
    catch_reset();

    wrmsr(MSR_SYSENTER_CS, SE_BASE);
    wrmsr(MSR_SYSENTER_ESP, (uint32_t)(sestack + sizeof(sestack)));
    wrmsr(MSR_SYSENTER_EIP, (uint32_t)sysenter_entry);
    check("sysenter_msrs_read_back",
          rdmsr(MSR_SYSENTER_CS) == SE_BASE && rdmsr(MSR_SYSENTER_ESP) == (uint32_t)(sestack + sizeof(sestack)) &&
              rdmsr(MSR_SYSENTER_EIP) == (uint32_t)sysenter_entry,
          "cs %llx esp %llx eip %llx", (unsigned long long)rdmsr(MSR_SYSENTER_CS),
          (unsigned long long)rdmsr(MSR_SYSENTER_ESP), (unsigned long long)rdmsr(MSR_SYSENTER_EIP));

    uint32_t user_top = (uint32_t)(ustack + sizeof(ustack));
    sysexit_to_user(user_main, user_top);
    pass("back_from_user_mode");

    check("sysexit_cs_ss_rpl3", u_cs == ((SE_BASE + 16) | 3) && u_ss == ((SE_BASE + 24) | 3),
          "cs %x ss %x (want %x %x)", u_cs, u_ss, (SE_BASE + 16) | 3, (SE_BASE + 24) | 3);
    check("sysexit_esp_from_ecx", u_esp <= user_top && u_esp > user_top - 256, "esp %x (top %x)", u_esp, user_top);
    check("sysexit_keeps_eflags", (u_eflags & 0x200) != 0, "eflags %x", u_eflags);
    check("sysenter_cs_ss", k_cs == SE_BASE && k_ss == SE_BASE + 8, "cs %x ss %x (want %x %x)", k_cs, k_ss,
          SE_BASE, SE_BASE + 8);
    check("sysenter_esp_from_msr", k_esp == (uint32_t)(sestack + sizeof(sestack)), "esp %x", k_esp);
    check("sysenter_clears_if", (k_eflags & 0x200) == 0, "eflags %x", k_eflags);
    check("sysexit_eip_from_edx", u.ret_eip_ok, "edx at entry %x", k_edx);
    check("sysexit_esp_round_trip", u.esp_same, "ecx at entry %x", k_ecx);
    check("sysenter_keeps_other_regs", u.ebx_kept, "ebx changed");
    check("sysenter_repeated", u.count == 51, "count %u", u.count);
    check("sysexit_cpl3_gp", u.gp_sysexit_hit == 1 && u.gp_sysexit_vec == 13 && u.gp_sysexit_err == 0,
          "hit %d vector %u error %x", u.gp_sysexit_hit, u.gp_sysexit_vec, u.gp_sysexit_err);
    check("sysenter_cs0_gp_ring3", u.gp_cs0_hit == 1 && u.gp_cs0_vec == 13 && u.gp_cs0_err == 0 && u.gp_cs0_eip_ok,
          "hit %d vector %u error %x eip ok %u", u.gp_cs0_hit, u.gp_cs0_vec, u.gp_cs0_err, u.gp_cs0_eip_ok);
    return test_finish();
}

/* Call gates and conforming code: ring 3 calls ring 0 through a call gate
 * with three parameters (stack switch through the TSS, parameters copied,
 * RETF imm removing them from both stacks, data segments above the new CPL
 * nulled on the return), a same-privilege call through a gate, a conforming
 * segment called from ring 3 (CPL stays 3, no stack switch), and the #GP/#NP
 * cases of far calls from ring 3. */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "callgate";

#define GATE3   SEL_SPARE(0)     /* DPL 3 -> ring 0 code, 3 parameters */
#define GATE0   SEL_SPARE(1)     /* DPL 0 gate */
#define GATENP  SEL_SPARE(2)     /* DPL 3, not present */
#define CONF    SEL_SPARE(3)     /* conforming code, DPL 0 */
#define GATESP  SEL_SPARE(4)     /* DPL 0 gate for the same-privilege call */

static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));

/* Ring-0 side of the gate: copy the frame, null-able ES, RETF 12. */
volatile uint32_t g_frame[7], g_esp, g_cs, g_ss, g_count;
volatile uint32_t c_cs, c_ss, c_esp, c_ret_cs;
volatile uint32_t s_frame[5], s_esp;
__asm__(".text\n"
        ".globl gate_target\n"
        "gate_target:\n"
        "    movl %esp, g_esp\n"
        "    pushl %eax\n"
        "    pushl %ecx\n"
        "    movl $0, %ecx\n"
        "1:  movl 8(%esp,%ecx,4), %eax\n"
        "    movl %eax, g_frame(,%ecx,4)\n"
        "    incl %ecx\n"
        "    cmpl $7, %ecx\n"
        "    jne 1b\n"
        "    movw %cs, %ax\n"
        "    movzwl %ax, %eax\n"
        "    movl %eax, g_cs\n"
        "    movw %ss, %ax\n"
        "    movzwl %ax, %eax\n"
        "    movl %eax, g_ss\n"
        "    incl g_count\n"
        "    movw $0x10, %ax\n"           /* DPL 0 data: must not survive the return to ring 3 */
        "    movw %ax, %es\n"
        "    popl %ecx\n"
        "    popl %eax\n"
        "    lret $12\n"
        ".globl conf_target\n"
        "conf_target:\n"
        "    movl %esp, c_esp\n"
        "    pushl %eax\n"
        "    movw %cs, %ax\n"
        "    movzwl %ax, %eax\n"
        "    movl %eax, c_cs\n"
        "    movw %ss, %ax\n"
        "    movzwl %ax, %eax\n"
        "    movl %eax, c_ss\n"
        "    movl 8(%esp), %eax\n"
        "    movl %eax, c_ret_cs\n"
        "    popl %eax\n"
        "    lret\n"
        ".globl same_target\n"
        "same_target:\n"
        "    movl %esp, s_esp\n"
        "    pushl %eax\n"
        "    pushl %ecx\n"
        "    movl $0, %ecx\n"
        "1:  movl 8(%esp,%ecx,4), %eax\n"
        "    movl %eax, s_frame(,%ecx,4)\n"
        "    incl %ecx\n"
        "    cmpl $5, %ecx\n"
        "    jne 1b\n"
        "    popl %ecx\n"
        "    popl %eax\n"
        "    lret $12\n");
void gate_target(void);
void conf_target(void);
void same_target(void);

static volatile struct {
    uint32_t esp_before, esp_after, ret_eip, es_after, ds_after, cs_after, calls;
    uint32_t conf_esp_before, conf_ret_eip;
    struct { int hit; uint32_t vector, error, eip_ok; } r[4];
} u;

static void record(int i)
{
    u.r[i].hit = caught.hit;
    u.r[i].vector = caught.vector;
    u.r[i].error = caught.error;
    u.r[i].eip_ok = caught.eip == catch_insn;
    catch_reset();
}

enum { R_GATE_DPL0, R_DIRECT_RING0, R_GATE_NP, R_CONF_CLI };

static void sys_exit_handler(struct int_frame *f)
{
    (void)f;
    ring3_leave();
}

static void user_main(void)
{
    uint32_t es, ds, cs;
    __asm__ volatile("movl %%esp, %[before]\n\t"
                     "pushl $0x33333333\n\t"
                     "pushl $0x22222222\n\t"
                     "pushl $0x11111111\n\t"
                     "movl $1f, %[ret]\n\t"
                     "lcall %[gate], $0\n"
                     "1:\n\t"
                     "movl %%esp, %[after]\n\t"
                     "movw %%es, %%ax\n\t"
                     "movzwl %%ax, %[es]\n\t"
                     "movw %%ds, %%ax\n\t"
                     "movzwl %%ax, %[ds]\n\t"
                     "movw %%cs, %%ax\n\t"
                     "movzwl %%ax, %[cs]\n\t"
                     "movw $0x4B, %%ax\n\t"
                     "movw %%ax, %%es\n\t"
                     : [before] "=m"(u.esp_before), [after] "=m"(u.esp_after), [ret] "=m"(u.ret_eip),
                       [es] "=r"(es), [ds] "=r"(ds), [cs] "=r"(cs)
                     : [gate] "i"(GATE3 | 3) : "eax", "memory");
    u.es_after = es;
    u.ds_after = ds;
    u.cs_after = cs;
    for (int i = 0; i < 20; i++)
        __asm__ volatile("pushl $3\n\tpushl $2\n\tpushl $1\n\tlcall %[gate], $0\n\tmovw $0x4B, %%ax\n\tmovw %%ax, %%es"
                         : : [gate] "i"(GATE3 | 3) : "eax", "memory");
    u.calls = g_count;

    __asm__ volatile("movl %%esp, %[before]\n\t"
                     "movl $1f, %[ret]\n\t"
                     "lcall %[conf], $conf_target\n"
                     "1:\n\t"
                     : [before] "=m"(u.conf_esp_before), [ret] "=m"(u.conf_ret_eip)
                     : [conf] "i"(CONF) : "memory");

    __asm__ volatile(CATCH_ASM("lcall %[gate], $0") : : [gate] "i"(GATE0 | 3) : "memory");
    record(R_GATE_DPL0);
    __asm__ volatile(CATCH_ASM("lcall %[sel], $gate_target") : : [sel] "i"(SEL_CODE32) : "memory");
    record(R_DIRECT_RING0);
    __asm__ volatile(CATCH_ASM("lcall %[gate], $0") : : [gate] "i"(GATENP | 3) : "memory");
    record(R_GATE_NP);
    __asm__ volatile("int $0x80" : : : "memory");
    for (;;)
        ;
}

static void expect_user(int i, const char *name, uint32_t vector, uint32_t error)
{
    check(name, u.r[i].hit == 1 && u.r[i].vector == vector && u.r[i].error == error && u.r[i].eip_ok,
          "hit %d vector %u error %x eip at insn %u (want %u/%x)", u.r[i].hit, u.r[i].vector, u.r[i].error,
          u.r[i].eip_ok, vector, error);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    static struct tss32 tss;
    uint32_t esp0 = (uint32_t)(kstack + sizeof(kstack));
    tss_install(&tss, SEL_TSS, TSS_LIMIT_NOIO, esp0);
    gdt_set_gate(GATE3, SEL_CODE32, (uint32_t)gate_target, ACC_CALL_GATE | ACC_DPL(3), 3);
    gdt_set_gate(GATE0, SEL_CODE32, (uint32_t)gate_target, ACC_CALL_GATE, 3);
    gdt_set_gate(GATENP, SEL_CODE32, (uint32_t)gate_target, (ACC_CALL_GATE & 0x7F) | ACC_DPL(3), 3);
    gdt_set_gate(GATESP, SEL_CODE32, (uint32_t)same_target, ACC_CALL_GATE, 3);
    gdt_set_seg(CONF, 0, 0xFFFFF, 0x9E, 0xC);
    idt_set_handler(0x80, sys_exit_handler);
    idt_set_dpl(0x80, 3);

    /* Same privilege through a gate: no stack switch, no parameter copy. */
    uint32_t before, after, ret;
    __asm__ volatile("movl %%esp, %[before]\n\t"
                     "movl $1f, %[ret]\n\t"          /* before the pushes: %[ret] may be ESP-relative */
                     "pushl $0xC3\n\tpushl $0xB2\n\tpushl $0xA1\n\t"
                     "lcall %[gate], $0\n"
                     "1:\n\t"
                     "movl %%esp, %[after]\n\t"
                     : [before] "=m"(before), [after] "=m"(after), [ret] "=m"(ret)
                     : [gate] "i"(GATESP) : "memory");
    check("gate_same_privilege_frame",
          s_esp == before - 20 && s_frame[0] == ret && s_frame[1] == SEL_CODE32 && s_frame[2] == 0xA1 &&
              s_frame[3] == 0xB2 && s_frame[4] == 0xC3,
          "esp %x (before %x) frame %x %x %x %x %x", s_esp, before, s_frame[0], s_frame[1], s_frame[2],
          s_frame[3], s_frame[4]);
    check("gate_same_privilege_retf_imm", after == before, "esp %x after, %x before", after, before);

    ring3_enter(user_main, (uint32_t)(ustack + sizeof(ustack)), 0x202);
    cli();
    pass("back_from_user_mode");

    uint32_t ucaller = u.esp_before - 12;
    check("gate_ring0_cpl_and_ss", g_cs == SEL_CODE32 && g_ss == SEL_DATA32, "cs %x ss %x", g_cs, g_ss);
    check("gate_stack_switch_tss_esp0", g_esp == esp0 - 28, "esp %x (esp0 %x)", g_esp, esp0);
    check("gate_frame_return_address", g_frame[0] != 0 && g_frame[1] == (SEL_UCODE32 | 3),
          "eip %x cs %x", g_frame[0], g_frame[1]);
    check("gate_params_copied", g_frame[2] == 1 && g_frame[3] == 2 && g_frame[4] == 3,
          "params %x %x %x", g_frame[2], g_frame[3], g_frame[4]);
    check("gate_outer_ss_esp", g_frame[5] == ucaller && g_frame[6] == (SEL_UDATA32 | 3),
          "esp %x ss %x (want %x %x)", g_frame[5], g_frame[6], ucaller, SEL_UDATA32 | 3);
    check("gate_retf_imm_pops_outer_params", u.esp_after == u.esp_before, "esp %x after, %x before",
          u.esp_after, u.esp_before);
    check("gate_retf_back_to_ring3", u.cs_after == (SEL_UCODE32 | 3), "cs %x", u.cs_after);
    check("gate_retf_nulls_dpl0_es", u.es_after == 0 && u.ds_after == (SEL_UDATA32 | 3), "es %x ds %x",
          u.es_after, u.ds_after);
    check("gate_repeated", u.calls == 21, "calls %u", u.calls);
    check("conforming_cpl_stays_3", c_cs == (CONF | 3) && c_ss == (SEL_UDATA32 | 3), "cs %x ss %x", c_cs, c_ss);
    check("conforming_no_stack_switch", c_esp == u.conf_esp_before - 8 && c_ret_cs == (SEL_UCODE32 | 3),
          "esp %x (caller %x) pushed cs %x", c_esp, u.conf_esp_before, c_ret_cs);
    expect_user(R_GATE_DPL0, "gate_dpl0_from_ring3_gp", 13, GATE0);
    expect_user(R_DIRECT_RING0, "far_call_ring0_code_gp", 13, SEL_CODE32);
    expect_user(R_GATE_NP, "gate_not_present_np", 11, GATENP);
    return test_finish();
}

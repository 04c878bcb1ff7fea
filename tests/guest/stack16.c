/* Stack operations on 16-bit stack segments (SS.B=0) in protected mode at
 * CPL 0: PUSH/POP of general and segment registers (SP/ESP included),
 * PUSHA/POPA in both sizes, PUSH/POP r/m with ESP-based addresses, PUSH
 * imm, PUSHF/POPF, ENTER/LEAVE with nesting levels, near and far CALL/RET,
 * INT/exceptions and IRET through 32- and 16-bit gates, from 32-bit and
 * 16-bit code.  SP wraps at 64 KiB while ESP[31:16] stays, also when the
 * segment limit is above 64 KiB; POP SS between 16- and 32-bit stacks moves
 * ESP by the stack it popped from.
 *
 * Each probe is a short piece of code entered with every register set
 * (struct probe_state) on SS:ESP = one of the stack segments below, all based at
 * STK_BASE; it ends by jumping to probe_exit, which records the registers,
 * SS and EFLAGS.  The C side checks those and the stack memory through its
 * linear address. */
#include "gdt.h"
#include "io.h"
#include "printf.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "stack16";

#define STK_BASE   0x00400000u    /* linear base of every stack segment here */
#define STK_SPAN   0x00030000u    /* bytes of it the tests touch */
#define SCRATCH    0x8000u        /* SS offset probe_exit and handlers write */

#define SEL_SS16   SEL_SPARE(0)   /* 16-bit stack, limit 0xFFFF */
#define SEL_SS16B  SEL_SPARE(1)   /* 16-bit stack, limit 0xFFFFF (SP still wraps at 64 KiB) */
#define SEL_SS32   SEL_SPARE(2)   /* 32-bit stack, limit 0xFFFFF */
#define SEL_C16    SEL_SPARE(3)   /* 16-bit code, based at probe16_base */
#define SEL_D16X   SEL_SPARE(4)   /* a data segment to pop into DS/ES/FS/GS */
#define SEL_BAD    0xFFF8u        /* beyond the GDT limit: #GP(0xFFF8) */

/* A probe's registers: in, what it starts with (ss: the stack segment's
 * selector); out, what it ended with. */
struct probe_state {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, ss, eflags;
};

struct probe_state probe_in, probe_out;
struct __attribute__((packed)) { uint32_t off; uint16_t sel; } probe_far, saved_stack;

void run_probe(void);
extern char probe16_base[];

/* The runner, the probes and their handlers.  32-bit probes are named p_*,
 * 16-bit ones q_* (in the 16-bit code segment at probe16_base). */
__asm__(
    ".text\n"
    ".globl run_probe\n"
    "run_probe:\n"
    "    pushal\n"
    "    pushfl\n"
    "    movl %esp, saved_stack\n"
    "    movw %ss, saved_stack+4\n"
    "    pushl probe_in+36\n"
    "    popfl\n"
    "    movw probe_in+32, %ax\n"
    "    movw %ax, %ss\n"
    "    movl probe_in+16, %esp\n"
    "    movl probe_in+4, %ecx\n"
    "    movl probe_in+8, %edx\n"
    "    movl probe_in+12, %ebx\n"
    "    movl probe_in+20, %ebp\n"
    "    movl probe_in+24, %esi\n"
    "    movl probe_in+28, %edi\n"
    "    movl probe_in+0, %eax\n"
    "    ljmp *probe_far\n"
    "probe_exit:\n"                 /* DS may be anything; SS is a stack based at STK_BASE */
    "    movl %eax, %ss:0x8000\n"
    "    movw $0x10, %ax\n"
    "    movw %ax, %ds\n"
    "    movw %ax, %es\n"
    "    movw %ax, %fs\n"
    "    movw %ax, %gs\n"
    "    movl %ss:0x8000, %eax\n"
    "    movl %eax, probe_out\n"
    "    movl %ecx, probe_out+4\n"
    "    movl %edx, probe_out+8\n"
    "    movl %ebx, probe_out+12\n"
    "    movl %esp, probe_out+16\n"
    "    movl %ebp, probe_out+20\n"
    "    movl %esi, probe_out+24\n"
    "    movl %edi, probe_out+28\n"
    "    movl $0, probe_out+32\n"
    "    movw %ss, probe_out+32\n"
    "    lss saved_stack, %esp\n"
    "    pushfl\n"
    "    popl probe_out+36\n"
    "    popfl\n"
    "    popal\n"
    "    ret\n"

    /* ---- 32-bit probes ---- */
    "p_push_eax:   pushl %eax\n      jmp probe_exit\n"
    "p_push_ax:    pushw %ax\n       jmp probe_exit\n"
    "p_pop_ecx:    popl %ecx\n       jmp probe_exit\n"
    "p_pop_cx:     popw %cx\n        jmp probe_exit\n"
    "p_push_esp:   pushl %esp\n      jmp probe_exit\n"
    "p_push_sp:    pushw %sp\n       jmp probe_exit\n"
    "p_pop_esp:    popl %esp\n       jmp probe_exit\n"
    "p_pop_sp:     popw %sp\n        jmp probe_exit\n"
    "p_pushal:     pushal\n          jmp probe_exit\n"
    "p_popal:      popal\n           jmp probe_exit\n"
    "p_pushaw:     pushaw\n          jmp probe_exit\n"
    "p_popaw:      popaw\n           jmp probe_exit\n"
    "p_push_ds32:  pushl %ds\n       jmp probe_exit\n"
    "p_push_ds16:  pushw %ds\n       jmp probe_exit\n"
    "p_push_cs32:  pushl %cs\n       jmp probe_exit\n"
    "p_push_ss32:  pushl %ss\n       jmp probe_exit\n"
    "p_push_fs16:  pushw %fs\n       jmp probe_exit\n"
    "p_push_gs32:  pushl %gs\n       jmp probe_exit\n"
    "p_pop_es32:   popl %es\n        movl %es, %ebx\n  jmp probe_exit\n"
    "p_pop_ds16:   popw %ds\n        movl %ds, %ebx\n  jmp probe_exit\n"
    "p_pop_fs32:   popl %fs\n        movl %fs, %ebx\n  jmp probe_exit\n"
    "p_pop_gs16:   popw %gs\n        movl %gs, %ebx\n  jmp probe_exit\n"
    "p_pop_ss32:   popl %ss\n        jmp probe_exit\n"
    "p_pop_ss16:   popw %ss\n        jmp probe_exit\n"
    "p_push_m_esp: pushl 4(%esp)\n   jmp probe_exit\n"
    "p_pushw_m_esp: pushw 2(%esp)\n  jmp probe_exit\n"
    "p_pop_m_esp:  popl 4(%esp)\n    jmp probe_exit\n"
    "p_popw_m_esp: popw 2(%esp)\n    jmp probe_exit\n"
    "p_pop_m_ebx:  popl (%ebx)\n     jmp probe_exit\n"
    "p_push_imm8:  pushl $-128\n     jmp probe_exit\n"
    "p_pushw_imm8: pushw $-128\n     jmp probe_exit\n"
    "p_push_imm32: pushl $0x11223344\n jmp probe_exit\n"
    "p_push_imm16: pushw $0x5566\n   jmp probe_exit\n"
    "p_pushfl:     pushfl\n          jmp probe_exit\n"
    "p_pushfw:     pushfw\n          jmp probe_exit\n"
    "p_popfl:      popfl\n           jmp probe_exit\n"
    "p_popfw:      popfw\n           jmp probe_exit\n"
    "p_enter_l3:   enterl $8, $3\n   jmp probe_exit\n"
    "p_enter_l0:   enterl $0x20, $0\n jmp probe_exit\n"
    "p_enterw_l2:  enterw $6, $2\n   jmp probe_exit\n"
    "p_leave:      leavel\n          jmp probe_exit\n"
    "p_leavew:     leavew\n          jmp probe_exit\n"
    "p_call:       call p_near_fn\n  jmp probe_exit\n"
    "p_near_fn:    movl %esp, %ss:0x8004\n  ret $4\n"
    "p_call_ind:   call *%edx\n      jmp probe_exit\n"
    "p_callf:      pushl $0x1234\n   lcall $0x08, $p_far_fn\n  jmp probe_exit\n"
    "p_far_fn:     movl %esp, %ss:0x8004\n  lret $4\n"
    "p_int41:      int $0x41\n       jmp probe_exit\n"
    "p_ud2:        ud2\n             jmp probe_exit\n"
    "p_gp:         movw $0xfff8, %ax\n"
    "p_gp_insn:    movl %eax, %ds\n   jmp probe_exit\n"
    /* handlers, through 32-bit interrupt gates to CS 0x08 */
    "h_int41:      movl %esp, %ss:0x8004\n  iretl\n"
    "h_ud:         movl %esp, %ss:0x8004\n  addl $2, %ss:(%esp)\n  iretl\n"
    "h_gp:         movl %esp, %ss:0x8004\n  popl %ss:0x8008\n  addl $2, %ss:(%esp)\n  iretl\n"

    /* ---- 16-bit code (CS.D=0), offsets from probe16_base ---- */
    ".balign 16\n"
    ".globl probe16_base\n"
    "probe16_base:\n"
    ".code16\n"
    "q_push_ax:    pushw %ax\n       ljmpl $0x08, $probe_exit\n"
    "q_push_eax:   pushl %eax\n      ljmpl $0x08, $probe_exit\n"
    "q_pop_cx:     popw %cx\n        ljmpl $0x08, $probe_exit\n"
    "q_pushaw:     pushaw\n          ljmpl $0x08, $probe_exit\n"
    "q_popal:      popal\n           ljmpl $0x08, $probe_exit\n"
    "q_call:       callw q_near_fn\n  ljmpl $0x08, $probe_exit\n"
    "q_near_fn:    movl %esp, %ss:0x8004\n  retw\n"
    "q_enter:      enterw $4, $2\n   ljmpl $0x08, $probe_exit\n"
    "q_int42:      int $0x42\n       ljmpl $0x08, $probe_exit\n"
    "h_int42:      movl %esp, %ss:0x8004\n  iretw\n"
    ".code32\n");

extern char p_push_eax[], p_push_ax[], p_pop_ecx[], p_pop_cx[], p_push_esp[], p_push_sp[],
    p_pop_esp[], p_pop_sp[], p_pushal[], p_popal[], p_pushaw[], p_popaw[], p_push_ds32[],
    p_push_ds16[], p_push_cs32[], p_push_ss32[], p_push_fs16[], p_push_gs32[], p_pop_es32[],
    p_pop_ds16[], p_pop_fs32[], p_pop_gs16[], p_pop_ss32[], p_pop_ss16[], p_push_m_esp[],
    p_pushw_m_esp[], p_pop_m_esp[], p_popw_m_esp[], p_pop_m_ebx[], p_push_imm8[],
    p_pushw_imm8[], p_push_imm32[], p_push_imm16[], p_pushfl[], p_pushfw[], p_popfl[],
    p_popfw[], p_enter_l3[], p_enter_l0[], p_enterw_l2[], p_leave[], p_leavew[], p_call[],
    p_call_ind[], p_near_fn[], p_callf[], p_int41[], p_ud2[], p_gp[], p_gp_insn[], h_int41[],
    h_ud[], h_gp[];
extern char q_push_ax[], q_push_eax[], q_pop_cx[], q_pushaw[], q_popal[], q_call[], q_enter[],
    q_int42[], h_int42[];

/* ---- stack memory, by SS offset ---- */
static volatile uint8_t *const stk = (volatile uint8_t *)STK_BASE;

static uint32_t get32(uint32_t off)
{
    return stk[off] | stk[off + 1] << 8 | stk[off + 2] << 16 | (uint32_t)stk[off + 3] << 24;
}

static uint16_t get16(uint32_t off)
{
    return (uint16_t)(stk[off] | stk[off + 1] << 8);
}

static void put32(uint32_t off, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        stk[off + k] = (uint8_t)(v >> (8 * k));
}

static void put16(uint32_t off, uint16_t v)
{
    stk[off] = (uint8_t)v;
    stk[off + 1] = (uint8_t)(v >> 8);
}

/* Every test starts from the same registers and a patterned stack. */
static void reset(uint32_t esp)
{
    for (uint32_t k = 0; k < STK_SPAN; k += 4)
        put32(k, 0xA5A50000u | (k & 0xFFFC));
    probe_in = (struct probe_state){ 0x11111111, 0x22222222, 0x33333333, 0x44444444, esp,
                                     0x66666666, 0x77777777, 0x88888888, 0, 0x2 };
}

/* Runs a 32-bit probe, or a 16-bit one (in probe16_base's segment). */
static void run(const char *entry, uint16_t ss)
{
    probe_in.ss = ss;
    probe_far.sel = SEL_CODE32;
    probe_far.off = (uint32_t)entry;
    run_probe();
}

static void run16(const char *entry, uint16_t ss)
{
    probe_in.ss = ss;
    probe_far.sel = SEL_C16;
    probe_far.off = (uint32_t)(entry - probe16_base);
    run_probe();
}

#define OUT probe_out

/* ---- IDT gates (raw, for handlers that run on the 16-bit stack) ---- */
static uint64_t *idt_base(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } p;
    __asm__ volatile("sidt %0" : "=m"(p));
    return (uint64_t *)p.base;
}

static uint64_t set_gate(uint8_t vector, uint16_t sel, uint32_t off, uint8_t type)
{
    uint64_t *idt = idt_base();
    uint64_t old = idt[vector];
    idt[vector] = (off & 0xFFFFu) | (uint64_t)sel << 16 | (uint64_t)(0x80u | type) << 40 |
                  (uint64_t)(off >> 16) << 48;
    return old;
}

/* ---- general registers ---- */
static void test_gpr(void)
{
    /* SP 0: the push wraps to 0xFFFC, ESP[31:16] stays. */
    reset(0x00020000);
    run(p_push_eax, SEL_SS16);
    check("push_r32_wraps_sp", OUT.esp == 0x0002FFFC && get32(0xFFFC) == 0x11111111,
          "esp %x [fffc] %x", OUT.esp, get32(0xFFFC));
    reset(0x00020000);
    run(p_push_ax, SEL_SS16);
    check("push_r16_wraps_sp", OUT.esp == 0x0002FFFE && get16(0xFFFE) == 0x1111 &&
                                   get16(0xFFFC) == 0xFFFC,
          "esp %x [fffc] %x", OUT.esp, get32(0xFFFC));
    reset(0x0002FFFC);
    put32(0xFFFC, 0xDEADBEEF);
    run(p_pop_ecx, SEL_SS16);
    check("pop_r32_wraps_sp", OUT.esp == 0x00020000 && OUT.ecx == 0xDEADBEEF, "esp %x ecx %x",
          OUT.esp, OUT.ecx);
    reset(0x1234FFFE);
    put16(0xFFFE, 0xBEEF);
    run(p_pop_cx, SEL_SS16);
    check("pop_r16_wraps_sp", OUT.esp == 0x12340000 && OUT.ecx == 0x2222BEEF, "esp %x ecx %x",
          OUT.esp, OUT.ecx);

    /* PUSH ESP pushes the value before the decrement, all 32 bits. */
    reset(0x00020000);
    run(p_push_esp, SEL_SS16);
    check("push_esp_value_before", OUT.esp == 0x0002FFFC && get32(0xFFFC) == 0x00020000,
          "esp %x [fffc] %x", OUT.esp, get32(0xFFFC));
    reset(0x00020004);
    run(p_push_sp, SEL_SS16);
    check("push_sp_value_before", OUT.esp == 0x00020002 && get16(0x0002) == 0x0004,
          "esp %x [2] %x", OUT.esp, get16(2));
    /* POP ESP loads the popped value; POP SP sets SP only. */
    reset(0x0002FFFC);
    put32(0xFFFC, 0x12345678);
    run(p_pop_esp, SEL_SS16);
    check("pop_esp_loads_value", OUT.esp == 0x12345678, "esp %x", OUT.esp);
    reset(0x0002FFFE);
    put16(0xFFFE, 0xABCD);
    run(p_pop_sp, SEL_SS16);
    check("pop_sp_loads_sp", OUT.esp == 0x0002ABCD, "esp %x", OUT.esp);

    /* A limit above 64 KiB: SP still wraps (the 32-bit fast paths must not
     * be taken: they would write at 0x1FFFC). */
    reset(0x00020000);
    run(p_push_eax, SEL_SS16B);
    check("push_r32_big_limit_uses_sp", OUT.esp == 0x0002FFFC && get32(0xFFFC) == 0x11111111 &&
                                             get32(0x1FFFC) == 0xA5A5FFFC,
          "esp %x [fffc] %x [1fffc] %x", OUT.esp, get32(0xFFFC), get32(0x1FFFC));
    reset(0x0002FFFC);
    put32(0xFFFC, 0xCAFEF00D);
    run(p_pop_ecx, SEL_SS16B);
    check("pop_r32_big_limit_uses_sp", OUT.esp == 0x00020000 && OUT.ecx == 0xCAFEF00D,
          "esp %x ecx %x", OUT.esp, OUT.ecx);
    /* The same on a 32-bit stack: ESP, no wrap. */
    reset(0x00020000);
    run(p_push_eax, SEL_SS32);
    check("push_r32_32bit_stack", OUT.esp == 0x0001FFFC && get32(0x1FFFC) == 0x11111111,
          "esp %x [1fffc] %x", OUT.esp, get32(0x1FFFC));
}

/* ---- PUSHA / POPA ---- */
static void test_pusha(void)
{
    /* SP 8: the eight slots wrap from 0x0004 down to 0xFFE8. */
    static const uint32_t off32[8] = { 0x0004, 0x0000, 0xFFFC, 0xFFF8, 0xFFF4, 0xFFF0, 0xFFEC, 0xFFE8 };
    reset(0x00050008);
    run(p_pushal, SEL_SS16);
    int ok = OUT.esp == 0x0005FFE8;
    const uint32_t *in = &probe_in.eax;
    for (int r = 0; r < 8; r++)
        ok = ok && get32(off32[r]) == in[r];
    check("pushad_wraps_sp", ok, "esp %x [4] %x [0] %x [fffc] %x [fff4] %x [ffe8] %x", OUT.esp,
          get32(4), get32(0), get32(0xFFFC), get32(0xFFF4), get32(0xFFE8));

    reset(0x0005FFE8);
    for (int r = 0; r < 8; r++)
        put32(off32[r], 0x01010101u * (uint32_t)(r + 1));
    run(p_popal, SEL_SS16);
    check("popad_wraps_sp", OUT.esp == 0x00050008 && OUT.eax == 0x01010101 &&
                                OUT.ecx == 0x02020202 && OUT.ebx == 0x04040404 &&
                                OUT.ebp == 0x06060606 && OUT.edi == 0x08080808,
          "esp %x eax %x ebx %x edi %x", OUT.esp, OUT.eax, OUT.ebx, OUT.edi);

    reset(0x00050004);
    run(p_pushaw, SEL_SS16);
    check("pushaw_wraps_sp", OUT.esp == 0x0005FFF4 && get16(0x0002) == 0x1111 &&
                                 get16(0x0000) == 0x2222 && get16(0xFFFE) == 0x3333 &&
                                 get16(0xFFFA) == 0x0004 && get16(0xFFF4) == 0x8888,
          "esp %x [2] %x [fffa] %x [fff4] %x", OUT.esp, get16(2), get16(0xFFFA), get16(0xFFF4));

    reset(0x0005FFF4);
    for (int r = 0; r < 8; r++)
        put16((0xFFF4u + 2u * (7u - (uint32_t)r)) & 0xFFFF, (uint16_t)(0x0101 * (r + 1)));
    run(p_popaw, SEL_SS16);
    check("popaw_wraps_sp", OUT.esp == 0x00050004 && OUT.eax == 0x11110101 &&
                                OUT.ebx == 0x44440404 && OUT.edi == 0x88880808,
          "esp %x eax %x ebx %x edi %x", OUT.esp, OUT.eax, OUT.ebx, OUT.edi);
}

/* ---- segment registers ---- */
static void test_sreg(void)
{
    uint16_t ds, cs, fs, gs;
    __asm__ volatile("movw %%ds, %0\n\tmovw %%cs, %1\n\tmovw %%fs, %2\n\tmovw %%gs, %3"
                     : "=r"(ds), "=r"(cs), "=r"(fs), "=r"(gs));
    /* A 32-bit push moves ESP by 4 and writes the selector in the low word
     * (the upper word is zero on some CPUs, unchanged on others). */
    reset(0x00020000);
    run(p_push_ds32, SEL_SS16);
    check("push_ds_32bit", OUT.esp == 0x0002FFFC && get16(0xFFFC) == ds, "esp %x [fffc] %x",
          OUT.esp, get32(0xFFFC));
    reset(0x00020000);
    run(p_push_ds16, SEL_SS16);
    check("push_ds_16bit", OUT.esp == 0x0002FFFE && get16(0xFFFE) == ds && get16(0xFFFC) == 0xFFFC,
          "esp %x [fffc] %x", OUT.esp, get32(0xFFFC));
    reset(0x00020000);
    run(p_push_cs32, SEL_SS16);
    check("push_cs_32bit", OUT.esp == 0x0002FFFC && get16(0xFFFC) == cs, "esp %x [fffc] %x",
          OUT.esp, get16(0xFFFC));
    reset(0x00020000);
    run(p_push_ss32, SEL_SS16);
    check("push_ss_32bit", OUT.esp == 0x0002FFFC && get16(0xFFFC) == SEL_SS16, "esp %x [fffc] %x",
          OUT.esp, get32(0xFFFC));
    reset(0x00020000);
    run(p_push_fs16, SEL_SS16);
    check("push_fs_16bit", OUT.esp == 0x0002FFFE && get16(0xFFFE) == fs, "esp %x [fffe] %x",
          OUT.esp, get16(0xFFFE));
    reset(0x00020000);
    run(p_push_gs32, SEL_SS16);
    check("push_gs_32bit", OUT.esp == 0x0002FFFC && get16(0xFFFC) == gs, "esp %x [fffc] %x",
          OUT.esp, get32(0xFFFC));

    /* A 32-bit pop reads 4 bytes and keeps the low 16. */
    reset(0x0002FFFC);
    put32(0xFFFC, 0xDEAD0000u | SEL_D16X);
    run(p_pop_es32, SEL_SS16);
    check("pop_es_32bit", OUT.esp == 0x00020000 && (OUT.ebx & 0xFFFF) == SEL_D16X, "esp %x es %x",
          OUT.esp, OUT.ebx);
    reset(0x0002FFFE);
    put16(0xFFFE, SEL_D16X);
    run(p_pop_ds16, SEL_SS16);
    check("pop_ds_16bit", OUT.esp == 0x00020000 && (OUT.ebx & 0xFFFF) == SEL_D16X, "esp %x ds %x",
          OUT.esp, OUT.ebx);
    reset(0x0002FFFC);
    put32(0xFFFC, 0xBEEF0000u | SEL_D16X);
    run(p_pop_fs32, SEL_SS16);
    check("pop_fs_32bit", OUT.esp == 0x00020000 && (OUT.ebx & 0xFFFF) == SEL_D16X, "esp %x fs %x",
          OUT.esp, OUT.ebx);
    reset(0x0002FFFE);
    put16(0xFFFE, SEL_D16X);
    run(p_pop_gs16, SEL_SS16);
    check("pop_gs_16bit", OUT.esp == 0x00020000 && (OUT.ebx & 0xFFFF) == SEL_D16X, "esp %x gs %x",
          OUT.esp, OUT.ebx);

    /* POP SS moves ESP by the stack it popped from, not by the new SS.B. */
    reset(0x0002FFFC);
    put32(0xFFFC, 0xDEAD0000u | SEL_SS32);
    run(p_pop_ss32, SEL_SS16);
    check("pop_ss_16bit_to_32bit_stack", OUT.esp == 0x00020000 && OUT.ss == SEL_SS32,
          "esp %x ss %x (want 20000 %x)", OUT.esp, OUT.ss, SEL_SS32);
    reset(0x0001FFFC);
    put32(0x1FFFC, SEL_SS16);
    run(p_pop_ss32, SEL_SS32);
    check("pop_ss_32bit_to_16bit_stack", OUT.esp == 0x00020000 && OUT.ss == SEL_SS16,
          "esp %x ss %x (want 20000 %x)", OUT.esp, OUT.ss, SEL_SS16);
    reset(0x0003FFFE);
    put16(0xFFFE, SEL_SS16B);
    run(p_pop_ss16, SEL_SS16);
    check("pop_ss_16bit_wraps_sp", OUT.esp == 0x00030000 && OUT.ss == SEL_SS16B,
          "esp %x ss %x", OUT.esp, OUT.ss);
}

/* ---- PUSH/POP r/m, immediates, flags ---- */
static void test_rm_imm_flags(void)
{
    /* PUSH [ESP+4]: the address uses ESP before the decrement. */
    reset(0x0000FFF8);
    put32(0xFFFC, 0x5A5A1234);
    run(p_push_m_esp, SEL_SS16);
    check("push_m_esp_based", OUT.esp == 0x0000FFF4 && get32(0xFFF4) == 0x5A5A1234,
          "esp %x [fff4] %x", OUT.esp, get32(0xFFF4));
    /* ... all 32 bits of ESP (limit above 64 KiB), while the push wraps SP. */
    reset(0x00020000);
    put32(0x20004, 0x600DF00D);
    run(p_push_m_esp, SEL_SS16B);
    check("push_m_esp_based_full_esp", OUT.esp == 0x0002FFFC && get32(0xFFFC) == 0x600DF00D,
          "esp %x [fffc] %x", OUT.esp, get32(0xFFFC));
    reset(0x00010000);
    put16(0x10002, 0x7788);
    run(p_pushw_m_esp, SEL_SS16B);
    check("pushw_m_esp_based", OUT.esp == 0x0001FFFE && get16(0xFFFE) == 0x7788,
          "esp %x [fffe] %x", OUT.esp, get16(0xFFFE));

    /* POP [ESP+4]: the address uses ESP after the increment, which wraps. */
    reset(0x0000FFFC);
    put32(0xFFFC, 0x0BADCAFE);
    run(p_pop_m_esp, SEL_SS16);
    check("pop_m_esp_based_after_wrap", OUT.esp == 0x00000000 && get32(0x0004) == 0x0BADCAFE,
          "esp %x [4] %x", OUT.esp, get32(4));
    reset(0x0002FFFC);
    put32(0xFFFC, 0x13572468);
    run(p_pop_m_esp, SEL_SS16B);
    check("pop_m_esp_based_keeps_esp_high", OUT.esp == 0x00020000 && get32(0x20004) == 0x13572468,
          "esp %x [20004] %x", OUT.esp, get32(0x20004));
    reset(0x0002FFFE);
    put16(0xFFFE, 0x9ABC);
    run(p_popw_m_esp, SEL_SS16B);
    check("popw_m_esp_based", OUT.esp == 0x00020000 && get16(0x20002) == 0x9ABC,
          "esp %x [20002] %x", OUT.esp, get16(0x20002));
    /* POP [reg] to DS: the destination is not on the stack. */
    static volatile uint32_t sink;
    reset(0x0002FFFC);
    put32(0xFFFC, 0x24681357);
    probe_in.ebx = (uint32_t)&sink;
    run(p_pop_m_ebx, SEL_SS16);
    check("pop_m_ds", OUT.esp == 0x00020000 && sink == 0x24681357, "esp %x sink %x", OUT.esp, sink);

    reset(0x00020000);
    run(p_push_imm8, SEL_SS16);
    check("push_imm8_32bit", OUT.esp == 0x0002FFFC && get32(0xFFFC) == 0xFFFFFF80, "esp %x [fffc] %x",
          OUT.esp, get32(0xFFFC));
    reset(0x00020000);
    run(p_pushw_imm8, SEL_SS16);
    check("push_imm8_16bit", OUT.esp == 0x0002FFFE && get32(0xFFFC) == 0xFF80FFFC, "esp %x [fffc] %x",
          OUT.esp, get32(0xFFFC));
    reset(0x00020000);
    run(p_push_imm32, SEL_SS16);
    check("push_imm32", OUT.esp == 0x0002FFFC && get32(0xFFFC) == 0x11223344, "esp %x [fffc] %x",
          OUT.esp, get32(0xFFFC));
    reset(0x00020000);
    run(p_push_imm16, SEL_SS16);
    check("push_imm16", OUT.esp == 0x0002FFFE && get16(0xFFFE) == 0x5566, "esp %x [fffe] %x",
          OUT.esp, get16(0xFFFE));

    reset(0x00020000);
    probe_in.eflags = 0x8D7;   /* OF SF ZF AF PF CF */
    run(p_pushfl, SEL_SS16);
    check("pushfd", OUT.esp == 0x0002FFFC && (get32(0xFFFC) & 0xFFF) == 0x8D7, "esp %x [fffc] %x",
          OUT.esp, get32(0xFFFC));
    reset(0x00020000);
    probe_in.eflags = 0x8D7;
    run(p_pushfw, SEL_SS16);
    check("pushf_16bit", OUT.esp == 0x0002FFFE && (get16(0xFFFE) & 0xFFF) == 0x8D7 &&
                             get16(0xFFFC) == 0xFFFC,
          "esp %x [fffc] %x", OUT.esp, get32(0xFFFC));
    reset(0x0002FFFC);
    put32(0xFFFC, 0x00000C95);   /* OF DF SF AF PF CF */
    run(p_popfl, SEL_SS16);
    check("popfd", OUT.esp == 0x00020000 && (OUT.eflags & 0xFD5) == 0xC95, "esp %x eflags %x",
          OUT.esp, OUT.eflags);
    reset(0x0002FFFE);
    put16(0xFFFE, 0x0841);     /* OF ZF CF */
    run(p_popfw, SEL_SS16);
    check("popf_16bit", OUT.esp == 0x00020000 && (OUT.eflags & 0xFD5) == 0x841, "esp %x eflags %x",
          OUT.esp, OUT.eflags);
}

/* ---- ENTER / LEAVE ---- */
static void test_enter_leave(void)
{
    /* ENTER 8, 3 from SP 8: the pushes wrap; FrameTemp is ESP after pushing
     * EBP, ESP[31:16] included, and is both the last push and EBP. */
    reset(0x00030008);
    probe_in.ebp = 0x00070044;
    put32(0x0040, 0xD15B0001);   /* [BP-4] */
    put32(0x003C, 0xD15B0002);   /* [BP-8] */
    run(p_enter_l3, SEL_SS16);
    uint32_t d1 = get32(0x0000), d2 = get32(0xFFFC), fp = get32(0xFFF8);
    check("enter_level3_pushes_wrap",
          get32(0x0004) == 0x00070044 && d1 == 0xD15B0001 && d2 == 0xD15B0002 &&
              fp == 0x00030004 && OUT.ebp == 0x00030004 && OUT.esp == 0x0003FFF0,
          "[4] %x display %x %x frame %x ebp %x esp %x", get32(4), d1, d2, fp, OUT.ebp, OUT.esp);
    /* ... from BP 4: the display is read at BP-4, BP-8 wrapped like SP. */
    reset(0x00030020);
    probe_in.ebp = 0x00070004;
    put32(0x0000, 0xD15B0003);
    put32(0xFFFC, 0xD15B0004);
    run(p_enter_l3, SEL_SS16);
    d1 = get32(0x0018), d2 = get32(0x0014), fp = get32(0x0010);
    check("enter_level3_display_wraps",
          get32(0x001C) == 0x00070004 && d1 == 0xD15B0003 && d2 == 0xD15B0004 &&
              fp == 0x0003001C && OUT.ebp == 0x0003001C && OUT.esp == 0x00030008,
          "[1c] %x display %x %x frame %x ebp %x esp %x", get32(0x1C), d1, d2, fp, OUT.ebp,
          OUT.esp);

    reset(0x00030000);
    probe_in.ebp = 0x12345678;
    run(p_enter_l0, SEL_SS16);
    check("enter_level0_16bit_stack", get32(0xFFFC) == 0x12345678 && OUT.ebp == 0x0003FFFC &&
                                          OUT.esp == 0x0003FFDC,
          "[fffc] %x ebp %x esp %x", get32(0xFFFC), OUT.ebp, OUT.esp);

    /* 16-bit operand size: word pushes, BP = SP after the first. */
    reset(0x00030004);
    probe_in.ebp = 0x55550010;
    put16(0x000E, 0xD15C);       /* [BP-2] */
    run(p_enterw_l2, SEL_SS16);
    check("enterw_level2_16bit_stack",
          get16(0x0002) == 0x0010 && get16(0x0000) == 0xD15C && get16(0xFFFE) == 0x0002 &&
              OUT.ebp == 0x55550002 && OUT.esp == 0x0003FFF8,
          "[2] %x [0] %x [fffe] %x ebp %x esp %x", get16(2), get16(0), get16(0xFFFE), OUT.ebp,
          OUT.esp);

    /* LEAVE: SP = BP (ESP[31:16] stays), then pop (E)BP with the wrap. */
    reset(0x00031234);
    probe_in.ebp = 0x0005FFFC;
    put32(0xFFFC, 0xB0B0CAFE);
    run(p_leave, SEL_SS16);
    check("leave_16bit_stack", OUT.esp == 0x00030000 && OUT.ebp == 0xB0B0CAFE, "esp %x ebp %x",
          OUT.esp, OUT.ebp);
    reset(0x00031234);
    probe_in.ebp = 0x0005FFFE;
    put16(0xFFFE, 0x4321);
    run(p_leavew, SEL_SS16);
    check("leavew_16bit_stack", OUT.esp == 0x00030000 && OUT.ebp == 0x00054321, "esp %x ebp %x",
          OUT.esp, OUT.ebp);
}

/* ---- CALL / RET, INT / IRET ---- */
static void test_call_ret_int(void)
{
    /* Near: the return address at SP-4 (wrapped), RET 4 back across the wrap. */
    reset(0x00020004);
    run(p_call, SEL_SS16B);
    uint32_t in_fn = get32(SCRATCH + 4);
    check("call_ret_near_16bit_stack",
          in_fn == 0x00020000 && get32(0x0000) == (uint32_t)p_call + 5 && OUT.esp == 0x00020008,
          "esp in fn %x [0] %x esp %x", in_fn, get32(0), OUT.esp);
    reset(0x00020002);
    probe_in.edx = (uint32_t)p_near_fn;
    run(p_call_ind, SEL_SS16B);
    in_fn = get32(SCRATCH + 4);
    check("call_indirect_16bit_stack", in_fn == 0x0002FFFE && get32(0xFFFE) == (uint32_t)p_call_ind + 2 &&
                                           OUT.esp == 0x00020006,
          "esp in fn %x [fffe] %x esp %x", in_fn, get32(0xFFFE), OUT.esp);

    /* Far: CS and EIP in dwords below a pushed parameter, RETF 4. */
    reset(0x00020000);
    run(p_callf, SEL_SS16);
    in_fn = get32(SCRATCH + 4);
    check("call_ret_far_16bit_stack",
          in_fn == 0x0002FFF4 && get32(0xFFFC) == 0x1234 && get16(0xFFF8) == SEL_CODE32 &&
              get32(0xFFF4) == (uint32_t)p_callf + 12 && OUT.esp == 0x00020000,
          "esp in fn %x [fffc] %x cs %x eip %x esp %x", in_fn, get32(0xFFFC), get16(0xFFF8),
          get32(0xFFF4), OUT.esp);

    /* INT n through a 32-bit gate: EFLAGS, CS, EIP at SP-4.. (wrapped), IRET back. */
    uint64_t old41 = set_gate(0x41, SEL_CODE32, (uint32_t)h_int41, 0x0E);
    reset(0x00020000);
    probe_in.eflags = 0x8C3;
    run(p_int41, SEL_SS16);
    in_fn = get32(SCRATCH + 4);
    check("int_iret_32bit_gate_16bit_stack",
          in_fn == 0x0002FFF4 && (get32(0xFFFC) & 0xFFF) == 0x8C3 && get16(0xFFF8) == SEL_CODE32 &&
              get32(0xFFF4) == (uint32_t)p_int41 + 2 && OUT.esp == 0x00020000 &&
              (OUT.eflags & 0x8C3) == 0x8C3,
          "esp in handler %x flags %x cs %x eip %x esp %x", in_fn, get32(0xFFFC), get16(0xFFF8),
          get32(0xFFF4), OUT.esp);
    idt_base()[0x41] = old41;

    /* #UD: the frame wraps from SP 8 (EIP lands at 0xFFFC); the handler
     * skips UD2 and IRET wraps back. */
    uint64_t old6 = set_gate(6, SEL_CODE32, (uint32_t)h_ud, 0x0E);
    reset(0x00000008);
    run(p_ud2, SEL_SS16);
    in_fn = get32(SCRATCH + 4);
    check("fault_iret_16bit_stack_wraps",
          in_fn == 0x0000FFFC && get32(0xFFFC) == (uint32_t)p_ud2 + 2 && get16(0x0000) == SEL_CODE32 &&
              OUT.esp == 0x00000008,
          "esp in handler %x eip %x cs %x esp %x", in_fn, get32(0xFFFC), get16(0), OUT.esp);
    idt_base()[6] = old6;

    /* #GP with an error code: four slots from SP 0x10. */
    uint64_t old13 = set_gate(13, SEL_CODE32, (uint32_t)h_gp, 0x0E);
    reset(0x00000010);
    run(p_gp, SEL_SS16);
    in_fn = get32(SCRATCH + 4);
    check("fault_error_code_16bit_stack",
          in_fn == 0x00000000 && get32(SCRATCH + 8) == SEL_BAD &&
              get32(0x0004) == (uint32_t)p_gp_insn + 2 && OUT.esp == 0x00000010,
          "esp in handler %x error %x eip %x esp %x", in_fn, get32(SCRATCH + 8), get32(4), OUT.esp);
    idt_base()[13] = old13;
}

/* ---- 16-bit code (CS.D=0) on the 16-bit stack ---- */
static void test_code16(void)
{
    reset(0x00020000);
    run16(q_push_ax, SEL_SS16);
    check("code16_push_r16", OUT.esp == 0x0002FFFE && get16(0xFFFE) == 0x1111, "esp %x [fffe] %x",
          OUT.esp, get16(0xFFFE));
    reset(0x00020000);
    run16(q_push_eax, SEL_SS16);
    check("code16_push_r32", OUT.esp == 0x0002FFFC && get32(0xFFFC) == 0x11111111, "esp %x [fffc] %x",
          OUT.esp, get32(0xFFFC));
    reset(0x0002FFFE);
    put16(0xFFFE, 0x7777);
    run16(q_pop_cx, SEL_SS16);
    check("code16_pop_r16", OUT.esp == 0x00020000 && OUT.ecx == 0x22227777, "esp %x ecx %x",
          OUT.esp, OUT.ecx);
    reset(0x00020006);
    run16(q_pushaw, SEL_SS16);
    check("code16_pushaw", OUT.esp == 0x0002FFF6 && get16(0x0004) == 0x1111 && get16(0xFFFC) == 0x0006 &&
                               get16(0xFFF6) == 0x8888,
          "esp %x [4] %x [fffc] %x [fff6] %x", OUT.esp, get16(4), get16(0xFFFC), get16(0xFFF6));
    reset(0x0002FFF0);
    for (int r = 0; r < 8; r++)
        put32((0xFFF0u + 4u * (7u - (uint32_t)r)) & 0xFFFF, 0x10101010u * (uint32_t)(r + 1));
    run16(q_popal, SEL_SS16);
    check("code16_popad", OUT.esp == 0x00020010 && OUT.eax == 0x10101010 && OUT.edi == 0x80808080,
          "esp %x eax %x edi %x", OUT.esp, OUT.eax, OUT.edi);

    /* CALL rel16 pushes IP (2 bytes), RET pops it. */
    reset(0x00020000);
    run16(q_call, SEL_SS16);
    uint32_t in_fn = get32(SCRATCH + 4);
    check("code16_call_ret", in_fn == 0x0002FFFE &&
                                 get16(0xFFFE) == (uint16_t)(q_call + 3 - probe16_base) &&
                                 OUT.esp == 0x00020000,
          "esp in fn %x [fffe] %x esp %x", in_fn, get16(0xFFFE), OUT.esp);

    reset(0x00020004);
    probe_in.ebp = 0x00000010;
    put16(0x000E, 0xD16E);
    run16(q_enter, SEL_SS16);
    check("code16_enter_level2", get16(0x0002) == 0x0010 && get16(0x0000) == 0xD16E &&
                                     get16(0xFFFE) == 0x0002 && OUT.ebp == 0x00000002 &&
                                     OUT.esp == 0x0002FFFA,
          "[2] %x [0] %x [fffe] %x ebp %x esp %x", get16(2), get16(0), get16(0xFFFE), OUT.ebp,
          OUT.esp);

    /* INT through a 16-bit gate: FLAGS, CS, IP words; IRET (16-bit) back. */
    uint64_t old42 = set_gate(0x42, SEL_C16, (uint32_t)(h_int42 - probe16_base), 0x06);
    reset(0x00020000);
    probe_in.eflags = 0x0C5;
    run16(q_int42, SEL_SS16);
    in_fn = get32(SCRATCH + 4);
    check("code16_int_iret_16bit_gate",
          in_fn == 0x0002FFFA && (get16(0xFFFE) & 0xFD5) == 0x0C5 && get16(0xFFFC) == SEL_C16 &&
              get16(0xFFFA) == (uint16_t)(q_int42 + 2 - probe16_base) && OUT.esp == 0x00020000,
          "esp in handler %x flags %x cs %x ip %x esp %x", in_fn, get16(0xFFFE), get16(0xFFFC),
          get16(0xFFFA), OUT.esp);
    idt_base()[0x42] = old42;
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    gdt_set_seg(SEL_SS16, STK_BASE, 0xFFFF, 0x92, 0x0);
    gdt_set_seg(SEL_SS16B, STK_BASE, 0xFFFFF, 0x92, 0x0);
    gdt_set_seg(SEL_SS32, STK_BASE, 0xFFFFF, 0x92, 0x4);
    gdt_set_seg(SEL_C16, (uint32_t)probe16_base, 0xFFFF, 0x9A, 0x0);
    gdt_set_seg(SEL_D16X, 0x00123400, 0xFFFF, 0x92, 0x0);
    test_gpr();
    test_pusha();
    test_sreg();
    test_rm_imm_flags();
    test_enter_leave();
    test_call_ret_int();
    test_code16();
    return test_finish();
}

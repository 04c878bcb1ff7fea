/* From a Multiboot kernel back to real mode through a 16-bit segment, a
 * real-mode INT through an IVT entry, a far call, and back to protected mode
 * (the trampoline is realmode_tramp.asm, copied to 0x8000). */
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "realmode";

__asm__(".section .rodata\n"
        ".globl tramp_start, tramp_end\n"
        "tramp_start:\n"
        ".incbin \"build/realmode_tramp.bin\"\n"
        "tramp_end:\n"
        ".text\n"
        /* Saves the registers and ESP, enters the trampoline in 16-bit
         * protected mode; it comes back to 1: in 32-bit protected mode. */
        ".globl tramp_run\n"
        "tramp_run:\n"
        "    pushal\n"
        "    movl %esp, 0x8010\n"
        "    movl $1f, 0x8014\n"
        "    ljmp $0x18, $0x8000\n"
        "1:  popal\n"
        "    ret\n");
extern const uint8_t tramp_start[], tramp_end[];
void tramp_run(void);

#define TRAMP_BASE 0x8000u

struct tramp_slots {
    uint32_t saved_esp, ret_addr, res_int, res_farcall, res_cr0, res_segread, res_int_cs;
};

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    volatile uint8_t *dst = (volatile uint8_t *)TRAMP_BASE;
    for (const uint8_t *p = tramp_start; p < tramp_end; p++)
        *dst++ = *p;
    volatile struct tramp_slots *s = (volatile struct tramp_slots *)(TRAMP_BASE + 0x10);
    s->res_int = s->res_farcall = s->res_cr0 = s->res_segread = s->res_int_cs = 0xFFFFFFFF;

    cli();
    tramp_run();
    idt_load_limit(256 * 8 - 1);          /* the trampoline pointed IDTR at the IVT */

    pass("returned_to_protected_mode");
    check("real_mode_cr0_pe_clear", (s->res_cr0 & 1) == 0, "CR0 in real mode %x", s->res_cr0);
    check("real_mode_int_through_ivt", (s->res_int & 0xFFFF) == 0x1235 && (s->res_int_cs & 0xFFFF) == 0,
          "AX %x, pushed CS %x", s->res_int & 0xFFFF, s->res_int_cs & 0xFFFF);
    check("real_mode_far_call", (s->res_farcall & 0xFFFF) == 0x0800, "CS in the callee %x",
          s->res_farcall & 0xFFFF);
    check("real_mode_segment_base", (s->res_segread & 0xFFFF) == (s->ret_addr >> 16),
          "read %x through ES=0x800, want %x", s->res_segread & 0xFFFF, s->ret_addr >> 16);

    /* Interrupts and exceptions work again through the IDT. */
    __asm__ volatile(CATCH_ASM("ud2") : : : "memory");
    check("idt_works_after_return", caught.hit == 1 && caught.vector == 6, "hit %d vector %u",
          caught.hit, caught.vector);
    return test_finish();
}

/* The A20 gate from the guest's side: the keyboard controller's output port
 * (command 0xD1, bit 1) and port 0x92 (bit 1), either of which enables it.
 * While it is disabled, physical 0x170000 is physical 0x070000 for reads,
 * writes and code fetches.
 *
 * This program lives at 1 MiB, where a disabled gate would pull its code,
 * stack and GDT out from under it, so the part that runs with the gate
 * disabled is a short stackless routine copied below 1 MiB (interrupts
 * off); it stores what it saw in low memory and returns with the gate
 * enabled again. */
#include "io.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "a20";

#define ROUTINE_AT 0x20000u   /* where the routine runs (below 1 MiB) */
#define LOW        0x70000u   /* probe byte; +1: write probe */
#define HIGH       0x170000u  /* LOW with address bit 20 set */
#define SEEN       0x70100u   /* the routine's results, one byte each */
#define FETCHED    0x70110u   /* written by the code run through the alias */

/* Stackless and position-dependent only through ROUTINE_AT: its jumps
 * are relative or computed from it.  The code run through the alias must
 * jump back before the gate opens, or the CPU would go on fetching from
 * above 1 MiB. */
__asm__(
    ".text\n"
    ".globl a20_routine, a20_routine_end\n"
    "a20_routine:\n"
    /* keyboard controller output port: A20 off, reset line inactive */
    "    movb $0xd1, %al\n    outb %al, $0x64\n"
    "    movb $0xdd, %al\n    outb %al, $0x60\n"
    "    movb 0x170000, %al\n    movb %al, 0x70100\n"      /* read through the alias */
    "    movb $0x5a, 0x170001\n"                             /* write through it */
    /* code fetch through the alias: jump to HIGH's twin of label 1 */
    "    movl $(0x100000 + 0x20000 + (1f - a20_routine)), %ecx\n"
    "    jmp *%ecx\n"
    "    ud2\n"
    "1:  movb $0xc3, 0x70110\n"
    /* and back to the routine's own address before the gate opens */
    "    movl $(0x20000 + (2f - a20_routine)), %ecx\n"
    "    jmp *%ecx\n"
    "2:\n"
    /* port 0x92 bit 1 on: enabled although the controller's bit is off */
    "    inb $0x92, %al\n    orb $2, %al\n    outb %al, $0x92\n"
    "    movb 0x170000, %al\n    movb %al, 0x70101\n"
    /* port 0x92 bit 1 off again: disabled */
    "    inb $0x92, %al\n    andb $0xfd, %al\n    outb %al, $0x92\n"
    "    movb 0x170000, %al\n    movb %al, 0x70102\n"
    /* controller's bit on: enabled (the classic 0xDF) */
    "    movb $0xd1, %al\n    outb %al, $0x64\n"
    "    movb $0xdf, %al\n    outb %al, $0x60\n"
    "    movb 0x170000, %al\n    movb %al, 0x70103\n"
    "    ret\n"
    "a20_routine_end:\n");

extern const uint8_t a20_routine[], a20_routine_end[];

static volatile uint8_t *phys(uint32_t a)
{
    return (volatile uint8_t *)a;
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();

    *phys(LOW) = 0x11;
    *phys(HIGH) = 0x22;
    *phys(LOW + 1) = 0;
    *phys(HIGH + 1) = 0;
    for (unsigned k = 0; k < 4; k++)
        *phys(SEEN + k) = 0;
    *phys(FETCHED) = 0;
    check("a20_enabled_at_start", *phys(LOW) == 0x11 && *phys(HIGH) == 0x22,
          "low %x high %x", *phys(LOW), *phys(HIGH));

    unsigned len = (unsigned)(a20_routine_end - a20_routine);
    for (unsigned k = 0; k < len; k++)
        *phys(ROUTINE_AT + k) = a20_routine[k];
    cli();
    __asm__ volatile("call *%0" : : "r"(ROUTINE_AT) : "eax", "ecx", "memory");

    check("kbc_off_read_wraps", *phys(SEEN) == 0x11, "read %x, want 0x11", *phys(SEEN));
    check("kbc_off_write_wraps", *phys(LOW + 1) == 0x5a && *phys(HIGH + 1) == 0,
          "low+1 %x high+1 %x, want 0x5a 0", *phys(LOW + 1), *phys(HIGH + 1));
    check("kbc_off_fetch_wraps", *phys(FETCHED) == 0xc3, "marker %x", *phys(FETCHED));
    check("port92_on_enables", *phys(SEEN + 1) == 0x22, "read %x, want 0x22", *phys(SEEN + 1));
    check("both_off_disables", *phys(SEEN + 2) == 0x11, "read %x, want 0x11", *phys(SEEN + 2));
    check("kbc_on_enables", *phys(SEEN + 3) == 0x22, "read %x, want 0x22", *phys(SEEN + 3));
    check("a20_enabled_at_end", *phys(LOW) == 0x11 && *phys(HIGH) == 0x22,
          "low %x high %x", *phys(LOW), *phys(HIGH));
    return test_finish();
}

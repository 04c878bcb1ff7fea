/* The fixed GDT set up by entry.asm. */
#ifndef GUEST_GDT_H
#define GUEST_GDT_H

#define SEL_CODE32   0x08
#define SEL_DATA32   0x10
#define SEL_CODE16   0x18
#define SEL_DATA16   0x20
#define SEL_RODATA32 0x28   /* read-only data: writes #GP(0) */
#define SEL_NOTPRES  0x30   /* present bit clear: loading it #NP(sel) */
#define SEL_SMALL    0x38   /* limit 0xFFF: accesses above #GP(0) */
#define SEL_UCODE32  0x40   /* DPL 3 (use with RPL 3: 0x43) */
#define SEL_UDATA32  0x48   /* DPL 3 (use with RPL 3: 0x4B) */
#define SEL_TSS      0x50   /* written by the program that needs a TSS */
/* 16 spare slots a program fills with gdt_set_* (tss.h). */
#define SEL_SPARE(n) (0x58 + 8 * (n))
#define GDT_SPARE_COUNT 16

#endif

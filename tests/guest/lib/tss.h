/* 32-bit TSS, GDT descriptor writers and ring-3 / virtual-8086 entry. */
#ifndef GUEST_TSS_H
#define GUEST_TSS_H

#include <stdint.h>

struct tss32 {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
} __attribute__((packed));

/* A TSS followed by a full I/O permission bitmap and its 0xFF end byte. */
struct tss_io {
    struct tss32 t;
    uint8_t iomap[8192];
    uint8_t iomap_end;
} __attribute__((packed));

#define TSS_LIMIT_NOIO (sizeof(struct tss32) - 1)
#define TSS_LIMIT_IO   (sizeof(struct tss_io) - 1)

/* Descriptor access bytes (present, DPL, type). */
#define ACC_TSS32      0x89    /* available 32-bit TSS, DPL 0 */
#define ACC_TSS32_BUSY 0x8B
#define ACC_TASK_GATE  0x85
#define ACC_CALL_GATE  0x8C    /* 32-bit call gate, DPL 0 */
#define ACC_LDT        0x82
#define ACC_DPL(d)     ((d) << 5)

extern uint64_t gdt[];

/* Segment descriptor; flags is the high nibble of byte 6 (G, D/B). */
void gdt_set_seg(uint16_t sel, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
/* Call or task gate: target selector, offset, access byte, parameter count. */
void gdt_set_gate(uint16_t sel, uint16_t target, uint32_t offset, uint8_t access, uint8_t params);
/* Access byte of a GDT entry (to look at busy bits). */
uint8_t gdt_access(uint16_t sel);

/* Writes a TSS descriptor at sel for t (limit given), sets ss0:esp0 and
 * loads TR. The I/O bitmap base is set past the limit when limit is
 * TSS_LIMIT_NOIO, else to the bitmap of struct tss_io (all ports denied). */
void tss_install(struct tss32 *t, uint16_t sel, uint32_t limit, uint32_t esp0);
void tss_allow_port(struct tss_io *t, uint16_t port, int allow);

/* Ring 3: ring3_enter saves the kernel context and IRETs to fn on user_esp
 * (CS 0x43, SS/DS/ES/FS/GS 0x4B) with the given EFLAGS; ring3_leave, called
 * from a ring-0 handler, returns from ring3_enter. */
void ring3_enter(void (*fn)(void), uint32_t user_esp, uint32_t eflags);
void ring3_leave(void) __attribute__((noreturn));

/* Virtual-8086 mode: IRET to cs:ip with VM set; ring3_leave comes back. */
struct v86_regs {
    uint32_t eip, cs, eflags, esp, ss, es, ds, fs, gs;
};
void v86_enter(const struct v86_regs *r);

#endif

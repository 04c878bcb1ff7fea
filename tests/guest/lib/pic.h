/* 8259A pair: remapped to vectors 0x20-0x2F. */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H

#include <stdint.h>

#define PIC_VEC_BASE 0x20
#define IRQ_VECTOR(irq) (PIC_VEC_BASE + (irq))

void pic_init(void);            /* ICW1-4, all IRQ lines masked */
void pic_unmask(int irq);       /* unmasking a slave IRQ also unmasks IRQ 2 */
void pic_mask(int irq);
void pic_eoi(int irq);          /* non-specific EOI (slave then master for 8-15) */
uint8_t pic_read_isr(int slave);
uint8_t pic_read_irr(int slave);

#endif

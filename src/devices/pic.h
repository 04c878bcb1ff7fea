/* pic.h - the PC's cascaded 8259A programmable interrupt controller pair.
 *
 * Master at ports 0x20-0x21, slave at 0xA0-0xA1 cascaded on master IRQ2, and
 * the edge/level control registers (ELCR) at 0x4D0-0x4D1.  Devices drive the
 * 16 input lines through pic_set_irq (an irq_set_fn); the CPU side sees the
 * INTR output (pic_intr, plus an optional change callback so the monitor can
 * raise the engine's interrupt line and kick the vCPU) and performs the
 * interrupt-acknowledge cycle with pic_acknowledge.
 */
#ifndef MORPH_PIC_H
#define MORPH_PIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"

/* One 8259A.  Plain data only: this is what save/restore copies. */
struct pic_chip {
    uint8_t irr;            /* interrupt request register */
    uint8_t isr;            /* in-service register */
    uint8_t imr;            /* interrupt mask register (OCW1) */
    uint8_t line;           /* current level of each input line (edge detection) */
    uint8_t elcr;           /* per-line level-trigger bits (ELCR) */
    uint8_t elcr_mask;      /* lines the ELCR may set to level mode */
    uint8_t vector_base;    /* ICW2 & 0xF8 */
    uint8_t icw3;           /* master: slave bitmap; slave: its id */
    uint8_t priority_base;  /* the line with the highest priority (rotation) */
    uint8_t init_step;      /* 0: ready; 2, 3, 4: expecting that ICW */
    bool icw4_expected;     /* ICW1 IC4 */
    bool single;            /* ICW1 SNGL: no cascade */
    bool level_all;         /* ICW1 LTIM: every line level-triggered */
    bool auto_eoi;          /* ICW4 AEOI */
    bool sfnm;              /* ICW4 special fully nested mode */
    bool rotate_on_aeoi;    /* OCW2 rotate in automatic-EOI mode */
    bool read_isr;          /* OCW3: reading A0=0 returns ISR (else IRR) */
    bool poll;              /* OCW3 P: next read is a poll (an acknowledge) */
    bool special_mask;      /* OCW3 special mask mode */
    bool output;            /* INT pin */
};

struct pic {
    struct pic_chip chip[2];            /* [0] master, [1] slave */
    /* Wiring (not state): told whenever the master's INT output changes. */
    void (*intr_changed)(void *opaque, bool level);
    void *intr_opaque;
};

/* Registers the PIC ports on the port bus.  Returns 0, or -1 with a reason. */
int pic_init(struct pic *p, struct bus *io, char *err, size_t errlen);
void pic_set_intr_callback(struct pic *p, void (*fn)(void *opaque, bool level), void *opaque);

/* irq_set_fn for lines 0-15 (opaque is the struct pic). */
void pic_set_irq(void *pic, unsigned irq, int level);

/* The INTR output to the CPU. */
bool pic_intr(const struct pic *p);
/* The INTA cycle: the vector to deliver.  Spurious IRQ7 (master) or IRQ15
 * (slave) vectors when the request went away. */
uint8_t pic_acknowledge(struct pic *p);

void pic_reset(void *pic);
size_t pic_save(void *pic, uint8_t *buf, size_t cap);
int pic_restore(void *pic, const uint8_t *buf, size_t len);

#endif

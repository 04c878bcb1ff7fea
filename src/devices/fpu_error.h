/* fpu_error.h - the PC's x87 error logic: FERR# to IRQ 13, cleared by port 0xF0.
 *
 * With CR0.NE = 0 a PC reports unmasked x87 exceptions the DOS way: the
 * CPU's FERR# output raises IRQ 13 on the slave PIC, and the handler writes
 * any value to port 0xF0, which drops IRQ 13 (and asserts IGNNE#) until
 * FERR# goes away and comes back with the next error.  The monitor feeds the
 * engine's FERR# state in after each run (fpu_error_set_ferr); the device
 * never looks at the CPU.
 */
#ifndef MORPH_FPU_ERROR_H
#define MORPH_FPU_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"

#define FPU_ERROR_PORT 0xF0
#define FPU_ERROR_IRQ 13

struct fpu_error {
    struct irq_line irq;
    bool ferr;          /* FERR# as last reported by the CPU */
    bool latched;       /* IRQ 13 asserted for the current FERR# */
    bool ignored;       /* port 0xF0 written: ignore FERR# until it drops */
};

/* Registers port 0xF0.  Returns 0, or -1 with a reason in err. */
int fpu_error_init(struct fpu_error *f, struct bus *io, struct irq_line irq13,
                   char *err, size_t errlen);
/* The CPU's FERR# output; raises IRQ 13 on a new error. */
void fpu_error_set_ferr(struct fpu_error *f, bool ferr);
void fpu_error_reset(void *opaque);
size_t fpu_error_save(void *opaque, uint8_t *buf, size_t cap);
int fpu_error_restore(void *opaque, const uint8_t *buf, size_t len);

#endif

/* port92.h - "system control port A" at 0x92 (the PS/2 fast A20 / fast reset).
 *
 * Bit 1 gates A20, bit 0 requests a fast CPU reset.  Any write with bit 0 set
 * asks for a reset (bit 0 itself always reads back 0); other bits are stored
 * and read back.  The A20 gate seen by the CPU is the OR of this port's bit 1
 * and the i8042 output port's bit 1: the machine combines the two, so this
 * device reports only its own bit, through the a20 callback on guest-driven
 * changes and through port92_a20() after reset/restore.  Reset and restore do
 * not call back.
 */
#ifndef MORPH_PORT92_H
#define MORPH_PORT92_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"

#define PORT92_PORT 0x92
#define PORT92_RESET 0x01
#define PORT92_A20 0x02

struct port92 {
    uint8_t value;                                  /* state: bit 0 always clear */
    /* Wiring (not state). */
    void (*reset_request)(void *opaque);
    void (*a20)(void *opaque, bool enabled);        /* only on changes of bit 1 */
    void *opaque;
};

/* Registers port 0x92.  Either callback may be NULL.  Returns 0, or -1 with a
 * reason in err. */
int port92_init(struct port92 *p, struct bus *io,
                void (*reset_request)(void *opaque),
                void (*a20)(void *opaque, bool enabled), void *opaque,
                char *err, size_t errlen);
void port92_reset(void *opaque);
size_t port92_save(void *opaque, uint8_t *buf, size_t cap);
int port92_restore(void *opaque, const uint8_t *buf, size_t len);

/* This port's own A20 gate bit. */
bool port92_a20(const struct port92 *p);

#endif

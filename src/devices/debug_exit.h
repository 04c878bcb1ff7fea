/* debug_exit.h - QEMU's isa-debug-exit convention on port 0xf4.
 *
 * A guest write of v asks the machine to end with exit status (v << 1) | 1,
 * so a guest can never produce status 0 by accident.  The port is one byte
 * wide: a wider write (outw/outl at 0xf4) uses its low byte, which gives the
 * same 8-bit process exit status as using the whole value, since only bits
 * 0-6 of v survive in (v << 1) | 1 & 0xff anyway.  The status passed to
 * exit_request is therefore 1..511; the machine truncates it as exit() does.
 * Reads return 0.  Stateless: save/restore carry only a tag.
 */
#ifndef MORPH_DEBUG_EXIT_H
#define MORPH_DEBUG_EXIT_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"

#define DEBUG_EXIT_PORT 0xf4

struct debug_exit {
    /* Wiring (not state). */
    void (*exit_request)(void *opaque, int status);
    void *opaque;
};

/* Registers port 0xf4.  Returns 0, or -1 with a reason in err. */
int debug_exit_init(struct debug_exit *d, struct bus *io,
                    void (*exit_request)(void *opaque, int status), void *opaque,
                    char *err, size_t errlen);
void debug_exit_reset(void *opaque);
size_t debug_exit_save(void *opaque, uint8_t *buf, size_t cap);
int debug_exit_restore(void *opaque, const uint8_t *buf, size_t len);

#endif

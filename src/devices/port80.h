/* port80.h - the POST diagnostic port at 0x80.
 *
 * Firmware and kernels write progress codes here (Linux also uses it as an
 * I/O delay).  We keep the last code written so a read, a trace or --stats
 * can show it; nothing else happens.
 */
#ifndef MORPH_PORT80_H
#define MORPH_PORT80_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"

#define PORT80_PORT 0x80

struct port80 {
    uint8_t code;       /* last POST code written; reads return it */
};

/* Registers port 0x80.  Returns 0, or -1 with a reason in err. */
int port80_init(struct port80 *p, struct bus *io, char *err, size_t errlen);
void port80_reset(void *opaque);
size_t port80_save(void *opaque, uint8_t *buf, size_t cap);
int port80_restore(void *opaque, const uint8_t *buf, size_t len);

#endif

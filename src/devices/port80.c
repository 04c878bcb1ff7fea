/* port80.c - the POST diagnostic port (see port80.h). */
#include "devices/port80.h"

#include <string.h>

/* Save blob: a tag so a blob of another device is refused, then the code. */
static const uint8_t port80_tag[4] = { 'P', '8', '0', '1' };
#define PORT80_BLOB_SIZE (sizeof(port80_tag) + 1)

/* Only the low byte of a wider access lands on port 0x80 itself. */
static uint64_t port80_read(void *opaque, uint64_t offset, unsigned size)
{
    const struct port80 *p = opaque;
    (void)offset;
    (void)size;
    return p->code;
}

static void port80_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct port80 *p = opaque;
    (void)offset;
    (void)size;
    p->code = (uint8_t)value;
}

int port80_init(struct port80 *p, struct bus *io, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    return bus_register(io, PORT80_PORT, 1, "port80", p, port80_read, port80_write,
                        err, errlen);
}

void port80_reset(void *opaque)
{
    struct port80 *p = opaque;
    p->code = 0;
}

size_t port80_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct port80 *p = opaque;
    if (cap >= PORT80_BLOB_SIZE) {
        memcpy(buf, port80_tag, sizeof(port80_tag));
        buf[sizeof(port80_tag)] = p->code;
    }
    return PORT80_BLOB_SIZE;
}

int port80_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct port80 *p = opaque;
    if (len != PORT80_BLOB_SIZE || memcmp(buf, port80_tag, sizeof(port80_tag)) != 0)
        return -1;
    p->code = buf[sizeof(port80_tag)];
    return 0;
}

/* port92.c - system control port A (see port92.h). */
#include "devices/port92.h"

#include <string.h>

static const uint8_t port92_tag[4] = { 'P', '9', '2', '1' };
#define PORT92_BLOB_SIZE (sizeof(port92_tag) + 1)

static uint64_t port92_read(void *opaque, uint64_t offset, unsigned size)
{
    const struct port92 *p = opaque;
    (void)offset;
    (void)size;
    return p->value;
}

static void port92_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct port92 *p = opaque;
    (void)offset;
    (void)size;
    uint8_t v = (uint8_t)value;
    bool a20_was = port92_a20(p);

    p->value = v & (uint8_t)~PORT92_RESET;
    if (p->a20 && port92_a20(p) != a20_was)
        p->a20(p->opaque, port92_a20(p));
    /* Last: the reset request may reset this very device. */
    if ((v & PORT92_RESET) && p->reset_request)
        p->reset_request(p->opaque);
}

int port92_init(struct port92 *p, struct bus *io,
                void (*reset_request)(void *opaque),
                void (*a20)(void *opaque, bool enabled), void *opaque,
                char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->reset_request = reset_request;
    p->a20 = a20;
    p->opaque = opaque;
    return bus_register(io, PORT92_PORT, 1, "port92", p, port92_read, port92_write,
                        err, errlen);
}

void port92_reset(void *opaque)
{
    struct port92 *p = opaque;
    p->value = 0;
}

bool port92_a20(const struct port92 *p)
{
    return (p->value & PORT92_A20) != 0;
}

size_t port92_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct port92 *p = opaque;
    if (cap >= PORT92_BLOB_SIZE) {
        memcpy(buf, port92_tag, sizeof(port92_tag));
        buf[sizeof(port92_tag)] = p->value;
    }
    return PORT92_BLOB_SIZE;
}

int port92_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct port92 *p = opaque;
    if (len != PORT92_BLOB_SIZE || memcmp(buf, port92_tag, sizeof(port92_tag)) != 0)
        return -1;
    if (buf[sizeof(port92_tag)] & PORT92_RESET)
        return -1;
    p->value = buf[sizeof(port92_tag)];
    return 0;
}

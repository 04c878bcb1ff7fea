/* debug_exit.c - the isa-debug-exit convention (see debug_exit.h). */
#include "devices/debug_exit.h"

#include <string.h>

static const uint8_t debug_exit_tag[4] = { 'D', 'X', 'T', '1' };

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)size;
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct debug_exit *d = opaque;
    (void)offset;
    (void)size;
    if (d->exit_request)
        d->exit_request(d->opaque, (int)(((value & 0xff) << 1) | 1));
}

int debug_exit_init(struct debug_exit *d, struct bus *io,
                    void (*exit_request)(void *opaque, int status), void *opaque,
                    char *err, size_t errlen)
{
    d->exit_request = exit_request;
    d->opaque = opaque;
    return bus_register(io, DEBUG_EXIT_PORT, 1, "debug-exit", d, debug_exit_read,
                        debug_exit_write, err, errlen);
}

void debug_exit_reset(void *opaque)
{
    (void)opaque;
}

size_t debug_exit_save(void *opaque, uint8_t *buf, size_t cap)
{
    (void)opaque;
    if (cap >= sizeof(debug_exit_tag))
        memcpy(buf, debug_exit_tag, sizeof(debug_exit_tag));
    return sizeof(debug_exit_tag);
}

int debug_exit_restore(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    if (len != sizeof(debug_exit_tag) || memcmp(buf, debug_exit_tag, len) != 0)
        return -1;
    return 0;
}

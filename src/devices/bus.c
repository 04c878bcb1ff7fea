/* bus.c - port and MMIO buses (see bus.h). */
#include "devices/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT_SPACE 65536u

int bus_init(struct bus *b, const char *name, bool is_port)
{
    memset(b, 0, sizeof(*b));
    b->name = name;
    if (is_port) {
        b->port_index = calloc(PORT_SPACE, sizeof(b->port_index[0]));
        if (!b->port_index)
            return -1;
    }
    return 0;
}

void bus_free(struct bus *b)
{
    free(b->port_index);
    b->port_index = NULL;
    b->count = 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const char *name,
                 void *opaque, bus_read_fn read, bus_write_fn write,
                 char *err, size_t errlen)
{
    if (len == 0 || base + len < base) {
        snprintf(err, errlen, "%s bus: bad range for %s", b->name, name);
        return -1;
    }
    if (b->port_index && base + len > PORT_SPACE) {
        snprintf(err, errlen, "%s bus: range 0x%llx+0x%llx of %s is beyond port 0xffff",
                 b->name, (unsigned long long)base, (unsigned long long)len, name);
        return -1;
    }
    for (unsigned i = 0; i < b->count; i++) {
        const struct bus_range *r = &b->range[i];
        if (ranges_overlap(base, len, r->base, r->len)) {
            snprintf(err, errlen,
                     "%s bus: %s at 0x%llx-0x%llx overlaps %s at 0x%llx-0x%llx",
                     b->name, name, (unsigned long long)base,
                     (unsigned long long)(base + len - 1), r->name,
                     (unsigned long long)r->base,
                     (unsigned long long)(r->base + r->len - 1));
            return -1;
        }
    }
    if (b->count == BUS_MAX_RANGES) {
        snprintf(err, errlen, "%s bus: no room for %s (%d ranges)", b->name, name,
                 BUS_MAX_RANGES);
        return -1;
    }
    struct bus_range *r = &b->range[b->count];
    memset(r, 0, sizeof(*r));
    r->base = base;
    r->len = len;
    r->name = name;
    r->opaque = opaque;
    r->read = read;
    r->write = write;
    b->count++;
    if (b->port_index)
        memset(b->port_index + base, (int)b->count, len);  /* index + 1 */
    return 0;
}

int bus_unregister(struct bus *b, uint64_t base, void *opaque)
{
    unsigned i = 0;
    while (i < b->count && !(b->range[i].base == base && b->range[i].opaque == opaque))
        i++;
    if (i == b->count)
        return -1;
    memmove(&b->range[i], &b->range[i + 1], (b->count - i - 1) * sizeof(b->range[0]));
    b->count--;
    if (b->port_index) {
        /* Slots moved: rebuild the flat table (rare: only at re-wiring). */
        memset(b->port_index, 0, PORT_SPACE);
        for (unsigned k = 0; k < b->count; k++)
            memset(b->port_index + b->range[k].base, (int)(k + 1), b->range[k].len);
    }
    return 0;
}

struct bus_range *bus_find(struct bus *b, uint64_t addr)
{
    if (b->port_index) {
        if (addr >= PORT_SPACE)
            return NULL;
        unsigned idx = b->port_index[addr];
        return idx ? &b->range[idx - 1] : NULL;
    }
    for (unsigned i = 0; i < b->count; i++) {
        struct bus_range *r = &b->range[i];
        if (addr - r->base < r->len)
            return r;
    }
    return NULL;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

bool bus_read(struct bus *b, uint64_t addr, unsigned size, uint64_t *value)
{
    struct bus_range *r = bus_find(b, addr);
    if (!r) {
        b->unclaimed_reads++;
        *value = size_mask(size);
        return false;
    }
    r->reads++;
    *value = r->read ? r->read(r->opaque, addr - r->base, size) & size_mask(size)
                     : size_mask(size);
    return true;
}

bool bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t value)
{
    struct bus_range *r = bus_find(b, addr);
    if (!r) {
        b->unclaimed_writes++;
        return false;
    }
    r->writes++;
    if (r->write)
        r->write(r->opaque, addr - r->base, size, value & size_mask(size));
    return true;
}

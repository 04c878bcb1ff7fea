/* bus.h - port and MMIO buses: ranges registered by devices, one handler shape.
 *
 * A device registers [base, base+len) with a read and a write function; the
 * handlers see offsets from base.  Overlapping ranges are refused when they
 * are registered (at machine start).  The port bus keeps a flat 64K table in
 * front of its ranges for the hot path.
 */
#ifndef MORPH_BUS_H
#define MORPH_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*bus_read_fn)(void *opaque, uint64_t offset, unsigned size);
typedef void (*bus_write_fn)(void *opaque, uint64_t offset, unsigned size, uint64_t value);

struct bus_range {
    uint64_t base, len;
    const char *name;          /* device name, for --stats and errors */
    void *opaque;
    bus_read_fn read;          /* NULL: reads return all ones */
    bus_write_fn write;        /* NULL: writes are dropped */
    /* counters for --stats */
    uint64_t reads, writes;
    uint64_t handler_ns;
};

#define BUS_MAX_RANGES 64

struct bus {
    const char *name;                  /* "port" or "mmio" */
    struct bus_range range[BUS_MAX_RANGES];
    unsigned count;
    uint8_t *port_index;               /* port bus only: 65536 entries, range index + 1, 0 = none */
    uint64_t unclaimed_reads, unclaimed_writes;
};

/* is_port: build the flat port table.  Returns 0, or -1 on allocation failure. */
int bus_init(struct bus *b, const char *name, bool is_port);
void bus_free(struct bus *b);

/* Returns 0, or -1 with a one-line reason in err (overlap, full, bad range). */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const char *name,
                 void *opaque, bus_read_fn read, bus_write_fn write,
                 char *err, size_t errlen);

/* Removes the range registered at base for opaque (a PCI BAR the guest
 * moves or disables); its counters go with it.  Returns 0, or -1 if there
 * is no such range.  Ranges after it move down one slot. */
int bus_unregister(struct bus *b, uint64_t base, void *opaque);

/* The range covering addr, or NULL. */
struct bus_range *bus_find(struct bus *b, uint64_t addr);

/* Dispatch an access; unclaimed reads return all ones (of `size` bytes) and
 * unclaimed writes are dropped, both counted.  Returns true if claimed. */
bool bus_read(struct bus *b, uint64_t addr, unsigned size, uint64_t *value);
bool bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t value);

#endif

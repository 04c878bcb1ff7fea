/* pci.c - PCI configuration mechanism #1 and the host bridge (see pci.h). */
#include "devices/pci.h"

#include <stdio.h>
#include <string.h>

#define PCI_ENABLE 0x80000000u
#define PCI_ADDRESS_MASK 0x80FFFFFCu    /* reserved bits 30:24 and 1:0 read 0 */
#define PCI_STATUS_W1C 0xF900u          /* parity, SERR, aborts, master data parity */

static const uint8_t pci_tag[4] = { 'P', 'C', 'I', '1' };

/* ---- config space accessors ---- */

uint8_t pci_get8(const struct pci_device *d, unsigned offset)
{
    return d->config[offset % PCI_CONFIG_SIZE];
}

uint16_t pci_get16(const struct pci_device *d, unsigned offset)
{
    return (uint16_t)(pci_get8(d, offset) | pci_get8(d, offset + 1) << 8);
}

uint32_t pci_get32(const struct pci_device *d, unsigned offset)
{
    return (uint32_t)pci_get16(d, offset) | (uint32_t)pci_get16(d, offset + 2) << 16;
}

void pci_set8(struct pci_device *d, unsigned offset, uint8_t v)
{
    d->config[offset % PCI_CONFIG_SIZE] = v;
}

void pci_set16(struct pci_device *d, unsigned offset, uint16_t v)
{
    pci_set8(d, offset, (uint8_t)v);
    pci_set8(d, offset + 1, (uint8_t)(v >> 8));
}

void pci_set32(struct pci_device *d, unsigned offset, uint32_t v)
{
    pci_set16(d, offset, (uint16_t)v);
    pci_set16(d, offset + 2, (uint16_t)(v >> 16));
}

static void mask_set16(uint8_t *mask, unsigned offset, uint16_t v)
{
    mask[offset] = (uint8_t)v;
    mask[offset + 1] = (uint8_t)(v >> 8);
}

static void mask_set32(uint8_t *mask, unsigned offset, uint32_t v)
{
    mask_set16(mask, offset, (uint16_t)v);
    mask_set16(mask, offset + 2, (uint16_t)(v >> 16));
}

/* ---- devices ---- */

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor,
                     uint16_t device, uint8_t revision, uint32_t class_code,
                     uint8_t header_type)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    pci_set16(d, PCI_VENDOR_ID, vendor);
    pci_set16(d, PCI_DEVICE_ID, device);
    pci_set8(d, PCI_REVISION_ID, revision);
    pci_set8(d, PCI_CLASS_PROG, (uint8_t)class_code);
    pci_set16(d, PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
    pci_set8(d, PCI_HEADER_TYPE, header_type);
    /* I/O, memory, master, parity response, SERR, interrupt disable. */
    mask_set16(d->wmask, PCI_COMMAND, 0x0547);
    mask_set16(d->w1cmask, PCI_STATUS, PCI_STATUS_W1C);
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xFF;
    d->wmask[PCI_LATENCY_TIMER] = 0xFF;
    d->wmask[PCI_INTERRUPT_LINE] = 0xFF;
}

void pci_set_bar(struct pci_device *d, unsigned bar, uint32_t size, uint32_t flags)
{
    if (bar > 5)
        return;
    unsigned off = PCI_BAR0 + 4 * bar;
    uint32_t low = (flags & PCI_BAR_IO) ? 0x3 : 0xF;
    uint32_t min = (flags & PCI_BAR_IO) ? 4 : 16;
    if (size < min)
        size = min;
    pci_set32(d, off, flags & low);
    mask_set32(d->wmask, off, ~(size - 1) & ~low);
}

uint32_t pci_bar_address(const struct pci_device *d, unsigned bar)
{
    if (bar > 5)
        return 0;
    uint32_t v = pci_get32(d, PCI_BAR0 + 4 * bar);
    return v & ((v & PCI_BAR_IO) ? ~0x3u : ~0xFu);
}

int pci_add_device(struct pci_bus *pb, unsigned devfn, struct pci_device *d,
                   char *err, size_t errlen)
{
    if (devfn >= PCI_MAX_DEVFN) {
        snprintf(err, errlen, "pci: devfn %u of %s is beyond 255", devfn, d->name);
        return -1;
    }
    if (pb->dev[devfn]) {
        snprintf(err, errlen, "pci: %s at 00:%02x.%u is taken by %s", d->name,
                 devfn >> 3, devfn & 7, pb->dev[devfn]->name);
        return -1;
    }
    pb->dev[devfn] = d;
    return 0;
}

/* A guest write of one config byte through the masks. */
static void config_write_byte(struct pci_device *d, unsigned offset, uint8_t v)
{
    uint8_t old = d->config[offset];
    uint8_t now = (uint8_t)((old & ~d->wmask[offset]) | (v & d->wmask[offset]));
    now &= (uint8_t)~(v & d->w1cmask[offset]);
    d->config[offset] = now;
}

/* ---- the ports ---- */

static struct pci_device *selected_device(const struct pci_bus *pb)
{
    uint32_t a = pb->address;
    if (!(a & PCI_ENABLE) || ((a >> 16) & 0xFF) != 0)
        return NULL;
    return pb->dev[(a >> 8) & 0xFF];
}

static uint64_t address_read(void *opaque, uint64_t offset, unsigned size)
{
    const struct pci_bus *pb = opaque;
    (void)offset;
    if (size != 4)
        return UINT64_MAX;      /* not a config address access: unclaimed */
    return pb->address;
}

static void address_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pci_bus *pb = opaque;
    (void)offset;
    if (size == 4)
        pb->address = (uint32_t)value & PCI_ADDRESS_MASK;
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    const struct pci_bus *pb = opaque;
    const struct pci_device *d = selected_device(pb);
    if (!d)
        return UINT64_MAX;
    unsigned reg = pb->address & 0xFC;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t byte = offset + i < 4 ? d->config[reg + offset + i] : 0xFF;
        v |= byte << (8 * i);
    }
    return v;
}

static void data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pci_bus *pb = opaque;
    struct pci_device *d = selected_device(pb);
    if (!d || offset >= 4)
        return;
    unsigned reg = pb->address & 0xFC;
    unsigned n = 0;
    for (; n < size && offset + n < 4; n++)
        config_write_byte(d, reg + (unsigned)offset + n, (uint8_t)(value >> (8 * n)));
    if (d->config_written)
        d->config_written(d, reg + (unsigned)offset, n);
}

/* ---- the host bridge and the bus ---- */

static void host_bridge_init(struct pci_device *d)
{
    pci_device_init(d, "host-bridge", 0x8086, 0x1237, 0x02, 0x060000, 0x00);
    /* Memory decode and mastering are what a host bridge always does. */
    mask_set16(d->wmask, PCI_COMMAND, 0);
    pci_set16(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    d->wmask[PCI_CACHE_LINE_SIZE] = 0;
    d->wmask[PCI_LATENCY_TIMER] = 0;
    d->wmask[PCI_INTERRUPT_LINE] = 0;
}

int pci_init(struct pci_bus *pb, struct bus *io, char *err, size_t errlen)
{
    memset(pb, 0, sizeof(*pb));
    host_bridge_init(&pb->host_bridge);
    if (pci_add_device(pb, PCI_DEVFN(0, 0), &pb->host_bridge, err, errlen) < 0)
        return -1;
    if (bus_register(io, PCI_CONFIG_ADDRESS, 1, "pci-config", pb, address_read,
                     address_write, err, errlen) < 0)
        return -1;
    return bus_register(io, PCI_CONFIG_DATA, 4, "pci-config", pb, data_read, data_write,
                        err, errlen);
}

static void device_reset(struct pci_device *d)
{
    for (unsigned i = 0; i < PCI_CONFIG_SIZE; i++)
        d->config[i] &= (uint8_t)~(d->wmask[i] | d->w1cmask[i]);
    if (d->config_written)
        d->config_written(d, 0, PCI_CONFIG_SIZE);
}

void pci_reset(void *opaque)
{
    struct pci_bus *pb = opaque;
    pb->address = 0;
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++)
        if (pb->dev[devfn])
            device_reset(pb->dev[devfn]);
}

/* Blob: tag, CONFIG_ADDRESS (4 bytes LE), device count (2 bytes LE), then per
 * device its devfn (1 byte) and its 256 config bytes. */
static unsigned device_count(const struct pci_bus *pb)
{
    unsigned n = 0;
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++)
        n += pb->dev[devfn] != NULL;
    return n;
}

#define PCI_BLOB_HEADER (sizeof(pci_tag) + 4 + 2)
#define PCI_BLOB_PER_DEVICE (1 + PCI_CONFIG_SIZE)

size_t pci_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct pci_bus *pb = opaque;
    unsigned count = device_count(pb);
    size_t need = PCI_BLOB_HEADER + (size_t)count * PCI_BLOB_PER_DEVICE;
    if (cap < need)
        return need;
    memcpy(buf, pci_tag, sizeof(pci_tag));
    uint8_t *p = buf + sizeof(pci_tag);
    for (unsigned i = 0; i < 4; i++)
        *p++ = (uint8_t)(pb->address >> (8 * i));
    *p++ = (uint8_t)count;
    *p++ = (uint8_t)(count >> 8);
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        if (!pb->dev[devfn])
            continue;
        *p++ = (uint8_t)devfn;
        memcpy(p, pb->dev[devfn]->config, PCI_CONFIG_SIZE);
        p += PCI_CONFIG_SIZE;
    }
    return need;
}

/* The blob's config for d must agree with d on every read-only bit. */
static bool config_compatible(const struct pci_device *d, const uint8_t *config)
{
    for (unsigned i = 0; i < PCI_CONFIG_SIZE; i++) {
        uint8_t fixed = (uint8_t)~(d->wmask[i] | d->w1cmask[i]);
        if ((config[i] ^ d->config[i]) & fixed)
            return false;
    }
    return true;
}

int pci_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct pci_bus *pb = opaque;
    unsigned count = device_count(pb);
    if (len != PCI_BLOB_HEADER + (size_t)count * PCI_BLOB_PER_DEVICE ||
        memcmp(buf, pci_tag, sizeof(pci_tag)) != 0)
        return -1;
    const uint8_t *p = buf + sizeof(pci_tag);
    uint32_t address = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                       (uint32_t)p[3] << 24;
    if ((address & ~PCI_ADDRESS_MASK) || (unsigned)(p[4] | p[5] << 8) != count)
        return -1;
    p += 6;
    /* Validate everything before changing anything. */
    const uint8_t *q = p;
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        if (!pb->dev[devfn])
            continue;
        if (q[0] != devfn || !config_compatible(pb->dev[devfn], q + 1))
            return -1;
        q += PCI_BLOB_PER_DEVICE;
    }
    pb->address = address;
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        struct pci_device *d = pb->dev[devfn];
        if (!d)
            continue;
        memcpy(d->config, p + 1, PCI_CONFIG_SIZE);
        p += PCI_BLOB_PER_DEVICE;
        if (d->config_written)
            d->config_written(d, 0, PCI_CONFIG_SIZE);
    }
    return 0;
}

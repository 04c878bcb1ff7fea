/* pci.h - PCI bus 0 behind a host bridge, configuration mechanism #1.
 *
 * CONFIG_ADDRESS at 0xCF8 (dword accesses only), CONFIG_DATA at 0xCFC-0xCFF
 * (any size at any offset).  Address bit 31 enables config cycles; bits
 * 23:16 bus, 15:11 device, 10:8 function, 7:2 dword register.
 *
 * Decisions:
 * - Only port 0xCF8 itself is registered, so the bus hands us dword
 *   accesses at 0xCF8 and ports 0xCF9-0xCFB stay free (chipsets put e.g. a
 *   reset control register at 0xCF9).  A byte or word access at 0xCF8 is not
 *   a config address access: it reads all ones and writes are dropped, as an
 *   unclaimed port would (the bus still counts it as ours).
 * - CONFIG_ADDRESS keeps bit 31 and bits 23:2; the reserved bits 30:24 and
 *   1:0 read as 0.
 * - With the enable bit clear, or on a bus other than 0, or for an empty
 *   device/function, data-port reads return all ones and writes are dropped.
 * - An access at CONFIG_DATA+n covers config bytes reg+n upward; bytes that
 *   would fall past 0xCFF read as 0xFF and are not written.
 * - Guest writes change only the bits of each config byte that the device's
 *   wmask allows; bits in w1cmask (status register errors) are cleared by
 *   writing 1.  Everything else is read-only.
 * - The host bridge at 00:00.0 is an Intel 440FX PMC (8086:1237 rev 02,
 *   class 060000, header type 0); its command register reads 0x0006 (memory
 *   space and bus master, hard-wired) and it has no writable registers apart
 *   from the status error bits.  Chipset registers (PAM, SMRAM) read 0.
 * - Reset zeroes every guest-writable and write-1-to-clear bit of every
 *   device (power-on values; read-only fields, including BAR type bits,
 *   keep theirs) and calls each device's config_written hook.
 */
#ifndef MORPH_PCI_H
#define MORPH_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_CONFIG_SIZE 256
#define PCI_MAX_DEVFN 256
#define PCI_DEVFN(dev, fn) ((((dev) & 0x1F) << 3) | ((fn) & 7))

/* Config space offsets. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0A
#define PCI_CACHE_LINE_SIZE 0x0C
#define PCI_LATENCY_TIMER 0x0D
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID 0x2E
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN 0x3D

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_BAR_IO 0x1
#define PCI_BAR_MEM_PREFETCH 0x8

/* One function's configuration space.  A device model embeds it, fills it
 * with pci_device_init / pci_set_bar, then adds it with pci_add_device. */
struct pci_device {
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];     /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SIZE];   /* bits the guest clears by writing 1 */
    const char *name;
    /* Called after a guest config write landed (offset and length of the
     * bytes written), and with (0, 256) after reset and restore, so the
     * owner can (re)map its BARs or react to COMMAND.  May be NULL. */
    void (*config_written)(struct pci_device *d, unsigned offset, unsigned len);
    void *opaque;                       /* the owning device model */
};

struct pci_bus {
    uint32_t address;                           /* CONFIG_ADDRESS (state) */
    struct pci_device *dev[PCI_MAX_DEVFN];      /* bus 0 by devfn (wiring) */
    struct pci_device host_bridge;
};

/* Registers 0xCF8 and 0xCFC-0xCFF and puts the host bridge at 00:00.0.
 * Returns 0, or -1 with a reason in err. */
int pci_init(struct pci_bus *pb, struct bus *io, char *err, size_t errlen);
void pci_reset(void *opaque);
/* Save covers CONFIG_ADDRESS and the config space of every device. */
size_t pci_save(void *opaque, uint8_t *buf, size_t cap);
/* Refuses a blob with a different set of devices or different read-only
 * bytes (it belongs to another machine); calls config_written hooks. */
int pci_restore(void *opaque, const uint8_t *buf, size_t len);

/* Fills IDs and the header, with the usual writable registers: COMMAND
 * (I/O, memory, master, parity, SERR, interrupt disable), cache line size,
 * latency timer, interrupt line; STATUS error bits write-1-to-clear.
 * class_code is 24 bits: class, subclass, programming interface. */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor,
                     uint16_t device, uint8_t revision, uint32_t class_code,
                     uint8_t header_type);
/* Makes BAR n (0-5) a size-byte region (a power of two; at least 4 for I/O,
 * 16 for memory); flags are its low read-only bits (PCI_BAR_IO, or memory
 * type/prefetch bits).  Sizing by writing all ones then works by itself. */
void pci_set_bar(struct pci_device *d, unsigned bar, uint32_t size, uint32_t flags);
/* The base address the guest programmed into BAR n, flag bits removed. */
uint32_t pci_bar_address(const struct pci_device *d, unsigned bar);
/* Returns 0, or -1 with a reason (devfn out of range, slot taken). */
int pci_add_device(struct pci_bus *pb, unsigned devfn, struct pci_device *d,
                   char *err, size_t errlen);

/* Little-endian config accessors for device models (no masks applied). */
uint8_t pci_get8(const struct pci_device *d, unsigned offset);
uint16_t pci_get16(const struct pci_device *d, unsigned offset);
uint32_t pci_get32(const struct pci_device *d, unsigned offset);
void pci_set8(struct pci_device *d, unsigned offset, uint8_t v);
void pci_set16(struct pci_device *d, unsigned offset, uint16_t v);
void pci_set32(struct pci_device *d, unsigned offset, uint32_t v);

#endif

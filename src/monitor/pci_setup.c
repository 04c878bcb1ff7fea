/* pci_setup.c - firmware-style PCI resource assignment (see pci_setup.h). */
#include "monitor/pci_setup.h"

#include <stdbool.h>

static const uint8_t pirq_lines[4] = { 10, 11, 5, 9 };

unsigned pci_setup_irq(unsigned slot)
{
    return pirq_lines[slot % 4];
}

uint16_t pci_setup_level_lines(void)
{
    uint16_t bits = 0;
    for (unsigned i = 0; i < 4; i++)
        bits |= (uint16_t)(1u << pirq_lines[i]);
    return bits;
}

/* A memory BAR's size from the bits the guest may write (0: no BAR). */
static uint32_t mem_bar_size(const struct pci_device *d, unsigned bar)
{
    unsigned off = PCI_BAR0 + 4 * bar;
    uint32_t w = (uint32_t)d->wmask[off] | (uint32_t)d->wmask[off + 1] << 8 |
                 (uint32_t)d->wmask[off + 2] << 16 | (uint32_t)d->wmask[off + 3] << 24;
    if (w == 0 || (pci_get32(d, off) & PCI_BAR_IO))
        return 0;
    return ~(w & ~0xFu) + 1;           /* the type bits are never writable */
}

static int assign_bars(struct pci_device *d, uint32_t *next)
{
    for (unsigned bar = 0; bar < 6; bar++) {
        uint32_t size = mem_bar_size(d, bar);
        if (!size)
            continue;
        uint64_t base = ((uint64_t)*next + size - 1) & ~(uint64_t)(size - 1);
        if (base + size > PCI_SETUP_MMIO_END)
            return -1;
        unsigned off = PCI_BAR0 + 4 * bar;
        pci_set32(d, off, (uint32_t)base | (pci_get32(d, off) & 0xF));
        *next = (uint32_t)(base + size);
    }
    return 0;
}

int pci_setup_assign(struct pci_bus *pb, struct bus *io)
{
    uint32_t next = PCI_SETUP_MMIO_BASE;
    for (unsigned devfn = PCI_DEVFN(1, 0); devfn < PCI_MAX_DEVFN; devfn++) {
        struct pci_device *d = pb->dev[devfn];
        if (!d)
            continue;
        if (assign_bars(d, &next) < 0)
            return -1;
        pci_set16(d, PCI_COMMAND, pci_get16(d, PCI_COMMAND) | PCI_COMMAND_MEMORY);
        if (pci_get8(d, PCI_INTERRUPT_PIN))
            pci_set8(d, PCI_INTERRUPT_LINE, (uint8_t)pci_setup_irq(devfn >> 3));
        if (d->config_written)
            d->config_written(d, 0, PCI_CONFIG_SIZE);
    }
    uint16_t level = pci_setup_level_lines();
    bus_write(io, 0x4D0, 1, level & 0xFF);
    bus_write(io, 0x4D1, 1, level >> 8);
    return 0;
}

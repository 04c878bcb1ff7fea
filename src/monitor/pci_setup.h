/* pci_setup.h - what a PC's firmware does for PCI, done by the monitor.
 *
 * A direct kernel boot has no BIOS, yet Linux (with no ACPI and no PIRQ
 * routing table) keeps the BARs and interrupt lines it finds programmed:
 * - every memory BAR of every device but the host bridge gets an address
 *   in the PCI hole from PCI_SETUP_MMIO_BASE up, naturally aligned, and
 *   memory decoding is switched on;
 * - INTA of slot s is wired to PIC line pci_setup_irq(s), one of 10, 11, 5, 9
 *   as a PC's PIRQ lines are, written into the interrupt line register;
 * - those four lines are made level-triggered in the ELCR (ports 0x4D0/1),
 *   since PCI interrupts are level and may be shared.
 * Several devices may share a line: the monitor ORs their levels.
 */
#ifndef MORPH_PCI_SETUP_H
#define MORPH_PCI_SETUP_H

#include <stdint.h>

#include "devices/bus.h"
#include "devices/pci.h"

#define PCI_SETUP_MMIO_BASE 0xC0000000u
#define PCI_SETUP_MMIO_END 0xFEC00000u      /* IOAPIC and up stay free */

/* The PIC line for INTA of slot (device number) s. */
unsigned pci_setup_irq(unsigned slot);
/* ELCR bits for every line pci_setup_irq can return (bit n: IRQ n). */
uint16_t pci_setup_level_lines(void);

/* Programs BARs, COMMAND and interrupt lines of every device on pb and the
 * ELCR through the port bus.  Returns 0, or -1 when the BARs do not fit. */
int pci_setup_assign(struct pci_bus *pb, struct bus *io);

#endif

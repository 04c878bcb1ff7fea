/* boot_cpu.h - the CPU state a kernel loader hands over.
 *
 * Both the Linux 32-bit boot protocol and Multiboot start the kernel in
 * 32-bit protected mode with paging off, flat 4 GiB code and data segments
 * and interrupts disabled.  The segment selectors follow Linux (__BOOT_CS
 * 0x10, __BOOT_DS 0x18) and a matching GDT is written into guest RAM at
 * BOOT_GDT_ADDR, so a kernel that reloads its segment registers before
 * installing its own GDT still gets the same flat segments.
 */
#ifndef MORPH_BOOT_CPU_H
#define MORPH_BOOT_CPU_H

#include <stdint.h>

#include "engine/engine.h"

/* Size of the boot GDT in bytes (null, unused, code, data). */
#define BOOT_GDT_SIZE 32u

/* Writes the boot GDT into ram (which must hold at least BOOT_LOADER_AREA_END
 * bytes) and sets *st to the x86 power-on state changed to flat 32-bit
 * protected mode: CS = BOOT_CODE_SELECTOR, DS/ES/FS/GS/SS = BOOT_DATA_SELECTOR,
 * CR0 = PE|ET, EFLAGS = 2 (IF clear), EIP = entry, general registers zero,
 * ESP = BOOT_STACK_TOP, IDTR empty (an early fault becomes a clear triple
 * fault instead of a jump through the real-mode IVT). */
void boot_cpu_flat_protected(uint8_t *ram, struct cpu_state *st, uint32_t entry);

#endif

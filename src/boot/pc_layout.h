/* pc_layout.h - the guest-physical memory map of the PC morph emulates.
 *
 * Shared by the loaders (which describe it to the guest: e820, Multiboot
 * mmap) and the monitor (which maps RAM and ROM where it says).  Guest RAM is
 * one contiguous block at guest-physical 0 of PC_RAM_MIN..PC_RAM_MAX bytes;
 * the holes below are carved out of what the guest is told, not out of the
 * host mapping.
 *
 *   0x00000000 - 0x0009FBFF  low RAM (conventional memory, 639 KiB)
 *   0x0009FC00 - 0x0009FFFF  EBDA (reserved)
 *   0x000A0000 - 0x000BFFFF  VGA hole (MMIO)
 *   0x000C0000 - 0x000FFFFF  ROM area (option ROMs; firmware alias at the top)
 *   0x00100000 - RAM end     extended RAM
 *   0xC0000000 - 0xFFFFFFFF  PCI hole (MMIO, LAPIC/IOAPIC, firmware ROM at the top)
 */
#ifndef MORPH_PC_LAYOUT_H
#define MORPH_PC_LAYOUT_H

#include <stdint.h>

#define PC_KIB UINT64_C(1024)
#define PC_MIB (UINT64_C(1024) * 1024)
#define PC_GIB (UINT64_C(1024) * 1024 * 1024)

#define PC_LOW_RAM_END      UINT64_C(0x0009FC00)   /* end of usable conventional memory */
#define PC_EBDA_START       UINT64_C(0x0009FC00)
#define PC_EBDA_END         UINT64_C(0x000A0000)
#define PC_VGA_START        UINT64_C(0x000A0000)
#define PC_VGA_END          UINT64_C(0x000C0000)
#define PC_ROM_AREA_START   UINT64_C(0x000C0000)
#define PC_BIOS_AREA_START  UINT64_C(0x000F0000)   /* reported reserved in e820 */
#define PC_ROM_AREA_END     UINT64_C(0x00100000)
#define PC_HIGH_RAM_START   UINT64_C(0x00100000)   /* 1 MiB */
#define PC_PCI_HOLE_START   UINT64_C(0xC0000000)   /* 3 GiB */
#define PC_4GIB             UINT64_C(0x100000000)

/* RAM sizes the machine accepts (-m). */
#define PC_RAM_MIN          (16 * PC_MIB)
#define PC_RAM_MAX          PC_PCI_HOLE_START
#define PC_RAM_DEFAULT      (256 * PC_MIB)

/* Firmware ROM (--bios): mapped so that it ends at 4 GiB, and its last
 * PC_FIRMWARE_LOW_ALIAS_MAX bytes (all of it if smaller) also end at 1 MiB,
 * where real-mode code at F000:xxxx finds it. */
#define PC_FIRMWARE_MIN           (64 * PC_KIB)
#define PC_FIRMWARE_MAX           (1 * PC_MIB)
#define PC_FIRMWARE_ALIGN         (4 * PC_KIB)
#define PC_FIRMWARE_LOW_ALIAS_MAX (128 * PC_KIB)
#define PC_FIRMWARE_LOW_END       PC_ROM_AREA_END
#define PC_RESET_VECTOR           UINT64_C(0xFFFFFFF0)

/* Where the kernel loaders put their own structures in low RAM.  Multiboot
 * kernel segments may not overlap [0, BOOT_LOADER_AREA_END).
 *
 *   0x00000 - 0x004FF  real-mode IVT and BIOS data area (left zero)
 *   0x00500 - 0x05FFF  initial stack (ESP = BOOT_STACK_TOP, grows down)
 *   0x06000 - 0x0601F  boot GDT: 0x10 flat code, 0x18 flat data
 *   0x07000 - 0x07FFF  Linux zero page (struct boot_params)
 *   0x08000 - 0x0FFFF  Multiboot information, memory map, module list, strings
 *   0x20000 - 0x2FFFF  kernel command line
 */
#define BOOT_STACK_TOP        0x00006000u
#define BOOT_GDT_ADDR         0x00006000u
#define BOOT_CODE_SELECTOR    0x10u         /* Linux __BOOT_CS */
#define BOOT_DATA_SELECTOR    0x18u         /* Linux __BOOT_DS */
#define BOOT_ZERO_PAGE_ADDR   0x00007000u
#define BOOT_MBI_ADDR         0x00008000u
#define BOOT_MBI_END          0x00010000u
#define BOOT_CMDLINE_ADDR     0x00020000u
#define BOOT_CMDLINE_MAX      0x00010000u   /* bytes including the NUL */
#define BOOT_LOADER_AREA_END  0x00030000u
#define BOOT_KERNEL_ADDR      0x00100000u   /* protected-mode kernel load address */

/* e820 / Multiboot memory types. */
#define E820_TYPE_RAM       1
#define E820_TYPE_RESERVED  2

#endif

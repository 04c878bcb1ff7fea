/* linux_boot.h - the Linux/x86 boot protocol (bzImage, protocol 2.06+),
 * 32-bit entry.
 *
 * The real-mode setup code is not run: the protected-mode kernel is loaded
 * at BOOT_KERNEL_ADDR (1 MiB), the zero page (struct boot_params) is built
 * at BOOT_ZERO_PAGE_ADDR with the image's setup header, the e820 map, the
 * command line (at BOOT_CMDLINE_ADDR) and the initrd (as high in RAM as
 * initrd_addr_max allows, page-aligned, above the kernel), and the CPU
 * starts at code32_start in flat protected mode with ESI = zero page.
 */
#ifndef MORPH_BOOT_LINUX_BOOT_H
#define MORPH_BOOT_LINUX_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* Offsets in the bzImage file and in the zero page (the setup header sits
 * at the same offsets in both). */
#define LINUX_SETUP_SECTS      0x1f1
#define LINUX_SYSSIZE          0x1f4
#define LINUX_BOOT_FLAG        0x1fe
#define LINUX_JUMP             0x200
#define LINUX_HEADER_MAGIC     0x202   /* "HdrS" */
#define LINUX_VERSION          0x206
#define LINUX_TYPE_OF_LOADER   0x210
#define LINUX_LOADFLAGS        0x211
#define LINUX_CODE32_START     0x214
#define LINUX_RAMDISK_IMAGE    0x218
#define LINUX_RAMDISK_SIZE     0x21c
#define LINUX_HEAP_END_PTR     0x224
#define LINUX_CMD_LINE_PTR     0x228
#define LINUX_INITRD_ADDR_MAX  0x22c
#define LINUX_KERNEL_ALIGNMENT 0x230
#define LINUX_RELOCATABLE      0x234
#define LINUX_XLOADFLAGS       0x236
#define LINUX_CMDLINE_SIZE     0x238
#define LINUX_PREF_ADDRESS     0x258
#define LINUX_INIT_SIZE        0x260
#define LINUX_SETUP_HEADER_MAX 0x290   /* the setup header never extends past this */

/* Zero-page fields outside the setup header. */
#define ZP_EXT_MEM_K           0x002   /* screen_info.ext_mem_k: KiB above 1 MiB, 16 bits */
#define ZP_ALT_MEM_K           0x1e0   /* KiB above 1 MiB, 32 bits */
#define ZP_E820_ENTRIES        0x1e8
#define ZP_E820_TABLE          0x2d0
#define ZP_E820_ENTRY_SIZE     20
#define ZP_SIZE                4096

#define LINUX_LOADED_HIGH      0x01
#define LINUX_KEEP_SEGMENTS    0x40
#define LINUX_CAN_USE_HEAP     0x80
#define LINUX_XLF_KERNEL_64    0x0001  /* xloadflags: an x86-64 kernel */
#define LINUX_LOADER_UNDEFINED 0xff    /* type_of_loader: a loader with no assigned id */
#define LINUX_HEAP_END         0xfe00
#define LINUX_MIN_PROTOCOL     0x0206

/* True when the image carries a Linux boot header ("HdrS" at 0x202); it may
 * still be rejected by linux_boot_load (old protocol, zImage, truncated). */
bool linux_boot_probe(const uint8_t *kernel, size_t kernel_len);

/* Loads kernel (and initrd when initrd_len > 0; cmdline may be NULL) into
 * ram (ram_size bytes at guest-physical 0, PC_RAM_MIN..PC_RAM_MAX) and sets
 * *st to the entry state.  Returns 0, or -1 with a one-line reason in err
 * (RAM is not touched when validation fails). */
int linux_boot_load(uint8_t *ram, uint64_t ram_size,
                    const uint8_t *kernel, size_t kernel_len,
                    const uint8_t *initrd, size_t initrd_len,
                    const char *cmdline, struct cpu_state *st,
                    char *err, size_t errlen);

#endif

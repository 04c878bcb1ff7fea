/* multiboot.h - Multiboot (version 0.6.96) loader for i386 kernels.
 *
 * The kernel is an ELF32 i386 executable loaded by its program headers
 * (physical addresses), or any image whose Multiboot header sets flag 16
 * and gives its load addresses (the "a.out kludge").  The Multiboot
 * information structure, memory map, module list and strings are built at
 * BOOT_MBI_ADDR, the command line at BOOT_CMDLINE_ADDR; modules go
 * page-aligned right above the kernel.  The CPU starts at the entry point in
 * flat protected mode with EAX = MULTIBOOT_BOOTLOADER_MAGIC and EBX = the
 * information structure.
 */
#ifndef MORPH_BOOT_MULTIBOOT_H
#define MORPH_BOOT_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH_LIMIT     8192u

/* Header flags (bits 0-15 are requirements a loader must honour). */
#define MB_HDR_PAGE_ALIGN   0x00000001u   /* modules page-aligned: always done */
#define MB_HDR_MEMORY_INFO  0x00000002u   /* mem_* and mmap: always given */
#define MB_HDR_VIDEO_MODE   0x00000004u   /* no video here: accepted, no vbe/framebuffer info */
#define MB_HDR_AOUT_KLUDGE  0x00010000u

/* Header field offsets. */
#define MB_HDR_FLAGS         4
#define MB_HDR_CHECKSUM      8
#define MB_HDR_HEADER_ADDR   12
#define MB_HDR_LOAD_ADDR     16
#define MB_HDR_LOAD_END_ADDR 20
#define MB_HDR_BSS_END_ADDR  24
#define MB_HDR_ENTRY_ADDR    28
#define MB_HDR_AOUT_SIZE     32

/* Information structure flags and field offsets. */
#define MBI_FLAG_MEM         0x0001u
#define MBI_FLAG_CMDLINE     0x0004u
#define MBI_FLAG_MODS        0x0008u
#define MBI_FLAG_MMAP        0x0040u
#define MBI_FLAG_LOADER_NAME 0x0200u

#define MBI_FLAGS            0
#define MBI_MEM_LOWER        4
#define MBI_MEM_UPPER        8
#define MBI_CMDLINE          16
#define MBI_MODS_COUNT       20
#define MBI_MODS_ADDR        24
#define MBI_MMAP_LENGTH      44
#define MBI_MMAP_ADDR        48
#define MBI_LOADER_NAME      64
#define MBI_SIZE             128   /* room for every field up to the framebuffer ones */

#define MB_MODULE_SIZE       16    /* mod_start, mod_end, string, reserved */
#define MB_MMAP_ENTRY_SIZE   24    /* size (=20), base_addr, length, type */

#define MULTIBOOT_LOADER_NAME "morph"

/* A module handed to the kernel (e.g. the --initrd file): its bytes and its
 * string (NULL: empty). */
struct mb_module {
    const uint8_t *data;
    size_t len;
    const char *string;
};

/* True when a Multiboot header magic sits at a 4-byte aligned offset in the
 * first 8 KiB; multiboot_load checks the rest. */
bool multiboot_probe(const uint8_t *image, size_t len);

/* Loads image and nmods modules into ram (ram_size bytes at guest-physical
 * 0, PC_RAM_MIN..PC_RAM_MAX), builds the information structure and sets *st
 * to the entry state.  cmdline may be NULL.  Returns 0, or -1 with a
 * one-line reason in err (RAM is not touched when validation fails). */
int multiboot_load(uint8_t *ram, uint64_t ram_size,
                   const uint8_t *image, size_t len,
                   const char *cmdline,
                   const struct mb_module *mods, unsigned nmods,
                   struct cpu_state *st, char *err, size_t errlen);

#endif

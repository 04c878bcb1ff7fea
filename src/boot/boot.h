/* boot.h - what the monitor calls to put a guest's software into RAM.
 *
 * Either a kernel (--kernel, optional --initrd and --append), whose format
 * is probed: a Linux bzImage or a Multiboot kernel; or a firmware ROM
 * (--bios).  Errors are one line without the "morph: " prefix, which the
 * caller adds.  The guest-physical layout is in boot/pc_layout.h.
 */
#ifndef MORPH_BOOT_BOOT_H
#define MORPH_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "boot/firmware.h"
#include "engine/engine.h"

enum boot_kind {
    BOOT_LINUX,       /* bzImage, Linux 32-bit boot protocol */
    BOOT_MULTIBOOT,   /* Multiboot v1 kernel */
};

const char *boot_kind_name(enum boot_kind kind);

/* An image already in memory, with the name errors use for it (its path). */
struct boot_image {
    const uint8_t *data;
    size_t len;
    const char *name;
};

/* Probes kernel's format and loads it, with initrd (NULL or len 0: none)
 * and cmdline (NULL: empty), into ram (ram_size bytes at guest-physical 0)
 * and sets *st to its entry state.  For Multiboot the initrd becomes module
 * 0, its string being its name.  Returns 0 and the format in *kind, or -1
 * with a one-line reason in err that names the kernel. */
int boot_load_kernel_image(uint8_t *ram, uint64_t ram_size,
                           const struct boot_image *kernel, const struct boot_image *initrd,
                           const char *cmdline, struct cpu_state *st,
                           enum boot_kind *kind, char *err, size_t errlen);

/* The same from files (initrd_path NULL: none): reads them, loads, frees. */
int boot_load_kernel(uint8_t *ram, uint64_t ram_size,
                     const char *kernel_path, const char *initrd_path,
                     const char *cmdline, struct cpu_state *st,
                     enum boot_kind *kind, char *err, size_t errlen);

/* Reads and validates a firmware ROM file: *rom (malloc'd, the caller
 * frees it after copying it into the guest's ROM mappings) and *rom_len,
 * its two mappings in *layout, the power-on state in *st.  Returns 0 or -1
 * with a one-line reason in err naming the file. */
int boot_load_firmware(const char *path, uint8_t **rom, size_t *rom_len,
                       struct firmware_layout *layout, struct cpu_state *st,
                       char *err, size_t errlen);

#endif

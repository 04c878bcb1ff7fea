/* firmware.h - a firmware ROM image (--bios) and where the PC maps it.
 *
 * The ROM is mapped read-only twice: all of it ending at 4 GiB (the reset
 * vector 0xFFFFFFF0 is its 16th-last byte), and its last 128 KiB - all of it
 * when smaller - ending at 1 MiB, where real-mode code finds it at
 * E000:0/F000:0.  The CPU starts in the x86 power-on state (CS:IP =
 * F000:FFF0 with CS base 0xFFFF0000).
 */
#ifndef MORPH_BOOT_FIRMWARE_H
#define MORPH_BOOT_FIRMWARE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* One read-only mapping: guest-physical [gpa, gpa + size) shows the ROM
 * bytes [rom_offset, rom_offset + size). */
struct firmware_mapping {
    uint64_t gpa;
    uint64_t size;
    size_t rom_offset;
};

struct firmware_layout {
    struct firmware_mapping high;   /* ends at 4 GiB */
    struct firmware_mapping low;    /* ends at 1 MiB */
};

/* Validates the ROM size (PC_FIRMWARE_MIN..PC_FIRMWARE_MAX, a multiple of
 * PC_FIRMWARE_ALIGN), fills *layout and sets *st to the power-on state.
 * Returns 0, or -1 with a one-line reason in err. */
int firmware_load(const uint8_t *rom, size_t len, struct firmware_layout *layout,
                  struct cpu_state *st, char *err, size_t errlen);

#endif

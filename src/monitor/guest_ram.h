/* guest_ram.h - guest-physical memory: RAM and firmware ROM.
 *
 * RAM is one memfd mapped once into morph (so the translator can later map
 * the same pages a second time elsewhere); it covers guest-physical
 * 0..ram_size.  A firmware ROM is mapped read-only so that it ends at 4 GiB,
 * and its last 128 KiB (all of it if smaller) also end at 1 MiB; the ROM
 * regions come before RAM in guest_memory, so the low alias shadows RAM.
 */
#ifndef MORPH_GUEST_RAM_H
#define MORPH_GUEST_RAM_H

#include <stddef.h>
#include <stdint.h>

#include "boot/firmware.h"
#include "engine/engine.h"

struct guest_ram {
    int memfd;
    uint8_t *ram;
    uint64_t ram_size;
    uint8_t *rom;          /* NULL without --bios */
    uint64_t rom_size;
    struct guest_memory mem;
};

/* Returns 0, or -1 with a reason in err. */
int guest_ram_create(struct guest_ram *g, uint64_t ram_size, char *err, size_t errlen);
/* Maps a firmware image read-only where firmware_load placed it (layout).
 * Returns 0, or -1 with a reason in err. */
int guest_ram_add_rom(struct guest_ram *g, const uint8_t *image, size_t len,
                      const struct firmware_layout *layout, char *err, size_t errlen);
void guest_ram_destroy(struct guest_ram *g);

/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL. */
const uint8_t *guest_ram_peek(const struct guest_ram *g, uint64_t gpa, size_t len);

#endif

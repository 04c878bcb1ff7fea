/* firmware.c - validate a firmware ROM and compute its two mappings. */
#include "boot/firmware.h"

#include <inttypes.h>
#include <stdio.h>

#include "boot/pc_layout.h"
#include "engine/cpu_state.h"

int firmware_load(const uint8_t *rom, size_t len, struct firmware_layout *layout,
                  struct cpu_state *st, char *err, size_t errlen)
{
    (void)rom;   /* any contents are acceptable: the guest decides what they mean */
    if (len < PC_FIRMWARE_MIN || len > PC_FIRMWARE_MAX || len % PC_FIRMWARE_ALIGN) {
        snprintf(err, errlen,
                 "wrong size: %zu bytes (must be %" PRIu64 " KiB to %" PRIu64
                 " KiB, a multiple of %" PRIu64 " KiB)",
                 len, PC_FIRMWARE_MIN / PC_KIB, PC_FIRMWARE_MAX / PC_KIB, PC_FIRMWARE_ALIGN / PC_KIB);
        return -1;
    }
    uint64_t low = len < PC_FIRMWARE_LOW_ALIAS_MAX ? len : PC_FIRMWARE_LOW_ALIAS_MAX;

    layout->high = (struct firmware_mapping){ .gpa = PC_4GIB - len, .size = len, .rom_offset = 0 };
    layout->low = (struct firmware_mapping){ .gpa = PC_FIRMWARE_LOW_END - low, .size = low,
                                             .rom_offset = len - low };
    cpu_state_power_on(st);
    return 0;
}

/* memory_map.h - the PC memory map as the guest is told it (e820 style).
 *
 * Both kernel loaders describe the same map: the Linux zero page's e820
 * table and the Multiboot mmap list are two encodings of these entries.
 */
#ifndef MORPH_BOOT_MEMORY_MAP_H
#define MORPH_BOOT_MEMORY_MAP_H

#include <stdint.h>

struct mem_map_entry {
    uint64_t base;
    uint64_t length;
    uint32_t type;      /* E820_TYPE_* */
};

/* Enough for every map pc_memory_map() builds. */
#define PC_MEMORY_MAP_MAX 8

/* Fills out[] (PC_MEMORY_MAP_MAX entries) for a machine with ram_size bytes
 * of RAM (PC_RAM_MIN..PC_RAM_MAX), in ascending address order, and returns
 * the number of entries: low RAM, the EBDA and the BIOS area reserved,
 * extended RAM from 1 MiB, the PCI hole reserved. */
unsigned pc_memory_map(uint64_t ram_size, struct mem_map_entry *out);

#endif

/* memory_map.c - the PC memory map the loaders report to the guest. */
#include "boot/memory_map.h"

#include "boot/pc_layout.h"

static unsigned add(struct mem_map_entry *out, unsigned n, uint64_t start, uint64_t end,
                    uint32_t type)
{
    out[n] = (struct mem_map_entry){ .base = start, .length = end - start, .type = type };
    return n + 1;
}

unsigned pc_memory_map(uint64_t ram_size, struct mem_map_entry *out)
{
    unsigned n = 0;

    n = add(out, n, 0, PC_LOW_RAM_END, E820_TYPE_RAM);
    n = add(out, n, PC_EBDA_START, PC_EBDA_END, E820_TYPE_RESERVED);
    /* The VGA hole and option-ROM space stay unlisted, as on real PCs; the
     * system BIOS area is reserved so nothing is placed over firmware. */
    n = add(out, n, PC_BIOS_AREA_START, PC_ROM_AREA_END, E820_TYPE_RESERVED);
    if (ram_size > PC_HIGH_RAM_START)
        n = add(out, n, PC_HIGH_RAM_START, ram_size, E820_TYPE_RAM);
    n = add(out, n, PC_PCI_HOLE_START, PC_4GIB, E820_TYPE_RESERVED);
    return n;
}

/* boot_cpu.c - flat 32-bit protected mode for the kernel loaders. */
#include "boot/boot_cpu.h"

#include <string.h>

#include "boot/bytes.h"
#include "boot/pc_layout.h"
#include "engine/cpu_state.h"

/* Access byte + flags nibble of the flat descriptors, as SEGA_* bits.  The
 * accessed bit is preset, as a CPU would have set it when loading them. */
#define FLAT_CODE_ATTR (SEGA_ACCESSED | SEGA_RW | SEGA_CODE | SEGA_S | SEGA_P | SEGA_DB | SEGA_G)
#define FLAT_DATA_ATTR (SEGA_ACCESSED | SEGA_RW | SEGA_S | SEGA_P | SEGA_DB | SEGA_G)

/* An 8-byte descriptor with base 0 and limit 0xfffff (4 GiB with G). */
static void put_flat_descriptor(uint8_t *d, uint32_t attr)
{
    put_le16(d, 0xffff);                  /* limit 15:0 */
    put_le16(d + 2, 0);                   /* base 15:0 */
    d[4] = 0;                             /* base 23:16 */
    d[5] = (uint8_t)attr;                 /* access byte */
    d[6] = (uint8_t)(0x0f | ((attr >> 8) & 0xf0)); /* limit 19:16, flags */
    d[7] = 0;                             /* base 31:24 */
}

static struct seg_cache flat_segment(uint16_t selector, uint32_t attr)
{
    return (struct seg_cache){ .selector = selector, .base = 0, .limit = 0xffffffffu, .attr = attr };
}

void boot_cpu_flat_protected(uint8_t *ram, struct cpu_state *st, uint32_t entry)
{
    uint8_t *gdt = ram + BOOT_GDT_ADDR;

    memset(gdt, 0, BOOT_GDT_SIZE);
    put_flat_descriptor(gdt + BOOT_CODE_SELECTOR, FLAT_CODE_ATTR);
    put_flat_descriptor(gdt + BOOT_DATA_SELECTOR, FLAT_DATA_ATTR);

    cpu_state_power_on(st);
    memset(st->gpr, 0, sizeof(st->gpr));
    st->gpr[REG_ESP] = BOOT_STACK_TOP;
    st->eip = entry;
    st->eflags = EFL_FIXED;
    st->cr0 = CR0_PE | CR0_ET;
    st->gdtr = (struct dtable_reg){ .base = BOOT_GDT_ADDR, .limit = BOOT_GDT_SIZE - 1 };
    st->idtr = (struct dtable_reg){ .base = 0, .limit = 0 };
    for (int s = 0; s < SEG_COUNT; s++)
        st->seg[s] = flat_segment(BOOT_DATA_SELECTOR, FLAT_DATA_ATTR);
    st->seg[SEG_CS] = flat_segment(BOOT_CODE_SELECTOR, FLAT_CODE_ATTR);
}

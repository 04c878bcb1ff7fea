#include "tss.h"
#include "gdt.h"

void gdt_set_seg(uint16_t sel, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    gdt[sel / 8] = (uint64_t)(limit & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 |
                   (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xF) << 48 |
                   (uint64_t)(flags & 0xF) << 52 | (uint64_t)(base >> 24) << 56;
}

void gdt_set_gate(uint16_t sel, uint16_t target, uint32_t offset, uint8_t access, uint8_t params)
{
    gdt[sel / 8] = (uint64_t)(offset & 0xFFFF) | (uint64_t)target << 16 |
                   (uint64_t)(params & 0x1F) << 32 | (uint64_t)access << 40 |
                   (uint64_t)(offset >> 16) << 48;
}

uint8_t gdt_access(uint16_t sel)
{
    return (uint8_t)(gdt[sel / 8] >> 40);
}

void tss_install(struct tss32 *t, uint16_t sel, uint32_t limit, uint32_t esp0)
{
    t->ss0 = SEL_DATA32;
    t->esp0 = esp0;
    if (limit == TSS_LIMIT_NOIO) {
        t->iomap_base = sizeof(struct tss32) + 0x100;   /* beyond the limit: no bitmap */
    } else {
        struct tss_io *io = (struct tss_io *)t;
        t->iomap_base = sizeof(struct tss32);
        for (unsigned i = 0; i < sizeof(io->iomap); i++)
            io->iomap[i] = 0xFF;
        io->iomap_end = 0xFF;
    }
    gdt_set_seg(sel, (uint32_t)t, limit, ACC_TSS32, 0);
    __asm__ volatile("ltr %w0" : : "r"(sel) : "memory");
}

void tss_allow_port(struct tss_io *t, uint16_t port, int allow)
{
    if (allow)
        t->iomap[port >> 3] &= (uint8_t)~(1u << (port & 7));
    else
        t->iomap[port >> 3] |= (uint8_t)(1u << (port & 7));
}

/* boot_images.h - kernel images fabricated in memory for the loader tests:
 * a bzImage with a chosen setup header, and Multiboot ELF32 kernels. */
#ifndef MORPH_TEST_BOOT_IMAGES_H
#define MORPH_TEST_BOOT_IMAGES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bytes.h"
#include "boot/linux_boot.h"
#include "boot/multiboot.h"

/* ---- bzImage ------------------------------------------------------------ */

struct bz_spec {
    uint16_t version;
    uint8_t setup_sects;       /* as stored: 0 means 4 */
    uint8_t loadflags;
    size_t payload_len;        /* protected-mode kernel bytes */
    uint32_t syssize;          /* 0: derived from payload_len */
    uint32_t code32_start;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;
    uint8_t relocatable;
    uint32_t kernel_alignment;
    uint64_t pref_address;
    uint32_t init_size;
};

static inline struct bz_spec bz_default(void)
{
    return (struct bz_spec){
        .version = 0x020f, .setup_sects = 4, .loadflags = LINUX_LOADED_HIGH,
        .payload_len = 64 * 1024, .code32_start = 0x100000,
        .initrd_addr_max = 0x7fffffff, .cmdline_size = 2047,
        .kernel_alignment = 0x200000, .pref_address = 0x100000,
    };
}

/* Byte i of a fabricated protected-mode kernel. */
static inline uint8_t bz_payload_byte(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

/* Header end of the fabricated images: the jump at 0x200 says 0x26c. */
#define BZ_HEADER_END 0x26c
/* A byte of the setup code past the header, which must not be copied. */
#define BZ_SETUP_MARKER_OFF 0x280

static inline uint8_t *bz_build(const struct bz_spec *s, size_t *len)
{
    size_t sects = s->setup_sects ? s->setup_sects : 4;
    size_t setup = (sects + 1) * 512;
    uint8_t *k = calloc(1, setup + s->payload_len);

    *len = setup + s->payload_len;
    k[LINUX_SETUP_SECTS] = s->setup_sects;
    put_le32(k + LINUX_SYSSIZE, s->syssize ? s->syssize : (uint32_t)(s->payload_len / 16));
    put_le16(k + LINUX_BOOT_FLAG, 0xaa55);
    k[LINUX_JUMP] = 0xeb;
    k[LINUX_JUMP + 1] = BZ_HEADER_END - 0x202;
    memcpy(k + LINUX_HEADER_MAGIC, "HdrS", 4);
    put_le16(k + LINUX_VERSION, s->version);
    k[LINUX_LOADFLAGS] = s->loadflags;
    put_le32(k + LINUX_CODE32_START, s->code32_start);
    put_le32(k + LINUX_INITRD_ADDR_MAX, s->initrd_addr_max);
    put_le32(k + LINUX_KERNEL_ALIGNMENT, s->kernel_alignment);
    k[LINUX_RELOCATABLE] = s->relocatable;
    put_le32(k + LINUX_CMDLINE_SIZE, s->cmdline_size);
    put_le64(k + LINUX_PREF_ADDRESS, s->pref_address);
    put_le32(k + LINUX_INIT_SIZE, s->init_size);
    k[BZ_SETUP_MARKER_OFF] = 0x5a;
    for (size_t i = 0; i < s->payload_len; i++)
        k[setup + i] = bz_payload_byte(i);
    return k;
}

/* ---- Multiboot ELF ------------------------------------------------------- */

struct elf_seg {
    uint32_t paddr, vaddr;
    uint32_t filesz, memsz;
    uint8_t fill;              /* file bytes are fill, fill+1, ... */
};

struct elf_spec {
    struct elf_seg seg[4];
    unsigned nseg;
    uint32_t entry;
    uint8_t ei_class;          /* 1 */
    uint16_t machine;          /* 3 */
    uint16_t type;             /* 2 */
    uint32_t mb_flags;
    bool no_mb_header;
    bool bad_checksum;
};

#define ELF_MB_HEADER_OFF 0x200
#define ELF_DATA_OFF      0x1000

static inline struct elf_spec elf_default(void)
{
    return (struct elf_spec){
        .seg = { { .paddr = 0x100000, .vaddr = 0x100000, .filesz = 0x2000, .memsz = 0x2000, .fill = 0x11 },
                 { .paddr = 0x103000, .vaddr = 0x103000, .filesz = 0x100, .memsz = 0x1000, .fill = 0x77 } },
        .nseg = 2, .entry = 0x100010, .ei_class = 1, .machine = 3, .type = 2,
        .mb_flags = MB_HDR_PAGE_ALIGN | MB_HDR_MEMORY_INFO,
    };
}

/* File offset of segment i's data. */
static inline size_t elf_seg_offset(const struct elf_spec *s, unsigned i)
{
    size_t off = ELF_DATA_OFF;
    for (unsigned j = 0; j < i; j++)
        off += (s->seg[j].filesz + 0xfff) & ~0xfffu;
    return off;
}

static inline void mb_put_header(uint8_t *h, uint32_t flags, bool bad_checksum)
{
    put_le32(h, MULTIBOOT_HEADER_MAGIC);
    put_le32(h + MB_HDR_FLAGS, flags);
    put_le32(h + MB_HDR_CHECKSUM, (uint32_t)(0u - MULTIBOOT_HEADER_MAGIC - flags) + (bad_checksum ? 1 : 0));
}

static inline uint8_t *elf_build(const struct elf_spec *s, size_t *len)
{
    size_t total = elf_seg_offset(s, s->nseg);
    uint8_t *f = calloc(1, total);

    *len = total;
    memcpy(f, "\177ELF", 4);
    f[4] = s->ei_class;
    f[5] = 1;   /* little-endian */
    f[6] = 1;   /* EV_CURRENT */
    put_le16(f + 16, s->type);
    put_le16(f + 18, s->machine);
    put_le32(f + 20, 1);
    put_le32(f + 24, s->entry);
    put_le32(f + 28, 52);          /* e_phoff */
    put_le16(f + 40, 52);          /* e_ehsize */
    put_le16(f + 42, 32);          /* e_phentsize */
    put_le16(f + 44, (uint16_t)s->nseg);
    for (unsigned i = 0; i < s->nseg; i++) {
        uint8_t *ph = f + 52 + i * 32;
        size_t off = elf_seg_offset(s, i);
        put_le32(ph, 1);           /* PT_LOAD */
        put_le32(ph + 4, (uint32_t)off);
        put_le32(ph + 8, s->seg[i].vaddr);
        put_le32(ph + 12, s->seg[i].paddr);
        put_le32(ph + 16, s->seg[i].filesz);
        put_le32(ph + 20, s->seg[i].memsz);
        put_le32(ph + 24, 7);
        for (uint32_t b = 0; b < s->seg[i].filesz; b++)
            f[off + b] = (uint8_t)(s->seg[i].fill + b);
    }
    if (!s->no_mb_header)
        mb_put_header(f + ELF_MB_HEADER_OFF, s->mb_flags, s->bad_checksum);
    return f;
}

#endif

/* linux_boot.c - load a bzImage with the Linux/x86 32-bit boot protocol. */
#include "boot/linux_boot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "boot/boot_cpu.h"
#include "boot/bytes.h"
#include "boot/memory_map.h"
#include "boot/pc_layout.h"

#define SECTOR 512u
#define PAGE 4096ull

/* What the loader needs from a validated setup header. */
struct bzimage {
    size_t setup_size;        /* real-mode part: (setup_sects + 1) sectors */
    size_t header_end;        /* end of the setup header, from the jump at 0x200 */
    const uint8_t *payload;   /* the protected-mode kernel */
    size_t payload_len;
    uint32_t code32_start;
    uint32_t cmdline_size;    /* longest command line, without the NUL */
    uint64_t initrd_limit;    /* first byte the initrd must not reach */
    uint64_t kernel_end;      /* end of all memory the kernel uses early on */
};

struct linux_load {
    uint8_t *ram;
    uint64_t ram_size;
    struct bzimage bz;
    const char *cmdline;
    size_t cmdline_len;
    uint64_t initrd_addr;
    const uint8_t *initrd;
    size_t initrd_len;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
    return v / a * a;
}

static bool is_power_of_two(uint64_t v)
{
    return v && !(v & (v - 1));
}

bool linux_boot_probe(const uint8_t *kernel, size_t kernel_len)
{
    return kernel_len >= LINUX_HEADER_MAGIC + 4 &&
           memcmp(kernel + LINUX_HEADER_MAGIC, "HdrS", 4) == 0;
}

/* The end of the setup header: 0x202 plus the short jump's displacement,
 * bounded to where struct setup_header can end. */
static size_t setup_header_end(const uint8_t *k)
{
    size_t end = LINUX_SETUP_HEADER_MAX;

    if (k[LINUX_JUMP] == 0xeb)
        end = LINUX_JUMP + 2 + k[LINUX_JUMP + 1];
    if (end < LINUX_HEADER_MAGIC)
        end = LINUX_HEADER_MAGIC;
    if (end > LINUX_SETUP_HEADER_MAX)
        end = LINUX_SETUP_HEADER_MAX;
    return end;
}

/* Memory the kernel occupies before it reads its memory map: the image
 * itself at 1 MiB, and from protocol 2.10 init_size bytes at its runtime
 * address, which a relocatable kernel takes as the load address rounded up
 * to kernel_alignment but never below pref_address. */
static uint64_t kernel_memory_end(const uint8_t *k, const struct bzimage *bz)
{
    uint64_t end = BOOT_KERNEL_ADDR + (uint64_t)bz->payload_len;

    if (get_le16(k + LINUX_VERSION) >= 0x020a) {
        uint64_t pref = get_le64(k + LINUX_PREF_ADDRESS);
        uint64_t align = get_le32(k + LINUX_KERNEL_ALIGNMENT);
        uint64_t start = BOOT_KERNEL_ADDR;

        if (k[LINUX_RELOCATABLE] && is_power_of_two(align))
            start = align_up(start, align);
        if (pref > start)
            start = pref;
        uint64_t init_end = start + get_le32(k + LINUX_INIT_SIZE);
        if (init_end > end)
            end = init_end;
    }
    return end;
}

static int parse_bzimage(const uint8_t *k, size_t len, struct bzimage *bz, char *err, size_t errlen)
{
    if (!linux_boot_probe(k, len)) {
        snprintf(err, errlen, "no Linux boot header (\"HdrS\" at offset 0x202)");
        return -1;
    }
    unsigned sects = k[LINUX_SETUP_SECTS] ? k[LINUX_SETUP_SECTS] : 4;
    bz->setup_size = (size_t)(sects + 1) * SECTOR;
    if (bz->setup_size > len) {
        snprintf(err, errlen, "truncated bzImage: the setup code needs %zu bytes, the file has %zu",
                 bz->setup_size, len);
        return -1;
    }
    uint16_t version = get_le16(k + LINUX_VERSION);
    if (version < LINUX_MIN_PROTOCOL) {
        snprintf(err, errlen, "Linux boot protocol %x.%02x is too old (2.06 or later needed)",
                 version >> 8, version & 0xff);
        return -1;
    }
    if (!(k[LINUX_LOADFLAGS] & LINUX_LOADED_HIGH)) {
        snprintf(err, errlen, "kernel is a zImage (loaded low); only bzImage kernels are supported");
        return -1;
    }
    /* An x86-64 kernel has a 32-bit entry too, but it switches to long
     * mode, which this machine's CPU does not have. */
    if (version >= 0x020c && (get_le16(k + LINUX_XLOADFLAGS) & LINUX_XLF_KERNEL_64)) {
        snprintf(err, errlen, "kernel is a 64-bit (x86-64) Linux; only 32-bit x86 kernels run here");
        return -1;
    }
    bz->payload = k + bz->setup_size;
    bz->payload_len = len - bz->setup_size;
    uint64_t syssize = (uint64_t)get_le32(k + LINUX_SYSSIZE) * 16;
    if (bz->payload_len == 0 || syssize > bz->payload_len) {
        snprintf(err, errlen,
                 "truncated bzImage: the protected-mode kernel is %zu bytes, the header says %" PRIu64,
                 bz->payload_len, syssize);
        return -1;
    }
    bz->header_end = setup_header_end(k);
    bz->code32_start = get_le32(k + LINUX_CODE32_START);
    if (bz->code32_start < BOOT_KERNEL_ADDR ||
        bz->code32_start >= BOOT_KERNEL_ADDR + (uint64_t)bz->payload_len) {
        snprintf(err, errlen, "code32_start 0x%" PRIx32 " is outside the kernel loaded at 0x%x",
                 bz->code32_start, BOOT_KERNEL_ADDR);
        return -1;
    }
    bz->cmdline_size = get_le32(k + LINUX_CMDLINE_SIZE);
    bz->initrd_limit = (uint64_t)get_le32(k + LINUX_INITRD_ADDR_MAX) + 1;
    bz->kernel_end = kernel_memory_end(k, bz);
    return 0;
}

static int check_ram_size(uint64_t ram_size, char *err, size_t errlen)
{
    if (ram_size < PC_RAM_MIN || ram_size > PC_RAM_MAX) {
        snprintf(err, errlen, "RAM size %" PRIu64 " MiB is outside %" PRIu64 " MiB..%" PRIu64 " MiB",
                 ram_size / PC_MIB, PC_RAM_MIN / PC_MIB, PC_RAM_MAX / PC_MIB);
        return -1;
    }
    return 0;
}

static int place_kernel(struct linux_load *ld, char *err, size_t errlen)
{
    if (ld->bz.kernel_end > ld->ram_size) {
        snprintf(err, errlen,
                 "kernel does not fit in memory: it needs RAM up to %" PRIu64 " MiB, the machine has %" PRIu64 " MiB",
                 (ld->bz.kernel_end + PC_MIB - 1) / PC_MIB, ld->ram_size / PC_MIB);
        return -1;
    }
    return 0;
}

static int place_cmdline(struct linux_load *ld, char *err, size_t errlen)
{
    size_t max = ld->bz.cmdline_size;

    if (max > BOOT_CMDLINE_MAX - 1)
        max = BOOT_CMDLINE_MAX - 1;
    ld->cmdline_len = strlen(ld->cmdline);
    if (ld->cmdline_len > max) {
        snprintf(err, errlen, "kernel command line is %zu bytes, this kernel accepts at most %zu",
                 ld->cmdline_len, max);
        return -1;
    }
    return 0;
}

/* The initrd goes as high as possible: below initrd_addr_max and the end
 * of RAM, page-aligned, and entirely above the kernel. */
static int place_initrd(struct linux_load *ld, char *err, size_t errlen)
{
    if (ld->initrd_len == 0)
        return 0;
    uint64_t limit = ld->bz.initrd_limit < ld->ram_size ? ld->bz.initrd_limit : ld->ram_size;
    uint64_t floor = align_up(ld->bz.kernel_end, PAGE);

    if (ld->initrd_len > limit || align_down(limit - ld->initrd_len, PAGE) < floor) {
        snprintf(err, errlen,
                 "initrd does not fit in memory: %zu bytes, but only %" PRIu64
                 " bytes are free between the kernel (ends at 0x%" PRIx64 ") and 0x%" PRIx64,
                 ld->initrd_len, limit > floor ? limit - floor : 0, floor, limit);
        return -1;
    }
    ld->initrd_addr = align_down(limit - ld->initrd_len, PAGE);
    return 0;
}

static void write_e820(uint8_t *zp, uint64_t ram_size)
{
    struct mem_map_entry map[PC_MEMORY_MAP_MAX];
    unsigned n = pc_memory_map(ram_size, map);

    zp[ZP_E820_ENTRIES] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = zp + ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;
        put_le64(e, map[i].base);
        put_le64(e + 8, map[i].length);
        put_le32(e + 16, map[i].type);
    }
}

static void write_zero_page(const struct linux_load *ld, const uint8_t *kernel)
{
    uint8_t *zp = ld->ram + BOOT_ZERO_PAGE_ADDR;
    uint64_t ext_k = (ld->ram_size - PC_HIGH_RAM_START) / PC_KIB;

    memset(zp, 0, ZP_SIZE);
    memcpy(zp + LINUX_SETUP_SECTS, kernel + LINUX_SETUP_SECTS, ld->bz.header_end - LINUX_SETUP_SECTS);
    /* screen_info stays zero apart from ext_mem_k: no video mode, lines or
     * columns tells Linux there is no VGA text console on this machine. */
    put_le16(zp + ZP_EXT_MEM_K, (uint16_t)(ext_k > 0xffff ? 0xffff : ext_k));
    put_le32(zp + ZP_ALT_MEM_K, (uint32_t)ext_k);
    zp[LINUX_TYPE_OF_LOADER] = LINUX_LOADER_UNDEFINED;
    zp[LINUX_LOADFLAGS] = (uint8_t)((zp[LINUX_LOADFLAGS] & ~LINUX_KEEP_SEGMENTS) | LINUX_CAN_USE_HEAP);
    put_le16(zp + LINUX_HEAP_END_PTR, LINUX_HEAP_END);
    put_le32(zp + LINUX_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);
    put_le32(zp + LINUX_RAMDISK_IMAGE, (uint32_t)ld->initrd_addr);
    put_le32(zp + LINUX_RAMDISK_SIZE, (uint32_t)ld->initrd_len);
    write_e820(zp, ld->ram_size);
}

int linux_boot_load(uint8_t *ram, uint64_t ram_size,
                    const uint8_t *kernel, size_t kernel_len,
                    const uint8_t *initrd, size_t initrd_len,
                    const char *cmdline, struct cpu_state *st,
                    char *err, size_t errlen)
{
    struct linux_load ld = {
        .ram = ram, .ram_size = ram_size,
        .cmdline = cmdline ? cmdline : "",
        .initrd = initrd, .initrd_len = initrd ? initrd_len : 0,
    };

    if (check_ram_size(ram_size, err, errlen) ||
        parse_bzimage(kernel, kernel_len, &ld.bz, err, errlen) ||
        place_kernel(&ld, err, errlen) ||
        place_cmdline(&ld, err, errlen) ||
        place_initrd(&ld, err, errlen))
        return -1;

    memcpy(ram + BOOT_KERNEL_ADDR, ld.bz.payload, ld.bz.payload_len);
    memcpy(ram + BOOT_CMDLINE_ADDR, ld.cmdline, ld.cmdline_len + 1);
    if (ld.initrd_len)
        memcpy(ram + ld.initrd_addr, ld.initrd, ld.initrd_len);
    write_zero_page(&ld, kernel);

    boot_cpu_flat_protected(ram, st, ld.bz.code32_start);
    st->gpr[REG_ESI] = BOOT_ZERO_PAGE_ADDR;
    return 0;
}

/* multiboot.c - load a Multiboot v1 kernel (ELF32 or a.out kludge). */
#include "boot/multiboot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "boot/boot_cpu.h"
#include "boot/bytes.h"
#include "boot/memory_map.h"
#include "boot/pc_layout.h"

#define PAGE 4096ull
#define MB_MAX_SEGMENTS 16

/* ELF32 layout (System V ABI, i386 supplement). */
#define ELF_EHDR_SIZE   52
#define ELF_PHDR_SIZE   32
#define EI_CLASS        4
#define EI_DATA         5
#define ELFCLASS32      1
#define ELFDATA2LSB     1
#define ET_EXEC         2
#define EM_386          3
#define PT_LOAD         1
#define E_TYPE          16
#define E_MACHINE       18
#define E_ENTRY         24
#define E_PHOFF         28
#define E_PHENTSIZE     42
#define E_PHNUM         44
#define P_TYPE          0
#define P_OFFSET        4
#define P_VADDR         8
#define P_PADDR         12
#define P_FILESZ        16
#define P_MEMSZ         20

/* A piece of the kernel to copy (filesz bytes) and zero-fill (up to memsz). */
struct mb_segment {
    uint64_t addr;
    uint64_t vaddr;
    const uint8_t *src;
    uint64_t filesz, memsz;
};

struct mb_kernel {
    size_t header_off;
    uint32_t header_flags;
    struct mb_segment seg[MB_MAX_SEGMENTS];
    unsigned nseg;
    uint32_t entry;
    uint64_t end;           /* highest byte the kernel occupies, exclusive */
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

/* Offset of the first header magic (any checksum), or -1. */
static long find_magic(const uint8_t *image, size_t len, size_t from)
{
    size_t limit = len < MULTIBOOT_SEARCH_LIMIT ? len : MULTIBOOT_SEARCH_LIMIT;

    for (size_t off = from; off + 12 <= limit; off += 4)
        if (get_le32(image + off) == MULTIBOOT_HEADER_MAGIC)
            return (long)off;
    return -1;
}

bool multiboot_probe(const uint8_t *image, size_t len)
{
    return find_magic(image, len, 0) >= 0;
}

static int find_header(const uint8_t *image, size_t len, struct mb_kernel *k, char *err, size_t errlen)
{
    long off = find_magic(image, len, 0);

    if (off < 0) {
        snprintf(err, errlen, "no Multiboot header in the first %u bytes", MULTIBOOT_SEARCH_LIMIT);
        return -1;
    }
    for (; off >= 0; off = find_magic(image, len, (size_t)off + 4)) {
        uint32_t sum = MULTIBOOT_HEADER_MAGIC + get_le32(image + off + MB_HDR_FLAGS) +
                       get_le32(image + off + MB_HDR_CHECKSUM);
        if (sum == 0) {
            k->header_off = (size_t)off;
            k->header_flags = get_le32(image + off + MB_HDR_FLAGS);
            return 0;
        }
    }
    snprintf(err, errlen, "Multiboot header checksum is wrong (magic + flags + checksum must be 0)");
    return -1;
}

static int check_flags(uint32_t flags, char *err, size_t errlen)
{
    uint32_t known = MB_HDR_PAGE_ALIGN | MB_HDR_MEMORY_INFO | MB_HDR_VIDEO_MODE;
    uint32_t unknown = flags & 0xffffu & ~known;

    if (unknown) {
        snprintf(err, errlen, "Multiboot header requires features morph does not provide (flags 0x%" PRIx32 ")",
                 unknown);
        return -1;
    }
    return 0;
}

/* A segment must lie in RAM, above the loader's own structures and outside
 * the hole between 639 KiB and 1 MiB. */
static int check_segment(const struct mb_segment *s, uint64_t ram_size, char *err, size_t errlen)
{
    uint64_t end = s->addr + s->memsz;

    if (end > ram_size) {
        snprintf(err, errlen, "segment 0x%" PRIx64 "-0x%" PRIx64 " lies beyond the end of RAM (%" PRIu64 " MiB)",
                 s->addr, end, ram_size / PC_MIB);
        return -1;
    }
    if (s->addr < BOOT_LOADER_AREA_END) {
        snprintf(err, errlen, "segment 0x%" PRIx64 "-0x%" PRIx64 " overlaps the loader's area below 0x%x",
                 s->addr, end, BOOT_LOADER_AREA_END);
        return -1;
    }
    if (s->addr < PC_HIGH_RAM_START && end > PC_LOW_RAM_END) {
        snprintf(err, errlen, "segment 0x%" PRIx64 "-0x%" PRIx64 " overlaps the memory hole 0x%" PRIx64 "-0x%" PRIx64 "",
                 s->addr, end, PC_LOW_RAM_END, PC_HIGH_RAM_START);
        return -1;
    }
    return 0;
}

static int add_segment(struct mb_kernel *k, const struct mb_segment *s, uint64_t ram_size,
                       char *err, size_t errlen)
{
    if (k->nseg == MB_MAX_SEGMENTS) {
        snprintf(err, errlen, "too many loadable segments (at most %d)", MB_MAX_SEGMENTS);
        return -1;
    }
    if (check_segment(s, ram_size, err, errlen))
        return -1;
    k->seg[k->nseg++] = *s;
    if (s->addr + s->memsz > k->end)
        k->end = s->addr + s->memsz;
    return 0;
}

static int check_elf_header(const uint8_t *image, size_t len, char *err, size_t errlen)
{
    if (len < ELF_EHDR_SIZE || memcmp(image, "\177ELF", 4) != 0) {
        snprintf(err, errlen, "not an ELF file, and the Multiboot header does not give load addresses (flag 16)");
        return -1;
    }
    if (image[EI_CLASS] != ELFCLASS32 || image[EI_DATA] != ELFDATA2LSB) {
        snprintf(err, errlen, "ELF file is not 32-bit little-endian (class %u, data %u)",
                 image[EI_CLASS], image[EI_DATA]);
        return -1;
    }
    if (get_le16(image + E_MACHINE) != EM_386) {
        snprintf(err, errlen, "ELF file is not for i386 (e_machine %u)", get_le16(image + E_MACHINE));
        return -1;
    }
    if (get_le16(image + E_TYPE) != ET_EXEC) {
        snprintf(err, errlen, "ELF file is not an executable (e_type %u)", get_le16(image + E_TYPE));
        return -1;
    }
    return 0;
}

/* The entry point, given as a physical address or as a virtual address
 * inside a segment whose physical address differs (a higher-half kernel). */
static int resolve_elf_entry(struct mb_kernel *k, uint32_t e_entry, char *err, size_t errlen)
{
    for (unsigned i = 0; i < k->nseg; i++)
        if (e_entry >= k->seg[i].addr && e_entry < k->seg[i].addr + k->seg[i].memsz) {
            k->entry = e_entry;
            return 0;
        }
    for (unsigned i = 0; i < k->nseg; i++)
        if (e_entry >= k->seg[i].vaddr && e_entry < k->seg[i].vaddr + k->seg[i].memsz) {
            k->entry = (uint32_t)(e_entry - k->seg[i].vaddr + k->seg[i].addr);
            return 0;
        }
    snprintf(err, errlen, "ELF entry point 0x%" PRIx32 " is outside every loadable segment", e_entry);
    return -1;
}

static int parse_elf(const uint8_t *image, size_t len, uint64_t ram_size, struct mb_kernel *k,
                     char *err, size_t errlen)
{
    if (check_elf_header(image, len, err, errlen))
        return -1;
    uint64_t phoff = get_le32(image + E_PHOFF);
    uint64_t phentsize = get_le16(image + E_PHENTSIZE);
    uint64_t phnum = get_le16(image + E_PHNUM);

    if (phnum && phentsize < ELF_PHDR_SIZE) {
        snprintf(err, errlen, "ELF program header size %" PRIu64 " is too small", phentsize);
        return -1;
    }
    if (phoff + phnum * phentsize > len) {
        snprintf(err, errlen, "truncated ELF file: program headers at 0x%" PRIx64 " end past the file's %zu bytes",
                 phoff, len);
        return -1;
    }
    for (uint64_t i = 0; i < phnum; i++) {
        const uint8_t *ph = image + phoff + i * phentsize;
        if (get_le32(ph + P_TYPE) != PT_LOAD || get_le32(ph + P_MEMSZ) == 0)
            continue;
        uint64_t offset = get_le32(ph + P_OFFSET);
        struct mb_segment s = {
            .addr = get_le32(ph + P_PADDR), .vaddr = get_le32(ph + P_VADDR),
            .filesz = get_le32(ph + P_FILESZ), .memsz = get_le32(ph + P_MEMSZ),
        };
        if (s.filesz > s.memsz || offset + s.filesz > len) {
            snprintf(err, errlen,
                     "truncated or corrupt ELF file: segment %" PRIu64 " data (offset 0x%" PRIx64
                     ", %" PRIu64 " bytes) is not within the file's %zu bytes",
                     i, offset, s.filesz, len);
            return -1;
        }
        s.src = image + offset;
        if (add_segment(k, &s, ram_size, err, errlen))
            return -1;
    }
    if (k->nseg == 0) {
        snprintf(err, errlen, "ELF file has no loadable segments");
        return -1;
    }
    return resolve_elf_entry(k, get_le32(image + E_ENTRY), err, errlen);
}

/* Flag 16: the header says where its own bytes belong (header_addr), which
 * fixes where the file's load_addr byte is; load_end_addr 0 means the rest
 * of the file, bss_end_addr 0 means no bss. */
static int parse_aout_kludge(const uint8_t *image, size_t len, uint64_t ram_size, struct mb_kernel *k,
                             char *err, size_t errlen)
{
    const uint8_t *h = image + k->header_off;

    if (k->header_off + MB_HDR_AOUT_SIZE > len) {
        snprintf(err, errlen, "truncated Multiboot header: the address fields end past the file");
        return -1;
    }
    uint64_t header_addr = get_le32(h + MB_HDR_HEADER_ADDR);
    uint64_t load_addr = get_le32(h + MB_HDR_LOAD_ADDR);
    uint64_t load_end = get_le32(h + MB_HDR_LOAD_END_ADDR);
    uint64_t bss_end = get_le32(h + MB_HDR_BSS_END_ADDR);
    uint32_t entry = get_le32(h + MB_HDR_ENTRY_ADDR);

    if (load_addr > header_addr || header_addr - load_addr > k->header_off) {
        snprintf(err, errlen, "Multiboot load_addr 0x%" PRIx64 " does not fit header_addr 0x%" PRIx64 " at file offset 0x%zx",
                 load_addr, header_addr, k->header_off);
        return -1;
    }
    uint64_t file_off = k->header_off - (header_addr - load_addr);
    uint64_t filesz = load_end ? load_end - load_addr : len - file_off;
    if (load_end && (load_end < load_addr || file_off + filesz > len)) {
        snprintf(err, errlen, "Multiboot load_end_addr 0x%" PRIx64 " is before load_addr or past the end of the file",
                 load_end);
        return -1;
    }
    uint64_t memsz = filesz;
    if (bss_end) {
        if (bss_end < load_addr + filesz) {
            snprintf(err, errlen, "Multiboot bss_end_addr 0x%" PRIx64 " is below the loaded image's end 0x%" PRIx64,
                     bss_end, load_addr + filesz);
            return -1;
        }
        memsz = bss_end - load_addr;
    }
    struct mb_segment s = { .addr = load_addr, .vaddr = load_addr, .src = image + file_off,
                            .filesz = filesz, .memsz = memsz };
    if (memsz == 0) {
        snprintf(err, errlen, "Multiboot header describes an empty image");
        return -1;
    }
    if (add_segment(k, &s, ram_size, err, errlen))
        return -1;
    if (entry < load_addr || entry >= load_addr + memsz) {
        snprintf(err, errlen, "Multiboot entry_addr 0x%" PRIx32 " is outside the loaded image", entry);
        return -1;
    }
    k->entry = entry;
    return 0;
}

/* ---- the information structure ------------------------------------------ */

struct mb_layout {
    uint64_t module_start;   /* first module, page-aligned above the kernel */
    size_t cmdline_len;
};

static size_t module_string_len(const struct mb_module *m)
{
    return m->string ? strlen(m->string) : 0;
}

static int plan_info(const struct mb_kernel *k, uint64_t ram_size, const char *cmdline,
                     const struct mb_module *mods, unsigned nmods, struct mb_layout *lay,
                     char *err, size_t errlen)
{
    uint64_t need = MBI_SIZE + PC_MEMORY_MAP_MAX * MB_MMAP_ENTRY_SIZE +
                    (uint64_t)nmods * MB_MODULE_SIZE + sizeof(MULTIBOOT_LOADER_NAME);
    for (unsigned i = 0; i < nmods; i++)
        need += module_string_len(&mods[i]) + 1;
    if (need > BOOT_MBI_END - BOOT_MBI_ADDR) {
        snprintf(err, errlen, "Multiboot information (%" PRIu64 " bytes with module strings) exceeds its %u-byte area",
                 need, BOOT_MBI_END - BOOT_MBI_ADDR);
        return -1;
    }
    lay->cmdline_len = strlen(cmdline);
    if (lay->cmdline_len >= BOOT_CMDLINE_MAX) {
        snprintf(err, errlen, "kernel command line is %zu bytes, at most %u are supported",
                 lay->cmdline_len, BOOT_CMDLINE_MAX - 1);
        return -1;
    }
    uint64_t base = k->end > PC_HIGH_RAM_START ? k->end : PC_HIGH_RAM_START;
    lay->module_start = align_up(base, PAGE);
    uint64_t at = lay->module_start;
    for (unsigned i = 0; i < nmods; i++) {
        if (at + mods[i].len > ram_size) {
            snprintf(err, errlen,
                     "module %u ('%s', %zu bytes) does not fit in memory above the kernel"
                     " (RAM ends at %" PRIu64 " MiB)",
                     i, mods[i].string ? mods[i].string : "", mods[i].len, ram_size / PC_MIB);
            return -1;
        }
        at = align_up(at + mods[i].len, PAGE);
    }
    return 0;
}

/* Appends a NUL-terminated string at *at in guest RAM; returns its address. */
static uint32_t put_string(uint8_t *ram, uint32_t *at, const char *s)
{
    uint32_t addr = *at;
    size_t n = strlen(s) + 1;

    memcpy(ram + addr, s, n);
    *at += (uint32_t)n;
    return addr;
}

static uint32_t write_mmap(uint8_t *ram, uint32_t addr, uint64_t ram_size)
{
    struct mem_map_entry map[PC_MEMORY_MAP_MAX];
    unsigned n = pc_memory_map(ram_size, map);

    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = ram + addr + i * MB_MMAP_ENTRY_SIZE;
        put_le32(e, MB_MMAP_ENTRY_SIZE - 4);  /* size excludes the size field itself */
        put_le64(e + 4, map[i].base);
        put_le64(e + 12, map[i].length);
        put_le32(e + 20, map[i].type);
    }
    return n * MB_MMAP_ENTRY_SIZE;
}

static void write_info(uint8_t *ram, uint64_t ram_size, const char *cmdline,
                       const struct mb_module *mods, unsigned nmods, const struct mb_layout *lay)
{
    uint8_t *mbi = ram + BOOT_MBI_ADDR;
    uint32_t mmap_addr = BOOT_MBI_ADDR + MBI_SIZE;
    uint32_t mods_addr = mmap_addr + PC_MEMORY_MAP_MAX * MB_MMAP_ENTRY_SIZE;
    uint32_t strings = mods_addr + nmods * MB_MODULE_SIZE;

    memset(mbi, 0, BOOT_MBI_END - BOOT_MBI_ADDR);
    put_le32(mbi + MBI_FLAGS, MBI_FLAG_MEM | MBI_FLAG_CMDLINE | MBI_FLAG_MODS |
                              MBI_FLAG_MMAP | MBI_FLAG_LOADER_NAME);
    put_le32(mbi + MBI_MEM_LOWER, (uint32_t)(PC_LOW_RAM_END / PC_KIB));
    put_le32(mbi + MBI_MEM_UPPER, (uint32_t)((ram_size - PC_HIGH_RAM_START) / PC_KIB));

    memcpy(ram + BOOT_CMDLINE_ADDR, cmdline, lay->cmdline_len + 1);
    put_le32(mbi + MBI_CMDLINE, BOOT_CMDLINE_ADDR);

    put_le32(mbi + MBI_MMAP_LENGTH, write_mmap(ram, mmap_addr, ram_size));
    put_le32(mbi + MBI_MMAP_ADDR, mmap_addr);

    put_le32(mbi + MBI_LOADER_NAME, put_string(ram, &strings, MULTIBOOT_LOADER_NAME));

    uint64_t at = lay->module_start;
    for (unsigned i = 0; i < nmods; i++) {
        uint8_t *m = ram + mods_addr + i * MB_MODULE_SIZE;
        memcpy(ram + at, mods[i].data, mods[i].len);
        put_le32(m, (uint32_t)at);
        put_le32(m + 4, (uint32_t)(at + mods[i].len));
        put_le32(m + 8, put_string(ram, &strings, mods[i].string ? mods[i].string : ""));
        at = align_up(at + mods[i].len, PAGE);
    }
    put_le32(mbi + MBI_MODS_COUNT, nmods);
    put_le32(mbi + MBI_MODS_ADDR, mods_addr);
}

static void load_segments(uint8_t *ram, const struct mb_kernel *k)
{
    for (unsigned i = 0; i < k->nseg; i++) {
        const struct mb_segment *s = &k->seg[i];
        memcpy(ram + s->addr, s->src, s->filesz);
        memset(ram + s->addr + s->filesz, 0, s->memsz - s->filesz);
    }
}

int multiboot_load(uint8_t *ram, uint64_t ram_size,
                   const uint8_t *image, size_t len,
                   const char *cmdline,
                   const struct mb_module *mods, unsigned nmods,
                   struct cpu_state *st, char *err, size_t errlen)
{
    struct mb_kernel k = { 0 };
    struct mb_layout lay;

    if (!cmdline)
        cmdline = "";
    if (ram_size < PC_RAM_MIN || ram_size > PC_RAM_MAX) {
        snprintf(err, errlen, "RAM size %" PRIu64 " MiB is outside %" PRIu64 " MiB..%" PRIu64 " MiB",
                 ram_size / PC_MIB, PC_RAM_MIN / PC_MIB, PC_RAM_MAX / PC_MIB);
        return -1;
    }
    if (find_header(image, len, &k, err, errlen) || check_flags(k.header_flags, err, errlen))
        return -1;
    if (k.header_flags & MB_HDR_AOUT_KLUDGE) {
        if (parse_aout_kludge(image, len, ram_size, &k, err, errlen))
            return -1;
    } else if (parse_elf(image, len, ram_size, &k, err, errlen)) {
        return -1;
    }
    if (plan_info(&k, ram_size, cmdline, mods, nmods, &lay, err, errlen))
        return -1;

    load_segments(ram, &k);
    write_info(ram, ram_size, cmdline, mods, nmods, &lay);
    boot_cpu_flat_protected(ram, st, k.entry);
    st->gpr[REG_EAX] = MULTIBOOT_BOOTLOADER_MAGIC;
    st->gpr[REG_EBX] = BOOT_MBI_ADDR;
    return 0;
}

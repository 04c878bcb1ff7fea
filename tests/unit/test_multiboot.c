/* test_multiboot.c - the Multiboot loader on ELF and a.out-kludge kernels
 * built in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot_cpu.h"
#include "boot/multiboot.h"
#include "boot/pc_layout.h"
#include "boot_images.h"
#include "loader_env.h"

static int load_image(struct loader_env *e, const uint8_t *img, size_t len, const char *cmdline,
                      const struct mb_module *mods, unsigned nmods)
{
    return multiboot_load(e->ram, e->ram_size, img, len, cmdline, mods, nmods, &e->st,
                          e->err, sizeof(e->err));
}

static int load_elf(struct loader_env *e, const struct elf_spec *s, const char *cmdline,
                    const struct mb_module *mods, unsigned nmods)
{
    size_t len;
    uint8_t *img = elf_build(s, &len);
    int rc = load_image(e, img, len, cmdline, mods, nmods);
    free(img);
    return rc;
}

static uint32_t mbi32(struct loader_env *e, unsigned off)
{
    return get_le32(e->ram + BOOT_MBI_ADDR + off);
}

static void test_probe(void **state)
{
    (void)state;
    struct elf_spec s = elf_default();
    size_t len;
    uint8_t *img = elf_build(&s, &len);
    assert_true(multiboot_probe(img, len));
    /* Only 4-byte aligned offsets within 8 KiB count. */
    memset(img + ELF_MB_HEADER_OFF, 0, 12);
    assert_false(multiboot_probe(img, len));
    mb_put_header(img + 0x202, 0, false);
    assert_false(multiboot_probe(img, len));
    free(img);

    uint8_t *big = calloc(1, 16384);
    mb_put_header(big + 8192, 0, false);
    assert_false(multiboot_probe(big, 16384));
    mb_put_header(big + 8180, 0, false);
    assert_true(multiboot_probe(big, 16384));
    free(big);
}

static void test_elf_segments_loaded(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(32 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), 0);
    for (uint32_t b = 0; b < 0x2000; b += 0x3ff)
        assert_int_equal(e->ram[0x100000 + b], (uint8_t)(0x11 + b));
    for (uint32_t b = 0; b < 0x100; b++)
        assert_int_equal(e->ram[0x103000 + b], (uint8_t)(0x77 + b));
    for (uint32_t b = 0x100; b < 0x1000; b++)
        assert_int_equal(e->ram[0x103000 + b], 0);            /* bss */
    assert_int_equal(e->ram[0x102000], 0xcc);                 /* the gap is untouched */
    assert_int_equal(e->ram[0x104000], 0xcc);
    loader_env_free(e);
}

static void test_entry_state(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), 0);
    const struct cpu_state *st = &e->st;
    assert_int_equal(st->eip, 0x100010);
    assert_int_equal(st->gpr[REG_EAX], MULTIBOOT_BOOTLOADER_MAGIC);
    assert_int_equal(st->gpr[REG_EBX], BOOT_MBI_ADDR);
    assert_int_equal(st->eflags, 0x2);
    assert_int_equal(st->cr0 & (CR0_PE | CR0_PG), CR0_PE);
    assert_int_equal(st->seg[SEG_CS].limit, 0xffffffffu);
    assert_int_equal(st->seg[SEG_CS].base, 0);
    assert_true(st->seg[SEG_CS].attr & SEGA_CODE);
    assert_true(st->seg[SEG_CS].attr & SEGA_DB);
    for (int r = 0; r < SEG_COUNT; r++) {
        if (r == SEG_CS)
            continue;
        assert_int_equal(st->seg[r].base, 0);
        assert_int_equal(st->seg[r].limit, 0xffffffffu);
        assert_int_equal(st->seg[r].attr & (SEGA_CODE | SEGA_RW | SEGA_P), SEGA_RW | SEGA_P);
    }
    loader_env_free(e);
}

static void test_info_structure(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(64 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    uint8_t modbytes[10000];
    for (size_t i = 0; i < sizeof(modbytes); i++)
        modbytes[i] = (uint8_t)(i * 13);
    struct mb_module mods[2] = {
        { .data = modbytes, .len = sizeof(modbytes), .string = "initrd.img" },
        { .data = modbytes, .len = 5, .string = NULL },
    };
    assert_int_equal(load_elf(e, &s, "quiet loglevel=3", mods, 2), 0);

    uint32_t flags = mbi32(e, MBI_FLAGS);
    assert_int_equal(flags, MBI_FLAG_MEM | MBI_FLAG_CMDLINE | MBI_FLAG_MODS | MBI_FLAG_MMAP |
                            MBI_FLAG_LOADER_NAME);
    assert_int_equal(mbi32(e, MBI_MEM_LOWER), 639);
    assert_int_equal(mbi32(e, MBI_MEM_UPPER), 63 * 1024);
    assert_string_equal((const char *)e->ram + mbi32(e, MBI_CMDLINE), "quiet loglevel=3");
    assert_string_equal((const char *)e->ram + mbi32(e, MBI_LOADER_NAME), "morph");

    /* Memory map: the same five entries as the e820 table. */
    static const struct { uint64_t base, len; uint32_t type; } want[] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
        { 0x100000, 63 * MIB, 1 }, { 0xc0000000, 0x40000000, 2 },
    };
    assert_int_equal(mbi32(e, MBI_MMAP_LENGTH), 5 * 24);
    uint32_t mm = mbi32(e, MBI_MMAP_ADDR);
    for (unsigned i = 0; i < 5; i++) {
        const uint8_t *ent = e->ram + mm + i * 24;
        assert_int_equal(get_le32(ent), 20);
        assert_int_equal(get_le64(ent + 4), want[i].base);
        assert_int_equal(get_le64(ent + 12), want[i].len);
        assert_int_equal(get_le32(ent + 20), want[i].type);
    }

    /* Modules: page-aligned above the kernel (which ends at 0x104000). */
    assert_int_equal(mbi32(e, MBI_MODS_COUNT), 2);
    const uint8_t *m0 = e->ram + mbi32(e, MBI_MODS_ADDR);
    const uint8_t *m1 = m0 + 16;
    assert_int_equal(get_le32(m0), 0x104000);
    assert_int_equal(get_le32(m0 + 4), 0x104000 + sizeof(modbytes));
    assert_memory_equal(e->ram + 0x104000, modbytes, sizeof(modbytes));
    assert_string_equal((const char *)e->ram + get_le32(m0 + 8), "initrd.img");
    assert_int_equal(get_le32(m1), 0x107000);
    assert_int_equal(get_le32(m1 + 4), 0x107005);
    assert_string_equal((const char *)e->ram + get_le32(m1 + 8), "");

    /* Everything the loader wrote lies in its documented low area. */
    assert_true(mm >= BOOT_MBI_ADDR && mm < BOOT_MBI_END);
    assert_true(mbi32(e, MBI_MODS_ADDR) < BOOT_MBI_END);
    assert_true(mbi32(e, MBI_LOADER_NAME) < BOOT_MBI_END);
    assert_int_equal(mbi32(e, MBI_CMDLINE), BOOT_CMDLINE_ADDR);
    loader_env_free(e);
}

static void test_no_cmdline_no_modules(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), 0);
    assert_string_equal((const char *)e->ram + mbi32(e, MBI_CMDLINE), "");
    assert_int_equal(mbi32(e, MBI_MODS_COUNT), 0);
    loader_env_free(e);
}

static void test_no_header(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    s.no_mb_header = true;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "no Multiboot header in the first 8192 bytes");
    loader_env_free(e);
}

static void test_bad_checksum(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    s.bad_checksum = true;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "checksum");
    loader_env_free(e);
}

static void test_unsupported_required_flag(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    s.mb_flags |= 0x8;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "flags 0x8");
    /* The video-mode request is accepted (no video info is given). */
    s.mb_flags = MB_HDR_VIDEO_MODE;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), 0);
    loader_env_free(e);
}

static void test_segment_beyond_ram(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    s.seg[1].paddr = s.seg[1].vaddr = 16 * MIB - 0x800;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "beyond the end of RAM (16 MiB)");
    assert_int_equal(e->ram[0x100000], 0xcc);   /* nothing loaded */
    loader_env_free(e);
}

static void test_segment_in_low_areas(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    s.seg[1].paddr = s.seg[1].vaddr = 0x8000;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "overlaps the loader's area");
    s.seg[1].paddr = s.seg[1].vaddr = 0x9f000;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "overlaps the memory hole");
    /* Low RAM above the loader's area is fine. */
    s.seg[1].paddr = s.seg[1].vaddr = 0x40000;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), 0);
    assert_int_equal(e->ram[0x40000], 0x77);
    loader_env_free(e);
}

static void test_truncated_program_headers(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    size_t len;
    uint8_t *img = elf_build(&s, &len);
    /* Claim program headers far into the file's end. */
    put_le32(img + 28, (uint32_t)len - 40);
    assert_int_equal(load_image(e, img, len, NULL, NULL, 0), -1);
    assert_err_contains(e, "truncated ELF file: program headers");
    /* Segment data past the end of the file. */
    put_le32(img + 28, 52);
    assert_int_equal(load_image(e, img, elf_seg_offset(&s, 1) + 0x80, NULL, NULL, 0), -1);
    assert_err_contains(e, "segment 1 data");
    free(img);
    loader_env_free(e);
}

static void test_wrong_machine_and_class(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    s.machine = 62;   /* x86-64 */
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "not for i386 (e_machine 62)");
    s = elf_default();
    s.ei_class = 2;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "not 32-bit");
    s = elf_default();
    s.type = 3;       /* ET_DYN */
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "not an executable");
    loader_env_free(e);
}

static void test_entry_checks(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    s.entry = 0x200000;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), -1);
    assert_err_contains(e, "entry point 0x200000");

    /* A higher-half kernel: entry given as a virtual address. */
    s = elf_default();
    s.seg[0].vaddr = 0xc0100000;
    s.seg[1].vaddr = 0xc0103000;
    s.entry = 0xc0100020;
    assert_int_equal(load_elf(e, &s, NULL, NULL, 0), 0);
    assert_int_equal(e->st.eip, 0x100020);
    assert_int_equal(e->ram[0x100000], 0x11);   /* loaded at the physical address */
    loader_env_free(e);
}

static void test_module_too_big(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    struct elf_spec s = elf_default();
    size_t big = 15 * MIB;
    uint8_t *data = calloc(1, big);
    struct mb_module m = { .data = data, .len = big, .string = "big.img" };
    assert_int_equal(load_elf(e, &s, NULL, &m, 1), -1);
    assert_err_contains(e, "module 0 ('big.img'");
    free(data);
    loader_env_free(e);
}

/* A flat binary whose header (flag 16) gives its own load addresses. */
static uint8_t *aout_build(size_t len, size_t hdr_off, uint32_t header_addr, uint32_t load_addr,
                           uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
    uint8_t *img = malloc(len);
    for (size_t i = 0; i < len; i++)
        img[i] = (uint8_t)(i + 1);
    uint8_t *h = img + hdr_off;
    mb_put_header(h, MB_HDR_AOUT_KLUDGE | MB_HDR_MEMORY_INFO, false);
    put_le32(h + MB_HDR_HEADER_ADDR, header_addr);
    put_le32(h + MB_HDR_LOAD_ADDR, load_addr);
    put_le32(h + MB_HDR_LOAD_END_ADDR, load_end);
    put_le32(h + MB_HDR_BSS_END_ADDR, bss_end);
    put_le32(h + MB_HDR_ENTRY_ADDR, entry);
    return img;
}

static void test_aout_kludge(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    size_t len = 0x3000;
    /* Header at file offset 0x40 says it lives at 0x200040: file offset 0
     * goes to 0x200000; 0x2000 bytes loaded, bss up to 0x204000. */
    uint8_t *img = aout_build(len, 0x40, 0x200040, 0x200000, 0x202000, 0x204000, 0x200100);
    assert_int_equal(load_image(e, img, len, NULL, NULL, 0), 0);
    assert_int_equal(e->st.eip, 0x200100);
    assert_memory_equal(e->ram + 0x200000, img, 0x2000);
    for (uint32_t a = 0x202000; a < 0x204000; a += 0x100)
        assert_int_equal(e->ram[a], 0);
    assert_int_equal(e->ram[0x204000], 0xcc);
    free(img);

    /* The header need not be at the start of the loaded part. */
    memset(e->ram, 0xcc, e->ram_size);
    img = aout_build(len, 0x100, 0x300080, 0x300000, 0, 0, 0x300000);
    assert_int_equal(load_image(e, img, len, NULL, NULL, 0), 0);
    /* load_end 0: from file offset 0x80 to the end of the file. */
    assert_memory_equal(e->ram + 0x300000, img + 0x80, len - 0x80);
    assert_int_equal(e->ram[0x300000 + len - 0x80], 0xcc);
    free(img);

    /* Inconsistent addresses. */
    img = aout_build(len, 0x40, 0x200040, 0x200080, 0, 0, 0x200100);
    assert_int_equal(load_image(e, img, len, NULL, NULL, 0), -1);
    assert_err_contains(e, "load_addr");
    free(img);
    img = aout_build(len, 0x40, 0x200040, 0x200000, 0x209000, 0, 0x200100);
    assert_int_equal(load_image(e, img, len, NULL, NULL, 0), -1);
    assert_err_contains(e, "load_end_addr");
    free(img);
    img = aout_build(len, 0x40, 0x200040, 0x200000, 0x202000, 0x201000, 0x200100);
    assert_int_equal(load_image(e, img, len, NULL, NULL, 0), -1);
    assert_err_contains(e, "bss_end_addr");
    free(img);
    img = aout_build(len, 0x40, 0x200040, 0x200000, 0, 0, 0x400000);
    assert_int_equal(load_image(e, img, len, NULL, NULL, 0), -1);
    assert_err_contains(e, "entry_addr");
    free(img);
    img = aout_build(len, 0x40, 0x0ff0040, 0xff0000, 0, 0x1100000, 0xff0000);
    assert_int_equal(load_image(e, img, len, NULL, NULL, 0), -1);
    assert_err_contains(e, "beyond the end of RAM");
    free(img);
    loader_env_free(e);
}

static void test_not_elf_without_kludge(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    uint8_t img[4096] = { 0 };
    mb_put_header(img + 8, MB_HDR_MEMORY_INFO, false);
    assert_int_equal(load_image(e, img, sizeof(img), NULL, NULL, 0), -1);
    assert_err_contains(e, "not an ELF file");
    loader_env_free(e);
}

static void test_random_bytes(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0xcc);
    size_t len = 32768;
    uint8_t *junk = malloc(len);
    uint32_t x = 99;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    assert_false(multiboot_probe(junk, len));
    assert_int_equal(load_image(e, junk, len, NULL, NULL, 0), -1);
    assert_int_equal(load_image(e, junk, 5, NULL, NULL, 0), -1);
    free(junk);
    loader_env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_elf_segments_loaded),
        cmocka_unit_test(test_entry_state),
        cmocka_unit_test(test_info_structure),
        cmocka_unit_test(test_no_cmdline_no_modules),
        cmocka_unit_test(test_no_header),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_unsupported_required_flag),
        cmocka_unit_test(test_segment_beyond_ram),
        cmocka_unit_test(test_segment_in_low_areas),
        cmocka_unit_test(test_truncated_program_headers),
        cmocka_unit_test(test_wrong_machine_and_class),
        cmocka_unit_test(test_entry_checks),
        cmocka_unit_test(test_module_too_big),
        cmocka_unit_test(test_aout_kludge),
        cmocka_unit_test(test_not_elf_without_kludge),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

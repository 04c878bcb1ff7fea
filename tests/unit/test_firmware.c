/* test_firmware.c - firmware ROM sizes and mappings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/firmware.h"
#include "boot/pc_layout.h"
#include "engine/cpu_state.h"

#define KIB 1024u

struct fw {
    uint8_t *rom;
    size_t len;
    struct firmware_layout lay;
    struct cpu_state st;
    char err[256];
};

static int load(struct fw *f, size_t len)
{
    f->len = len;
    f->rom = calloc(1, len ? len : 1);
    memset(&f->st, 0x5a, sizeof(f->st));
    int rc = firmware_load(f->rom, len, &f->lay, &f->st, f->err, sizeof(f->err));
    free(f->rom);
    return rc;
}

/* The ROM byte a guest-physical address shows through a mapping, or -1. */
static long rom_offset_at(const struct firmware_mapping *m, uint64_t gpa)
{
    if (gpa < m->gpa || gpa >= m->gpa + m->size)
        return -1;
    return (long)(m->rom_offset + (gpa - m->gpa));
}

static void test_64k_rom(void **state)
{
    (void)state;
    struct fw f;
    assert_int_equal(load(&f, 64 * KIB), 0);
    assert_int_equal(f.lay.high.gpa, 0xffff0000u);
    assert_int_equal(f.lay.high.size, 64 * KIB);
    assert_int_equal(f.lay.high.rom_offset, 0);
    /* Smaller than 128 KiB: all of it below 1 MiB too. */
    assert_int_equal(f.lay.low.gpa, 0xf0000);
    assert_int_equal(f.lay.low.size, 64 * KIB);
    assert_int_equal(f.lay.low.rom_offset, 0);
}

static void test_256k_rom(void **state)
{
    (void)state;
    struct fw f;
    assert_int_equal(load(&f, 256 * KIB), 0);
    assert_int_equal(f.lay.high.gpa, 0xfffc0000u);
    assert_int_equal(f.lay.high.size, 256 * KIB);
    assert_int_equal(f.lay.low.gpa, 0xe0000);
    assert_int_equal(f.lay.low.size, 128 * KIB);
    assert_int_equal(f.lay.low.rom_offset, 128 * KIB);
}

static void test_1m_rom(void **state)
{
    (void)state;
    struct fw f;
    assert_int_equal(load(&f, 1024 * KIB), 0);
    assert_int_equal(f.lay.high.gpa, 0xfff00000u);
    assert_int_equal(f.lay.high.gpa + f.lay.high.size, 0x100000000ull);
    assert_int_equal(f.lay.low.gpa, 0xe0000);
    assert_int_equal(f.lay.low.rom_offset, 896 * KIB);
}

/* Both the reset vector and F000:FFF0 reach the ROM's 16th-last byte, for
 * every valid size, and the two mappings end where the PC needs them. */
static void test_reset_vector_reaches_rom_end(void **state)
{
    (void)state;
    static const size_t sizes[] = { 64 * KIB, 68 * KIB, 128 * KIB, 132 * KIB, 512 * KIB, 1024 * KIB };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct fw f;
        assert_int_equal(load(&f, sizes[i]), 0);
        assert_int_equal(rom_offset_at(&f.lay.high, PC_RESET_VECTOR), sizes[i] - 16);
        assert_int_equal(rom_offset_at(&f.lay.low, 0xffff0), sizes[i] - 16);
        assert_int_equal(f.lay.high.gpa + f.lay.high.size, PC_4GIB);
        assert_int_equal(f.lay.low.gpa + f.lay.low.size, 0x100000);
        assert_true(f.lay.low.rom_offset + f.lay.low.size == sizes[i]);
    }
}

static void test_power_on_state(void **state)
{
    (void)state;
    struct fw f;
    struct cpu_state want;
    assert_int_equal(load(&f, 64 * KIB), 0);
    cpu_state_power_on(&want);
    assert_memory_equal(&f.st, &want, sizeof(want));
    assert_int_equal(f.st.seg[SEG_CS].base + f.st.eip, PC_RESET_VECTOR);
    assert_false(f.st.cr0 & CR0_PE);
}

static void test_bad_sizes(void **state)
{
    (void)state;
    static const size_t bad[] = { 0, 1, 32 * KIB, 64 * KIB - 4096, 64 * KIB + 100,
                                  1024 * KIB + 4096, 2048 * KIB };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fw f;
        char want[64];
        assert_int_equal(load(&f, bad[i]), -1);
        snprintf(want, sizeof(want), "wrong size: %zu bytes", bad[i]);
        if (!strstr(f.err, want))
            fail_msg("'%s' does not mention '%s'", f.err, want);
        assert_non_null(strstr(f.err, "64 KiB to 1024 KiB, a multiple of 4 KiB"));
    }
}

static void write_file(const char *path, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < len; i++)
        fputc((int)(i & 0xff), fp);
    fclose(fp);
}

static void test_rom_from_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/morph-fw-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/bios.bin", dir);
    uint8_t *rom;
    size_t len;
    struct firmware_layout lay;
    struct cpu_state st;
    char err[256];

    write_file(path, 128 * KIB);
    assert_int_equal(boot_load_firmware(path, &rom, &len, &lay, &st, err, sizeof(err)), 0);
    assert_int_equal(len, 128 * KIB);
    assert_int_equal(rom[len - 16], (uint8_t)(len - 16));
    assert_int_equal(lay.low.gpa, 0xe0000);
    free(rom);

    write_file(path, 32 * KIB);
    assert_int_equal(boot_load_firmware(path, &rom, &len, &lay, &st, err, sizeof(err)), -1);
    assert_null(rom);
    char want_size[400];
    snprintf(want_size, sizeof(want_size),
             "firmware ROM '%s': wrong size: 32768 bytes (must be 64 KiB to 1024 KiB, a multiple of 4 KiB)", path);
    assert_string_equal(err, want_size);

    write_file(path, 2048 * KIB);
    assert_int_equal(boot_load_firmware(path, &rom, &len, &lay, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "too large"));
    unlink(path);

    assert_int_equal(boot_load_firmware(path, &rom, &len, &lay, &st, err, sizeof(err)), -1);
    char want[200];
    snprintf(want, sizeof(want), "cannot read firmware ROM '%s': No such file or directory", path);
    assert_string_equal(err, want);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_64k_rom),
        cmocka_unit_test(test_256k_rom),
        cmocka_unit_test(test_1m_rom),
        cmocka_unit_test(test_reset_vector_reaches_rom_end),
        cmocka_unit_test(test_power_on_state),
        cmocka_unit_test(test_bad_sizes),
        cmocka_unit_test(test_rom_from_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

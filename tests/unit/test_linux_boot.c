/* test_linux_boot.c - the bzImage loader on fabricated images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot_cpu.h"
#include "boot/linux_boot.h"
#include "boot/pc_layout.h"
#include "boot_images.h"
#include "loader_env.h"

static int load(struct loader_env *e, const struct bz_spec *s, const uint8_t *initrd,
                size_t initrd_len, const char *cmdline)
{
    size_t len;
    uint8_t *k = bz_build(s, &len);
    int rc = linux_boot_load(e->ram, e->ram_size, k, len, initrd, initrd_len, cmdline, &e->st,
                             e->err, sizeof(e->err));
    free(k);
    return rc;
}

static const uint8_t *zp(struct loader_env *e)
{
    return e->ram + BOOT_ZERO_PAGE_ADDR;
}

static void test_probe(void **state)
{
    (void)state;
    struct bz_spec s = bz_default();
    size_t len;
    uint8_t *k = bz_build(&s, &len);
    assert_true(linux_boot_probe(k, len));
    assert_false(linux_boot_probe(k, 0x205));
    k[LINUX_HEADER_MAGIC] = 'h';
    assert_false(linux_boot_probe(k, len));
    free(k);
}

static void test_kernel_loaded_at_1mib(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(32 * MIB, 0);
    struct bz_spec s = bz_default();
    assert_int_equal(load(e, &s, NULL, 0, "console=ttyS0"), 0);
    for (size_t i = 0; i < s.payload_len; i += 4093)
        assert_int_equal(e->ram[BOOT_KERNEL_ADDR + i], bz_payload_byte(i));
    assert_int_equal(e->ram[BOOT_KERNEL_ADDR + s.payload_len - 1], bz_payload_byte(s.payload_len - 1));
    loader_env_free(e);
}

static void test_zero_page_fields(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(64 * MIB, 0);
    struct bz_spec s = bz_default();
    s.init_size = 0x123000;
    assert_int_equal(load(e, &s, NULL, 0, "console=ttyS0 root=/dev/ram0"), 0);
    const uint8_t *z = zp(e);

    /* The setup header is copied up to its end, nothing past it. */
    assert_memory_equal(z + LINUX_HEADER_MAGIC, "HdrS", 4);
    assert_int_equal(get_le16(z + LINUX_VERSION), 0x020f);
    assert_int_equal(z[LINUX_SETUP_SECTS], 4);
    assert_int_equal(get_le32(z + LINUX_SYSSIZE), s.payload_len / 16);
    assert_int_equal(get_le32(z + LINUX_KERNEL_ALIGNMENT), 0x200000);
    assert_int_equal(get_le32(z + LINUX_INIT_SIZE), 0x123000);
    assert_int_equal(get_le32(z + LINUX_CODE32_START), 0x100000);
    assert_int_equal(z[BZ_SETUP_MARKER_OFF], 0);
    /* Fields the loader fills. */
    assert_int_equal(z[LINUX_TYPE_OF_LOADER], 0xff);
    assert_int_equal(z[LINUX_LOADFLAGS], LINUX_LOADED_HIGH | LINUX_CAN_USE_HEAP);
    assert_int_equal(get_le16(z + LINUX_HEAP_END_PTR), 0xfe00);
    assert_int_equal(get_le32(z + LINUX_CMD_LINE_PTR), BOOT_CMDLINE_ADDR);
    assert_string_equal((const char *)e->ram + BOOT_CMDLINE_ADDR, "console=ttyS0 root=/dev/ram0");
    assert_int_equal(get_le32(z + LINUX_RAMDISK_IMAGE), 0);
    assert_int_equal(get_le32(z + LINUX_RAMDISK_SIZE), 0);
    /* Memory above 1 MiB in KiB; no VGA text mode claimed. */
    assert_int_equal(get_le16(z + ZP_EXT_MEM_K), 63 * 1024);
    assert_int_equal(get_le32(z + ZP_ALT_MEM_K), 63 * 1024);
    assert_int_equal(z[0x06], 0);   /* orig_video_mode */
    assert_int_equal(z[0x07], 0);   /* orig_video_cols */
    assert_int_equal(z[0x0e], 0);   /* orig_video_lines */
    loader_env_free(e);
}

static void test_e820_map(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(48 * MIB, 0);
    struct bz_spec s = bz_default();
    assert_int_equal(load(e, &s, NULL, 0, NULL), 0);
    static const struct { uint64_t base, len; uint32_t type; } want[] = {
        { 0, 0x9fc00, 1 },
        { 0x9fc00, 0x400, 2 },
        { 0xf0000, 0x10000, 2 },
        { 0x100000, 47 * MIB, 1 },
        { 0xc0000000, 0x40000000, 2 },
    };
    const uint8_t *z = zp(e);
    assert_int_equal(z[ZP_E820_ENTRIES], 5);
    for (unsigned i = 0; i < 5; i++) {
        const uint8_t *ent = z + ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;
        assert_int_equal(get_le64(ent), want[i].base);
        assert_int_equal(get_le64(ent + 8), want[i].len);
        assert_int_equal(get_le32(ent + 16), want[i].type);
    }
    loader_env_free(e);
}

static void test_cpu_state(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    s.code32_start = 0x100200;
    memset(&e->st, 0xa5, sizeof(e->st));
    assert_int_equal(load(e, &s, NULL, 0, NULL), 0);
    const struct cpu_state *st = &e->st;

    assert_int_equal(st->eip, 0x100200);
    assert_int_equal(st->gpr[REG_ESI], BOOT_ZERO_PAGE_ADDR);
    assert_int_equal(st->gpr[REG_EBX], 0);
    assert_int_equal(st->gpr[REG_EBP], 0);
    assert_int_equal(st->gpr[REG_EDI], 0);
    assert_int_equal(st->eflags, 0x2);
    assert_true(st->cr0 & CR0_PE);
    assert_false(st->cr0 & CR0_PG);
    assert_int_equal(st->seg[SEG_CS].selector, 0x10);
    assert_int_equal(st->seg[SEG_CS].base, 0);
    assert_int_equal(st->seg[SEG_CS].limit, 0xffffffffu);
    uint32_t code = SEGA_CODE | SEGA_RW | SEGA_S | SEGA_P | SEGA_DB | SEGA_G;
    assert_int_equal(st->seg[SEG_CS].attr & code, code);
    uint32_t data = SEGA_RW | SEGA_S | SEGA_P | SEGA_DB | SEGA_G;
    for (int r = 0; r < SEG_COUNT; r++) {
        if (r == SEG_CS)
            continue;
        assert_int_equal(st->seg[r].selector, 0x18);
        assert_int_equal(st->seg[r].base, 0);
        assert_int_equal(st->seg[r].limit, 0xffffffffu);
        assert_int_equal(st->seg[r].attr & (data | SEGA_CODE), data);
    }
    /* The GDT in guest RAM holds the same descriptors. */
    assert_int_equal(st->gdtr.base, BOOT_GDT_ADDR);
    assert_int_equal(st->gdtr.limit, 31);
    static const uint8_t code_desc[8] = { 0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0 };
    static const uint8_t data_desc[8] = { 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0 };
    assert_memory_equal(e->ram + BOOT_GDT_ADDR + 0x10, code_desc, 8);
    assert_memory_equal(e->ram + BOOT_GDT_ADDR + 0x18, data_desc, 8);
    loader_env_free(e);
}

static void test_initrd_placed_high(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(64 * MIB, 0);
    struct bz_spec s = bz_default();
    size_t ilen = MIB + 123;
    uint8_t *initrd = malloc(ilen);
    for (size_t i = 0; i < ilen; i++)
        initrd[i] = (uint8_t)(i ^ 0x3c);
    assert_int_equal(load(e, &s, initrd, ilen, NULL), 0);
    uint32_t addr = get_le32(zp(e) + LINUX_RAMDISK_IMAGE);
    assert_int_equal(addr, (64 * MIB - ilen) & ~0xfffu);
    assert_int_equal(get_le32(zp(e) + LINUX_RAMDISK_SIZE), ilen);
    assert_memory_equal(e->ram + addr, initrd, ilen);
    free(initrd);
    loader_env_free(e);
}

static void test_initrd_below_initrd_addr_max(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(64 * MIB, 0);
    struct bz_spec s = bz_default();
    s.initrd_addr_max = 32 * MIB - 1;
    uint8_t initrd[5000] = { 1 };
    assert_int_equal(load(e, &s, initrd, sizeof(initrd), NULL), 0);
    uint32_t addr = get_le32(zp(e) + LINUX_RAMDISK_IMAGE);
    assert_int_equal(addr, (32 * MIB - sizeof(initrd)) & ~0xfffu);
    assert_true(addr + sizeof(initrd) <= 32 * MIB);
    loader_env_free(e);
}

static void test_initrd_too_big(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    size_t ilen = 15 * MIB;
    uint8_t *initrd = calloc(1, ilen);
    memset(e->ram, 0xcc, e->ram_size);
    assert_int_equal(load(e, &s, initrd, ilen, NULL), -1);
    assert_err_contains(e, "initrd does not fit");
    /* Validation failed before anything was written. */
    assert_int_equal(e->ram[BOOT_KERNEL_ADDR], 0xcc);
    assert_int_equal(e->ram[BOOT_ZERO_PAGE_ADDR + LINUX_HEADER_MAGIC], 0xcc);
    free(initrd);
    loader_env_free(e);
}

static void test_kernel_too_big(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    s.payload_len = 15 * MIB + 1;
    assert_int_equal(load(e, &s, NULL, 0, NULL), -1);
    assert_err_contains(e, "kernel does not fit in memory");
    loader_env_free(e);
}

/* A relocatable 2.10+ kernel runs from max(aligned load address,
 * pref_address) and needs init_size bytes there. */
static void test_init_size_and_pref_address(void **state)
{
    (void)state;
    struct bz_spec s = bz_default();
    s.relocatable = 1;
    s.pref_address = 16 * MIB;
    s.init_size = 8 * MIB;

    struct loader_env *small = loader_env_new(16 * MIB, 0);
    assert_int_equal(load(small, &s, NULL, 0, NULL), -1);
    assert_err_contains(small, "needs RAM up to 24 MiB");
    loader_env_free(small);

    struct loader_env *e = loader_env_new(32 * MIB, 0);
    uint8_t initrd[8192] = { 0 };
    assert_int_equal(load(e, &s, initrd, sizeof(initrd), NULL), 0);
    assert_true(get_le32(zp(e) + LINUX_RAMDISK_IMAGE) >= 24 * MIB);
    size_t big = 9 * MIB;
    uint8_t *too_big = calloc(1, big);
    assert_int_equal(load(e, &s, too_big, big, NULL), -1);
    assert_err_contains(e, "initrd does not fit");
    free(too_big);
    loader_env_free(e);
}

static void test_protocol_too_old(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    s.version = 0x0204;
    assert_int_equal(load(e, &s, NULL, 0, NULL), -1);
    assert_string_equal(e->err, "Linux boot protocol 2.04 is too old (2.06 or later needed)");
    s.version = 0x0206;
    assert_int_equal(load(e, &s, NULL, 0, NULL), 0);
    loader_env_free(e);
}

static void test_missing_hdrs(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    size_t len;
    uint8_t *k = bz_build(&s, &len);
    memcpy(k + LINUX_HEADER_MAGIC, "HdrX", 4);
    assert_int_equal(linux_boot_load(e->ram, e->ram_size, k, len, NULL, 0, NULL, &e->st,
                                     e->err, sizeof(e->err)), -1);
    assert_err_contains(e, "no Linux boot header");
    assert_int_equal(linux_boot_load(e->ram, e->ram_size, k, 100, NULL, 0, NULL, &e->st,
                                     e->err, sizeof(e->err)), -1);
    assert_err_contains(e, "no Linux boot header");
    free(k);
    loader_env_free(e);
}

static void test_truncated(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    size_t len;
    uint8_t *k = bz_build(&s, &len);
    /* Cut inside the setup code. */
    assert_int_equal(linux_boot_load(e->ram, e->ram_size, k, 1500, NULL, 0, NULL, &e->st,
                                     e->err, sizeof(e->err)), -1);
    assert_err_contains(e, "truncated bzImage: the setup code needs 2560 bytes, the file has 1500");
    /* Cut inside the protected-mode kernel (syssize says more). */
    assert_int_equal(linux_boot_load(e->ram, e->ram_size, k, len - 100, NULL, 0, NULL, &e->st,
                                     e->err, sizeof(e->err)), -1);
    assert_err_contains(e, "truncated bzImage: the protected-mode kernel");
    /* Nothing after the setup code. */
    assert_int_equal(linux_boot_load(e->ram, e->ram_size, k, 2560, NULL, 0, NULL, &e->st,
                                     e->err, sizeof(e->err)), -1);
    assert_err_contains(e, "truncated bzImage");
    free(k);
    loader_env_free(e);
}

static void test_setup_sects_zero_means_four(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    s.setup_sects = 0;
    assert_int_equal(load(e, &s, NULL, 0, NULL), 0);
    assert_int_equal(e->ram[BOOT_KERNEL_ADDR], bz_payload_byte(0));
    assert_int_equal(e->ram[BOOT_KERNEL_ADDR + 1000], bz_payload_byte(1000));
    assert_int_equal(zp(e)[LINUX_SETUP_SECTS], 0);

    /* A larger setup moves the kernel's start in the file. */
    s.setup_sects = 9;
    assert_int_equal(load(e, &s, NULL, 0, NULL), 0);
    assert_int_equal(e->ram[BOOT_KERNEL_ADDR + 1000], bz_payload_byte(1000));
    loader_env_free(e);
}

static void test_zimage_rejected(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    s.loadflags = 0;
    assert_int_equal(load(e, &s, NULL, 0, NULL), -1);
    assert_err_contains(e, "zImage");
    loader_env_free(e);
}

static void test_x86_64_kernel_rejected(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    size_t len;
    uint8_t *k = bz_build(&s, &len);
    put_le16(k + LINUX_XLOADFLAGS, LINUX_XLF_KERNEL_64);
    assert_int_equal(linux_boot_load(e->ram, e->ram_size, k, len, NULL, 0, NULL, &e->st,
                                     e->err, sizeof(e->err)), -1);
    assert_err_contains(e, "64-bit (x86-64)");
    /* Before protocol 2.12 the field does not exist and is not looked at. */
    put_le16(k + LINUX_VERSION, 0x020b);
    assert_int_equal(linux_boot_load(e->ram, e->ram_size, k, len, NULL, 0, NULL, &e->st,
                                     e->err, sizeof(e->err)), 0);
    free(k);
    loader_env_free(e);
}

static void test_cmdline_limits(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    s.cmdline_size = 10;
    assert_int_equal(load(e, &s, NULL, 0, "0123456789"), 0);
    assert_string_equal((const char *)e->ram + BOOT_CMDLINE_ADDR, "0123456789");
    assert_int_equal(load(e, &s, NULL, 0, "0123456789A"), -1);
    assert_err_contains(e, "command line is 11 bytes, this kernel accepts at most 10");
    /* No command line: an empty string, still pointed to. */
    memset(e->ram + BOOT_CMDLINE_ADDR, 'x', 16);
    assert_int_equal(load(e, &s, NULL, 0, NULL), 0);
    assert_string_equal((const char *)e->ram + BOOT_CMDLINE_ADDR, "");
    assert_int_equal(get_le32(zp(e) + LINUX_CMD_LINE_PTR), BOOT_CMDLINE_ADDR);
    loader_env_free(e);
}

static void test_code32_start_outside_kernel(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    struct bz_spec s = bz_default();
    s.code32_start = 0x200000;
    assert_int_equal(load(e, &s, NULL, 0, NULL), -1);
    assert_err_contains(e, "code32_start 0x200000");
    loader_env_free(e);
}

static void test_ram_size_checked(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(8 * MIB, 0);
    struct bz_spec s = bz_default();
    assert_int_equal(load(e, &s, NULL, 0, NULL), -1);
    assert_err_contains(e, "RAM size 8 MiB");
    loader_env_free(e);
}

static void test_random_bytes(void **state)
{
    (void)state;
    struct loader_env *e = loader_env_new(16 * MIB, 0);
    size_t len = 64 * 1024;
    uint8_t *junk = malloc(len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    assert_false(linux_boot_probe(junk, len));
    assert_int_equal(linux_boot_load(e->ram, e->ram_size, junk, len, NULL, 0, NULL, &e->st,
                                     e->err, sizeof(e->err)), -1);
    free(junk);
    loader_env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_kernel_loaded_at_1mib),
        cmocka_unit_test(test_zero_page_fields),
        cmocka_unit_test(test_e820_map),
        cmocka_unit_test(test_cpu_state),
        cmocka_unit_test(test_initrd_placed_high),
        cmocka_unit_test(test_initrd_below_initrd_addr_max),
        cmocka_unit_test(test_initrd_too_big),
        cmocka_unit_test(test_kernel_too_big),
        cmocka_unit_test(test_init_size_and_pref_address),
        cmocka_unit_test(test_protocol_too_old),
        cmocka_unit_test(test_missing_hdrs),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_setup_sects_zero_means_four),
        cmocka_unit_test(test_zimage_rejected),
        cmocka_unit_test(test_x86_64_kernel_rejected),
        cmocka_unit_test(test_cmdline_limits),
        cmocka_unit_test(test_code32_start_outside_kernel),
        cmocka_unit_test(test_ram_size_checked),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_boot.c - reading image files and choosing the loader by format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/image_file.h"
#include "boot/pc_layout.h"
#include "boot_images.h"

#define MIB (1024u * 1024)

struct dir {
    char path[64];
};

static int setup_dir(void **state)
{
    struct dir *d = calloc(1, sizeof(*d));
    strcpy(d->path, "/tmp/morph-boot-XXXXXX");
    if (!mkdtemp(d->path))
        return -1;
    *state = d;
    return 0;
}

static int teardown_dir(void **state)
{
    struct dir *d = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
    int rc = system(cmd);
    free(d);
    return rc == 0 ? 0 : -1;
}

static char *path_in(struct dir *d, const char *name)
{
    static char buf[4][128];   /* test helper: a few paths alive at once */
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 128, "%s/%s", d->path, name);
    return p;
}

static void write_bytes(const char *path, const uint8_t *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (len)
        assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void test_read_ok(void **state)
{
    struct dir *d = *state;
    const char *p = path_in(d, "k.bin");
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 5);
    write_bytes(p, data, sizeof(data));
    uint8_t *buf;
    size_t len;
    char err[256];
    assert_int_equal(image_file_read(p, "kernel", &buf, &len, 1 << 20, err, sizeof(err)), 0);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(buf, data, len);
    free(buf);
    /* Exactly at the limit is fine. */
    assert_int_equal(image_file_read(p, "kernel", &buf, &len, sizeof(data), err, sizeof(err)), 0);
    free(buf);
}

static void test_read_missing(void **state)
{
    struct dir *d = *state;
    const char *p = path_in(d, "nope.bin");
    uint8_t *buf = (uint8_t *)1;
    size_t len;
    char err[256], want[256];
    assert_int_equal(image_file_read(p, "kernel", &buf, &len, 1 << 20, err, sizeof(err)), -1);
    assert_null(buf);
    snprintf(want, sizeof(want), "cannot read kernel '%s': No such file or directory", p);
    assert_string_equal(err, want);
}

static void test_read_directory(void **state)
{
    struct dir *d = *state;
    uint8_t *buf;
    size_t len;
    char err[256], want[256];
    assert_int_equal(image_file_read(d->path, "initrd", &buf, &len, 1 << 20, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "cannot read initrd '%s': is a directory", d->path);
    assert_string_equal(err, want);
}

static void test_read_empty_and_too_large(void **state)
{
    struct dir *d = *state;
    const char *p = path_in(d, "empty");
    uint8_t *buf;
    size_t len;
    char err[256];
    write_bytes(p, NULL, 0);
    assert_int_equal(image_file_read(p, "kernel", &buf, &len, 1 << 20, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is empty"));
    assert_non_null(strstr(err, p));

    uint8_t data[100] = { 0 };
    p = path_in(d, "big");
    write_bytes(p, data, sizeof(data));
    assert_int_equal(image_file_read(p, "initrd", &buf, &len, 99, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too large (100 bytes, at most 99)"));
    assert_non_null(strstr(err, "initrd"));
}

static void test_read_pipe_too_large(void **state)
{
    (void)state;
    /* Not a regular file: the size is only known by reading. */
    uint8_t *buf;
    size_t len;
    char err[256];
    assert_int_equal(image_file_read("/dev/zero", "kernel", &buf, &len, 5000, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too large"));
}

static void test_read_unreadable(void **state)
{
    struct dir *d = *state;
    uint8_t *buf;
    size_t len;
    char err[256];

    /* Opens but fails to read (address 0 of our own memory is unmapped). */
    assert_int_equal(image_file_read("/proc/self/mem", "kernel", &buf, &len, 100, err, sizeof(err)), -1);
    assert_string_equal(err, "cannot read kernel '/proc/self/mem': Input/output error");

    if (geteuid() == 0)
        return;   /* root opens files regardless of their mode */
    const char *p = path_in(d, "secret");
    uint8_t b = 1;
    write_bytes(p, &b, 1);
    chmod(p, 0);
    assert_int_equal(image_file_read(p, "kernel", &buf, &len, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Permission denied"));
}

static void test_kernel_neither_format(void **state)
{
    (void)state;
    uint8_t *ram = calloc(1, 16 * MIB);
    uint8_t junk[4096];
    uint32_t x = 7;
    for (size_t i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    struct boot_image k = { .data = junk, .len = sizeof(junk), .name = "junk.bin" };
    struct cpu_state st;
    enum boot_kind kind;
    char err[256];
    assert_int_equal(boot_load_kernel_image(ram, 16 * MIB, &k, NULL, NULL, &st, &kind, err, sizeof(err)), -1);
    assert_string_equal(err, "kernel 'junk.bin' is neither a Linux bzImage nor a Multiboot ELF");
    k.len = 10;
    assert_int_equal(boot_load_kernel_image(ram, 16 * MIB, &k, NULL, NULL, &st, &kind, err, sizeof(err)), -1);
    free(ram);
}

static void test_kernel_bzimage_file(void **state)
{
    struct dir *d = *state;
    struct bz_spec s = bz_default();
    size_t klen;
    uint8_t *k = bz_build(&s, &klen);
    const char *kp = path_in(d, "bzImage");
    const char *ip = path_in(d, "initrd.img");
    uint8_t initrd[777];
    memset(initrd, 0x42, sizeof(initrd));
    write_bytes(kp, k, klen);
    write_bytes(ip, initrd, sizeof(initrd));
    uint8_t *ram = calloc(1, 32 * MIB);
    struct cpu_state st;
    enum boot_kind kind;
    char err[256];
    assert_int_equal(boot_load_kernel(ram, 32 * MIB, kp, ip, "console=ttyS0", &st, &kind, err, sizeof(err)), 0);
    assert_int_equal(kind, BOOT_LINUX);
    assert_string_equal(boot_kind_name(kind), "Linux bzImage");
    assert_int_equal(st.gpr[REG_ESI], BOOT_ZERO_PAGE_ADDR);
    uint32_t at = get_le32(ram + BOOT_ZERO_PAGE_ADDR + LINUX_RAMDISK_IMAGE);
    assert_memory_equal(ram + at, initrd, sizeof(initrd));
    assert_string_equal((char *)ram + BOOT_CMDLINE_ADDR, "console=ttyS0");

    /* Old protocol: the error names the file and the version. */
    put_le16(k + LINUX_VERSION, 0x0201);
    write_bytes(kp, k, klen);
    assert_int_equal(boot_load_kernel(ram, 32 * MIB, kp, NULL, NULL, &st, &kind, err, sizeof(err)), -1);
    char want[256];
    snprintf(want, sizeof(want), "kernel '%s': Linux boot protocol 2.01 is too old (2.06 or later needed)", kp);
    assert_string_equal(err, want);

    /* A missing initrd is named as such. */
    put_le16(k + LINUX_VERSION, 0x020f);
    write_bytes(kp, k, klen);
    const char *missing = path_in(d, "missing.img");
    assert_int_equal(boot_load_kernel(ram, 32 * MIB, kp, missing, NULL, &st, &kind, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "cannot read initrd '%s': No such file or directory", missing);
    assert_string_equal(err, want);

    /* A kernel file bigger than RAM is refused before it is read. */
    assert_int_equal(truncate(kp, 32 * MIB + 1), 0);
    assert_int_equal(boot_load_kernel(ram, 32 * MIB, kp, NULL, NULL, &st, &kind, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too large (33554433 bytes, at most 33554432)"));
    free(ram);
    free(k);
}

static void test_kernel_multiboot_file(void **state)
{
    struct dir *d = *state;
    struct elf_spec s = elf_default();
    size_t klen;
    uint8_t *k = elf_build(&s, &klen);
    const char *kp = path_in(d, "guest.elf");
    const char *ip = path_in(d, "mod.bin");
    uint8_t mod[100];
    memset(mod, 0x99, sizeof(mod));
    write_bytes(kp, k, klen);
    write_bytes(ip, mod, sizeof(mod));
    uint8_t *ram = calloc(1, 16 * MIB);
    struct cpu_state st;
    enum boot_kind kind;
    char err[256];
    assert_int_equal(boot_load_kernel(ram, 16 * MIB, kp, ip, "x=1", &st, &kind, err, sizeof(err)), 0);
    assert_int_equal(kind, BOOT_MULTIBOOT);
    assert_int_equal(st.gpr[REG_EAX], MULTIBOOT_BOOTLOADER_MAGIC);
    const uint8_t *mbi = ram + BOOT_MBI_ADDR;
    assert_int_equal(get_le32(mbi + MBI_MODS_COUNT), 1);
    const uint8_t *m = ram + get_le32(mbi + MBI_MODS_ADDR);
    assert_memory_equal(ram + get_le32(m), mod, sizeof(mod));
    assert_string_equal((char *)ram + get_le32(m + 8), ip);

    /* Loader errors carry the kernel's name. */
    k[18] = 62;
    write_bytes(kp, k, klen);
    assert_int_equal(boot_load_kernel(ram, 16 * MIB, kp, NULL, NULL, &st, &kind, err, sizeof(err)), -1);
    assert_non_null(strstr(err, kp));
    assert_non_null(strstr(err, "not for i386"));

    /* Missing kernel file. */
    assert_int_equal(boot_load_kernel(ram, 16 * MIB, path_in(d, "none"), NULL, NULL, &st, &kind, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot read kernel"));
    assert_non_null(strstr(err, "No such file or directory"));
    free(ram);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_ok, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_missing, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_directory, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_empty_and_too_large, setup_dir, teardown_dir),
        cmocka_unit_test(test_read_pipe_too_large),
        cmocka_unit_test_setup_teardown(test_read_unreadable, setup_dir, teardown_dir),
        cmocka_unit_test(test_kernel_neither_format),
        cmocka_unit_test_setup_teardown(test_kernel_bzimage_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_kernel_multiboot_file, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

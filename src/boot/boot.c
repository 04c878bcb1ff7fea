/* boot.c - pick the loader for a kernel file; read ROM files. */
#include "boot/boot.h"

#include <stdio.h>
#include <stdlib.h>

#include "boot/image_file.h"
#include "boot/linux_boot.h"
#include "boot/multiboot.h"
#include "boot/pc_layout.h"

const char *boot_kind_name(enum boot_kind kind)
{
    switch (kind) {
    case BOOT_LINUX:     return "Linux bzImage";
    case BOOT_MULTIBOOT: return "Multiboot";
    }
    return "unknown";
}

/* Prefixes a loader's reason with the kernel's name. */
static int kernel_error(const char *name, const char *reason, char *err, size_t errlen)
{
    snprintf(err, errlen, "kernel '%s': %s", name, reason);
    return -1;
}

int boot_load_kernel_image(uint8_t *ram, uint64_t ram_size,
                           const struct boot_image *kernel, const struct boot_image *initrd,
                           const char *cmdline, struct cpu_state *st,
                           enum boot_kind *kind, char *err, size_t errlen)
{
    char reason[256];
    bool has_initrd = initrd && initrd->data && initrd->len;

    if (linux_boot_probe(kernel->data, kernel->len)) {
        *kind = BOOT_LINUX;
        if (linux_boot_load(ram, ram_size, kernel->data, kernel->len,
                            has_initrd ? initrd->data : NULL, has_initrd ? initrd->len : 0,
                            cmdline, st, reason, sizeof(reason)))
            return kernel_error(kernel->name, reason, err, errlen);
        return 0;
    }
    if (multiboot_probe(kernel->data, kernel->len)) {
        struct mb_module mod = { 0 };
        if (has_initrd)
            mod = (struct mb_module){ .data = initrd->data, .len = initrd->len, .string = initrd->name };
        *kind = BOOT_MULTIBOOT;
        if (multiboot_load(ram, ram_size, kernel->data, kernel->len, cmdline,
                           &mod, has_initrd ? 1 : 0, st, reason, sizeof(reason)))
            return kernel_error(kernel->name, reason, err, errlen);
        return 0;
    }
    snprintf(err, errlen, "kernel '%s' is neither a Linux bzImage nor a Multiboot ELF", kernel->name);
    return -1;
}

int boot_load_kernel(uint8_t *ram, uint64_t ram_size,
                     const char *kernel_path, const char *initrd_path,
                     const char *cmdline, struct cpu_state *st,
                     enum boot_kind *kind, char *err, size_t errlen)
{
    struct boot_image kernel = { .name = kernel_path };
    struct boot_image initrd = { .name = initrd_path };
    uint8_t *kbuf = NULL, *ibuf = NULL;
    int rc = -1;

    if (image_file_read(kernel_path, "kernel", &kbuf, &kernel.len, ram_size, err, errlen))
        goto out;
    if (initrd_path &&
        image_file_read(initrd_path, "initrd", &ibuf, &initrd.len, ram_size, err, errlen))
        goto out;
    kernel.data = kbuf;
    initrd.data = ibuf;
    rc = boot_load_kernel_image(ram, ram_size, &kernel, initrd_path ? &initrd : NULL,
                                cmdline, st, kind, err, errlen);
out:
    free(kbuf);
    free(ibuf);
    return rc;
}

int boot_load_firmware(const char *path, uint8_t **rom, size_t *rom_len,
                       struct firmware_layout *layout, struct cpu_state *st,
                       char *err, size_t errlen)
{
    char reason[200];

    if (image_file_read(path, "firmware ROM", rom, rom_len, PC_FIRMWARE_MAX, err, errlen))
        return -1;
    if (firmware_load(*rom, *rom_len, layout, st, reason, sizeof(reason))) {
        snprintf(err, errlen, "firmware ROM '%s': %s", path, reason);
        free(*rom);
        *rom = NULL;
        return -1;
    }
    return 0;
}

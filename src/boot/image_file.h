/* image_file.h - read a whole kernel, initrd or ROM file into memory. */
#ifndef MORPH_BOOT_IMAGE_FILE_H
#define MORPH_BOOT_IMAGE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Reads the file at path into a malloc'd buffer (*data, *len; free() it).
 * what names the file's role in errors ("kernel", "initrd", "firmware ROM").
 * Fails, with "cannot read <what> '<path>': <reason>" in err, when the file
 * is missing, unreadable, a directory, empty or larger than max_len bytes.
 * Returns 0 or -1 (*data is then NULL). */
int image_file_read(const char *path, const char *what, uint8_t **data, size_t *len,
                    size_t max_len, char *err, size_t errlen);

#endif

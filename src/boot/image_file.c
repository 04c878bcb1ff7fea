/* image_file.c - whole-file reads with errors that name the file. */
#include "boot/image_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)

static int fail(const char *path, const char *what, const char *reason, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot read %s '%s': %s", what, path, reason);
    return -1;
}

/* Reads until EOF, growing the buffer, but never keeps more than max_len + 1
 * bytes: one byte past the limit is enough to know the file is too large.
 * Works for pipes and devices as well as regular files. */
static int read_all(int fd, size_t hint, size_t max_len, uint8_t **out, size_t *out_len)
{
    size_t cap = hint + 1 < max_len + 1 ? hint + 1 : max_len + 1;
    size_t len = 0;
    uint8_t *buf = malloc(cap ? cap : 1);

    if (!buf)
        return -1;
    for (;;) {
        if (len == cap) {
            if (cap == max_len + 1)
                break;
            size_t grow = cap + READ_CHUNK < max_len + 1 ? cap + READ_CHUNK : max_len + 1;
            uint8_t *bigger = realloc(buf, grow);
            if (!bigger) {
                free(buf);
                errno = ENOMEM;
                return -1;
            }
            buf = bigger;
            cap = grow;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            free(buf);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int image_file_read(const char *path, const char *what, uint8_t **data, size_t *len,
                    size_t max_len, char *err, size_t errlen)
{
    struct stat sb;
    char reason[96];

    *data = NULL;
    *len = 0;
    if (max_len > SIZE_MAX / 2)
        max_len = SIZE_MAX / 2;   /* keeps max_len + 1 from wrapping */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(path, what, strerror(errno), err, errlen);
    if (fstat(fd, &sb) < 0) {
        int saved = errno;
        close(fd);
        return fail(path, what, strerror(saved), err, errlen);
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return fail(path, what, "is a directory", err, errlen);
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max_len) {
        close(fd);
        snprintf(reason, sizeof(reason), "too large (%lld bytes, at most %zu)",
                 (long long)sb.st_size, max_len);
        return fail(path, what, reason, err, errlen);
    }
    uint8_t *buf;
    size_t n;
    size_t hint = S_ISREG(sb.st_mode) ? (size_t)sb.st_size : READ_CHUNK;
    if (read_all(fd, hint, max_len, &buf, &n) < 0) {
        int saved = errno;
        close(fd);
        return fail(path, what, strerror(saved), err, errlen);
    }
    close(fd);
    if (n == 0 || n > max_len) {
        free(buf);
        if (n == 0)
            return fail(path, what, "file is empty", err, errlen);
        snprintf(reason, sizeof(reason), "too large (more than %zu bytes)", max_len);
        return fail(path, what, reason, err, errlen);
    }
    *data = buf;
    *len = n;
    return 0;
}

/* tcache.c - the translated-code cache (see tcache.h). */
#include "engine/soft/tcache.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int tcache_init(struct tcache *tc, size_t size, char *err, size_t errlen)
{
    memset(tc, 0, sizeof(*tc));
    tc->fd = -1;
    tc->rw = tc->rx = MAP_FAILED;
    tc->size = size;
    tc->fd = memfd_create("morph-tcache", MFD_CLOEXEC);
    if (tc->fd < 0 || ftruncate(tc->fd, (off_t)size) != 0)
        goto fail;
    tc->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, tc->fd, 0);
    if (tc->rw == MAP_FAILED)
        goto fail;
    tc->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, tc->fd, 0);
    if (tc->rx == MAP_FAILED)
        goto fail;
    tc->gen = 1;
    return 0;
fail:
    snprintf(err, errlen, "translated-code cache (%zu MiB): %s", size >> 20, strerror(errno));
    tcache_fini(tc);
    return -1;
}

void tcache_fini(struct tcache *tc)
{
    if (tc->rw && tc->rw != MAP_FAILED)
        munmap(tc->rw, tc->size);
    if (tc->rx && tc->rx != MAP_FAILED)
        munmap(tc->rx, tc->size);
    if (tc->fd >= 0)
        close(tc->fd);
    tc->rw = tc->rx = NULL;
    tc->fd = -1;
}

void tcache_flush(struct tcache *tc)
{
    tc->used = 0;
    tc->gen++;
    tc->flushes++;
}

void tcache_commit(struct tcache *tc, size_t len)
{
    tc->used += (len + 15) & ~(size_t)15;
    if (tc->used > tc->size)
        tc->used = tc->size;
}

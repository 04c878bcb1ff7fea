/* tcache.h - the translated-code cache (the source document's 503): host
 * code made by the translator lives here.
 *
 * One memfd mapped twice: a writable view the translator writes through
 * and an executable view the CPU runs, so no page is ever writable and
 * executable at once.  Space is handed out in order; when it is full the
 * whole cache is flushed (the generation moves on and every translation
 * made under an older generation is dead: blocks compare their generation
 * before they run their code).  Code is only made and flushed between
 * blocks, never while translated code runs.
 */
#ifndef MORPH_SOFT_TCACHE_H
#define MORPH_SOFT_TCACHE_H

#include <stddef.h>
#include <stdint.h>

#define TCACHE_DEFAULT_SIZE (32u << 20)

struct tcache {
    int fd;
    uint8_t *rw, *rx;        /* the two views of the same pages */
    size_t size, used;
    uint32_t gen;            /* starts at 1: a zeroed block's 0 never matches */
    uint64_t flushes;
};

/* Returns 0, or -1 with a one-line reason in err. */
int tcache_init(struct tcache *tc, size_t size, char *err, size_t errlen);
void tcache_fini(struct tcache *tc);
/* Drop every translation. */
void tcache_flush(struct tcache *tc);
/* The free space: write at *rw, run at the same offset of the rx view. */
static inline uint8_t *tcache_free_rw(const struct tcache *tc) { return tc->rw + tc->used; }
static inline size_t tcache_free_size(const struct tcache *tc) { return tc->size - tc->used; }
/* The executable address of a writable one. */
static inline const uint8_t *tcache_exec_addr(const struct tcache *tc, const uint8_t *rw)
{
    return tc->rx + (rw - tc->rw);
}
/* Keep `len` bytes just written at the free space (16-byte aligned). */
void tcache_commit(struct tcache *tc, size_t len);

#endif

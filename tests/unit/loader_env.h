/* loader_env.h - what the loader tests load into: guest RAM of a chosen
 * size, the entry state the loader sets, and its error text. */
#ifndef MORPH_TEST_LOADER_ENV_H
#define MORPH_TEST_LOADER_ENV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine.h"

#define MIB (1024u * 1024)

struct loader_env {
    uint8_t *ram;
    uint64_t ram_size;
    struct cpu_state st;
    char err[256];
};

/* RAM filled with `fill` (a non-zero fill makes bytes the loader zeroes,
 * such as a bss, visible). */
static inline struct loader_env *loader_env_new(uint64_t ram_size, uint8_t fill)
{
    struct loader_env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->ram_size = ram_size;
    e->ram = malloc(ram_size);
    assert_non_null(e->ram);
    memset(e->ram, fill, ram_size);
    return e;
}

static inline void loader_env_free(struct loader_env *e)
{
    free(e->ram);
    free(e);
}

static inline void assert_err_contains(const struct loader_env *e, const char *what)
{
    if (!strstr(e->err, what))
        fail_msg("error '%s' does not mention '%s'", e->err, what);
}

#endif

/* morph_run.h - runs a fuzz case on morph's soft CPU: flat 32-bit protected
 * mode at CPL 3 with paging mapping the same linear pages as the native
 * runner, and an IDT whose handlers report the vector as a port write. */
#ifndef MORPH_FUZZ_MORPH_RUN_H
#define MORPH_FUZZ_MORPH_RUN_H

#include <stdbool.h>

#include "fuzz.h"

struct morph_runner;

/* NULL (with a message on stderr) if the engine cannot be created. */
struct morph_runner *morph_runner_new(void);
void morph_runner_free(struct morph_runner *m);
/* Run one case; out->status is FZ_TIMEOUT when it ran for over a second,
 * FZ_ERROR (with out->note) for an exit that is not an exception. */
void morph_runner_run(struct morph_runner *m, const struct fz_case *c, struct fz_result *out);

#endif

/* morph_run.h - runs a fuzz case on morph's soft CPU: protected mode at
 * CPL 3 in the case's segment mode (fz.h) with paging mapping the same linear pages as the native
 * runner, and an IDT whose handlers report the vector as a port write. */
#ifndef MORPH_FUZZ_MORPH_RUN_H
#define MORPH_FUZZ_MORPH_RUN_H

#include <stdbool.h>

#include "fuzz.h"

struct morph_runner;

/* NULL (with a message on stderr) if the engine cannot be created.
 * jit_threshold goes to engine_config: 0 runs the interpreter alone; the
 * third column uses 1, which issue 7 means as "every block is translated".
 * A case's blocks run once each (branches only go forward) and every case
 * starts with set_state, which drops all decoded code (the runner rewrites
 * the code page behind the engine's back), so the translator must read 1 as
 * "translate a block before its first run" for this column to run
 * translated code. */
struct morph_runner *morph_runner_new(unsigned jit_threshold);
void morph_runner_free(struct morph_runner *m);
/* Run one case; out->status is FZ_TIMEOUT when it ran for over a second,
 * FZ_ERROR (with out->note) for an exit that is not an exception. */
void morph_runner_run(struct morph_runner *m, const struct fz_case *c, struct fz_result *out);

#endif

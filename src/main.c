/* main.c - morph: command line -> machine -> run. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "monitor/machine.h"
#include "monitor/options.h"

int main(int argc, char **argv)
{
    struct morph_options opts;
    char err[512];
    switch (options_parse(argc, argv, &opts, stdout, err, sizeof(err))) {
    case OPTIONS_DONE:
        return 0;
    case OPTIONS_USAGE_ERROR:
        fprintf(stderr, "morph: %s\n", err);
        return 2;
    case OPTIONS_RUN:
        break;
    }

    /* A closed stdout must not kill morph silently: writes fail with EPIPE
     * and the console drops the output instead. */
    signal(SIGPIPE, SIG_IGN);

    struct machine *m = calloc(1, sizeof(*m));
    if (!m) {
        fprintf(stderr, "morph: out of memory\n");
        return 1;
    }
    int status;
    if (machine_create(m, &opts, &soft_engine_ops, err, sizeof(err))) {
        fprintf(stderr, "morph: %s\n", err);
        status = 1;
    } else {
        status = machine_run(m);
    }
    machine_destroy(m);
    free(m);
    return status;
}

/* exit_names.c - printable names of exit reasons (traces, --stats). */
#include "engine/engine.h"

const char *exit_reason_name(enum exit_reason r)
{
    static const char *const names[EXIT_REASON_COUNT] = {
        [EXIT_NONE] = "none",
        [EXIT_IO] = "io",
        [EXIT_MMIO] = "mmio",
        [EXIT_CPUID] = "cpuid",
        [EXIT_RDMSR] = "rdmsr",
        [EXIT_WRMSR] = "wrmsr",
        [EXIT_RDTSC] = "rdtsc",
        [EXIT_HLT] = "hlt",
        [EXIT_IRQ_WINDOW] = "irq-window",
        [EXIT_KICKED] = "kicked",
        [EXIT_SHUTDOWN] = "shutdown",
        [EXIT_INTERNAL_ERROR] = "internal-error",
    };
    if ((unsigned)r >= EXIT_REASON_COUNT || !names[r])
        return "unknown";
    return names[r];
}

/* stats.c - --stats report and --trace exits lines (see stats.h). */
#include "monitor/stats.h"

#include <inttypes.h>

void stats_describe_exit(char *buf, size_t n, const struct vm_exit *x)
{
    switch (x->reason) {
    case EXIT_IO:
        snprintf(buf, n, "exit io   %-5s port 0x%04x size %u data 0x%0*x%s",
                x->io.in ? "in" : "out", x->io.port, x->io.size, x->io.size * 2,
                x->io.data, x->io.string ? " (string)" : "");
        break;
    case EXIT_MMIO:
        snprintf(buf, n, "exit mmio %-5s gpa 0x%08" PRIx64 " size %u data 0x%0*" PRIx64,
                x->mmio.write ? "write" : "read", x->mmio.gpa, x->mmio.size,
                x->mmio.size * 2, x->mmio.data);
        break;
    case EXIT_CPUID:
        snprintf(buf, n, "exit cpuid leaf 0x%x subleaf 0x%x -> %08x %08x %08x %08x",
                x->cpuid.leaf, x->cpuid.subleaf, x->cpuid.eax, x->cpuid.ebx,
                x->cpuid.ecx, x->cpuid.edx);
        break;
    case EXIT_RDMSR:
    case EXIT_WRMSR:
        snprintf(buf, n, "exit %s msr 0x%x value 0x%" PRIx64 "%s", exit_reason_name(x->reason),
                x->msr.index, x->msr.value, x->msr.fault ? " #GP" : "");
        break;
    case EXIT_RDTSC:
        snprintf(buf, n, "exit rdtsc -> 0x%" PRIx64, x->rdtsc.value);
        break;
    case EXIT_SHUTDOWN:
        snprintf(buf, n, "exit shutdown eip 0x%08x vector %u (%s)", x->shutdown.eip,
                x->shutdown.vector, x->shutdown.reason);
        break;
    case EXIT_INTERNAL_ERROR:
        snprintf(buf, n, "exit internal-error eip 0x%08x (%s)", x->internal.eip, x->internal.reason);
        break;
    default:
        snprintf(buf, n, "exit %s", exit_reason_name(x->reason));
        break;
    }
}

void stats_trace_exit(FILE *f, const struct vm_exit *x)
{
    char text[256];
    stats_describe_exit(text, sizeof(text), x);
    fprintf(f, "%s\n", text);
}

static void print_ms(FILE *f, uint64_t ns)
{
    fprintf(f, "%12.3f ms", (double)ns / 1e6);
}

static void report_bus(FILE *f, const struct bus *b)
{
    for (unsigned i = 0; i < b->count; i++) {
        const struct bus_range *r = &b->range[i];
        if (!r->reads && !r->writes)
            continue;
        fprintf(f, "    %-5s %-14s 0x%08" PRIx64 " %12" PRIu64 " %12" PRIu64 " ", b->name,
                r->name, r->base, r->reads, r->writes);
        print_ms(f, r->handler_ns);
        fputc('\n', f);
    }
}

/* The translator's counters (engine.h); printed when it was on. */
static void stats_report_jit(FILE *f, const struct engine_stats *eng)
{
    static const char *const end_names[] = { "?", "end of block", "direct branch", "indirect branch",
                                              "interpreted insn left",
                                              "linked jump, run loop due" };
    double share = eng->instructions ? 100.0 * (double)eng->jit_insns / (double)eng->instructions : 0;
    fprintf(f, "  translated code: insns %14" PRIu64 "  (%.1f%%; interpreted %" PRIu64 ")\n",
            eng->jit_insns, share, eng->instructions - eng->jit_insns);
    fprintf(f, "    blocks translated    %14" PRIu64 "  (%" PRIu64 " could not be; %.1f ms translating)\n",
            eng->jit_blocks, eng->jit_failed, (double)eng->jit_translate_ns / 1e6);
    fprintf(f, "    code cache           %14" PRIu64 "  bytes of %" PRIu64 ", %" PRIu64 " flushes\n",
            eng->jit_cache_bytes, eng->jit_cache_size, eng->jit_cache_flushes);
    fprintf(f, "    insns interpreted from translated code %" PRIu64 " (not translated), %" PRIu64
               " (inline memory path missed)\n", eng->jit_helper_insns, eng->jit_slow_insns);
    fprintf(f, "    translations not run (EIP or segments differed) %" PRIu64 "\n", eng->jit_guard_misses);
    for (unsigned k = 1; k < sizeof(end_names) / sizeof(end_names[0]); k++)
        fprintf(f, "    left by %-22s %12" PRIu64 "\n", end_names[k], eng->jit_exits[k]);
}

void stats_report(FILE *f, const struct exit_stats *es, const struct engine_stats *eng,
                  double seconds, const struct bus *port, const struct bus *mmio)
{
    fprintf(f, "morph stats (%.3f s)\n", seconds);
    fprintf(f, "  guest instructions     %14" PRIu64, eng->instructions);
    if (seconds > 0)
        fprintf(f, "  (%.1f MIPS)", (double)eng->instructions / seconds / 1e6);
    fputc('\n', f);
    fprintf(f, "  exceptions delivered   %14" PRIu64 "\n", eng->exceptions);
    fprintf(f, "  interrupts delivered   %14" PRIu64 "\n", eng->interrupts);
    fprintf(f, "  decode-cache flushes   %14" PRIu64 "  (pages of code the guest wrote)\n",
            eng->decode_cache_flushes);
    if (eng->jit_cache_size)
        stats_report_jit(f, eng);
    fprintf(f, "  exits by reason           count   handler time   ns/exit\n");
    for (unsigned r = 1; r < EXIT_REASON_COUNT; r++) {
        if (!es->count[r])
            continue;
        fprintf(f, "    %-16s %12" PRIu64 " ", exit_reason_name(r), es->count[r]);
        print_ms(f, es->handler_ns[r]);
        fprintf(f, " %9.0f\n", (double)es->handler_ns[r] / (double)es->count[r]);
    }
    fprintf(f, "  exits by device         base          reads       writes   handler time\n");
    report_bus(f, port);
    report_bus(f, mmio);
    fprintf(f, "  unclaimed port reads %" PRIu64 " writes %" PRIu64
               ", mmio reads %" PRIu64 " writes %" PRIu64
               ", port accesses the engine answered %" PRIu64 "\n",
            port->unclaimed_reads, port->unclaimed_writes, mmio->unclaimed_reads,
            mmio->unclaimed_writes, eng->unsolicited_io);
}

/* options.h - the command line: `morph run ...`, --help, --version.
 *
 * Parsing only fills a struct; nothing is opened or checked against the
 * file system here (the loaders do that and name the file when it fails).
 */
#ifndef MORPH_OPTIONS_H
#define MORPH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MORPH_VERSION "0.1.0"

/* Guest time per instruction (engine.h "guest time"): --ips, instructions
 * per second of guest time.  The default is near the interpreter's real
 * speed on a Linux boot, so a busy guest's clock keeps roughly wall pace. */
#define PS_PER_SECOND    1000000000000ull
#define IPS_MIN          1000000ull          /* 1 us per instruction */
#define IPS_MAX          PS_PER_SECOND       /* 1 ps per instruction */
#define IPS_DEFAULT      100000000ull

/* --drive: a raw disk image on virtio-blk (repeatable). */
#define MAX_DRIVES 4
#define DRIVE_PATH_MAX 1024

struct drive_option {
    char file[DRIVE_PATH_MAX];
    bool readonly;
};

/* --net: one virtio-net card; spec goes to net_backend_open as it is,
 * without the mac= item, which is ours. */
#define NET_SPEC_MAX 1024
#define NET_DEFAULT_MAC { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }

struct net_option {
    bool enabled;
    char spec[NET_SPEC_MAX];
    uint8_t mac[6];
};

struct morph_options {
    const char *kernel;        /* bzImage or Multiboot ELF */
    const char *initrd;
    const char *append;        /* kernel command line */
    const char *bios;          /* firmware ROM */
    uint64_t mem_size;         /* bytes */
    bool debug_exit;
    bool stats;
    unsigned trace;            /* TRACE_* from engine.h */
    uint64_t trace_insn_limit;
    uint64_t ips;              /* guest instructions per second of guest time */
    unsigned jit_threshold;    /* --engine: 0 = interpreter alone */
    uint64_t jit_cache_size;   /* --jit-cache, bytes */
    struct drive_option drive[MAX_DRIVES];
    unsigned drives;
    struct net_option net;
    bool deterministic;        /* --deterministic: no wall clock reaches the guest */
    uint64_t exit_limit;       /* --exit-limit: stop after this many exits (0: never) */
};

/* --trace lockstep: one line per exit with the instruction count and the
 * registers (run_loop.c), for comparing engines.  The monitor's own bit,
 * above engine.h's TRACE_* (the engine never sees it). */
#define TRACE_LOCKSTEP 0x100u

/* --engine jit: a block is translated after it ran this many times. */
#define JIT_THRESHOLD_DEFAULT 50u
#define JIT_CACHE_DEFAULT (32ull << 20)
#define JIT_CACHE_MIN (1ull << 20)
#define JIT_CACHE_MAX (1ull << 30)

enum options_result {
    OPTIONS_RUN,          /* options filled: run the machine */
    OPTIONS_DONE,         /* help or version printed: exit 0 */
    OPTIONS_USAGE_ERROR,  /* err holds the one-line reason: exit 2 */
};

/* argv[0] is the program name.  Help and version text go to `out`. */
enum options_result options_parse(int argc, char *const argv[], struct morph_options *o,
                                  FILE *out, char *err, size_t errlen);

/* A memory size: a number with an optional K, M or G suffix (optionally
 * followed by B or iB; powers of 1024); a plain number means MiB.
 * Returns 0, or -1 with the reason in err. */
int parse_mem_size(const char *s, uint64_t *bytes, char *err, size_t errlen);

/* An --ips rate: a number with an optional K, M or G suffix (powers of
 * 1000), between IPS_MIN and IPS_MAX.  Returns 0, or -1 with the reason in err. */
int parse_ips(const char *s, uint64_t *ips, char *err, size_t errlen);

/* A --trace list: comma-separated exits, interrupts (int), insns[=N],
 * unknown, lockstep, all (all but lockstep).  Returns 0, or -1 with the reason in err. */
int parse_trace_list(const char *s, unsigned *trace, uint64_t *insn_limit,
                     char *err, size_t errlen);

/* A --drive value: file=PATH[,format=raw][,readonly=on|off].  Returns 0,
 * or -1 with the reason in err. */
int parse_drive(const char *s, struct drive_option *d, char *err, size_t errlen);

/* A --net value: user[,...] or tap[,...], with an optional mac=XX:..:XX
 * item taken out.  Returns 0, or -1 with the reason in err. */
int parse_net(const char *s, struct net_option *n, char *err, size_t errlen);

#endif

/* options.c - the command line (see options.h). */
#include "monitor/options.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "boot/pc_layout.h"
#include "engine/engine.h"

#define DEFAULT_TRACE_INSNS 10000u

static const char main_help[] =
    "usage: morph run [options]     run a virtual machine\n"
    "       morph --help            this text\n"
    "       morph --version         the version\n"
    "\n"
    "morph is a virtual machine monitor for x86 guests: a soft CPU runs the\n"
    "guest, and every port, MMIO, CPUID, MSR and HLT access is handled by\n"
    "morph's device models.  `morph run --help` lists the run options.\n";

static const char run_help[] =
    "usage: morph run (--kernel FILE | --bios FILE) [options]\n"
    "\n"
    "  --kernel FILE     guest kernel: a Linux bzImage (boot protocol 2.06+)\n"
    "                    or a Multiboot v1 ELF\n"
    "  --initrd FILE     initial ramdisk (Linux) or module (Multiboot)\n"
    "  --append STRING   kernel command line\n"
    "  -m, --memory SIZE guest RAM: a number with K, M or G (powers of 1024);\n"
    "                    a plain number is MiB.  16M to 3G, default 256M\n"
    "  --bios FILE       firmware ROM, 64 KiB to 1 MiB, mapped to end at 4 GiB\n"
    "                    (its last 128 KiB also end at 0xFFFFF); the CPU\n"
    "                    starts at the reset vector\n"
    "  --debug-exit      a guest write of v to port 0xf4 ends morph with\n"
    "                    status (v << 1) | 1\n"
    "  --stats           print counters at the end (instructions, exits by\n"
    "                    reason and by device, handler time, unclaimed accesses)\n"
    "  --trace LIST      trace to stderr; LIST is comma-separated:\n"
    "                    exits, interrupts, insns[=N] (first N instructions,\n"
    "                    default 10000), unknown (unknown opcodes), all;\n"
    "                    lockstep: per exit its number, the instruction count,\n"
    "                    reason, port/address, size, data, EIP and registers\n"
    "                    (tests/system/lockstep.sh compares engines with it)\n"
    "  --ips N           guest time: N instructions make one second (K, M, G:\n"
    "                    powers of 1000; 1M to 1000G, default 100M).  The\n"
    "                    guest's clocks (TSC, PIT, RTC) count executed\n"
    "                    instructions, so they never jump when the host is\n"
    "                    busy; while the guest idles they follow the wall clock\n"
    "  --deterministic   no wall clock reaches the guest: a halted CPU skips to\n"
    "                    the next timer deadline instead of waiting for it, and\n"
    "                    the RTC starts at 2020-01-01 00:00:00; two runs of a\n"
    "                    guest then see the same exits (with no console input)\n"
    "  --exit-limit N    stop (status 0) after N exits\n"
    "  --engine NAME     jit (default): the interpreter runs cold code and a\n"
    "                    block is translated to host code after 50 runs\n"
    "                    (jit,threshold=N: after N); interp: the interpreter\n"
    "                    alone\n"
    "  --jit-cache SIZE  translated-code cache, 1M to 1G (K, M, G as for -m),\n"
    "                    default 32M; when full it is flushed whole\n"
    "  --drive file=PATH[,format=raw][,readonly=on]\n"
    "                    a raw disk image as a virtio block device (up to 4;\n"
    "                    the path may not contain a comma).  The image is\n"
    "                    locked: no other morph may use it meanwhile\n"
    "  --net user[,hostfwd=...] | tap,ifname=NAME   [,mac=52:54:00:12:34:56]\n"
    "                    a virtio network card on user-mode networking or a\n"
    "                    TAP device (default MAC 52:54:00:12:34:56)\n"
    "\n"
    "Every machine has a virtio entropy device (the host's getrandom).\n"
    "\n"
    "  -h, --help        this text\n"
    "\n"
    "The serial console (COM1) is the terminal.  Ctrl-A x quits, Ctrl-A h\n"
    "lists the escapes.\n"
    "\n"
    "Exit status: the guest's with --debug-exit; 0 when the guest halts with\n"
    "interrupts disabled; 1 on a guest crash or morph error; 2 on a usage error.\n";

static int fail(char *err, size_t errlen, const char *fmt, const char *what, const char *why)
{
    snprintf(err, errlen, fmt, what, why);
    return -1;
}

/* A size: a number with an optional K, M or G suffix (optionally followed
 * by B or iB; powers of 1024); a plain number means MiB.  `what` names it
 * in the error. */
static int parse_size(const char *s, const char *what, uint64_t *bytes, char *err, size_t errlen)
{
    char fmt[64];
    snprintf(fmt, sizeof(fmt), "invalid %s '%%s': %%s", what);
    if (!isdigit((unsigned char)*s))
        return fail(err, errlen, fmt, s, "expected a number with an optional K, M or G suffix");
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return fail(err, errlen, fmt, s, "number too large");
    unsigned shift = 20;  /* plain number: MiB */
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        default:
            return fail(err, errlen, fmt, s, "unknown suffix (use K, M or G)");
        }
        end++;
        if (strcasecmp(end, "") && strcasecmp(end, "B") && strcasecmp(end, "iB"))
            return fail(err, errlen, fmt, s, "unknown suffix (use K, M or G)");
    }
    if (n > (UINT64_MAX >> shift))
        return fail(err, errlen, fmt, s, "number too large");
    *bytes = (uint64_t)n << shift;
    return 0;
}

int parse_mem_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
    uint64_t v;
    if (parse_size(s, "memory size", &v, err, errlen))
        return -1;
    if (v < PC_RAM_MIN || v > PC_RAM_MAX)
        return fail(err, errlen, "invalid memory size '%s': %s", s, "must be between 16M and 3G");
    if (v & 0xfff)
        return fail(err, errlen, "invalid memory size '%s': %s", s, "must be a multiple of 4K");
    *bytes = v;
    return 0;
}

/* --jit-cache: the translated-code cache's size. */
static int parse_jit_cache(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
    uint64_t v;
    if (parse_size(s, "--jit-cache size", &v, err, errlen))
        return -1;
    if (v < JIT_CACHE_MIN || v > JIT_CACHE_MAX)
        return fail(err, errlen, "invalid --jit-cache size '%s': %s", s, "must be between 1M and 1G");
    *bytes = v;
    return 0;
}

int parse_ips(const char *s, uint64_t *ips, char *err, size_t errlen)
{
    if (!isdigit((unsigned char)*s))
        return fail(err, errlen, "invalid --ips '%s': %s", s,
                    "expected a number with an optional K, M or G suffix");
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    uint64_t unit = 1;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': unit = 1000ull; break;
        case 'M': unit = 1000000ull; break;
        case 'G': unit = 1000000000ull; break;
        default:
            return fail(err, errlen, "invalid --ips '%s': %s", s, "unknown suffix (use K, M or G)");
        }
        if (end[1])
            return fail(err, errlen, "invalid --ips '%s': %s", s, "unknown suffix (use K, M or G)");
    }
    if (errno == ERANGE || n > IPS_MAX / unit || n * unit < IPS_MIN)
        return fail(err, errlen, "invalid --ips '%s': %s", s, "must be between 1M and 1000G");
    *ips = n * unit;
    return 0;
}

static int parse_exit_limit(const char *s, uint64_t *limit, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno || n == 0)
        return fail(err, errlen, "invalid --exit-limit '%s': %s", s, "must be a positive number");
    *limit = n;
    return 0;
}

static int parse_trace_item(const char *item, size_t len, unsigned *trace,
                            uint64_t *insn_limit, char *err, size_t errlen)
{
    char word[64];
    if (len == 0 || len >= sizeof(word)) {
        snprintf(err, errlen, "invalid --trace item '%.*s' (use exits, interrupts, insns[=N], unknown, lockstep, all)",
                 (int)(len < 60 ? len : 60), item);
        return -1;
    }
    memcpy(word, item, len);
    word[len] = 0;
    if (!strcmp(word, "exits")) {
        *trace |= TRACE_EXITS;
    } else if (!strcmp(word, "interrupts") || !strcmp(word, "int")) {
        *trace |= TRACE_INTERRUPTS;
    } else if (!strcmp(word, "unknown")) {
        *trace |= TRACE_UNKNOWN;
    } else if (!strcmp(word, "lockstep")) {
        *trace |= TRACE_LOCKSTEP;
    } else if (!strcmp(word, "all")) {
        *trace |= TRACE_EXITS | TRACE_INTERRUPTS | TRACE_INSNS | TRACE_UNKNOWN;
    } else if (!strcmp(word, "insns")) {
        *trace |= TRACE_INSNS;
    } else if (!strncmp(word, "insns=", 6)) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(word + 6, &end, 10);
        if (!isdigit((unsigned char)word[6]) || *end || errno || n == 0) {
            snprintf(err, errlen, "invalid --trace item '%s': N must be a positive number", word);
            return -1;
        }
        *trace |= TRACE_INSNS;
        *insn_limit = n;
    } else {
        snprintf(err, errlen, "invalid --trace item '%s' (use exits, interrupts, insns[=N], unknown, lockstep, all)",
                 word);
        return -1;
    }
    return 0;
}

int parse_trace_list(const char *s, unsigned *trace, uint64_t *insn_limit,
                     char *err, size_t errlen)
{
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (parse_trace_item(p, len, trace, insn_limit, err, errlen))
            return -1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* ---- --drive and --net ---- */

/* One comma-separated item of s starting at *p: copies it to item (NUL-
 * terminated) and moves *p past it.  Returns false if it does not fit. */
static bool next_item(const char **p, char *item, size_t cap)
{
    const char *comma = strchr(*p, ',');
    size_t len = comma ? (size_t)(comma - *p) : strlen(*p);
    if (len >= cap)
        return false;
    memcpy(item, *p, len);
    item[len] = 0;
    *p += len + (comma != NULL);
    return true;
}

static int drive_item(const char *item, struct drive_option *d, char *err, size_t errlen)
{
    if (!strncmp(item, "file=", 5)) {
        if (!item[5])
            return fail(err, errlen, "invalid --drive item '%s': %s", item, "empty file name");
        size_t len = strlen(item + 5);
        if (len >= sizeof(d->file))
            return fail(err, errlen, "invalid --drive file '%.100s': %s", item + 5,
                        "path too long");
        memcpy(d->file, item + 5, len + 1);
    } else if (!strncmp(item, "format=", 7)) {
        if (strcmp(item + 7, "raw"))
            return fail(err, errlen, "invalid --drive format '%s': %s", item + 7,
                        "only raw images are supported");
    } else if (!strcmp(item, "readonly=on") || !strcmp(item, "readonly")) {
        d->readonly = true;
    } else if (!strcmp(item, "readonly=off")) {
        d->readonly = false;
    } else {
        return fail(err, errlen, "invalid --drive item '%s': %s", item,
                    "use file=PATH, format=raw, readonly=on|off");
    }
    return 0;
}

int parse_drive(const char *s, struct drive_option *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    const char *p = s;
    char item[DRIVE_PATH_MAX + 8];
    while (*p) {
        if (!next_item(&p, item, sizeof(item)))
            return fail(err, errlen, "invalid --drive '%.100s': %s", s, "an item is too long");
        if (drive_item(item, d, err, errlen))
            return -1;
    }
    if (!d->file[0])
        return fail(err, errlen, "invalid --drive '%.100s': %s", s, "needs file=PATH");
    return 0;
}

static int parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen)
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &tail) != 6 || strlen(s) != 17)
        return fail(err, errlen, "invalid --net mac '%s': %s", s, "use six hex bytes like 52:54:00:12:34:56");
    if (v[0] & 1)
        return fail(err, errlen, "invalid --net mac '%s': %s", s, "a multicast address");
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}

int parse_net(const char *s, struct net_option *n, char *err, size_t errlen)
{
    static const uint8_t default_mac[6] = NET_DEFAULT_MAC;
    memset(n, 0, sizeof(*n));
    memcpy(n->mac, default_mac, 6);
    const char *p = s;
    char item[NET_SPEC_MAX];
    size_t used = 0;
    bool first = true;
    do {
        if (!next_item(&p, item, sizeof(item)))
            return fail(err, errlen, "invalid --net '%.100s': %s", s, "too long");
        if (first && strcmp(item, "user") && strcmp(item, "tap"))
            return fail(err, errlen, "invalid --net '%.100s': %s", s,
                        "use user[,hostfwd=...] or tap,ifname=NAME");
        first = false;
        if (!strncmp(item, "mac=", 4)) {
            if (parse_mac(item + 4, n->mac, err, errlen))
                return -1;
            continue;
        }
        int w = snprintf(n->spec + used, sizeof(n->spec) - used, "%s%s", used ? "," : "", item);
        if (w < 0 || (size_t)w >= sizeof(n->spec) - used)
            return fail(err, errlen, "invalid --net '%.100s': %s", s, "too long");
        used += (size_t)w;
    } while (*p);
    n->enabled = true;
    return 0;
}

/* The options that take a value, and where it goes. */
enum opt_id { OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_BIOS, OPT_MEMORY, OPT_TRACE, OPT_IPS, OPT_ENGINE,
              OPT_JIT_CACHE, OPT_DRIVE, OPT_NET, OPT_DEBUG_EXIT, OPT_STATS, OPT_DETERMINISTIC,
              OPT_EXIT_LIMIT, OPT_HELP };

struct opt_def {
    const char *long_name;
    char short_name;
    bool has_value;
    enum opt_id id;
};

static const struct opt_def run_opts[] = {
    { "kernel", 0, true, OPT_KERNEL },
    { "initrd", 0, true, OPT_INITRD },
    { "append", 0, true, OPT_APPEND },
    { "bios", 0, true, OPT_BIOS },
    { "memory", 'm', true, OPT_MEMORY },
    { "trace", 0, true, OPT_TRACE },
    { "ips", 0, true, OPT_IPS },
    { "engine", 0, true, OPT_ENGINE },
    { "jit-cache", 0, true, OPT_JIT_CACHE },
    { "drive", 0, true, OPT_DRIVE },
    { "net", 0, true, OPT_NET },
    { "debug-exit", 0, false, OPT_DEBUG_EXIT },
    { "stats", 0, false, OPT_STATS },
    { "deterministic", 0, false, OPT_DETERMINISTIC },
    { "exit-limit", 0, true, OPT_EXIT_LIMIT },
    { "help", 'h', false, OPT_HELP },
};

static const struct opt_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(run_opts) / sizeof(run_opts[0]); i++)
        if (strlen(run_opts[i].long_name) == len && !strncmp(run_opts[i].long_name, name, len))
            return &run_opts[i];
    return NULL;
}

static const struct opt_def *find_short(char c)
{
    for (size_t i = 0; i < sizeof(run_opts) / sizeof(run_opts[0]); i++)
        if (run_opts[i].short_name && run_opts[i].short_name == c)
            return &run_opts[i];
    return NULL;
}

/* --engine jit | jit,threshold=N | interp. */
static int parse_engine(const char *s, unsigned *threshold, char *err, size_t errlen)
{
    if (!strcmp(s, "interp")) {
        *threshold = 0;
        return 0;
    }
    if (!strcmp(s, "jit")) {
        *threshold = JIT_THRESHOLD_DEFAULT;
        return 0;
    }
    const char *p = "jit,threshold=";
    if (!strncmp(s, p, strlen(p))) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(s + strlen(p), &end, 10);
        if (errno || *end || end == s + strlen(p) || n < 1 || n > 1000000)
            return fail(err, errlen, "invalid --engine '%s': %s", s, "threshold must be 1 to 1000000");
        *threshold = (unsigned)n;
        return 0;
    }
    return fail(err, errlen, "invalid --engine '%s': %s", s, "use jit, jit,threshold=N or interp");
}

/* Stores one option's value.  Returns 0, 1 for --help, -1 on error. */
static int apply_option(const struct opt_def *d, const char *value, struct morph_options *o,
                        char *err, size_t errlen)
{
    switch (d->id) {
    case OPT_KERNEL: o->kernel = value; break;
    case OPT_INITRD: o->initrd = value; break;
    case OPT_APPEND: o->append = value; break;
    case OPT_BIOS: o->bios = value; break;
    case OPT_MEMORY: return parse_mem_size(value, &o->mem_size, err, errlen);
    case OPT_TRACE:
        return parse_trace_list(value, &o->trace, &o->trace_insn_limit, err, errlen);
    case OPT_IPS: return parse_ips(value, &o->ips, err, errlen);
    case OPT_ENGINE: return parse_engine(value, &o->jit_threshold, err, errlen);
    case OPT_JIT_CACHE: return parse_jit_cache(value, &o->jit_cache_size, err, errlen);
    case OPT_DRIVE:
        if (o->drives == MAX_DRIVES)
            return fail(err, errlen, "too many --drive options (%s%s)", "at most 4", "");
        if (parse_drive(value, &o->drive[o->drives], err, errlen))
            return -1;
        o->drives++;
        break;
    case OPT_NET:
        if (o->net.enabled)
            return fail(err, errlen, "--net given twice (%s%s)", "one network card", "");
        return parse_net(value, &o->net, err, errlen);
    case OPT_DEBUG_EXIT: o->debug_exit = true; break;
    case OPT_STATS: o->stats = true; break;
    case OPT_DETERMINISTIC: o->deterministic = true; break;
    case OPT_EXIT_LIMIT: return parse_exit_limit(value, &o->exit_limit, err, errlen);
    case OPT_HELP: return 1;
    }
    return 0;
}

static void options_defaults(struct morph_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mem_size = PC_RAM_DEFAULT;
    o->trace_insn_limit = DEFAULT_TRACE_INSNS;
    o->ips = IPS_DEFAULT;
    o->jit_threshold = JIT_THRESHOLD_DEFAULT;
    o->jit_cache_size = JIT_CACHE_DEFAULT;
}

/* Splits argv[*i] into an option and its value.  Returns the option or
 * NULL with err set; *value is NULL for flags. */
static const struct opt_def *next_option(int argc, char *const argv[], int *i,
                                         const char **value, char *err, size_t errlen)
{
    const char *arg = argv[*i];
    const struct opt_def *d = NULL;
    const char *inline_value = NULL;
    *value = NULL;

    if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        d = find_long(name, len);
        if (!d) {
            snprintf(err, errlen, "unknown option '--%.*s' (see morph run --help)",
                     (int)(len < 100 ? len : 100), name);
            return NULL;
        }
        if (eq) {
            if (!d->has_value) {
                snprintf(err, errlen, "option '--%s' takes no value", d->long_name);
                return NULL;
            }
            inline_value = eq + 1;
        }
    } else if (arg[0] == '-' && arg[1] && arg[1] != '-') {
        d = find_short(arg[1]);
        if (!d || (!d->has_value && arg[2])) {
            snprintf(err, errlen, "unknown option '%.100s' (see morph run --help)", arg);
            return NULL;
        }
        if (arg[2])
            inline_value = arg + 2;
    } else {
        snprintf(err, errlen, "unexpected argument '%.100s' (see morph run --help)", arg);
        return NULL;
    }

    if (d->has_value) {
        if (inline_value) {
            *value = inline_value;
        } else if (*i + 1 < argc) {
            *value = argv[++*i];
        } else {
            snprintf(err, errlen, "option '--%s' needs a value (see morph run --help)",
                     d->long_name);
            return NULL;
        }
    }
    return d;
}

static enum options_result parse_run(int argc, char *const argv[], struct morph_options *o,
                                     FILE *out, char *err, size_t errlen)
{
    for (int i = 2; i < argc; i++) {
        const char *value;
        const struct opt_def *d = next_option(argc, argv, &i, &value, err, errlen);
        if (!d)
            return OPTIONS_USAGE_ERROR;
        int r = apply_option(d, value, o, err, errlen);
        if (r < 0)
            return OPTIONS_USAGE_ERROR;
        if (r > 0) {
            fputs(run_help, out);
            return OPTIONS_DONE;
        }
    }
    if (!o->kernel && !o->bios) {
        snprintf(err, errlen, "run needs --kernel FILE or --bios FILE (see morph run --help)");
        return OPTIONS_USAGE_ERROR;
    }
    if (o->kernel && o->bios) {
        snprintf(err, errlen, "--kernel and --bios cannot be used together");
        return OPTIONS_USAGE_ERROR;
    }
    if (o->initrd && !o->kernel) {
        snprintf(err, errlen, "--initrd needs --kernel");
        return OPTIONS_USAGE_ERROR;
    }
    if (o->append && !o->kernel) {
        snprintf(err, errlen, "--append needs --kernel");
        return OPTIONS_USAGE_ERROR;
    }
    return OPTIONS_RUN;
}

enum options_result options_parse(int argc, char *const argv[], struct morph_options *o,
                                  FILE *out, char *err, size_t errlen)
{
    options_defaults(o);
    if (argc < 2) {
        snprintf(err, errlen, "no command given (see morph --help)");
        return OPTIONS_USAGE_ERROR;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(main_help, out);
        return OPTIONS_DONE;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        fprintf(out, "morph %s\n", MORPH_VERSION);
        return OPTIONS_DONE;
    }
    if (!strcmp(cmd, "run"))
        return parse_run(argc, argv, o, out, err, errlen);
    if (cmd[0] == '-')
        snprintf(err, errlen, "unknown option '%.100s' (see morph --help)", cmd);
    else
        snprintf(err, errlen, "unknown command '%.100s' (see morph --help)", cmd);
    return OPTIONS_USAGE_ERROR;
}

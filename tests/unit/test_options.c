/* test_options.c - command-line parsing: sizes, trace lists, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "monitor/options.h"

#define MiB (1ull << 20)

static uint64_t size_ok(const char *s)
{
    uint64_t v = 0;
    char err[160] = "";
    int r = parse_mem_size(s, &v, err, sizeof(err));
    if (r != 0)
        fail_msg("'%s' refused: %s", s, err);
    return v;
}

static void size_refused(const char *s, const char *why)
{
    uint64_t v = 12345;
    char err[160] = "";
    assert_int_equal(parse_mem_size(s, &v, err, sizeof(err)), -1);
    assert_int_equal(v, 12345);                   /* untouched */
    assert_non_null(strstr(err, "invalid memory size"));
    if (strstr(err, s) == NULL)
        fail_msg("error does not name '%s': %s", s, err);
    if (strstr(err, why) == NULL)
        fail_msg("error for '%s' lacks '%s': %s", s, why, err);
}

static void sizes_with_suffixes(void **state)
{
    (void)state;
    assert_true(size_ok("256") == 256 * MiB);
    assert_true(size_ok("256M") == 256 * MiB);
    assert_true(size_ok("256m") == 256 * MiB);
    assert_true(size_ok("256MB") == 256 * MiB);
    assert_true(size_ok("256MiB") == 256 * MiB);
    assert_true(size_ok("1G") == 1024 * MiB);
    assert_true(size_ok("3G") == 3072 * MiB);
    assert_true(size_ok("16M") == 16 * MiB);
    assert_true(size_ok("16384K") == 16 * MiB);
    assert_true(size_ok("65540k") == 65540ull * 1024);
}

static void sizes_out_of_range_or_malformed(void **state)
{
    (void)state;
    size_refused("abc", "expected a number");
    size_refused("", "expected a number");
    size_refused("-5M", "expected a number");
    size_refused("15M", "between 16M and 3G");
    size_refused("0", "between 16M and 3G");
    size_refused("3073M", "between 16M and 3G");
    size_refused("4G", "between 16M and 3G");
    size_refused("99999999999999999999999", "too large");
    size_refused("99999999999999G", "too large");
    size_refused("256X", "unknown suffix");
    size_refused("256MX", "unknown suffix");
    size_refused("1.5G", "unknown suffix");
    size_refused("16385K", "multiple of 4K");
}

static void trace_lists(void **state)
{
    (void)state;
    unsigned t = 0;
    uint64_t n = 7;
    char err[160];
    assert_int_equal(parse_trace_list("exits", &t, &n, err, sizeof(err)), 0);
    assert_int_equal(t, TRACE_EXITS);
    t = 0;
    assert_int_equal(parse_trace_list("exits,int,unknown", &t, &n, err, sizeof(err)), 0);
    assert_int_equal(t, TRACE_EXITS | TRACE_INTERRUPTS | TRACE_UNKNOWN);
    assert_int_equal(n, 7);
    t = 0;
    assert_int_equal(parse_trace_list("insns=500,interrupts", &t, &n, err, sizeof(err)), 0);
    assert_int_equal(t, TRACE_INSNS | TRACE_INTERRUPTS);
    assert_int_equal(n, 500);
    t = 0;
    t = 0;
    assert_int_equal(parse_trace_list("lockstep,exits", &t, &n, err, sizeof(err)), 0);
    assert_int_equal(t, TRACE_LOCKSTEP | TRACE_EXITS);
    t = 0;
    assert_int_equal(parse_trace_list("all", &t, &n, err, sizeof(err)), 0);
    assert_int_equal(t & TRACE_LOCKSTEP, 0);
    assert_int_equal(parse_trace_list("exits,bogus", &t, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'bogus'"));
    assert_int_equal(parse_trace_list("insns=x", &t, &n, err, sizeof(err)), -1);
    assert_int_equal(parse_trace_list("insns=0", &t, &n, err, sizeof(err)), -1);
    assert_int_equal(parse_trace_list("exits,", &t, &n, err, sizeof(err)), -1);
    assert_int_equal(parse_trace_list("", &t, &n, err, sizeof(err)), -1);
}

/* Runs options_parse on a NULL-terminated argument list. */
static enum options_result parse(struct morph_options *o, char *err, size_t errlen, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, errlen);
    argv[argc++] = "morph";
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    FILE *out = fopen("/dev/null", "w");
    assert_non_null(out);
    err[0] = 0;
    enum options_result r = options_parse(argc, argv, o, out, err, errlen);
    fclose(out);
    return r;
}

static void full_run_line(void **state)
{
    (void)state;
    struct morph_options o;
    char err[200];
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k.elf", "--initrd=i.img",
                           "--append", "console=ttyS0 quiet", "-m", "512M", "--debug-exit",
                           "--stats", "--trace", "exits", NULL), OPTIONS_RUN);
    assert_string_equal(o.kernel, "k.elf");
    assert_string_equal(o.initrd, "i.img");
    assert_string_equal(o.append, "console=ttyS0 quiet");
    assert_null(o.bios);
    assert_true(o.mem_size == 512 * MiB);
    assert_true(o.debug_exit);
    assert_true(o.stats);
    assert_int_equal(o.trace, TRACE_EXITS);
}

static void lockstep_options(void **state)
{
    (void)state;
    struct morph_options o;
    char err[200];
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k.elf", NULL), OPTIONS_RUN);
    assert_false(o.deterministic);
    assert_int_equal(o.exit_limit, 0);
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k.elf", "--deterministic",
                           "--exit-limit", "300000", "--trace", "lockstep", NULL), OPTIONS_RUN);
    assert_true(o.deterministic);
    assert_int_equal(o.exit_limit, 300000);
    assert_int_equal(o.trace, TRACE_LOCKSTEP);
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k.elf", "--exit-limit", "0", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "--exit-limit"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k.elf", "--exit-limit=5x", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k.elf", "--deterministic=1", NULL),
                     OPTIONS_USAGE_ERROR);
}

static void defaults(void **state)
{
    (void)state;
    struct morph_options o;
    char err[200];
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--bios", "rom.bin", NULL), OPTIONS_RUN);
    assert_true(o.mem_size == 256 * MiB);
    assert_false(o.debug_exit);
    assert_false(o.stats);
    assert_int_equal(o.trace, 0);
    assert_string_equal(o.bios, "rom.bin");
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "x", "-m1G",
                           "--memory=32M", NULL), OPTIONS_RUN);
    assert_true(o.mem_size == 32 * MiB);  /* the last one wins */
}

static void ips_rates(void **state)
{
    (void)state;
    struct morph_options o;
    char err[200];
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--bios", "r", NULL), OPTIONS_RUN);
    assert_true(o.ips == IPS_DEFAULT);
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--bios", "r", "--ips", "250M", NULL),
                     OPTIONS_RUN);
    assert_true(o.ips == 250000000ull);
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--bios", "r", "--ips=2g", NULL), OPTIONS_RUN);
    assert_true(o.ips == 2000000000ull);
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--bios", "r", "--ips", "5000000", NULL),
                     OPTIONS_RUN);
    assert_true(o.ips == 5000000ull);
    static const char *const bad[] = { "999K", "1001G", "fast", "10MB", "-5M", "99999999999999999999" };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        err[0] = 0;
        assert_int_equal(parse(&o, err, sizeof(err), "run", "--bios", "r", "--ips", bad[k], NULL),
                         OPTIONS_USAGE_ERROR);
        assert_non_null(strstr(err, "--ips"));
    }
}

static void usage_errors(void **state)
{
    (void)state;
    struct morph_options o;
    char err[200];
    assert_int_equal(parse(&o, err, sizeof(err), NULL), OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "no command"));
    assert_int_equal(parse(&o, err, sizeof(err), "fly", NULL), OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "unknown command 'fly'"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k", "--foo", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "unknown option '--foo'"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k", "-x", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "unknown option '-x'"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", NULL), OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "--kernel"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", NULL), OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k", "-m", "lots", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "invalid memory size 'lots'"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k", "--stats=yes", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "takes no value"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k", "stray", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "'stray'"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--bios", "r", "--initrd", "i", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--bios", "r", "--kernel", "k", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "together"));
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--kernel", "k", "--trace", "nope", NULL),
                     OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "'nope'"));
}

static void help_and_version(void **state)
{
    (void)state;
    struct morph_options o;
    char err[200];
    assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), OPTIONS_DONE);
    assert_int_equal(parse(&o, err, sizeof(err), "--version", NULL), OPTIONS_DONE);
    assert_int_equal(parse(&o, err, sizeof(err), "run", "--help", NULL), OPTIONS_DONE);
    /* --help wins over a missing --kernel */
    assert_int_equal(parse(&o, err, sizeof(err), "run", "-h", NULL), OPTIONS_DONE);
}

static void drive_values(void **state)
{
    (void)state;
    struct drive_option d;
    char err[300];
    assert_int_equal(parse_drive("file=/tmp/a.img", &d, err, sizeof(err)), 0);
    assert_string_equal(d.file, "/tmp/a.img");
    assert_false(d.readonly);
    assert_int_equal(parse_drive("format=raw,readonly=on,file=b.img", &d, err, sizeof(err)), 0);
    assert_string_equal(d.file, "b.img");
    assert_true(d.readonly);
    assert_int_equal(parse_drive("file=x,format=qcow2", &d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "only raw"));
    assert_int_equal(parse_drive("readonly=on", &d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs file=PATH"));
    assert_int_equal(parse_drive("file=", &d, err, sizeof(err)), -1);
    assert_int_equal(parse_drive("file=x,readonly=maybe", &d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "readonly=maybe"));
}

static void drives_on_the_command_line(void **state)
{
    (void)state;
    struct morph_options o;
    char err[300];
    char *const argv[] = { "morph", "run", "--kernel", "k", "--drive", "file=a.img",
                           "--drive=file=b.img,readonly=on", NULL };
    assert_int_equal(options_parse(7, argv, &o, stdout, err, sizeof(err)), OPTIONS_RUN);
    assert_int_equal(o.drives, 2);
    assert_string_equal(o.drive[0].file, "a.img");
    assert_true(o.drive[1].readonly);
    char *const five[] = { "morph", "run", "--kernel", "k", "--drive", "file=1", "--drive",
                           "file=2", "--drive", "file=3", "--drive", "file=4", "--drive",
                           "file=5", NULL };
    assert_int_equal(options_parse(14, five, &o, stdout, err, sizeof(err)), OPTIONS_USAGE_ERROR);
    assert_non_null(strstr(err, "too many --drive"));
}

static void net_values(void **state)
{
    (void)state;
    struct net_option n;
    char err[300];
    assert_int_equal(parse_net("user", &n, err, sizeof(err)), 0);
    assert_true(n.enabled);
    assert_string_equal(n.spec, "user");
    assert_memory_equal(n.mac, "\x52\x54\x00\x12\x34\x56", 6);
    assert_int_equal(parse_net("user,hostfwd=tcp:127.0.0.1:2222-:22,mac=52:54:00:aa:bb:cc",
                               &n, err, sizeof(err)), 0);
    assert_string_equal(n.spec, "user,hostfwd=tcp:127.0.0.1:2222-:22");
    assert_memory_equal(n.mac, "\x52\x54\x00\xaa\xbb\xcc", 6);
    assert_int_equal(parse_net("tap,mac=52:54:00:00:00:01,ifname=tap0", &n, err, sizeof(err)), 0);
    assert_string_equal(n.spec, "tap,ifname=tap0");
    assert_int_equal(parse_net("bridge", &n, err, sizeof(err)), -1);
    assert_int_equal(parse_net("", &n, err, sizeof(err)), -1);
    assert_int_equal(parse_net("mac=52:54:00:00:00:01", &n, err, sizeof(err)), -1);
    assert_int_equal(parse_net("user,mac=52:54:00:00:00", &n, err, sizeof(err)), -1);
    assert_int_equal(parse_net("user,mac=52:54:00:00:00:0g", &n, err, sizeof(err)), -1);
    assert_int_equal(parse_net("user,mac=03:54:00:00:00:01", &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "multicast"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(drive_values),
        cmocka_unit_test(drives_on_the_command_line),
        cmocka_unit_test(net_values),
        cmocka_unit_test(sizes_with_suffixes),
        cmocka_unit_test(sizes_out_of_range_or_malformed),
        cmocka_unit_test(trace_lists),
        cmocka_unit_test(full_run_line),
        cmocka_unit_test(lockstep_options),
        cmocka_unit_test(defaults),
        cmocka_unit_test(ips_rates),
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(help_and_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

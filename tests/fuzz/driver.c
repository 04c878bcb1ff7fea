/* driver.c - the differential fuzzer: runs instruction sequences on the host
 * CPU (through the 32-bit runner, fuzz-native) and on morph's soft CPU, and
 * reports every difference as a reproducible one-line vector.
 *
 *   fuzz-driver --native PATH [--seed S] [--count N] [--slots K]
 *               [--x87 auto|on|off|only] [--modes LIST] [--no-jit]
 *               [--vectors FILE]... [--save FILE] [--max-report N]
 *               [--quiet] [--dump]
 *
 * Three columns: every case runs natively (the host CPU), on morph's
 * interpreter (jit_threshold 0) and on morph with jit_threshold 1 (every
 * block translated; until the translator lands this is the interpreter
 * again).  All three must agree; a failure names the pairs that differ
 * (host/interp, host/jit, interp/jit).  --no-jit drops the third column.
 *
 * --modes picks the segment modes (fz.h) generated sequences start in,
 * round robin: a comma-separated list of hex FZ_MODE_* values, or "32"
 * (mode 0, the default), "16" (every mode with a 16-bit segment), "all".
 *
 * Vectors in --vectors files are replayed first (lines starting with '#' are
 * comments); then --count generated sequences from --seed.  A generated
 * sequence that differs is shrunk (shortest failing prefix, then dropping
 * slots that do not matter) and, with --save, appended to that file unless
 * the same instruction already failed the same way in this run (two of
 * each are kept).  --dump prints both final states of every vector.  The last
 * line is "N passed, N failed". */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "morph_run.h"

struct native {
    const char *path;
    pid_t pid;
    int to, from;
};

static bool native_start(struct native *n)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
        perror("fuzz: pipe");
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fuzz: fork");
        return false;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execl(n->path, n->path, (char *)NULL);
        fprintf(stderr, "fuzz: cannot run %s: %s\n", n->path, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    n->pid = pid;
    n->to = in[1];
    n->from = out[0];
    return true;
}

static void native_stop(struct native *n)
{
    if (n->pid <= 0)
        return;
    close(n->to);
    close(n->from);
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
}

static bool io_full(int fd, void *buf, size_t len, bool wr)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t r = wr ? write(fd, p, len) : read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        len -= (size_t)r;
    }
    return true;
}

/* Run a case natively; a runner that died is restarted once. */
static bool native_run(struct native *n, const struct fz_case *c, struct fz_result *res)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (n->pid <= 0 && !native_start(n))
            return false;
        if (io_full(n->to, (void *)c, sizeof(*c), true) && io_full(n->from, res, sizeof(*res), false) &&
            res->magic == FZ_MAGIC)
            return true;
        native_stop(n);
    }
    return false;
}

/* ---- comparison ---- */

static const char *const reg_names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
static const char *const sreg_names[6] = { "es", "cs", "ss", "ds", "fs", "gs" };

/* GDT entries 12-15 of the host are per thread or per CPU (glibc's TLS
 * segment, Linux's CPU/node segment): their base and limit differ between
 * runs and CPUs, and morph's copy of the GDT leaves them empty.  A case that
 * loads one of them proves nothing about morph, so it counts as equal. */
static bool host_private_selector(uint32_t sel)
{
    return (sel & 4) == 0 && (sel & 0xfff8) >= 12 * 8 && (sel & 0xfff8) <= 15 * 8;
}

static bool uses_host_private_entry(const struct fz_result *h, const struct fz_result *m)
{
    if ((m->vector == 10 || m->vector == 11 || m->vector == 12 || m->vector == 13) &&
        host_private_selector(m->err))
        return true;
    for (int k = 0; k < 6; k++)
        if (host_private_selector(h->sreg[k]))
            return true;
    return false;
}

/* The instruction the host stopped at is POPA/POPAD and it faulted.  This
 * host CPU (AMD) has then already written the registers it popped before
 * the fault (seen with POPAD running off the top of a 16-bit stack: EDI,
 * ESI, EBP from the stack, the rest unchanged); morph (like Bochs)
 * writes none.  Either leaves the instruction restartable, so the general
 * registers but ESP are not compared. */
static bool host_partial_popa(const struct fz_test *t, const struct fz_result *h)
{
    if (h->vector != 12 && h->vector != 13 && h->vector != 14)
        return false;
    uint32_t start = fz_code_end(t->mode) - t->len;
    if (h->eip < start || h->eip >= start + t->len)
        return false;
    uint32_t k = h->eip - start;
    while (k < t->len && (t->code[k] == 0x66 || t->code[k] == 0x67 || t->code[k] == 0xf0 ||
                          t->code[k] == 0xf2 || t->code[k] == 0xf3 || t->code[k] == 0x26 ||
                          t->code[k] == 0x2e || t->code[k] == 0x36 || t->code[k] == 0x3e ||
                          t->code[k] == 0x64 || t->code[k] == 0x65))
        k++;
    return k < t->len && t->code[k] == 0x61;
}

/* Differences go into buf (a short text); returns true when equal.  h is
 * the host's result, or the interpreter's when it is compared with the jit
 * column (vs_host false: no host quirk is allowed for). */
static bool compare(const struct fz_test *t, const struct fz_result *h, const struct fz_result *m,
                    bool vs_host, char *buf, size_t n, char *key, size_t keylen)
{
    size_t w = 0;
    buf[0] = 0;
    snprintf(key, keylen, "state");
#define ADD(...) do { if (w < n) w += (size_t)snprintf(buf + w, n - w, __VA_ARGS__); } while (0)
    if (m->status != FZ_OK) {
        ADD("morph: %s", m->note);
        snprintf(key, keylen, "%s", m->status == FZ_TIMEOUT ? "timeout" : "exit");
        return false;
    }
    if (uses_host_private_entry(h, m))
        return true;
    bool ok = true;
    if (h->vector != m->vector) {
        ADD("vector host %u morph %u (host eip %08x err %x); ", h->vector, m->vector, h->eip, h->err);
        snprintf(key, keylen, "vector %u->%u", h->vector, m->vector);
        ok = false;
    } else {
        uint32_t herr = h->err, merr = m->err;
        if (h->vector == 14) {
            herr &= 7;
            merr &= 7;
            if (h->cr2 != m->cr2) {
                ADD("cr2 host %08x morph %08x; ", h->cr2, m->cr2);
                snprintf(key, keylen, "cr2");
                ok = false;
            }
        }
        if (herr != merr) {
            ADD("error code (vector %u) host %x morph %x; ", h->vector, herr, merr);
            snprintf(key, keylen, "errcode %u", h->vector);
            ok = false;
        }
    }
    if (h->eip != m->eip) {
        ADD("eip host %08x morph %08x; ", h->eip, m->eip);
        if (ok)
            snprintf(key, keylen, "eip");
        ok = false;
    }
    bool popa_quirk = vs_host && host_partial_popa(t, h);
    for (int k = 0; k < 8; k++) {
        if (popa_quirk && k != 4)   /* ESP */
            continue;
        if (h->regs[k] != m->regs[k]) {
            ADD("%s host %08x morph %08x; ", reg_names[k], h->regs[k], m->regs[k]);
            if (ok)
                snprintf(key, keylen, "%s", reg_names[k]);
            ok = false;
        }
    }
    uint32_t undef;
    uint16_t cund;
    fz_test_undef_at(t, h->eip, &undef, &cund);
    uint32_t mask = FZ_EFL_COMPARE & ~undef;
    if ((h->eflags ^ m->eflags) & mask) {
        ADD("eflags host %08x morph %08x (differ %08x, undefined %03x); ", h->eflags & mask,
            m->eflags & mask, (h->eflags ^ m->eflags) & mask, undef);
        if (ok)
            snprintf(key, keylen, "eflags %x", (h->eflags ^ m->eflags) & mask);
        ok = false;
    }
    for (int k = 0; k < 6; k++) {
        /* Any entry to the host kernel (a timer interrupt during the case)
         * returns to user mode with a null selector of RPL 1-3 in DS, ES,
         * FS or GS replaced by 0: both are null. */
        if (k != 1 && k != 2 && h->sreg[k] == 0 && m->sreg[k] < 4)
            continue;
        if (h->sreg[k] != m->sreg[k]) {
            ADD("%s host %04x morph %04x; ", sreg_names[k], h->sreg[k], m->sreg[k]);
            if (ok)
                snprintf(key, keylen, "sreg");
            ok = false;
        }
    }
    for (int pg = 0; pg < 2; pg++) {
        const uint8_t *a = pg ? h->stack : h->data, *b = pg ? m->stack : m->data;
        uint32_t base = pg ? FZ_STACK : FZ_DATA;
        for (uint32_t k = 0; k < FZ_PAGE; k++) {
            if (a[k] != b[k]) {
                uint32_t e = k;
                while (e + 1 < FZ_PAGE && e < k + 16 && a[e + 1] != b[e + 1])
                    e++;
                ADD("memory %08x:", base + k);
                for (uint32_t j = k; j <= e && j < k + 8; j++)
                    ADD(" %02x/%02x", a[j], b[j]);
                ADD(" (host/morph); ");
                if (ok)
                    snprintf(key, keylen, "memory");
                ok = false;
                break;
            }
        }
    }
    if (t->x87) {
        const struct fz_x87 *a = &h->fpu, *b = &m->fpu;
        if (a->fcw != b->fcw) {
            ADD("fcw host %04x morph %04x; ", a->fcw, b->fcw);
            if (ok)
                snprintf(key, keylen, "fcw");
            ok = false;
        }
        uint16_t fmask = (uint16_t)~cund;
        if ((a->fsw ^ b->fsw) & fmask) {
            ADD("fsw host %04x morph %04x (undefined %04x); ", a->fsw, b->fsw, cund);
            if (ok)
                snprintf(key, keylen, "fsw %x", (a->fsw ^ b->fsw) & fmask);
            ok = false;
        }
        if (a->ftw != b->ftw) {
            ADD("ftw host %04x morph %04x; ", a->ftw, b->ftw);
            if (ok)
                snprintf(key, keylen, "ftw");
            ok = false;
        }
        unsigned top = (a->fsw >> 11) & 7;
        for (unsigned k = 0; k < 8; k++) {
            unsigned tag = (a->ftw >> (2 * ((top + k) & 7))) & 3;
            if (tag == 3)
                continue;
            if (memcmp(a->st[k], b->st[k], 10) != 0) {
                ADD("st%u host ", k);
                for (int j = 9; j >= 0; j--)
                    ADD("%02x", a->st[k][j]);
                ADD(" morph ");
                for (int j = 9; j >= 0; j--)
                    ADD("%02x", b->st[k][j]);
                ADD("; ");
                if (ok)
                    snprintf(key, keylen, "st");
                ok = false;
            }
        }
    }
#undef ADD
    return ok;
}

/* The comparisons of the three columns. */
enum { CMP_HOST_INTERP, CMP_HOST_JIT, CMP_INTERP_JIT, CMP_COUNT };
static const char *const cmp_names[CMP_COUNT] = { "host/interp", "host/jit", "interp/jit" };

struct fuzzer {
    struct native native;
    struct morph_runner *morph;     /* interpreter column */
    struct morph_runner *jit;       /* translator column, NULL with --no-jit */
    struct fz_case c;
    struct fz_result h, m, j;
    char diff[2048];
    char key[96];
    uint64_t cmp_fail[CMP_COUNT];   /* sequences whose comparison failed (not shrinking runs) */
    bool counting;                  /* run_test counts into cmp_fail */
    FILE *save;
    unsigned max_report;
    unsigned reported;
    bool quiet;
    bool dump;
    uint64_t host_vectors[33];   /* how the host ended the cases: [32] ran to the end */
    /* Failures by "instruction: kind", for the summary and for saving
     * only a few vectors of each. */
    struct { char name[200]; unsigned count; } groups[512];
    unsigned ngroups;
    char example[512][160];
};

/* Compare one pair of columns; on a difference, the first one found is
 * kept in f->diff and f->key with the pair's name in front. */
static bool compare_pair(struct fuzzer *f, const struct fz_test *t, int which,
                         const struct fz_result *a, const struct fz_result *b, bool first)
{
    char diff[sizeof(f->diff)], key[64];
    if (compare(t, a, b, which != CMP_INTERP_JIT, diff, sizeof(diff), key, sizeof(key)))
        return true;
    if (f->counting)
        f->cmp_fail[which]++;
    if (first) {
        snprintf(f->diff, sizeof(f->diff), "%s: %s", cmp_names[which], diff);
        snprintf(f->key, sizeof(f->key), "%s %s", cmp_names[which], key);
    }
    return false;
}

/* Run every column; returns 1 if all agree, 0 if not, -1 if the host
 * runner failed. */
static int run_test(struct fuzzer *f, const struct fz_test *t)
{
    fz_test_to_case(t, &f->c);
    if (!native_run(&f->native, &f->c, &f->h))
        return -1;
    morph_runner_run(f->morph, &f->c, &f->m);
    if (f->h.vector == 14 && f->h.eip == fz_code_end(t->mode))
        f->host_vectors[32]++;
    else
        f->host_vectors[f->h.vector < 32 ? f->h.vector : 31]++;
    bool ok = compare_pair(f, t, CMP_HOST_INTERP, &f->h, &f->m, true);
    if (f->jit) {
        morph_runner_run(f->jit, &f->c, &f->j);
        ok &= compare_pair(f, t, CMP_HOST_JIT, &f->h, &f->j, ok);
        ok &= compare_pair(f, t, CMP_INTERP_JIT, &f->m, &f->j, ok);
    }
    return ok ? 1 : 0;
}

static void dump_result(const char *who, const struct fz_result *r)
{
    printf("  %-5s vector %u err %x cr2 %08x eip %08x efl %08x\n", who, r->vector, r->err, r->cr2,
           r->eip, r->eflags);
    printf("        eax %08x ecx %08x edx %08x ebx %08x esp %08x ebp %08x esi %08x edi %08x\n",
           r->regs[0], r->regs[1], r->regs[2], r->regs[3], r->regs[4], r->regs[5], r->regs[6], r->regs[7]);
    printf("        fcw %04x fsw %04x ftw %04x st0 ", r->fpu.fcw, r->fpu.fsw, r->fpu.ftw);
    for (int j = 9; j >= 0; j--)
        printf("%02x", r->fpu.st[0][j]);
    printf(" st1 ");
    for (int j = 9; j >= 0; j--)
        printf("%02x", r->fpu.st[1][j]);
    printf("\n");
}

static unsigned group_add(struct fuzzer *f, const char *name, const char *line)
{
    for (unsigned k = 0; k < f->ngroups; k++) {
        if (strcmp(f->groups[k].name, name) == 0)
            return ++f->groups[k].count;
    }
    if (f->ngroups < sizeof(f->groups) / sizeof(f->groups[0])) {
        snprintf(f->groups[f->ngroups].name, sizeof(f->groups[0].name), "%s", name);
        size_t l = strlen(line);
        if (l >= sizeof(f->example[0]))
            l = sizeof(f->example[0]) - 1;
        memcpy(f->example[f->ngroups], line, l);
        f->example[f->ngroups][l] = 0;
        f->groups[f->ngroups++].count = 1;
    }
    return 1;
}

static void report(struct fuzzer *f, const char *culprit, const struct fz_test *t, bool save)
{
    char line[8192];
    fz_test_format(t, line, sizeof(line));
    char name[200];
    snprintf(name, sizeof(name), "%s: %s", culprit, f->key);
    unsigned seen = group_add(f, name, line);
    if (!f->quiet && f->reported < f->max_report) {
        printf("FAIL %s\n  %s\n  %s\n", name, f->diff, line);
        f->reported++;
    }
    if (save && f->save && seen <= 2) {
        fprintf(f->save, "# %s: %s\n%s\n", culprit, f->diff, line);
        fflush(f->save);
    }
}

/* Drop slot j: branches to it now go to the slot after it. */
static void drop_slot(const struct g_seq *in, int j, struct g_seq *out)
{
    *out = *in;
    for (int k = j; k + 1 < in->n; k++)
        out->slot[k] = in->slot[k + 1];
    out->n = in->n - 1;
    for (int k = 0; k < out->n; k++) {
        for (int i = 0; i < out->slot[k].n; i++) {
            int8_t *tg = &out->slot[k].in[i].target;
            if (*tg != GEN_END && *tg > j)
                (*tg)--;
        }
    }
}

/* Shrink a failing generated sequence; returns the culprit's name. */
static const char *shrink(struct fuzzer *f, struct g_seq *s, struct fz_test *best)
{
    static struct g_seq tmp;
    struct fz_test t;
    int n = s->n;
    for (int k = 1; k <= s->n; k++) {
        if (gen_layout(s, k, &t) && run_test(f, &t) == 0) {
            n = k;
            break;
        }
    }
    s->n = n;
    for (int j = n - 2; j >= 0; j--) {
        drop_slot(s, j, &tmp);
        if (gen_layout(&tmp, tmp.n, &t) && run_test(f, &t) == 0)
            *s = tmp;
    }
    gen_layout(s, s->n, best);
    if (run_test(f, best) != 0) {
        /* The shrunk form passed when run again: the difference depends on
         * something besides the case (state left by earlier cases). */
        snprintf(f->key, sizeof(f->key), "not reproducible");
        snprintf(f->diff, sizeof(f->diff), "failed once, passed when run again");
    }
    return s->slot[s->n - 1].name;
}

static bool x87_supported(struct morph_runner *m)
{
    static struct fz_test t;
    memset(&t, 0, sizeof(t));
    t.code[0] = 0xdb;
    t.code[1] = 0xe3;   /* fninit */
    t.len = 2;
    t.regs[4] = FZ_STACK_TOP0;   /* mode 0: flat */
    t.eflags = 2;
    static struct fz_case c;
    static struct fz_result r;
    fz_test_to_case(&t, &c);
    morph_runner_run(m, &c, &r);
    return r.status == FZ_OK && r.vector == 14 && r.eip == FZ_CODE_END;
}

static int replay_file(struct fuzzer *f, const char *path, unsigned *pass, unsigned *fail)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "fuzz: cannot open vectors file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    static struct fz_test t;
    while (getline(&line, &cap, in) > 0) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char err[128];
        if (!fz_test_parse(line, &t, err, sizeof(err))) {
            fprintf(stderr, "fuzz: %s:%u: %s\n", path, lineno, err);
            rc = -1;
            break;
        }
        int r = run_test(f, &t);
        if (r < 0) {
            fprintf(stderr, "fuzz: the native runner failed\n");
            rc = -1;
            break;
        }
        if (f->dump) {
            printf("%s:%u\n", path, lineno);
            dump_result("host", &f->h);
            dump_result("interp", &f->m);
            if (f->jit)
                dump_result("jit", &f->j);
        }
        if (r) {
            (*pass)++;
        } else {
            (*fail)++;
            char culprit[80];
            snprintf(culprit, sizeof(culprit), "%s:%u %s", path, lineno, t.what);
            report(f, culprit, &t, false);
        }
    }
    free(line);
    fclose(in);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: fuzz-driver --native PATH [--seed S] [--count N] [--slots K]\n"
                    "       [--x87 auto|on|off|only] [--modes 32|16|all|M,M...] [--no-jit]\n"
                    "       [--vectors FILE]... [--save FILE] [--max-report N] [--quiet] [--dump]\n");
}

/* --modes: fills modes[] (at most FZ_MODE_MAX + 1); returns how many, 0 on
 * a bad list.  A mode whose SS and DS fields are both in range is valid. */
static unsigned parse_modes(const char *v, uint32_t *modes)
{
    unsigned n = 0;
    bool want16 = !strcmp(v, "16"), all = !strcmp(v, "all");
    if (!strcmp(v, "32")) {
        modes[0] = 0;
        return 1;
    }
    if (want16 || all) {
        for (uint32_t m = all ? 0 : 1; m <= FZ_MODE_MAX; m++)
            if ((m & FZ_MODE_SS_MASK) != FZ_MODE_SS_MASK)
                modes[n++] = m;
        return n;
    }
    for (const char *p = v; *p && n <= FZ_MODE_MAX;) {
        char *end;
        unsigned long m = strtoul(p, &end, 16);
        if (end == p || m > FZ_MODE_MAX || (m & FZ_MODE_SS_MASK) == FZ_MODE_SS_MASK)
            return 0;
        modes[n++] = (uint32_t)m;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return 0;
    }
    return n;
}

int main(int argc, char **argv)
{
    static struct fuzzer f;
    const char *vectors[64];
    unsigned nvectors = 0;
    uint64_t seed = 1, count = 0;
    int slots = 6;
    const char *x87 = "auto", *save = NULL;
    uint32_t modes[FZ_MODE_MAX + 1] = { 0 };
    unsigned nmodes = 1;
    bool no_jit = false;
    f.max_report = 50;
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        const char *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            f.quiet = true;
            continue;
        }
        if (!strcmp(a, "--dump")) {
            f.dump = true;
            continue;
        }
        if (!strcmp(a, "--no-jit")) {
            no_jit = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "fuzz: option %s needs a value\n", a);
            usage();
            return 2;
        }
        k++;
        char *end = NULL;
        if (!strcmp(a, "--native"))
            f.native.path = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, &end, 0);
        else if (!strcmp(a, "--count"))
            count = strtoull(v, &end, 0);
        else if (!strcmp(a, "--slots"))
            slots = (int)strtol(v, &end, 0);
        else if (!strcmp(a, "--max-report"))
            f.max_report = (unsigned)strtoul(v, &end, 0);
        else if (!strcmp(a, "--x87"))
            x87 = v;
        else if (!strcmp(a, "--save"))
            save = v;
        else if (!strcmp(a, "--modes")) {
            nmodes = parse_modes(v, modes);
            if (!nmodes) {
                fprintf(stderr, "fuzz: bad --modes %s (32, 16, all or hex FZ_MODE_* values)\n", v);
                return 2;
            }
        }
        else if (!strcmp(a, "--vectors") && nvectors < 64)
            vectors[nvectors++] = v;
        else {
            fprintf(stderr, "fuzz: unknown option %s\n", a);
            usage();
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "fuzz: bad number for %s: %s\n", a, v);
            return 2;
        }
    }
    if (!f.native.path) {
        usage();
        return 2;
    }
    if (slots < 1 || slots > GEN_MAX_SLOTS) {
        fprintf(stderr, "fuzz: --slots must be 1..%d\n", GEN_MAX_SLOTS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    f.morph = morph_runner_new(0);
    if (!f.morph)
        return 2;
    if (!no_jit) {
        f.jit = morph_runner_new(1);
        if (!f.jit)
            return 2;
    }
    struct gen_opts go = { .max_slots = slots };
    if (!strcmp(x87, "on") || !strcmp(x87, "only")) {
        go.x87 = true;
        go.x87_only = !strcmp(x87, "only");
    } else if (!strcmp(x87, "auto")) {
        go.x87 = x87_supported(f.morph);
        if (!go.x87)
            printf("note: morph has no x87 yet (FNINIT raises #UD): x87 generation off\n");
    } else if (strcmp(x87, "off") != 0) {
        fprintf(stderr, "fuzz: --x87 must be auto, on, off or only\n");
        return 2;
    }
    if (save) {
        f.save = fopen(save, "a");
        if (!f.save) {
            fprintf(stderr, "fuzz: cannot open %s for appending: %s\n", save, strerror(errno));
            return 2;
        }
    }

    unsigned pass = 0, fail = 0;
    int rc = 0;
    f.counting = true;
    for (unsigned k = 0; k < nvectors && rc == 0; k++)
        rc = replay_file(&f, vectors[k], &pass, &fail);
    unsigned vpass = pass, vfail = fail;

    struct rng r = { seed };
    static struct g_seq s;
    static struct fz_test t;
    uint64_t mode_pass[FZ_MODE_MAX + 1] = { 0 }, mode_fail[FZ_MODE_MAX + 1] = { 0 };
    for (uint64_t k = 0; k < count && rc == 0; k++) {
        go.mode = modes[k % nmodes];
        gen_sequence(&r, &go, &s);
        gen_layout(&s, s.n, &t);
        int res = run_test(&f, &t);
        if (res < 0) {
            fprintf(stderr, "fuzz: the native runner failed\n");
            rc = -1;
            break;
        }
        if (res) {
            pass++;
            mode_pass[go.mode]++;
            continue;
        }
        fail++;
        mode_fail[go.mode]++;
        f.counting = false;   /* shrinking reruns the case many times */
        static struct g_seq orig;
        static struct fz_test orig_t;
        orig = s;
        orig_t = t;
        char first_diff[1900];
        snprintf(first_diff, sizeof(first_diff), "%.1800s", f.diff);
        const char *culprit = shrink(&f, &s, &t);
        if (!strcmp(f.key, "not reproducible")) {
            snprintf(f.diff, sizeof(f.diff), "not reproducible; first run: %s", first_diff);
            t = orig_t;
            culprit = orig.slot[orig.n - 1].name;
        }
        report(&f, culprit, &t, true);
        f.counting = true;
    }

    native_stop(&f.native);
    morph_runner_free(f.morph);
    morph_runner_free(f.jit);
    if (f.save)
        fclose(f.save);
    if (f.ngroups) {
        printf("divergences by instruction and kind (%u groups):\n", f.ngroups);
        for (unsigned k = 0; k < f.ngroups; k++)
            printf("  %6u  %s\n", f.groups[k].count, f.groups[k].name);
    }
    printf("host outcomes (all runs, shrinking included): %" PRIu64 " ran to the end", f.host_vectors[32]);
    for (int k = 0; k < 32; k++) {
        if (f.host_vectors[k])
            printf(", %" PRIu64 " #%d", f.host_vectors[k], k);
    }
    printf("\n");
    printf("columns: host, interp%s; failed comparisons: ", f.jit ? ", jit (jit_threshold 1)" : "");
    for (int k = 0; k < CMP_COUNT; k++)
        if (f.jit || k == CMP_HOST_INTERP)
            printf("%s%s %" PRIu64, k ? ", " : "", cmp_names[k], f.cmp_fail[k]);
    printf("\n");
    if (nmodes > 1 || modes[0] != 0) {
        printf("generated by segment mode (CS/SS/DS):");
        for (unsigned k = 0; k < nmodes; k++) {
            uint32_t m = modes[k];
            static const char *const ss[] = { "32", "16", "16ed" }, *const ds[] = { "32", "16", "16ed", "32ed" };
            printf("%s mode %x %s/%s/%s %" PRIu64 " passed %" PRIu64 " failed", k ? ";" : "", m,
                   (m & FZ_MODE_CS16) ? "16" : "32", ss[(m & FZ_MODE_SS_MASK) >> 1],
                   ds[(m & FZ_MODE_DS_MASK) >> 3], mode_pass[m], mode_fail[m]);
        }
        printf("\n");
    }
    printf("vectors: %u passed, %u failed; generated (seed %" PRIu64 "): %u passed, %u failed\n",
           vpass, vfail, seed, pass - vpass, fail - vfail);
    printf("%u passed, %u failed\n", pass, fail);
    if (rc != 0)
        return 2;
    return fail ? 1 : 0;
}

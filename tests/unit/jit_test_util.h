/* jit_test_util.h - helpers for the translator's unit tests: a guest made
 * with the translator on (engine_config.jit_threshold, jit_cache_size),
 * descriptor tables and identity paging for fault tests, and a pair of
 * guests - one interpreted, one translated - set up alike, run alike and
 * compared: registers, EFLAGS, CR2, RAM, the instruction count and the
 * MMIO exits on the way. */
#ifndef MORPH_JIT_TEST_UTIL_H
#define MORPH_JIT_TEST_UTIL_H

#include "soft_test_util.h"

/* Like guest_new, with the translator: threshold 1 translates every block
 * on its first run, 0 leaves the interpreter alone; cache_size 0 is the
 * default. */
static inline struct guest *guest_new_jit(unsigned threshold, size_t cache_size)
{
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    g->ram = calloc(1, TEST_RAM_SIZE);
    assert_non_null(g->ram);
    g->mem.region[0] = (struct mem_region){ .gpa = 0, .size = TEST_RAM_SIZE, .host = g->ram };
    g->mem.count = 1;
    struct engine_config cfg = { .mem = &g->mem, .policy = &g->policy,
                                 .jit_threshold = threshold, .jit_cache_size = cache_size };
    char err[128];
    g->e = soft_engine_ops.create(&cfg, err, sizeof(err));
    if (!g->e)
        fail_msg("creating the engine: %s", err);
    g->c = &((struct soft_engine *)g->e)->cpu;
    g->c->exit = &g->exit;
    return g;
}

/* ---- tables ---- */

static inline void jt_put_desc(struct guest *g, uint32_t gdt, unsigned idx, uint64_t d)
{
    memcpy(g->ram + gdt + idx * 8, &d, 8);
}

/* A 32-bit interrupt gate for vector vec to sel:off. */
static inline void jt_put_gate(struct guest *g, uint32_t idt, unsigned vec, uint16_t sel, uint32_t off)
{
    uint64_t d = (off & 0xffffu) | ((uint64_t)sel << 16) | ((uint64_t)0x8e << 40) |
                 ((uint64_t)(off >> 16) << 48);
    memcpy(g->ram + idt + vec * 8, &d, 8);
}

/* GDT at 0x2000 (flat code 0x08, data 0x10), IDT at 0x3000. */
#define JT_GDT 0x2000u
#define JT_IDT 0x3000u
static inline void jt_with_tables(struct guest *g)
{
    jt_put_desc(g, JT_GDT, 1, make_desc(0, 0xfffff, 0xc09b));
    jt_put_desc(g, JT_GDT, 2, make_desc(0, 0xfffff, 0xc093));
    struct cpu_state s = guest_state(g);
    s.gdtr = (struct dtable_reg){ JT_GDT, 23 };
    s.idtr = (struct dtable_reg){ JT_IDT, 0x7ff };
    soft_engine_ops.set_state(g->e, &s);
}

/* Paging on: the first 4 MiB identity-mapped with 4 KiB pages (directory
 * at 0x10000, table at 0x11000), writable, except the page at
 * `absent` (not present; pass 0 for none: page 0 stays mapped). */
static inline void jt_with_paging(struct guest *g, uint32_t absent)
{
    put32(g, 0x10000, 0x11000 | 3);
    for (uint32_t k = 0; k < 1024; k++)
        put32(g, 0x11000 + 4 * k, (k << 12) | 3);
    if (absent)
        put32(g, 0x11000 + 4 * (absent >> 12), 0);
    struct cpu_state s = guest_state(g);
    s.cr3 = 0x10000;
    s.cr0 |= CR0_PG;
    soft_engine_ops.set_state(g->e, &s);
}

/* ---- an interpreted and a translated guest, compared ---- */

#define JT_MAX_MMIO 512

struct jt_mmio {
    uint64_t gpa, data;
    uint8_t size;
    bool write;
    /* the guest's state as the exit shows it to the monitor */
    uint32_t eip, eflags, gpr[8];
    uint64_t insns;
};

struct jt_run {
    struct guest *g;
    enum exit_reason last;
    unsigned n_mmio;
    struct jt_mmio mmio[JT_MAX_MMIO];
};

struct jt_pair {
    struct jt_run ref, jit;    /* interpreter; translator at the given threshold */
};

/* Runs until an exit other than MMIO; MMIO reads are answered with a value
 * made from the address and the exit's sequence number, so that an access
 * done twice (or in another order) shows in the results. */
static inline enum exit_reason jt_run(struct jt_run *r)
{
    for (;;) {
        enum exit_reason why = guest_run(r->g);
        if (why != EXIT_MMIO)
            return r->last = why;
        assert_true(r->n_mmio < JT_MAX_MMIO);
        struct vm_exit *x = &r->g->exit;
        if (!x->mmio.write)
            x->mmio.data = (0x5a5a5a5a00000000ull | (uint32_t)(x->mmio.gpa * 2654435761u)) + r->n_mmio;
        struct cpu_state s = guest_state(r->g);
        struct jt_mmio *m = &r->mmio[r->n_mmio++];
        *m = (struct jt_mmio){ x->mmio.gpa, x->mmio.data, x->mmio.size, x->mmio.write, s.eip, s.eflags, { 0 }, 0 };
        memcpy(m->gpr, s.gpr, sizeof(m->gpr));
        m->insns = guest_stats(r->g).instructions;
    }
}

static inline struct jt_pair *jt_pair_new(unsigned threshold, size_t cache_size)
{
    struct jt_pair *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->ref.g = guest_new_jit(0, 0);
    p->jit.g = guest_new_jit(threshold, cache_size);
    return p;
}

static inline void jt_pair_free(struct jt_pair *p)
{
    guest_free(p->ref.g);
    guest_free(p->jit.g);
    free(p);
}

/* Both guests: the same bytes at gpa. */
static inline void jt_put(struct jt_pair *p, uint32_t gpa, const uint8_t *b, size_t n)
{
    put_bytes(p->ref.g, gpa, b, n);
    put_bytes(p->jit.g, gpa, b, n);
}

/* Both guests: flat 32-bit ring 0 at eip, ESP 0x8000. */
static inline void jt_flat32_at(struct jt_pair *p, uint32_t eip)
{
    guest_flat32_at(p->ref.g, eip);
    guest_flat32_at(p->jit.g, eip);
}

/* Both guests: general register r = v. */
static inline void jt_set_reg(struct jt_pair *p, enum gpr r, uint32_t v)
{
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        struct cpu_state s = guest_state(gs[k]);
        s.gpr[r] = v;
        soft_engine_ops.set_state(gs[k]->e, &s);
    }
}

/* The two guests must agree on everything a program can leave behind. */
static inline void jt_expect_same(struct jt_pair *p)
{
    struct cpu_state a = guest_state(p->ref.g), b = guest_state(p->jit.g);
    static const char *const names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
    for (int k = 0; k < 8; k++)
        if (a.gpr[k] != b.gpr[k])
            fail_msg("%s: interpreter 0x%08x, translator 0x%08x", names[k], a.gpr[k], b.gpr[k]);
    if (a.eip != b.eip)
        fail_msg("eip: interpreter 0x%08x, translator 0x%08x", a.eip, b.eip);
    if (a.eflags != b.eflags)
        fail_msg("eflags: interpreter 0x%08x, translator 0x%08x", a.eflags, b.eflags);
    assert_int_equal(a.cr2, b.cr2);
    assert_int_equal(a.events.halted, b.events.halted);
    assert_int_equal(p->ref.last, p->jit.last);
    uint64_t na = guest_stats(p->ref.g).instructions, nb = guest_stats(p->jit.g).instructions;
    if (na != nb)
        fail_msg("instructions: interpreter %llu, translator %llu",
                 (unsigned long long)na, (unsigned long long)nb);
    for (size_t k = 0; k < TEST_RAM_SIZE; k += 4096)
        if (memcmp(p->ref.g->ram + k, p->jit.g->ram + k, 4096) != 0)
            for (size_t i = k; i < k + 4096; i++)
                if (p->ref.g->ram[i] != p->jit.g->ram[i])
                    fail_msg("RAM at 0x%zx: interpreter 0x%02x, translator 0x%02x",
                             i, p->ref.g->ram[i], p->jit.g->ram[i]);
    if (p->ref.n_mmio != p->jit.n_mmio)
        fail_msg("MMIO exits: interpreter %u, translator %u", p->ref.n_mmio, p->jit.n_mmio);
    for (unsigned k = 0; k < p->ref.n_mmio; k++) {
        const struct jt_mmio *x = &p->ref.mmio[k], *y = &p->jit.mmio[k];
        if (x->gpa != y->gpa || x->size != y->size || x->write != y->write || x->data != y->data)
            fail_msg("MMIO exit %u: interpreter %s 0x%llx/%u 0x%llx, translator %s 0x%llx/%u 0x%llx", k,
                     x->write ? "write" : "read", (unsigned long long)x->gpa, x->size,
                     (unsigned long long)x->data, y->write ? "write" : "read",
                     (unsigned long long)y->gpa, y->size, (unsigned long long)y->data);
        if (x->eip != y->eip || x->eflags != y->eflags || memcmp(x->gpr, y->gpr, sizeof(x->gpr)) != 0 ||
            x->insns != y->insns)
            fail_msg("MMIO exit %u: state differs: interpreter eip 0x%x eflags 0x%x insns %llu, "
                     "translator eip 0x%x eflags 0x%x insns %llu", k, x->eip, x->eflags,
                     (unsigned long long)x->insns, y->eip, y->eflags, (unsigned long long)y->insns);
    }
}

/* Run both to their next exit (other than MMIO), which must be `want`,
 * and compare.  (Whether translated code ran yet depends on the case: a
 * block that would pass the deadline runs interpreted, a fault ends a
 * translation uncounted; see jt_expect_ran_translated.) */
static inline void jt_run_both(struct jt_pair *p, enum exit_reason want)
{
    assert_int_equal(jt_run(&p->ref), want);
    assert_int_equal(jt_run(&p->jit), want);
    jt_expect_same(p);
}

/* Instructions completed in translated code (jit_insns counts those of
 * translations that ran to an end, not of one a fault left). */
static inline void jt_expect_ran_translated(struct jt_pair *p)
{
    assert_int_equal(guest_stats(p->ref.g).jit_insns, 0);
    assert_true(guest_stats(p->jit.g).jit_insns > 0);
}

#endif

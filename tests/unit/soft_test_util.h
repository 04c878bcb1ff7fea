/* soft_test_util.h - helpers for the soft CPU's unit tests: a guest with
 * RAM (and optionally ROM) run by soft_engine_ops, its start states, and
 * fault capture for calling the CPU's internal functions directly. */
#ifndef MORPH_SOFT_TEST_UTIL_H
#define MORPH_SOFT_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/cpu_state.h"
#include "engine/engine.h"
#include "engine/soft/mem.h"
#include "engine/soft/soft_priv.h"

#define TEST_RAM_SIZE (16u << 20)

struct guest {
    struct guest_memory mem;
    struct exit_policy policy;
    uint8_t *ram;
    struct engine *e;
    struct cpu *c;
    struct vm_exit exit;
};

static inline struct guest *guest_new_traced(unsigned trace, FILE *out)
{
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    g->ram = calloc(1, TEST_RAM_SIZE);
    assert_non_null(g->ram);
    g->mem.region[0] = (struct mem_region){ .gpa = 0, .size = TEST_RAM_SIZE, .host = g->ram };
    g->mem.count = 1;
    struct engine_config cfg = { .mem = &g->mem, .policy = &g->policy, .trace = trace,
                                 .trace_insn_limit = 100, .trace_stream = out };
    char err[128];
    g->e = soft_engine_ops.create(&cfg, err, sizeof(err));
    assert_non_null(g->e);
    g->c = &((struct soft_engine *)g->e)->cpu;
    g->c->exit = &g->exit;
    return g;
}

static inline struct guest *guest_new(void)
{
    return guest_new_traced(0, NULL);
}

static inline void guest_free(struct guest *g)
{
    soft_engine_ops.destroy(g->e);
    free(g->ram);
    free(g);
}

static inline void put32(struct guest *g, uint32_t gpa, uint32_t v) { memcpy(g->ram + gpa, &v, 4); }
static inline uint32_t get32(struct guest *g, uint32_t gpa) { uint32_t v; memcpy(&v, g->ram + gpa, 4); return v; }
static inline uint16_t get16(struct guest *g, uint32_t gpa) { uint16_t v; memcpy(&v, g->ram + gpa, 2); return v; }
static inline void put_bytes(struct guest *g, uint32_t gpa, const uint8_t *b, size_t n) { memcpy(g->ram + gpa, b, n); }

static inline uint64_t make_desc(uint32_t base, uint32_t limit, uint32_t attr)
{
    return (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) |
           ((uint64_t)(attr & 0xffu) << 40) | ((uint64_t)((limit >> 16) & 0xfu) << 48) |
           ((uint64_t)((attr >> 12) & 0xfu) << 52) | ((uint64_t)(base >> 24) << 56);
}

/* Flat 32-bit protected mode at CPL `cpl`, no paging. */
static inline void flat_protected(struct cpu_state *s, unsigned cpl)
{
    for (int k = 0; k < SEG_COUNT; k++) {
        s->seg[k] = (struct seg_cache){ .selector = (uint16_t)(0x10 | cpl), .base = 0, .limit = 0xffffffffu,
                                        .attr = 0xc093u | (cpl << SEGA_DPL_SHIFT) };
    }
    s->seg[SEG_CS] = (struct seg_cache){ .selector = (uint16_t)(0x08 | cpl), .base = 0, .limit = 0xffffffffu,
                                         .attr = 0xc09bu | (cpl << SEGA_DPL_SHIFT) };
    s->cr0 = CR0_PE | CR0_ET;
}

/* ---- running a guest through soft_engine_ops ---- */

static inline enum exit_reason guest_run(struct guest *g)
{
    return soft_engine_ops.run(g->e, &g->exit);
}

static inline struct cpu_state guest_state(struct guest *g)
{
    struct cpu_state s;
    soft_engine_ops.get_state(g->e, &s);
    return s;
}

static inline struct engine_stats guest_stats(struct guest *g)
{
    struct engine_stats st;
    soft_engine_ops.get_stats(g->e, &st);
    return st;
}

/* Runs to a HLT exit (asserted) and returns the state there. */
static inline struct cpu_state guest_run_to_hlt(struct guest *g)
{
    assert_int_equal(guest_run(g), EXIT_HLT);
    return guest_state(g);
}

/* Power-on state, then flat 32-bit ring 0 at eip with ESP 0x8000. */
static inline void guest_flat32_at(struct guest *g, uint32_t eip)
{
    struct cpu_state s;
    cpu_state_power_on(&s);
    flat_protected(&s, 0);
    s.eip = eip;
    s.gpr[REG_ESP] = 0x8000;
    soft_engine_ops.set_state(g->e, &s);
}

/* Power-on state, then real mode at 0000:ip with the given ESP and EDX 0
 * (power-on EDX holds the CPU signature). */
static inline void guest_real_mode_at(struct guest *g, uint16_t ip, uint32_t esp)
{
    struct cpu_state s;
    cpu_state_power_on(&s);
    s.seg[SEG_CS].selector = 0;
    s.seg[SEG_CS].base = 0;
    s.eip = ip;
    s.gpr[REG_ESP] = esp;
    s.gpr[REG_EDX] = 0;
    soft_engine_ops.set_state(g->e, &s);
}

/* Run `stmt` expecting a fault (vector, error code). */
#define EXPECT_FAULT(c, vec, err, stmt) do {                                   \
        jmp_buf jb_;                                                           \
        (c)->fault_jmp = &jb_;                                                 \
        if (setjmp(jb_) == 0) {                                                \
            stmt;                                                              \
            fail_msg("no fault from: %s", #stmt);                              \
        }                                                                      \
        assert_true((c)->fault_pending);                                       \
        (c)->fault_pending = false;                                            \
        (c)->s.events.exception_pending = false;                               \
        assert_int_equal((c)->s.events.exception_vector, (vec));               \
        assert_int_equal((c)->s.events.exception_error, (err));                \
    } while (0)

/* Run `stmt` expecting neither fault nor exit. */
#define EXPECT_OK(c, stmt) do {                                                \
        jmp_buf jb_;                                                           \
        (c)->fault_jmp = &jb_;                                                 \
        if (setjmp(jb_) == 0) {                                                \
            stmt;                                                              \
        } else {                                                               \
            fail_msg("unexpected %s (vector %u error 0x%x) from: %s",          \
                     (c)->exit_pending ? "exit" : "fault",                     \
                     (c)->s.events.exception_vector,                           \
                     (c)->s.events.exception_error, #stmt);                    \
        }                                                                      \
    } while (0)

/* Run `stmt` expecting an exit (cpu->exit filled). */
#define EXPECT_EXIT(c, stmt) do {                                              \
        jmp_buf jb_;                                                           \
        (c)->fault_jmp = &jb_;                                                 \
        if (setjmp(jb_) == 0) {                                                \
            stmt;                                                              \
            fail_msg("no exit from: %s", #stmt);                               \
        }                                                                      \
        assert_true((c)->exit_pending);                                        \
        (c)->exit_pending = false;                                             \
    } while (0)

#endif

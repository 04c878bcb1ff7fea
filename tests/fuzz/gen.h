/* gen.h - the differential fuzzer's test cases: generation of instruction
 * sequences, their layout into a case (with the flags the SDM leaves
 * undefined at every instruction boundary), and the one-line text form of
 * a case that regression vectors store. */
#ifndef MORPH_FUZZ_GEN_H
#define MORPH_FUZZ_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

/* EFLAGS arithmetic flags and the x87 condition codes. */
#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_OF 0x800u
#define FL_ALL 0x8d5u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_C3 0x4000u
#define FSW_CC 0x4700u

struct rng { uint64_t s; };
uint64_t rng_next(struct rng *r);
uint32_t rng_below(struct rng *r, uint32_t n);   /* 0..n-1 */

#define GEN_MAX_SLOTS   12
#define GEN_SLOT_INSNS  8
#define GEN_MAX_BOUNDS  (GEN_MAX_SLOTS * GEN_SLOT_INSNS + 1)
#define GEN_END         127     /* branch target: the end of the sequence */

enum fix_kind { FIX_NONE, FIX_REL8, FIX_REL32, FIX_ABS32, FIX_REL16, FIX_ABS16 };

/* One instruction with its effect on the flags (EFLAGS and x87 C0-C3):
 * `def` flags are written with defined values, `und` flags are left
 * undefined by the SDM, `rd` flags are read. */
struct g_insn {
    uint8_t b[16];
    uint8_t len;
    uint8_t fix_kind, fix_off;
    int8_t target;              /* slot index or GEN_END for a fixup */
    bool keep16;                /* in 16-bit code: no 66 added (16-bit operand size) */
    uint32_t rd, def, und;
    uint16_t crd, cdef, cund;
};

/* A slot: set-up instructions (register loads) and one instruction under
 * test (the last one).  Branches target slots. */
struct g_slot {
    struct g_insn in[GEN_SLOT_INSNS];
    int n;
    char name[24];              /* mnemonic of the instruction under test */
};

struct g_seq {
    struct g_slot slot[GEN_MAX_SLOTS];
    int n;
    uint32_t regs[8];
    uint32_t eflags;
    uint64_t dseed;
    bool x87;
    uint32_t mode;              /* FZ_MODE_*: the segments it runs in */
};

struct gen_opts {
    int max_slots;              /* 1..GEN_MAX_SLOTS */
    bool x87;                   /* generate x87 instructions */
    bool x87_only;
    uint32_t mode;              /* FZ_MODE_* of the next sequence */
};

struct fz_bound {
    uint16_t off;               /* offset of an instruction from the code start */
    uint32_t efl_undef;         /* EFLAGS bits undefined before it */
    uint16_t fsw_undef;         /* FSW condition codes undefined before it */
};

/* A laid-out case: everything a vector line stores. */
struct fz_test {
    uint32_t regs[8];
    uint32_t eflags;
    uint64_t dseed;
    bool x87;
    uint32_t mode;              /* FZ_MODE_*; "mode=" in the text form, 0 if absent */
    uint32_t len;
    uint8_t code[FZ_CODE_MAX];
    int nbnd;
    struct fz_bound bnd[GEN_MAX_BOUNDS];   /* the last one is the end */
    char what[64];                          /* mnemonics, for the report */
};

void gen_sequence(struct rng *r, const struct gen_opts *o, struct g_seq *out);
/* Lay out the first nslots slots (branches beyond them go to the end);
 * false if a short branch does not reach.  In 16-bit code (FZ_MODE_CS16)
 * every instruction gets the opposite 66 and 67 prefixes, so it keeps the
 * operand and address sizes it was generated with: what ran with 16-bit
 * operands in 32-bit code now runs with the segment's default size. */
bool gen_layout(const struct g_seq *s, int nslots, struct fz_test *t);
/* The case record both runners take (data and stack pages from dseed). */
void fz_test_to_case(const struct fz_test *t, struct fz_case *c);
/* Undefined flags at the boundary at `eip` (all of them seen anywhere if
 * eip is not a boundary). */
void fz_test_undef_at(const struct fz_test *t, uint32_t eip, uint32_t *efl, uint16_t *fsw);

/* One-line text form: "v1 code=.. regs=.. efl=.. dseed=.. x87=.. [mode=..] bnd=.. what=..". */
void fz_test_format(const struct fz_test *t, char *buf, size_t n);
bool fz_test_parse(const char *line, struct fz_test *t, char *err, size_t errlen);

#endif

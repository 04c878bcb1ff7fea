/* soft_priv.h - internals shared by the soft CPU's system side
 * (mmu.c, seg.c, except.c, cpuid.c, msr.c, dcache.c, soft_engine.c).
 * Instruction handlers use cpu.h and mem.h only. */
#ifndef MORPH_SOFT_PRIV_H
#define MORPH_SOFT_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "engine/soft/cpu.h"
#include "engine/soft/decode.h"
#include "engine/soft/soft_engine.h"
#include "engine/soft/tcache.h"
#include "engine/soft/vtime.h"

/* ---- mmu.c ---- */
/* Translate a linear address for an access (#PF on failure) and fill the
 * TLB.  user: the access is made at CPL 3 (not a system access). */
uint32_t mmu_translate(struct cpu *c, uint32_t lin, bool write, bool user);
/* Leave no TLB write tag valid for guest-physical page `pfn` (it now holds
 * decoded code). */
void mmu_protect_code(struct cpu *c, uint32_t pfn);

/* ---- seg.c ---- */
/* Read descriptor `sel` from the GDT/LDT; false if outside the table. */
bool seg_read_descriptor(struct cpu *c, uint16_t sel, uint64_t *desc);
/* Expand a raw descriptor into a segment cache. */
void seg_from_descriptor(struct seg_cache *sc, uint16_t sel, uint64_t desc);
/* Set the accessed bit of descriptor `sel` in memory if desc lacks it. */
void seg_set_accessed(struct cpu *c, uint16_t sel, uint64_t desc);
/* Stack pointer for privilege level dpl from the current TSS (#TS). */
void seg_tss_stack(struct cpu *c, unsigned dpl, uint16_t *ss, uint32_t *esp, uint32_t ext);
/* Check a stack segment selector about to be loaded at privilege `dpl`:
 * faults with `vector` (#TS for interrupts, #GP for returns) with the
 * selector (+ext) as error code, #SS if not present. */
void seg_check_stack(struct cpu *c, uint16_t sel, unsigned dpl, int vector, uint32_t ext,
                     struct seg_cache *out, uint64_t *desc);
/* A stack being built before it is committed (interrupts, gates). */
struct stack_build {
    struct seg_cache ss;
    uint32_t esp;
    bool system;          /* write as a supervisor access */
    uint32_t fault_err;   /* #SS error code on a limit violation */
};
void stack_build_push(struct cpu *c, struct stack_build *sb, uint32_t v, unsigned size);
/* After a return to an outer privilege: null data segment registers the
 * new CPL may not use. */
void seg_null_inaccessible(struct cpu *c);

/* ---- task.c ---- */
enum task_source { TASK_JMP, TASK_CALL, TASK_IRET, TASK_EXT, TASK_SOFT };
/* Switch to the task of TSS descriptor `desc` (selector sel).  error >= 0:
 * an exception's error code, pushed on the new task's stack.  s.eip holds
 * the old task's resume address. */
void task_switch(struct cpu *c, uint16_t sel, uint64_t desc, enum task_source src, int64_t error);

/* ---- except.c ---- */
/* Deliver a fault recorded in s.events.exception_*, handling double and
 * triple faults.  Returns false when the CPU shut down (exit filled). */
bool except_deliver_pending(struct cpu *c);

/* ---- dcache.c (decoded-instruction cache, per guest-physical page) ---- */
struct dcache;
struct insn;
struct dcache *dcache_create(void);
void dcache_destroy(struct dcache *d);
/* The cached insn at guest-physical address phys decoded for code32, or NULL. */
const struct insn *dcache_lookup(struct dcache *d, uint32_t phys, bool code32);
/* Store a decoded insn (copied); returns the cached copy (NULL if out of memory).
 * *new_page is set when the page did not hold code before. */
const struct insn *dcache_insert(struct dcache *d, uint32_t phys, bool code32,
                                 const struct insn *i, bool *new_page);
bool dcache_page_has_code(const struct dcache *d, uint32_t pfn);
/* Write-track bytes [phys, phys+len) of one page as code without caching an
 * insn there (the parts of an insn that crosses a page, which the fetch
 * cache holds by linear address).  false if out of memory. */
bool dcache_track_code(struct dcache *d, uint32_t phys, uint32_t len, bool *new_page);
/* Does a write of len bytes at phys touch a 128-byte block of its page
 * that holds decoded code? (writes to the data parts of a code page do
 * not drop its decoded instructions) */
bool dcache_write_hits_code(struct dcache *d, uint32_t phys, uint32_t len);
/* Drop a page's decoded instructions; memory is reclaimed at the next
 * dcache_reclaim (the current instruction may still be running). */
void dcache_invalidate_page(struct dcache *d, uint32_t pfn);
void dcache_invalidate_all(struct dcache *d);
void dcache_reclaim(struct dcache *d);
/* Make room for `slots` more insns: drops the whole cache (returns true)
 * when it would pass its limit, so a block being built never sees its
 * first insns dropped by its later ones. */
bool dcache_reserve(struct dcache *d, unsigned slots);

/* A block: a straight-line run of decoded instructions inside one
 * guest-physical page (see soft_engine.c for what ends one).  Held by the
 * page of its first byte in the dcache and retired with it, so it lives
 * exactly as long as the decoded insns it copies. */
#define BLOCK_MAX_INSNS 32u
/* A direct exit of one translation patched to jump straight into another
 * (translate.c): undone when the target's block is freed. */
#define JIT_SLOTS 4u
struct jit_link {
    struct block *to;                /* NULL: not linked */
    uint8_t *site_rw;                /* the jump's rel32 field, writable view */
    int32_t unlinked_rel;            /* its value when not linked */
    struct jit_link *in_next, **in_prev;   /* in to->jit_in */
};
struct block {
    struct block *next;              /* the page's hash chain */
    uint32_t phys;                   /* guest-physical address of the first insn */
    uint16_t n;                      /* instructions, >= 1 */
    uint16_t bytes;                  /* their total length */
    bool code32;
    /* Chaining (soft_engine.c): when the last insn is plain (cannot change
     * CS or the mode), the blocks run next are remembered by EIP and the
     * fetch generation they were found in (succ_tag = EIP | gen << 32; 0
     * never matches).  A block another points to is alive as long as the
     * generation has not moved (every retirement of code moves it). */
    bool chains;
    uint8_t succ_next;               /* the slot to replace next */
    uint64_t succ_tag[2];
    struct block *succ[2];
    /* Translation (translate.c): host code for the first jit_cover insns,
     * valid while jit_gen is the code cache's generation and the CPU has
     * every cpu->jit_flat bit in jit_need. */
    uint32_t (*jit)(struct cpu *c);
    uint32_t jit_gen;
    uint32_t jit_eip;                /* the EIP it was made for (targets are absolute) */
    uint32_t jit_runs;               /* interpreted runs so far */
    uint16_t jit_cover;
    uint8_t jit_need;
    bool jit_failed;                 /* cannot be translated: never try again */
    /* Direct exits that may be linked: the rel32 field of the jump (in
     * the writable view; NULL: no such slot), its unlinked value, and the
     * EIP it leaves for.  jit_chain: the entry linked jumps from other
     * pages go to (it first checks the page mapping is the one the run
     * loop last found: jit_valid_gen is the fetch generation it ran in);
     * jit_chain_page: the entry for jumps from the same linear page, whose
     * mapping the running code already stands on. */
    uint8_t *jit_slot_rw[JIT_SLOTS];
    int32_t jit_slot_rel[JIT_SLOTS];
    uint32_t jit_slot_eip[JIT_SLOTS];
    struct jit_link jit_out[JIT_SLOTS];
    struct jit_link *jit_in;         /* links into this block's translation */
    const uint8_t *jit_chain;
    const uint8_t *jit_chain_page;
    uint64_t jit_valid_gen;
    struct insn insn[];              /* copies, in order */
};
/* The block decoded for code32 at phys, or NULL. */
struct block *dcache_block_lookup(struct dcache *d, uint32_t phys, bool code32);
/* Call fn on every block held, retired ones not yet freed included. */
void dcache_for_each_block(struct dcache *d, void (*fn)(struct block *b));
/* Store a block of n insns (each already inserted with dcache_insert, so
 * its bytes are write-tracked) in the page of phys; NULL if the page holds
 * no decoded code or memory is short. */
struct block *dcache_block_insert(struct dcache *d, uint32_t phys, bool code32,
                                  const struct insn *insns, unsigned n);

/* ---- soft_engine.c ---- */
/* Fetch cache: linear EIP (with CPL-3 and code32 bits) -> a copy of the
 * decoded insn, so the common fetch is one compare and no TLB or page
 * lookup.  Entries are valid only for the generation they were filled in;
 * the generation moves on every TLB flush, INVLPG and decoded-code
 * invalidation. */
#define FETCH_CACHE_SIZE 2048u
struct fetch_entry {
    uint64_t key;                    /* lin | mode << 32 | gen << 34 */
    struct insn insn;                /* a copy: one cache line with the key */
};

/* Jump cache: where translated code's RET and indirect jumps find the
 * next translation without calling out (soft_engine_jit_chain_for fills
 * it).  Valid for the fetch generation and CPL of `tag` (fetch_gen |
 * cpu->jit_cpl_tag); EIP is linear (translations need a flat CS); cleared
 * when the code cache is flushed. */
#define JCACHE_BITS 12u
#define JCACHE_SIZE (1u << JCACHE_BITS)
struct jcache_entry {
    uint32_t eip;
    uint32_t tag;
    const uint8_t *chain;
};

/* Block table: linear address of a block's first insn (with the same mode
 * and generation bits as the fetch cache) -> the block. */
#define BLOCK_TABLE_BITS 12u
#define BLOCK_TABLE_SIZE (1u << BLOCK_TABLE_BITS)
struct block_entry {
    uint64_t key;
    struct block *b;
};

struct soft_engine {
    struct cpu cpu;
    uint64_t fetch_gen;
    bool reclaim_needed;             /* dcache_reclaim or a fetch-cache reset is due */
    struct block_entry blocks[BLOCK_TABLE_SIZE];
    struct fetch_entry fetch[FETCH_CACHE_SIZE];
    struct dcache *dcache;
    bool shutdown;                   /* triple fault happened: run keeps returning it */
    struct vm_exit shutdown_exit;
    /* Exit that completes a whole instruction on the next run (CPUID,
     * RDMSR, WRMSR, RDTSC): the monitor's answer is applied and EIP moves
     * to resume_eip. */
    enum exit_reason completing;
    uint32_t resume_eip;
    struct soft_event_record ring[SOFT_EVENT_RING];
    unsigned ring_next, ring_count;
    void *capstone[2];               /* csh for 16/32-bit traces, lazily opened */
    uint64_t traced;                 /* instructions traced so far */
    struct insn *scratch;            /* page-spanning instructions are decoded here */
    struct vtime vt;                 /* guest time and the run's deadline (vtime.c) */
    /* The block run_block is running and the EIP of its first insn: a
     * fault or exit in it counts the insns completed before it
     * (block_count_completed); NULL between blocks. */
    const struct block *running;
    uint32_t running_eip;
    /* The translator: a block is translated after jit_threshold
     * interpreted runs (0: never). */
    unsigned jit_threshold;
    struct tcache tc;
    struct jcache_entry jcache[JCACHE_SIZE];
};
/* For translated code leaving by an indirect jump to eip: the chain
 * entry of the translation to go on with, or NULL (back to the loop). */
const uint8_t *soft_engine_jit_chain_for(struct cpu *c, uint32_t eip);
void soft_engine_shutdown(struct cpu *c, uint8_t vector, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct dcache *soft_engine_dcache(struct cpu *c);
/* A guest write reached guest-physical [phys, phys+len): drop decoded code there. */
void soft_engine_code_written(struct cpu *c, uint32_t phys, uint32_t len);
/* Forget cached linear-to-insn translations (TLB flush, code dropped). */
#define FETCH_GEN_LIMIT ((1ull << 30) - 1)   /* the key holds 30 bits of it */
static inline void soft_engine_fetch_flush(struct cpu *c)
{
    struct soft_engine *se = c->engine;
    /* At the limit the table is cleared at the next instruction boundary
     * (not now: the running instruction's insn lives in it); nothing is
     * filled before that, so staying at the limit meanwhile is safe. */
    if (se->fetch_gen < FETCH_GEN_LIMIT)
        se->fetch_gen++;
    if (se->fetch_gen == FETCH_GEN_LIMIT)
        se->reclaim_needed = true;
}
/* Guest time in ns (vtime.c): the TSC's base. */
static inline uint64_t soft_guest_ns(const struct cpu *c)
{
    return vtime_now(&c->engine->vt, c->stats.instructions);
}

/* ---- cpuid.c / msr.c ---- */
bool msr_write(struct cpu *c, uint32_t index, uint64_t value);

#endif

/* dcache.c - the decoded-instruction cache.
 *
 * Decoded instructions are kept per guest-physical page and looked up by
 * the guest-physical address of their first byte and the code size (CS.D),
 * so executing cached code is: TLB lookup of EIP, page lookup, index.  A
 * bitmap over all guest-physical pages says which pages hold decoded code;
 * the MMU leaves TLB write tags of such pages invalid so a guest write
 * reaches the slow path, which drops the page (self-modifying code).
 * Instructions that span two pages are never cached (see soft_engine.c).
 *
 * A dropped page may still hold the instruction being executed (it wrote
 * its own page), so pages are only retired and freed at dcache_reclaim,
 * which the run loop calls between instructions.  Slots live in chunks that
 * never move, so pointers to cached insns stay valid until their page is
 * reclaimed (the engine's fetch cache relies on it).
 *
 * A page also holds the blocks (straight-line runs of its insns, copied)
 * that start in it; they are retired and freed with the page. */
#include <stdlib.h>
#include <string.h>

#include "engine/soft/decode.h"
#include "engine/soft/soft_priv.h"
#include "engine/soft/translate.h"

#define PAGE_BUCKETS 4096u
#define MAX_TOTAL_SLOTS (1u << 21)   /* beyond this the whole cache is dropped */

struct dslot {
    bool code32;
    struct insn insn;
};

#define CHUNK_SLOTS 64u
#define MAX_PAGE_SLOTS 0xffffu

#define BLOCK_BUCKETS 32u

struct dpage {
    uint32_t pfn;
    struct block *blocks[BLOCK_BUCKETS];   /* by first-byte offset */
    struct dpage *next;          /* hash chain, or the retired list */
    struct dslot **chunk;        /* chunks of CHUNK_SLOTS slots */
    unsigned n, nchunks;
    unsigned block_insns;        /* insns held in blocks (counted in total_slots) */
    uint32_t code_blocks;        /* bit b: bytes [128b, 128b+127] hold decoded code */
    uint16_t idx[4096];          /* slot index + 1 for each byte offset; 0: none */
};

struct dcache {
    struct dpage *bucket[PAGE_BUCKETS];
    struct dpage *last;          /* the page of the previous lookup */
    struct dpage *retired;
    unsigned total_slots;
    uint64_t code_bits[(1u << 20) / 64];
};

struct dcache *dcache_create(void)
{
    return calloc(1, sizeof(struct dcache));
}

static void page_free(struct dpage *p)
{
    for (unsigned b = 0; b < BLOCK_BUCKETS; b++) {
        while (p->blocks[b]) {
            struct block *k = p->blocks[b];
            p->blocks[b] = k->next;
            translate_unlink(k);
            free(k);
        }
    }
    for (unsigned k = 0; k < p->nchunks; k++)
        free(p->chunk[k]);
    free(p->chunk);
    free(p);
}

static struct dslot *slot_at(const struct dpage *p, unsigned n)
{
    return &p->chunk[n / CHUNK_SLOTS][n % CHUNK_SLOTS];
}

void dcache_reclaim(struct dcache *d)
{
    while (d->retired) {
        struct dpage *p = d->retired;
        d->retired = p->next;
        page_free(p);
    }
}

void dcache_invalidate_all(struct dcache *d)
{
    for (unsigned b = 0; b < PAGE_BUCKETS; b++) {
        while (d->bucket[b]) {
            struct dpage *p = d->bucket[b];
            d->bucket[b] = p->next;
            p->next = d->retired;
            d->retired = p;
        }
    }
    memset(d->code_bits, 0, sizeof(d->code_bits));
    d->last = NULL;
    d->total_slots = 0;
}

void dcache_destroy(struct dcache *d)
{
    if (!d)
        return;
    dcache_invalidate_all(d);
    dcache_reclaim(d);
    free(d);
}

bool dcache_page_has_code(const struct dcache *d, uint32_t pfn)
{
    pfn &= 0xfffffu;
    return (d->code_bits[pfn / 64] >> (pfn % 64)) & 1;
}

static struct dpage *page_find(struct dcache *d, uint32_t pfn)
{
    if (d->last && d->last->pfn == pfn)
        return d->last;
    for (struct dpage *p = d->bucket[pfn % PAGE_BUCKETS]; p; p = p->next) {
        if (p->pfn == pfn) {
            d->last = p;
            return p;
        }
    }
    return NULL;
}

bool dcache_write_hits_code(struct dcache *d, uint32_t phys, uint32_t len)
{
    struct dpage *p = page_find(d, phys >> 12);
    if (!p)
        return false;
    uint32_t first = (phys & 0xfffu) >> 7;
    uint32_t last = (((phys & 0xfffu) + len - 1) >> 7);
    if (last > 31)
        last = 31;
    uint32_t mask = (uint32_t)(((2ull << last) - 1) & ~((1ull << first) - 1));
    return (p->code_blocks & mask) != 0;
}

const struct insn *dcache_lookup(struct dcache *d, uint32_t phys, bool code32)
{
    struct dpage *p = page_find(d, phys >> 12);
    if (!p)
        return NULL;
    unsigned k = p->idx[phys & 0xfffu];
    if (!k)
        return NULL;
    struct dslot *s = slot_at(p, k - 1);
    return s->code32 == code32 ? &s->insn : NULL;
}

void dcache_invalidate_page(struct dcache *d, uint32_t pfn)
{
    pfn &= 0xfffffu;
    if (!dcache_page_has_code(d, pfn))
        return;
    d->code_bits[pfn / 64] &= ~(1ull << (pfn % 64));
    struct dpage **pp = &d->bucket[pfn % PAGE_BUCKETS];
    while (*pp && (*pp)->pfn != pfn)
        pp = &(*pp)->next;
    struct dpage *p = *pp;
    if (!p)
        return;
    *pp = p->next;
    d->total_slots -= p->n + p->block_insns;
    p->next = d->retired;
    d->retired = p;
    if (d->last == p)
        d->last = NULL;
}

/* The page of pfn, created (holding no code yet) if new; NULL if out of memory. */
static struct dpage *page_get(struct dcache *d, uint32_t pfn, bool *new_page)
{
    struct dpage *p = page_find(d, pfn);
    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->pfn = pfn;
    p->next = d->bucket[pfn % PAGE_BUCKETS];
    d->bucket[pfn % PAGE_BUCKETS] = p;
    d->code_bits[(pfn & 0xfffffu) / 64] |= 1ull << (pfn % 64);
    d->last = p;
    *new_page = true;
    return p;
}

/* Bytes [phys, phys+len) of page p (clipped at its end) hold decoded code. */
static void mark_code(struct dpage *p, uint32_t phys, uint32_t len)
{
    unsigned off = phys & 0xfffu;
    unsigned last = off + len - 1 > 0xfffu ? 0xfffu : off + len - 1;
    for (unsigned b = off >> 7; b <= last >> 7; b++)
        p->code_blocks |= 1u << b;
}

const struct insn *dcache_insert(struct dcache *d, uint32_t phys, bool code32,
                                 const struct insn *i, bool *new_page)
{
    *new_page = false;
    if (d->total_slots >= MAX_TOTAL_SLOTS) {
        dcache_invalidate_all(d);
        *new_page = true;
    }
    struct dpage *p = page_get(d, phys >> 12, new_page);
    if (!p)
        return NULL;
    if (p->n >= MAX_PAGE_SLOTS)
        return NULL;   /* pathological re-decoding: run uncached */
    if (p->n == p->nchunks * CHUNK_SLOTS) {
        struct dslot **ch = realloc(p->chunk, (p->nchunks + 1) * sizeof(*ch));
        if (!ch)
            return NULL;
        p->chunk = ch;
        ch[p->nchunks] = malloc(CHUNK_SLOTS * sizeof(struct dslot));
        if (!ch[p->nchunks])
            return NULL;
        p->nchunks++;
    }
    struct dslot *s = slot_at(p, p->n++);
    s->code32 = code32;
    s->insn = *i;
    p->idx[phys & 0xfffu] = (uint16_t)p->n;
    mark_code(p, phys, i->len);
    d->total_slots++;
    return &s->insn;
}

bool dcache_track_code(struct dcache *d, uint32_t phys, uint32_t len, bool *new_page)
{
    *new_page = false;
    struct dpage *p = page_get(d, phys >> 12, new_page);
    if (!p)
        return false;
    mark_code(p, phys, len);
    return true;
}

bool dcache_reserve(struct dcache *d, unsigned slots)
{
    if (d->total_slots + slots < MAX_TOTAL_SLOTS)
        return false;
    dcache_invalidate_all(d);
    return true;
}

static unsigned block_bucket(uint32_t phys)
{
    return (phys ^ (phys >> 5)) % BLOCK_BUCKETS;
}

struct block *dcache_block_lookup(struct dcache *d, uint32_t phys, bool code32)
{
    struct dpage *p = page_find(d, phys >> 12);
    if (!p)
        return NULL;
    for (struct block *b = p->blocks[block_bucket(phys)]; b; b = b->next) {
        if (b->phys == phys && b->code32 == code32)
            return b;
    }
    return NULL;
}

void dcache_for_each_block(struct dcache *d, void (*fn)(struct block *b))
{
    for (unsigned h = 0; h <= PAGE_BUCKETS; h++)
        for (struct dpage *p = h < PAGE_BUCKETS ? d->bucket[h] : d->retired; p; p = p->next)
            for (unsigned b = 0; b < BLOCK_BUCKETS; b++)
                for (struct block *k = p->blocks[b]; k; k = k->next)
                    fn(k);
}

struct block *dcache_block_insert(struct dcache *d, uint32_t phys, bool code32,
                                  const struct insn *insns, unsigned n)
{
    struct dpage *p = page_find(d, phys >> 12);
    if (!p || n == 0)
        return NULL;
    struct block *b = malloc(sizeof(*b) + n * sizeof(struct insn));
    if (!b)
        return NULL;
    b->phys = phys;
    b->code32 = code32;
    b->n = (uint16_t)n;
    b->bytes = 0;
    b->chains = false;
    b->succ_next = 0;
    b->succ_tag[0] = b->succ_tag[1] = 0;
    b->succ[0] = b->succ[1] = NULL;
    b->jit = NULL;
    b->jit_gen = 0;
    b->jit_runs = 0;
    b->jit_cover = 0;
    b->jit_need = 0;
    b->jit_failed = false;
    memset(b->jit_slot_rw, 0, sizeof(b->jit_slot_rw));
    memset(b->jit_out, 0, sizeof(b->jit_out));
    b->jit_in = NULL;
    b->jit_chain = NULL;
    b->jit_chain_page = NULL;
    b->jit_valid_gen = 0;
    for (unsigned k = 0; k < n; k++) {
        b->insn[k] = insns[k];
        b->bytes = (uint16_t)(b->bytes + insns[k].len);
    }
    unsigned h = block_bucket(phys);
    b->next = p->blocks[h];
    p->blocks[h] = b;
    p->block_insns += n;
    d->total_slots += n;
    return b;
}

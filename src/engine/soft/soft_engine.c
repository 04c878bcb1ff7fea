/* soft_engine.c - the soft CPU as an engine (engine_ops "soft"): state map,
 * the run loop, instruction fetch through the decoded-instruction cache,
 * event delivery at instruction boundaries, exits, traces.
 *
 * The run loop: at each block boundary it delivers pending events
 * (exception from the state map, NMI, an injected interrupt), honours the
 * interrupt shadow, returns for an interrupt window, a kick, the deadline or
 * HLT; then it finds the block at CS:EIP (block table by linear address, else
 * TLB and the decoded-instruction cache by guest-physical address) and runs
 * its instructions back to back, setting insn_eip and the next EIP for each
 * (see "blocks" below).  Faults and exits longjmp back here (see cpu.h). */
#include <capstone/capstone.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/cpu_state.h"
#include "engine/soft/decode.h"
#include "engine/soft/mem.h"
#include "engine/soft/soft_priv.h"
#include "engine/soft/translate.h"
#include "engine/soft/x87.h"

/* ---- helpers for the other parts ---- */

struct dcache *soft_engine_dcache(struct cpu *c)
{
    return c->engine->dcache;
}

void soft_engine_code_written(struct cpu *c, uint32_t phys, uint32_t len)
{
    struct dcache *d = c->engine->dcache;
    while (len) {
        uint32_t pfn = phys >> 12;
        uint32_t in_page = 0x1000u - (phys & 0xfffu);
        uint32_t n = len < in_page ? len : in_page;
        if (dcache_page_has_code(d, pfn) && dcache_write_hits_code(d, phys, n)) {
            dcache_invalidate_page(d, pfn);
            c->stats.decode_cache_flushes++;
            c->engine->reclaim_needed = true;
            soft_engine_fetch_flush(c);
        }
        phys += n;
        len -= n;
    }
}

void soft_engine_shutdown(struct cpu *c, uint8_t vector, const char *fmt, ...)
{
    struct soft_engine *se = c->engine;
    struct vm_exit *x = &se->shutdown_exit;
    memset(x, 0, sizeof(*x));
    x->reason = EXIT_SHUTDOWN;
    x->shutdown.eip = c->s.eip;
    x->shutdown.vector = vector;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->shutdown.reason, sizeof(x->shutdown.reason), fmt, ap);
    va_end(ap);
    se->shutdown = true;
    *c->exit = *x;
    if (c->trace & TRACE_INTERRUPTS)
        fprintf(c->trace_out, "shutdown at %04x:%08x: %s\n",
                c->s.seg[SEG_CS].selector, c->s.eip, x->shutdown.reason);
}

static struct soft_engine *soft(struct engine *e)
{
    return (struct soft_engine *)e;
}

/* ---- tracing ---- */

/* Up to n code bytes at linear lin, as far as the TLB maps them to memory. */
static unsigned peek_code(struct cpu *c, uint32_t lin, uint8_t *buf, unsigned n)
{
    unsigned k = 0;
    for (; k < n; k++) {
        uint32_t a = lin + k;
        const struct tlb_entry *e = cpu_tlb_entry(c, a);
        if (e->read_tag != (a & ~0xfffu))
            break;
        buf[k] = e->host_base[a & 0xfffu];
    }
    return k;
}

__attribute__((noinline, cold)) static void trace_insn(struct soft_engine *se, const struct insn *i)
{
    struct cpu *c = &se->cpu;
    uint8_t bytes[16];
    unsigned n = peek_code(c, c->s.seg[SEG_CS].base + c->insn_eip, bytes, i->len);
    unsigned mode = c->code32 ? 1 : 0;
    char text[200] = "?";
    if (!se->capstone[mode]) {
        csh *h = calloc(1, sizeof(*h));
        if (h && cs_open(CS_ARCH_X86, mode ? CS_MODE_32 : CS_MODE_16, h) == CS_ERR_OK)
            se->capstone[mode] = h;
        else
            free(h);
    }
    if (se->capstone[mode]) {
        cs_insn *ci = NULL;
        csh h = *(csh *)se->capstone[mode];
        if (cs_disasm(h, bytes, n, c->insn_eip, 1, &ci) == 1)
            snprintf(text, sizeof(text), "%s %s", ci->mnemonic, ci->op_str);
        if (ci)
            cs_free(ci, 1);
    }
    FILE *f = c->trace_out;
    fprintf(f, "%04x:%08x ", c->s.seg[SEG_CS].selector, c->insn_eip);
    for (unsigned k = 0; k < 8; k++) {
        if (k < n)
            fprintf(f, "%02x", bytes[k]);
        else
            fputs("  ", f);
    }
    fprintf(f, "%s %-32s eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x esi=%08x edi=%08x efl=%08x\n",
            n > 8 ? "+" : " ", text,
            c->s.gpr[0], c->s.gpr[1], c->s.gpr[2], c->s.gpr[3],
            c->s.gpr[4], c->s.gpr[5], c->s.gpr[6], c->s.gpr[7], cpu_get_eflags(c));
}

/* ---- fetch ---- */

/* Write-track one part of an insn that crosses a page. */
static bool track_span_part(struct soft_engine *se, uint32_t phys, uint32_t len)
{
    bool new_page;
    bool ok = dcache_track_code(se->dcache, phys, len, &new_page);
    if (new_page) {
        mmu_protect_code(&se->cpu, phys >> 12);
        soft_engine_fetch_flush(&se->cpu);
    }
    return ok;
}

/* An insn at linear lin (guest-physical phys, host bytes host) that crosses
 * into the next page after avail bytes.  Not in the dcache (its bytes are
 * in two pages, found by two translations); both parts are write-tracked
 * so the fetch cache may hold it by linear address: a write to either part
 * or a TLB flush moves the fetch generation.  NULL (the insn is in
 * se->scratch) when tracking failed. */
static const struct insn *decode_span(struct soft_engine *se, uint32_t lin, uint32_t phys,
                                      const uint8_t *host, unsigned avail)
{
    struct cpu *c = &se->cpu;
    uint8_t buf[16];
    memcpy(buf, host, avail);
    uint32_t lin2 = lin + avail;
    uint32_t phys2 = mmu_translate(c, lin2, false, c->cpl == 3);
    const uint8_t *host2 = cpu_phys_ptr(c, phys2, 15 - avail, false);
    if (!host2)
        cpu_internal_error(c, "instruction fetch from guest-physical 0x%08x, which is not RAM or ROM", phys2);
    memcpy(buf + avail, host2, 15 - avail);
    enum decode_status st = decode_insn(se->scratch, buf, 15, c->code32);
    if (st != DECODE_OK)
        cpu_gp(c, 0);
    bool ok = track_span_part(se, phys, avail);
    ok &= track_span_part(se, phys2, se->scratch->len - avail);
    return ok ? se->scratch : NULL;
}

static const struct insn *fetch_slow(struct soft_engine *se, uint32_t eip, uint32_t lin);

static inline const struct insn *fetch(struct soft_engine *se)
{
    struct cpu *c = &se->cpu;
    uint32_t eip = c->s.eip;
    uint32_t lin = c->s.seg[SEG_CS].base + eip;
    uint64_t key = lin | ((uint64_t)(c->code32 | ((c->cpl == 3) << 1)) << 32) | (se->fetch_gen << 34);
    const struct fetch_entry *fe = &se->fetch[lin & (FETCH_CACHE_SIZE - 1)];
    const struct insn *i;
    if (__builtin_expect(fe->key == key, 1))
        i = &fe->insn;
    else
        i = fetch_slow(se, eip, lin);
    if (__builtin_expect((uint64_t)eip + i->len - 1 > c->s.seg[SEG_CS].limit, 0))
        cpu_gp(c, 0);
    return i;
}

static const struct insn *fetch_slow(struct soft_engine *se, uint32_t eip, uint32_t lin)
{
    struct cpu *c = &se->cpu;
    (void)eip;
    bool user = c->cpl == 3;
    struct tlb_entry *e = &(user ? c->tlb.user : c->tlb.sup)[(lin >> 12) & (TLB_SIZE - 1)];
    uint32_t phys;
    if (__builtin_expect(e->read_tag == (lin & ~0xfffu), 1)) {
        phys = e->phys | (lin & 0xfffu);
    } else {
        phys = mmu_translate(c, lin, false, user);
        if (!e->host_base || e->read_tag != (lin & ~0xfffu))
            cpu_internal_error(c, "instruction fetch from guest-physical 0x%08x, which is not RAM or ROM", phys);
    }
    const struct insn *i = dcache_lookup(se->dcache, phys, c->code32);
    if (__builtin_expect(!i, 0)) {
        const uint8_t *host = e->host_base + (lin & 0xfffu);
        unsigned avail = 0x1000u - (lin & 0xfffu);
        struct insn tmp;
        enum decode_status st = decode_insn(&tmp, host, avail < 15 ? avail : 15, c->code32);
        if (st == DECODE_OK) {
            bool new_page;
            i = dcache_insert(se->dcache, phys, c->code32, &tmp, &new_page);
            if (new_page) {
                mmu_protect_code(c, phys >> 12);
                soft_engine_fetch_flush(c);   /* the cache may have been dropped whole */
            }
            if (!i) {
                *se->scratch = tmp;
                return se->scratch;
            }
        } else if (st == DECODE_TRUNCATED && avail < 15) {
            i = decode_span(se, lin, phys, host, avail);
            if (!i)
                return se->scratch;
        } else {
            cpu_gp(c, 0);
        }
    }
    struct fetch_entry *fe = &se->fetch[lin & (FETCH_CACHE_SIZE - 1)];
    fe->key = lin | ((uint64_t)(c->code32 | (user << 1)) << 32) | (se->fetch_gen << 34);
    fe->insn = *i;
    return &fe->insn;
}

/* ---- the run loop ---- */

static enum exit_reason end_run(struct cpu *c, enum exit_reason r)
{
    memset(c->exit, 0, sizeof(*c->exit));
    c->exit->reason = r;
    return r;
}

static bool if_set(const struct cpu *c)
{
    return (c->eflags_rest & EFL_IF) != 0;
}

static bool ready_for_interrupt(const struct soft_engine *se)
{
    const struct cpu *c = &se->cpu;
    return if_set(c) && !c->s.events.interrupt_shadow && c->injected_vector < 0 &&
           !c->s.events.exception_pending && c->log.count == 0 && !c->log.pending &&
           se->completing == EXIT_NONE && !se->shutdown;
}

/* Events at an instruction boundary.  Returns EXIT_NONE to go on. */
static enum exit_reason boundary_events(struct soft_engine *se)
{
    struct cpu *c = &se->cpu;
    struct cpu_events *ev = &c->s.events;
    c->insn_eip = c->s.eip;
    if (ev->exception_pending) {
        if (!except_deliver_pending(c))
            return EXIT_SHUTDOWN;
    }
    if (ev->interrupt_shadow) {
        ev->interrupt_shadow = 0;
    } else {
        if (ev->nmi_pending && !ev->nmi_blocked) {
            ev->nmi_pending = false;
            ev->halted = false;
            cpu_deliver_external(c, EXC_NMI, true);
        } else if (c->injected_vector >= 0 && if_set(c)) {
            uint8_t v = (uint8_t)c->injected_vector;
            c->injected_vector = -1;
            ev->halted = false;
            cpu_deliver_external(c, v, false);
        }
        if (c->irq_window_requested && ready_for_interrupt(se))
            return end_run(c, EXIT_IRQ_WINDOW);
    }
    if (atomic_load_explicit(&c->kick, memory_order_relaxed)) {
        atomic_store(&c->kick, false);
        return end_run(c, EXIT_KICKED);
    }
    if (vtime_due(&se->vt, c->stats.instructions))
        return end_run(c, EXIT_KICKED);       /* the monitor's next timer is due */
    if (ev->halted)
        return end_run(c, EXIT_HLT);
    return EXIT_NONE;
}

/* The boundary after a block that chains: its plain insns cannot raise an
 * exception, open an interrupt window (IF goes 0 -> 1 only by non-plain
 * insns), halt or touch the monitor's requests, so only what happens from
 * outside the block can be new: a kick, or the deadline. */
static bool chained_boundary_quiet(const struct cpu *c)
{
    return !(atomic_load_explicit(&c->kick, memory_order_relaxed) |
             vtime_due(&c->engine->vt, c->stats.instructions));
}

static bool boundary_quiet(const struct cpu *c)
{
    const struct cpu_events *ev = &c->s.events;
    return !(ev->exception_pending | ev->interrupt_shadow | ev->nmi_pending | ev->halted |
             (c->injected_vector >= 0) | c->irq_window_requested) &&
           chained_boundary_quiet(c);
}

/* Run one fetched instruction with every per-instruction rule: the STI
 * shadow, TF single-step, HLT.  Returns EXIT_NONE to go on. */
static inline enum exit_reason exec_checked(struct soft_engine *se, const struct insn *i)
{
    struct cpu *c = &se->cpu;
    uint32_t before = c->eflags_rest;
    uint32_t next = c->insn_eip + i->len;
    c->s.eip = c->code32 ? next : (next & 0xffffu);
    c->log.pos = 0;
    i->exec(c, i);
    /* completed */
    c->log.count = 0;
    c->log.pos = 0;
    c->stats.instructions++;
    if (~before & c->eflags_rest & EFL_IF)
        c->s.events.interrupt_shadow = 1;     /* STI (and POPF/IRET) */
    if (__builtin_expect(before & EFL_TF, 0)) {
        c->s.dr[6] |= 0x4000u;                /* DR6.BS */
        c->insn_eip = c->s.eip;
        c->s.events.exception_pending = true;
        c->s.events.exception_vector = EXC_DB;
        c->s.events.exception_has_error = false;
    }
    if (__builtin_expect(c->after_insn, 0)) {
        uint32_t a = c->after_insn;
        c->after_insn = 0;
        if (a & AFTER_HLT)
            return end_run(c, EXIT_HLT);
    }
    return EXIT_NONE;
}

/* One instruction through the fetch cache (single-step, traces, code that
 * a block cannot hold). */
static enum exit_reason step_one(struct soft_engine *se)
{
    struct cpu *c = &se->cpu;
    c->insn_eip = c->s.eip;
    const struct insn *i = fetch(se);
    if (__builtin_expect(c->trace & TRACE_INSNS, 0) && se->traced < c->trace_insn_limit) {
        se->traced++;
        trace_insn(se, i);
    }
    return exec_checked(se, i);
}

/* ---- blocks ----
 * A block is a run of instructions executed back to back with only the
 * checks each one needs: its address (insn_eip, for precise faults), its
 * completion (replay log, instruction count), and whether it left the
 * straight line (EIP not at the next instruction) or changed decoded code
 * or paging (the fetch generation moved: self-modifying code, TLB flush).
 * Events (interrupts, kicks, the deadline) are seen between blocks.
 *
 * Only "plain" instructions may be followed by another in the same block:
 * ones that cannot change CS, the CPU mode, CPL, paging, IF, TF or the
 * interrupt shadow, and cannot halt.  Any other instruction ends its block
 * and runs with every per-instruction rule (exec_checked); so does RDTSC,
 * which reads the instruction count that a block only adds up at its end
 * (or, on a fault or exit inside it, block_count_completed).  A block also
 * ends after an unconditional near transfer (nothing after it is reached
 * in line), before an instruction that crosses the page, and at
 * BLOCK_MAX_INSNS. */
enum { INSN_ENDS_BLOCK = 0, INSN_PLAIN = 1, INSN_PLAIN_LAST = 2 };

static const uint8_t insn_kind[512] = {
    /* ALU rows, BCD adjusts, PUSH sreg, POP ES/DS (not SS) */
    [0x00 ... 0x07] = INSN_PLAIN, [0x08 ... 0x0e] = INSN_PLAIN,
    [0x10 ... 0x16] = INSN_PLAIN, [0x18 ... 0x1f] = INSN_PLAIN,
    [0x20 ... 0x25] = INSN_PLAIN, [0x27 ... 0x2d] = INSN_PLAIN, [0x2f] = INSN_PLAIN,
    [0x30 ... 0x35] = INSN_PLAIN, [0x37 ... 0x3d] = INSN_PLAIN, [0x3f] = INSN_PLAIN,
    /* INC/DEC/PUSH/POP r, PUSHA/POPA, BOUND, ARPL, PUSH imm, IMUL */
    [0x40 ... 0x63] = INSN_PLAIN, [0x68 ... 0x6b] = INSN_PLAIN,
    /* Jcc (a taken jump leaves the line: checked by EIP) */
    [0x70 ... 0x7f] = INSN_PLAIN,
    /* group 1, TEST, XCHG, MOV, MOV Ew,Sw, LEA; POP Ev; NOP/XCHG/CBW/CWD */
    [0x80 ... 0x8d] = INSN_PLAIN, [0x8f ... 0x99] = INSN_PLAIN,
    /* FWAIT, PUSHF, SAHF, LAHF, MOV moffs, string ops, TEST, MOV imm */
    [0x9b] = INSN_PLAIN, [0x9c] = INSN_PLAIN, [0x9e ... 0xbf] = INSN_PLAIN,
    /* shifts, RET, LES/LDS, MOV Ev,imm, ENTER/LEAVE */
    [0xc0 ... 0xc1] = INSN_PLAIN, [0xc2 ... 0xc3] = INSN_PLAIN_LAST,
    [0xc4 ... 0xc9] = INSN_PLAIN,
    /* shifts, AAM/AAD/SALC/XLAT, x87, LOOP/JCXZ */
    [0xd0 ... 0xe3] = INSN_PLAIN,
    [0xe8 ... 0xe9] = INSN_PLAIN_LAST, [0xeb] = INSN_PLAIN_LAST,
    /* CMC, group 3, CLC/STC/CLI (IF 1->0 needs no check), CLD/STD, group 4 */
    [0xf5 ... 0xfa] = INSN_PLAIN, [0xfc ... 0xfe] = INSN_PLAIN,
    /* 0F map: hint NOPs, RDTSC, CMOVcc, Jcc, SETcc, PUSH/POP FS/GS, BT*,
     * SHLD/SHRD, fences, IMUL, CMPXCHG, LFS/LGS, MOVZX/MOVSX, BSF/BSR,
     * XADD, CMPXCHG8B, BSWAP */
    [0x10d] = INSN_PLAIN, [0x118 ... 0x11f] = INSN_PLAIN,
    [0x140 ... 0x14f] = INSN_PLAIN, [0x180 ... 0x19f] = INSN_PLAIN,
    [0x1a0 ... 0x1a1] = INSN_PLAIN, [0x1a3 ... 0x1a5] = INSN_PLAIN,
    [0x1a8 ... 0x1b1] = INSN_PLAIN, [0x1b3 ... 0x1c1] = INSN_PLAIN,
    [0x1c7 ... 0x1cf] = INSN_PLAIN,
};

static unsigned insn_block_kind(const struct insn *i)
{
    if (i->opcode == 0xff) {
        /* INC, DEC, PUSH plain; CALL/JMP near end the line; far forms end the block */
        static const uint8_t grp5[8] = { INSN_PLAIN, INSN_PLAIN, INSN_PLAIN_LAST, INSN_ENDS_BLOCK,
                                         INSN_PLAIN_LAST, INSN_ENDS_BLOCK, INSN_PLAIN, INSN_ENDS_BLOCK };
        return grp5[i->reg & 7];
    }
    return insn_kind[i->opcode & 0x1ff];
}

/* Decode the block starting at guest-physical phys (host bytes of its page
 * at page) for code32.  NULL if not even its first insn can be held. */
static struct block *block_build(struct soft_engine *se, uint32_t phys, const uint8_t *page)
{
    struct cpu *c = &se->cpu;
    struct dcache *d = se->dcache;
    bool code32 = c->code32;
    if (dcache_reserve(d, 2 * BLOCK_MAX_INSNS)) {
        soft_engine_fetch_flush(c);
        se->reclaim_needed = true;
    }
    struct insn buf[BLOCK_MAX_INSNS];
    unsigned n = 0, off = phys & 0xfffu;
    uint32_t page_phys = phys & ~0xfffu;
    while (n < BLOCK_MAX_INSNS && off < 0x1000u) {
        const struct insn *i = dcache_lookup(d, page_phys | off, code32);
        if (!i) {
            struct insn tmp;
            unsigned avail = 0x1000u - off;
            if (decode_insn(&tmp, page + off, avail < 15 ? avail : 15, code32) != DECODE_OK)
                break;                 /* crosses the page, or will fault: run it alone */
            bool new_page;
            i = dcache_insert(d, page_phys | off, code32, &tmp, &new_page);
            if (new_page) {
                mmu_protect_code(c, phys >> 12);
                soft_engine_fetch_flush(c);
            }
            if (!i)
                break;
        }
        buf[n++] = *i;
        off += i->len;
        if (insn_block_kind(i) != INSN_PLAIN)
            break;
    }
    struct block *b = n ? dcache_block_insert(d, phys, code32, buf, n) : NULL;
    if (b)
        b->chains = insn_block_kind(&buf[n - 1]) != INSN_ENDS_BLOCK;
    return b;
}

static inline uint64_t block_key(const struct soft_engine *se, uint32_t lin)
{
    const struct cpu *c = &se->cpu;
    return lin | ((uint64_t)(c->code32 | ((c->cpl == 3) << 1)) << 32) | (se->fetch_gen << 34);
}

static inline struct block_entry *block_slot(struct soft_engine *se, uint32_t lin)
{
    return &se->blocks[(lin ^ (lin >> BLOCK_TABLE_BITS)) & (BLOCK_TABLE_SIZE - 1)];
}

/* The block at linear lin (the current CS:EIP), or NULL when the
 * instruction there must run alone (it crosses a page, does not decode, or
 * is not in RAM/ROM): step_one then does the right thing, faults included. */
static struct block *block_find_slow(struct soft_engine *se, uint32_t lin)
{
    struct cpu *c = &se->cpu;
    bool user = c->cpl == 3;
    struct tlb_entry *e = &(user ? c->tlb.user : c->tlb.sup)[(lin >> 12) & (TLB_SIZE - 1)];
    if (e->read_tag != (lin & ~0xfffu)) {
        mmu_translate(c, lin, false, user);   /* #PF here is the fetch's */
        if (!e->host_base || e->read_tag != (lin & ~0xfffu))
            return NULL;
    }
    uint32_t phys = e->phys | (lin & 0xfffu);
    struct block *b = dcache_block_lookup(se->dcache, phys, c->code32);
    if (!b)
        b = block_build(se, phys, e->host_base);
    /* No block (an insn crossing the page): remembered too, until the
     * generation moves, so the insn goes straight to the fetch cache. */
    struct block_entry *be = block_slot(se, lin);
    be->key = block_key(se, lin);     /* the generation after any flush above */
    be->b = b;
    return b;
}

static inline struct block *block_find(struct soft_engine *se)
{
    struct cpu *c = &se->cpu;
    uint32_t lin = c->s.seg[SEG_CS].base + c->s.eip;
    const struct block_entry *be = block_slot(se, lin);
    if (__builtin_expect(be->key == block_key(se, lin), 1))
        return be->b;
    return block_find_slow(se, lin);
}

/* The block at the current EIP, after block prev (NULL: none, or one that
 * may have changed CS or the mode) ran: prev's successor slots first. */
static inline struct block *block_next(struct soft_engine *se, struct block *prev)
{
    uint64_t tag = se->cpu.s.eip | (se->fetch_gen << 32);
    if (prev) {
        if (prev->succ_tag[0] == tag)
            return prev->succ[0];
        if (prev->succ_tag[1] == tag)
            return prev->succ[1];
    }
    struct block *b = block_find(se);
    if (prev && b) {
        unsigned k = prev->succ_next;
        prev->succ_tag[k] = se->cpu.s.eip | (se->fetch_gen << 32);   /* after any flush */
        prev->succ[k] = b;
        prev->succ_next = (uint8_t)(k ^ 1);
    }
    return b;
}

/* Run block b from the current EIP (its first insn).  Inside a block the
 * replay log is empty (execute runs a replaying insn alone) and the
 * instruction count is added at the end. */
static inline enum exit_reason run_block(struct soft_engine *se, const struct block *b)
{
    struct cpu *c = &se->cpu;
    uint32_t eip = c->s.eip;
    /* A block that chains ends in a plain insn: it runs in the loop too;
     * any other last insn gets exec_checked's per-instruction rules. */
    const struct insn *i = b->insn, *last = b->insn + b->n - !b->chains;
    uint64_t gen = se->fetch_gen;
    se->running = b;
    se->running_eip = eip;
    bool left = false;               /* left the straight line, or code changed */
    for (; i < last; i++) {
        c->insn_eip = eip;
        eip += i->len;
        c->s.eip = eip;
        i->exec(c, i);
        if (__builtin_expect((c->s.eip != eip) | (se->fetch_gen != gen), 0)) {
            left = true;
            i++;
            break;
        }
    }
    c->stats.instructions += (uint64_t)(i - b->insn);
    se->running = NULL;
    if (left || b->chains)
        return EXIT_NONE;
    c->insn_eip = eip;
    return exec_checked(se, last);
}

/* ---- translated blocks ---- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool jit_translate(struct soft_engine *se, struct block *b)
{
    struct cpu *c = &se->cpu;
    uint64_t t0 = mono_ns();
    bool ok = translate_block(&se->tc, c, b);
    c->stats.jit_translate_ns += mono_ns() - t0;
    b->jit_runs = 0;
    if (ok)
        c->stats.jit_blocks++;
    else
        c->stats.jit_failed++;
    return ok;
}

static inline bool jit_fits(const struct cpu *c, const struct block *b)
{
    return b->jit_eip == c->s.eip && (c->jit_flat & b->jit_need) == b->jit_need;
}

/* Is b's translation usable here: made in this cache generation, for this
 * EIP, with the segment state it assumed?  Translates b when it has run
 * often enough without one. */
static bool jit_ready(struct soft_engine *se, struct block *b)
{
    struct cpu *c = &se->cpu;
    bool ok = false;
    if (b->jit && b->jit_gen == se->tc.gen) {
        ok = jit_fits(c, b);
        if (!ok)
            c->stats.jit_guard_misses++;
    }
    /* Made for the state now, but what the translator folds in still
     * has to be true of it (a 16-bit stack is never assumed 32-bit). */
    if (!ok && !b->jit_failed && ++b->jit_runs >= se->jit_threshold)
        ok = jit_translate(se, b) && jit_fits(c, b);
    /* b was found for this EIP through the page tables as they are now */
    if (ok)
        b->jit_valid_gen = se->fetch_gen;
    return ok;
}

/* Run block b through its translation, and the translations linked jumps
 * take it on to.  Returns the block that ran last (its chain entry set
 * se->running); its translation covers every insn but a last one that
 * does not chain, which runs here with exec_checked's per-instruction
 * rules as in run_block.  *slot: the linkable direct exit it left by, + 1
 * (0: none). */
static inline struct block *run_translated(struct soft_engine *se, struct block *b,
                                           unsigned *slot, enum exit_reason *r)
{
    struct cpu *c = &se->cpu;
    se->running = b;
    se->running_eip = c->s.eip;
    uint64_t before = c->stats.instructions;
    uint32_t ret = b->jit(c);
    struct block *last = (struct block *)se->running;
    se->running = NULL;
    unsigned done = ret & JIT_DONE_MASK, end = (ret >> JIT_END_SHIFT) & 7;
    *slot = ret >> JIT_SLOT_SHIFT;
    c->stats.instructions += done;
    /* linked translations add their own counts as they go */
    c->stats.jit_insns += c->stats.instructions - before;
    c->stats.jit_exits[end]++;
    *r = EXIT_NONE;
    if (end == JIT_END_FELL && !last->chains) {
        c->insn_eip = c->s.eip;
        *r = exec_checked(se, &last->insn[last->n - 1]);
    }
    return last;
}

/* The translation of `from` left by direct exit slot (+1) and `to` runs
 * next: link the two so the next time the jump goes straight there. */
static void jit_link(struct soft_engine *se, struct block *from, unsigned slot, struct block *to)
{
    if (slot && to->jit && from->jit_gen == se->tc.gen && to->jit_gen == se->tc.gen &&
        from->jit_slot_rw[slot - 1] && from->jit_slot_eip[slot - 1] == to->jit_eip)
        translate_link(&se->tc, from, slot - 1, to);
}

/* A fault or exit interrupted the block being run: count the insns of it
 * that completed (those before the one at insn_eip). */
static void block_count_completed(struct soft_engine *se)
{
    const struct block *b = se->running;
    struct cpu *c = &se->cpu;
    uint32_t eip = se->running_eip;
    for (unsigned k = 0; k < b->n && eip != c->insn_eip; k++) {
        eip += b->insn[k].len;
        c->stats.instructions++;
    }
    se->running = NULL;
}

/* May block b run from EIP as one piece?  Its bytes must lie inside CS
 * (a fetch beyond the limit faults at that instruction) and, for 16-bit
 * code, not wrap IP. */
static inline bool block_fits(const struct cpu *c, const struct block *b)
{
    uint64_t end = (uint64_t)c->s.eip + b->bytes - 1;
    return end <= c->s.seg[SEG_CS].limit && (c->code32 || end <= 0xffffu);
}

const uint8_t *soft_engine_jit_chain_for(struct cpu *c, uint32_t eip)
{
    struct soft_engine *se = c->engine;
    uint32_t lin = c->s.seg[SEG_CS].base + eip;
    const struct block_entry *be = block_slot(se, lin);
    struct block *b = be->b;
    if (be->key != block_key(se, lin) || !b || !b->jit || b->jit_gen != se->tc.gen ||
        b->jit_eip != eip || !block_fits(c, b))
        return NULL;
    b->jit_valid_gen = se->fetch_gen;   /* found through the block table just now */
    if (c->jit_flat & JIT_FLAT_CS) {
        struct jcache_entry *je = &se->jcache[eip & (JCACHE_SIZE - 1)];
        je->eip = eip;
        je->tag = (uint32_t)se->fetch_gen | c->jit_cpl_tag;
        je->chain = b->jit_chain;
    }
    return b->jit_chain;
}

static enum exit_reason execute(struct soft_engine *se)
{
    struct cpu *c = &se->cpu;
    struct block *prev = NULL;        /* the block just run, if it may chain */
    struct block *link_from = NULL;   /* the translation just run, if it left by a slot */
    unsigned link_slot = 0;
    for (;;) {
        if (__builtin_expect(se->reclaim_needed, 0)) {
            se->reclaim_needed = false;
            prev = link_from = NULL;
            if (se->fetch_gen == FETCH_GEN_LIMIT) {
                /* Generations start again: nothing filled under an old
                 * one (fetch entries, block table, successor slots) may
                 * survive to match a new one. */
                dcache_invalidate_all(se->dcache);
                memset(se->fetch, 0, sizeof(se->fetch));
                memset(se->blocks, 0, sizeof(se->blocks));
                memset(se->jcache, 0, sizeof(se->jcache));
                se->fetch_gen = 1;
            }
            dcache_reclaim(se->dcache);
        }
        /* One instruction alone where the next boundary must be seen
         * exactly: after an interrupt shadow (the window opens one
         * instruction later), under TF or an instruction trace; and one
         * that replays accesses logged before an exit (exec_checked
         * empties the log after it).  None of these can start after a
         * block that chains: its plain insns leave TF and the log alone,
         * and an instruction trace runs no blocks. */
        bool alone = !prev && ((c->eflags_rest & EFL_TF) | (c->trace & TRACE_INSNS) |
                               (c->log.count != 0));
        if (prev ? !chained_boundary_quiet(c) : !boundary_quiet(c)) {
            alone |= c->s.events.interrupt_shadow;
            enum exit_reason r = boundary_events(se);
            if (r != EXIT_NONE)
                return r;
        }
        c->insn_eip = c->s.eip;
        enum exit_reason r;
        if (__builtin_expect(alone, 0)) {
            r = step_one(se);
            prev = link_from = NULL;
        } else {
            struct block *b = block_next(se, prev);
            /* The deadline is an exact instruction count: a block that
             * would pass it runs one instruction at a time. */
            if (__builtin_expect(b && block_fits(c, b) &&
                                 c->stats.instructions + b->n <= se->vt.deadline_insns, 1)) {
                if (se->jit_threshold && jit_ready(se, b)) {
                    if (link_from)
                        jit_link(se, link_from, link_slot, b);
                    b = run_translated(se, b, &link_slot, &r);
                    link_from = link_slot ? b : NULL;
                } else {
                    r = run_block(se, b);
                    link_from = NULL;
                }
                prev = b->chains ? b : NULL;
            } else {
                r = step_one(se);
                prev = link_from = NULL;
            }
        }
        if (r != EXIT_NONE)
            return r;
    }
}

/* Apply the monitor's answer to the exit of the previous run. */
static void complete_previous_exit(struct soft_engine *se, const struct vm_exit *x)
{
    struct cpu *c = &se->cpu;
    if (c->log.pending) {
        struct access_log_entry *e = &c->log.e[c->log.count];
        if (!e->write) {
            uint64_t mask = e->size >= 8 ? ~0ull : (1ull << (e->size * 8)) - 1;
            e->data = (e->is_io ? x->io.data : x->mmio.data) & mask;
        }
        c->log.count++;
        c->log.pending = false;
    }
    enum exit_reason r = se->completing;
    se->completing = EXIT_NONE;
    bool fault = false;
    switch (r) {
    case EXIT_CPUID:
        c->s.gpr[REG_EAX] = x->cpuid.eax;
        c->s.gpr[REG_EBX] = x->cpuid.ebx;
        c->s.gpr[REG_ECX] = x->cpuid.ecx;
        c->s.gpr[REG_EDX] = x->cpuid.edx;
        break;
    case EXIT_RDMSR:
        fault = x->msr.fault;
        if (!fault) {
            c->s.gpr[REG_EAX] = (uint32_t)x->msr.value;
            c->s.gpr[REG_EDX] = (uint32_t)(x->msr.value >> 32);
        }
        break;
    case EXIT_WRMSR:
        fault = x->msr.fault;
        if (!fault)
            (void)msr_write(c, x->msr.index, x->msr.value);
        break;
    case EXIT_RDTSC:
        c->s.gpr[REG_EAX] = (uint32_t)x->rdtsc.value;
        c->s.gpr[REG_EDX] = (uint32_t)(x->rdtsc.value >> 32);
        break;
    default:
        return;
    }
    if (fault) {
        c->s.events.exception_pending = true;
        c->s.events.exception_vector = EXC_GP;
        c->s.events.exception_has_error = true;
        c->s.events.exception_error = 0;
    } else {
        c->s.eip = se->resume_eip;
        c->stats.instructions++;
    }
}

static enum exit_reason soft_run(struct engine *e, struct vm_exit *exit)
{
    struct soft_engine *se = soft(e);
    struct cpu *c = &se->cpu;
    if (se->shutdown) {
        *exit = se->shutdown_exit;
        return EXIT_SHUTDOWN;
    }
    c->exit = exit;
    complete_previous_exit(se, exit);
    exit->reason = EXIT_NONE;

    jmp_buf jb;
    c->fault_jmp = &jb;
    for (;;) {
        if (setjmp(jb) == 0) {
            enum exit_reason r = execute(se);
            c->fault_jmp = NULL;
            return r;
        }
        /* a fault or an exit longjmp'd here */
        if (se->running)
            block_count_completed(se);
        c->delivering_vector = -1;
        if (c->exit_pending) {
            c->exit_pending = false;
            c->fault_jmp = NULL;
            return exit->reason;
        }
        if (c->fault_pending) {
            c->fault_pending = false;
            if (!except_deliver_pending(c)) {
                c->fault_jmp = NULL;
                return EXIT_SHUTDOWN;
            }
        }
    }
}

/* ---- state map ---- */

static void soft_get_state(struct engine *e, struct cpu_state *s)
{
    struct cpu *c = &soft(e)->cpu;
    *s = c->s;
    s->eflags = cpu_get_eflags(c);
}

static void soft_set_state(struct engine *e, const struct cpu_state *s)
{
    struct soft_engine *se = soft(e);
    struct cpu *c = &se->cpu;
    /* An instruction interrupted by an exit stays resumable only if the
     * monitor left EIP where it was. */
    if (s->eip != c->s.eip) {
        c->log.count = 0;
        c->log.pos = 0;
        c->log.pending = false;
        se->completing = EXIT_NONE;
    }
    c->s = *s;
    memset(&c->lf, 0, sizeof(c->lf));
    c->eflags_rest = 0;
    cpu_set_eflags(c, s->eflags, ~0u);
    c->s.cr0 |= CR0_ET;
    cpu_mode_changed(c);
    cpu_tlb_flush(c, true);
    dcache_invalidate_all(se->dcache);
    se->reclaim_needed = true;
    soft_engine_fetch_flush(c);
    se->shutdown = false;
}

void soft_engine_invalidate_code(struct engine *e, uint64_t gpa, uint64_t len)
{
    struct soft_engine *se = soft(e);
    if (len == 0 || gpa >= (1ull << 32))
        return;
    uint64_t end = gpa + len - 1;
    if (end >= (1ull << 32))
        end = (1ull << 32) - 1;
    /* Device DMA (a disk read, a received frame) mostly lands in pages
     * without code: only a page that held some moves the fetch generation,
     * which sends every lookup and linked jump back through the tables. */
    bool dropped = false;
    for (uint64_t pfn = gpa >> 12; pfn <= end >> 12; pfn++) {
        if (dcache_page_has_code(se->dcache, (uint32_t)pfn)) {
            dcache_invalidate_page(se->dcache, (uint32_t)pfn);
            dropped = true;
        }
    }
    if (dropped) {
        se->reclaim_needed = true;
        soft_engine_fetch_flush(&se->cpu);
    }
}

/* ---- events ---- */

static bool soft_interrupt_ready(struct engine *e)
{
    return ready_for_interrupt(soft(e));
}

static void soft_inject_interrupt(struct engine *e, uint8_t vector)
{
    struct cpu *c = &soft(e)->cpu;
    c->injected_vector = vector;
    c->s.events.halted = false;
}

static void soft_request_interrupt_window(struct engine *e, bool on)
{
    soft(e)->cpu.irq_window_requested = on;
}

static void soft_inject_nmi(struct engine *e)
{
    soft(e)->cpu.s.events.nmi_pending = true;
}

static void soft_kick(struct engine *e)
{
    atomic_store(&soft(e)->cpu.kick, true);
}

/* FERR#: engine_ops.fpu_error_pending. */
static bool soft_fpu_error_pending(struct engine *e)
{
    return x87_ferr_pending(&soft(e)->cpu);
}

/* engine_ops.set_a20.  TLB entries hold physical pages formed under the
 * old gate: all go, and with them the fetch cache and block table (by
 * linear address, tied to the TLB by the fetch generation).  Decoded code
 * is kept by physical address and stays valid. */
static void soft_set_a20(struct engine *e, bool enabled)
{
    struct cpu *c = &soft(e)->cpu;
    uint32_t clear = enabled ? 0 : 1u << 20;
    if (c->a20_clear == clear)
        return;
    c->a20_clear = clear;
    cpu_tlb_flush(c, true);
}

static void soft_get_stats(struct engine *e, struct engine_stats *out)
{
    struct soft_engine *se = soft(e);
    *out = se->cpu.stats;
    out->jit_cache_bytes = se->tc.used;
    out->jit_cache_size = se->tc.size;
    out->jit_cache_flushes = se->tc.flushes;
}

size_t soft_engine_recent_events(struct engine *e, struct soft_event_record *out, size_t max)
{
    struct soft_engine *se = soft(e);
    size_t n = se->ring_count < max ? se->ring_count : max;
    unsigned start = (se->ring_next + SOFT_EVENT_RING - se->ring_count) % SOFT_EVENT_RING;
    start = (start + (unsigned)(se->ring_count - n)) % SOFT_EVENT_RING;
    for (size_t k = 0; k < n; k++)
        out[k] = se->ring[(start + k) % SOFT_EVENT_RING];
    return n;
}

/* ---- create / destroy ---- */

static void soft_destroy(struct engine *e)
{
    struct soft_engine *se = soft(e);
    if (!se)
        return;
    for (int k = 0; k < 2; k++) {
        if (se->capstone[k]) {
            cs_close((csh *)se->capstone[k]);
            free(se->capstone[k]);
        }
    }
    dcache_destroy(se->dcache);
    if (se->jit_threshold)
        tcache_fini(&se->tc);
    free(se->scratch);
    free(se);
}

static struct engine *soft_create(const struct engine_config *cfg, char *err, size_t errlen)
{
    if (!cfg || !cfg->mem || !cfg->policy) {
        snprintf(err, errlen, "soft engine: configuration lacks guest memory or exit policy");
        return NULL;
    }
    struct soft_engine *se = calloc(1, sizeof(*se));
    if (!se) {
        snprintf(err, errlen, "soft engine: out of memory");
        return NULL;
    }
    se->dcache = dcache_create();
    se->scratch = calloc(1, sizeof(struct insn));
    if (!se->dcache || !se->scratch) {
        soft_destroy((struct engine *)se);
        snprintf(err, errlen, "soft engine: out of memory for the decoded-instruction cache");
        return NULL;
    }
    if (cfg->jit_threshold) {
        if (tcache_init(&se->tc, cfg->jit_cache_size ? cfg->jit_cache_size : TCACHE_DEFAULT_SIZE,
                        err, errlen) != 0) {
            soft_destroy((struct engine *)se);
            return NULL;
        }
        se->jit_threshold = cfg->jit_threshold;
    }
    struct cpu *c = &se->cpu;
    c->engine = se;
    host_flag_rules_probe(&c->flag_rules);
    c->mem = cfg->mem;
    c->policy = cfg->policy;
    c->trace = cfg->trace;
    c->trace_insn_limit = cfg->trace_insn_limit;
    c->trace_out = cfg->trace_stream ? (FILE *)cfg->trace_stream : stderr;
    c->delivering_vector = -1;
    c->injected_vector = -1;
    atomic_init(&c->kick, false);
    se->completing = EXIT_NONE;
    se->fetch_gen = 1;            /* zeroed entries (generation 0) never match */
    vtime_init(&se->vt);
    struct cpu_state s;
    cpu_state_power_on(&s);
    soft_set_state((struct engine *)se, &s);
    return (struct engine *)se;
}

const struct engine_ops soft_engine_ops = {
    .name = "soft",
    .create = soft_create,
    .destroy = soft_destroy,
    .run = soft_run,
    .get_state = soft_get_state,
    .set_state = soft_set_state,
    .interrupt_ready = soft_interrupt_ready,
    .inject_interrupt = soft_inject_interrupt,
    .request_interrupt_window = soft_request_interrupt_window,
    .inject_nmi = soft_inject_nmi,
    .kick = soft_kick,
    .get_stats = soft_get_stats,
    .fpu_error_pending = soft_fpu_error_pending,
    .set_time = soft_set_time,
    .now_ns = soft_now_ns,
    .set_deadline = soft_set_deadline,
    .set_a20 = soft_set_a20,
    .recent_events = soft_engine_format_recent_events,
};

/* interp_string.c - MOVS CMPS SCAS LODS STOS INS OUTS with REP/REPE/REPNE.
 *
 * A REP instruction runs at most REP_BATCH iterations per call and then
 * leaves EIP at itself, so the run loop sees interrupts and kicks during a
 * long run.  An iteration that went through port I/O or MMIO (the replay log
 * is not empty) also ends the call: the log holds one instruction's accesses,
 * and each element of a REP INS/OUTS is its own exit. */
#include "interp.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define REP_BATCH 4096

enum str_op { STR_MOVS, STR_CMPS, STR_SCAS, STR_LODS, STR_STOS, STR_INS, STR_OUTS };

static inline unsigned str_size(const struct insn *i)
{
    return (i->opcode & 1) ? i->opsize : 1;
}

/* One element; returns ZF for CMPS/SCAS. */
ALWAYS_INLINE bool str_step(struct cpu *c, const struct insn *i, enum str_op op,
                            unsigned size, int32_t step)
{
    uint32_t si = areg(c, i, REG_ESI), di = areg(c, i, REG_EDI), a, b;
    switch (op) {
    case STR_MOVS:
        a = mem_read(c, i->seg, si, size);
        mem_write(c, SEG_ES, di, size, a);
        set_areg(c, i, REG_ESI, si + (uint32_t)step);
        set_areg(c, i, REG_EDI, di + (uint32_t)step);
        return false;
    case STR_CMPS:
        /* ES:DI is read first: when both operands fault, the host reports
         * the destination's fault (the SDM leaves the order open). */
        b = mem_read(c, SEG_ES, di, size);
        a = mem_read(c, i->seg, si, size);
        set_areg(c, i, REG_ESI, si + (uint32_t)step);
        set_areg(c, i, REG_EDI, di + (uint32_t)step);
        lf_record(c, LF_SUB, size, (a - b) & size_mask(size), a, b);
        return a == b;
    case STR_SCAS:
        a = reg_get(c, REG_EAX, size);
        b = mem_read(c, SEG_ES, di, size);
        set_areg(c, i, REG_EDI, di + (uint32_t)step);
        lf_record(c, LF_SUB, size, (a - b) & size_mask(size), a, b);
        return a == b;
    case STR_LODS:
        a = mem_read(c, i->seg, si, size);
        reg_set(c, REG_EAX, size, a);
        set_areg(c, i, REG_ESI, si + (uint32_t)step);
        return false;
    case STR_STOS:
        mem_write(c, SEG_ES, di, size, reg_get(c, REG_EAX, size));
        set_areg(c, i, REG_EDI, di + (uint32_t)step);
        return false;
    case STR_INS:
        /* Check the destination first: a fault after the port read would
         * repeat the read on restart. */
        cpu_check_write(c, SEG_ES, di, size);
        a = cpu_io_in(c, (uint16_t)c->s.gpr[REG_EDX], size);
        mem_write(c, SEG_ES, di, size, a);
        set_areg(c, i, REG_EDI, di + (uint32_t)step);
        return false;
    default: /* STR_OUTS */
        a = mem_read(c, i->seg, si, size);
        cpu_io_out(c, (uint16_t)c->s.gpr[REG_EDX], size, a);
        set_areg(c, i, REG_ESI, si + (uint32_t)step);
        return false;
    }
}

/* Bytes from linear `lin` to the end of its page. */
static inline uint32_t page_room(uint32_t lin)
{
    return 0x1000u - (lin & 0xfffu);
}

/* REP MOVS/STOS forward with a 32-bit address size: up to `max` elements
 * that stay inside one page on each side, within the segment limits, and
 * hit the TLB as RAM (a valid write tag also means no decoded code and no
 * MMIO there) are done with host copies.  Returns the number done (ESI/EDI
 * moved), 0 when the next element needs the per-element path. */
static uint32_t rep_block(struct cpu *c, const struct insn *i, enum str_op op,
                          unsigned size, uint32_t max)
{
    uint32_t di = c->s.gpr[REG_EDI], dlin = c->s.seg[SEG_ES].base + di;
    uint32_t n = page_room(dlin) / size, si = 0, slin = 0;
    if (op == STR_MOVS) {
        si = c->s.gpr[REG_ESI];
        slin = c->s.seg[i->seg].base + si;
        uint32_t sn = page_room(slin) / size;
        n = sn < n ? sn : n;
    }
    n = max < n ? max : n;
    if (n == 0 || (int64_t)di + n * size - 1 > c->seg_wmax[SEG_ES])
        return 0;
    uint8_t *d = cpu_tlb_fast(c, dlin, n * size, true);
    if (!d)
        return 0;
    if (op == STR_STOS) {
        uint32_t v = c->s.gpr[REG_EAX];
        if (size == 1)
            memset(d, (int)(v & 0xff), n);
        else
            for (uint32_t k = 0; k < n; k++)
                memcpy(d + k * size, &v, size);   /* little-endian host */
    } else {
        if ((int64_t)si + n * size - 1 > c->seg_rmax[i->seg])
            return 0;
        const uint8_t *s = cpu_tlb_fast(c, slin, n * size, false);
        if (!s)
            return 0;
        /* Elements go forward one at a time: a destination just above the
         * source sees its own writes.  A block no longer than the distance
         * reads nothing it writes. */
        if (d > s && d < s + n * size)
            n = (uint32_t)(d - s) / size;
        if (n == 0)
            return 0;
        memmove(d, s, n * size);
        c->s.gpr[REG_ESI] = si + n * size;
    }
    c->s.gpr[REG_EDI] = di + n * size;
    return n;
}

ALWAYS_INLINE void str_run(struct cpu *c, const struct insn *i, enum str_op op)
{
    unsigned size = str_size(i);
    int32_t step = (c->eflags_rest & EFL_DF) ? -(int32_t)size : (int32_t)size;
    /* The I/O permission check comes before any memory access, and even a
     * REP with a zero count makes it (as the host CPU does). */
    if (op == STR_INS || op == STR_OUTS)
        cpu_check_io(c, (uint16_t)c->s.gpr[REG_EDX], size);
    if (!(i->prefixes & (PFX_REP | PFX_REPNE))) {
        str_step(c, i, op, size, step);
        return;
    }
    bool compare = op == STR_CMPS || op == STR_SCAS;
    bool block = (op == STR_MOVS || op == STR_STOS) && step > 0 && i->adsize == 4;
    for (unsigned n = 0;; n++) {
        uint32_t count = areg(c, i, REG_ECX);
        if (count == 0)
            return;
        if (n >= REP_BATCH) {
            c->s.eip = c->insn_eip;   /* come back for the rest */
            return;
        }
        if (block) {
            uint32_t room = REP_BATCH - n, done = rep_block(c, i, op, size, count < room ? count : room);
            if (done) {
                set_areg(c, i, REG_ECX, count - done);
                n += done - 1;
                continue;
            }
        }
        bool zf = str_step(c, i, op, size, step);
        set_areg(c, i, REG_ECX, count - 1);
        if (compare && zf != !!(i->prefixes & PFX_REP))
            return;                   /* REPE stops on a mismatch, REPNE on a match */
        if (count == 1)
            return;
        if (c->log.count) {
            c->s.eip = c->insn_eip;
            return;
        }
    }
}

void op_movs(struct cpu *c, const struct insn *i) { str_run(c, i, STR_MOVS); }
void op_cmps(struct cpu *c, const struct insn *i) { str_run(c, i, STR_CMPS); }
void op_scas(struct cpu *c, const struct insn *i) { str_run(c, i, STR_SCAS); }
void op_lods(struct cpu *c, const struct insn *i) { str_run(c, i, STR_LODS); }
void op_stos(struct cpu *c, const struct insn *i) { str_run(c, i, STR_STOS); }
void op_ins(struct cpu *c, const struct insn *i)  { str_run(c, i, STR_INS); }
void op_outs(struct cpu *c, const struct insn *i) { str_run(c, i, STR_OUTS); }

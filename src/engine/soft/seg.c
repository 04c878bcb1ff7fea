/* seg.c - segmentation: segment register loads with the protected-mode
 * checks, far transfers (JMP/CALL/RET/IRET), LLDT/LTR, I/O permission, and
 * the mode bits derived from CR0/EFLAGS/CS/SS.
 *
 * Task switches (TSS selectors, task gates, IRET with NT) are in task.c.
 * Virtual-8086 mode has no VME extensions (CR4.VME is not offered). */
#include <string.h>

#include "engine/soft/mem.h"
#include "engine/soft/soft_priv.h"

#define DESC_S(d)     (((d) >> 44) & 1)
#define DESC_TYPE(d)  ((unsigned)(((d) >> 40) & 0xf))
#define DESC_DPL(d)   ((unsigned)(((d) >> 45) & 3))
#define DESC_P(d)     (((d) >> 47) & 1)
#define DESC_CODE(d)  (DESC_TYPE(d) & 8)
#define DESC_CONF(d)  (DESC_TYPE(d) & 4)  /* code: conforming */
#define DESC_RW(d)    (DESC_TYPE(d) & 2)

#define SEL_ERR(sel)  ((uint32_t)((sel) & 0xfffcu))

static unsigned iopl(const struct cpu *c)
{
    return (c->eflags_rest & EFL_IOPL) >> 12;
}

/* ---- derived state ---- */

/* Recompute seg_rmax/seg_wmax of one segment register. */
static void seg_update_fast(struct cpu *c, int sreg)
{
    const struct seg_cache *s = &c->s.seg[sreg];
    int64_t rmax = s->limit, wmax = s->limit;
    if (c->pe && !c->v86) {
        if (s->attr & SEGA_UNUSABLE) {
            rmax = wmax = -1;
        } else if (s->attr & SEGA_CODE) {
            wmax = -1;
            if (!(s->attr & SEGA_RW))
                rmax = -1;
        } else {
            if (!(s->attr & SEGA_RW))
                wmax = -1;
            if (s->attr & SEGA_DC)
                rmax = wmax = -1;   /* expand-down: slow path checks */
        }
    }
    c->seg_rmax[sreg] = rmax;
    c->seg_wmax[sreg] = wmax;
    uint8_t bit = sreg == SEG_CS ? JIT_FLAT_CS : (uint8_t)(1u << sreg);
    bool flat = sreg == SEG_CS ? s->base == 0 && s->limit == 0xffffffffu
                               : s->base == 0 && rmax == 0xffffffff && wmax == 0xffffffff;
    c->jit_flat = (uint8_t)(flat ? (c->jit_flat | bit) : (c->jit_flat & ~bit));
}

void cpu_mode_changed(struct cpu *c)
{
    c->pe = (c->s.cr0 & CR0_PE) != 0;
    c->pg = c->pe && (c->s.cr0 & CR0_PG);
    c->v86 = c->pe && (c->eflags_rest & EFL_VM);
    if (!c->pe)
        c->cpl = 0;
    else if (c->v86)
        c->cpl = 3;
    else
        c->cpl = (uint8_t)((c->s.seg[SEG_SS].attr & SEGA_DPL_MASK) >> SEGA_DPL_SHIFT);
    c->tlb_now = c->cpl == 3 ? c->tlb.user : c->tlb.sup;
    c->jit_cpl_tag = c->cpl == 3 ? 1u << 31 : 0;
    bool prot = c->pe && !c->v86;
    c->code32 = prot && (c->s.seg[SEG_CS].attr & SEGA_DB);
    c->stack32 = prot && (c->s.seg[SEG_SS].attr & SEGA_DB);
    c->jit_flat = (uint8_t)(c->stack32 ? (c->jit_flat | JIT_FLAT_STACK32)
                                       : (c->jit_flat & ~JIT_FLAT_STACK32));
    for (int k = 0; k < SEG_COUNT; k++)
        seg_update_fast(c, k);
}

/* ---- descriptors ---- */

bool seg_read_descriptor(struct cpu *c, uint16_t sel, uint64_t *desc)
{
    uint32_t base, limit;
    if (sel & 4) {
        if ((c->s.ldtr.selector & ~3u) == 0 || (c->s.ldtr.attr & SEGA_UNUSABLE))
            return false;
        base = c->s.ldtr.base;
        limit = c->s.ldtr.limit;
    } else {
        base = c->s.gdtr.base;
        limit = c->s.gdtr.limit;
    }
    uint32_t off = sel & ~7u;
    if (off + 7 > limit)
        return false;
    uint32_t lo = cpu_lin_read(c, base + off, 4, true);
    uint32_t hi = cpu_lin_read(c, base + off + 4, 4, true);
    *desc = lo | ((uint64_t)hi << 32);
    return true;
}

void seg_from_descriptor(struct seg_cache *sc, uint16_t sel, uint64_t d)
{
    sc->selector = sel;
    sc->base = (uint32_t)(((d >> 16) & 0xffffffu) | (((d >> 56) & 0xffu) << 24));
    uint32_t limit = (uint32_t)((d & 0xffffu) | (((d >> 48) & 0xfu) << 16));
    sc->attr = (uint32_t)((d >> 40) & 0xf0ffu);
    if (sc->attr & SEGA_G)
        limit = (limit << 12) | 0xfffu;
    sc->limit = limit;
}

void seg_set_accessed(struct cpu *c, uint16_t sel, uint64_t desc)
{
    if (desc & (1ull << 40))
        return;
    uint32_t base = (sel & 4) ? c->s.ldtr.base : c->s.gdtr.base;
    uint32_t lin = base + (sel & ~7u) + 5;
    cpu_lin_write(c, lin, 1, (uint32_t)((desc >> 40) & 0xff) | 1u, true);
}

/* Fetch descriptor or #GP(sel). */
static uint64_t fetch_or_gp(struct cpu *c, uint16_t sel)
{
    uint64_t d;
    if (!seg_read_descriptor(c, sel, &d))
        cpu_gp(c, SEL_ERR(sel));
    return d;
}

void seg_check_stack(struct cpu *c, uint16_t sel, unsigned dpl, int vector, uint32_t ext,
                     struct seg_cache *out, uint64_t *descp)
{
    if ((sel & ~3u) == 0)
        cpu_raise(c, vector, ext);
    uint64_t d;
    if (!seg_read_descriptor(c, sel, &d))
        cpu_raise(c, vector, SEL_ERR(sel) | ext);
    if ((sel & 3) != dpl || !DESC_S(d) || DESC_CODE(d) || !DESC_RW(d) || DESC_DPL(d) != dpl)
        cpu_raise(c, vector, SEL_ERR(sel) | ext);
    if (!DESC_P(d))
        cpu_raise(c, EXC_SS, SEL_ERR(sel) | ext);
    seg_from_descriptor(out, sel, d);
    *descp = d;
}

void seg_tss_stack(struct cpu *c, unsigned dpl, uint16_t *ss, uint32_t *esp, uint32_t ext)
{
    const struct seg_cache *tr = &c->s.tr;
    unsigned type = tr->attr & SEGA_TYPE_MASK;
    bool tss32 = (type & 8) != 0;
    uint32_t off = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
    unsigned width = tss32 ? 4 : 2;
    if (off + width + 2 - 1 > tr->limit || (c->s.tr.selector & ~3u) == 0)
        cpu_ts(c, SEL_ERR(tr->selector) | ext);
    *esp = cpu_lin_read(c, tr->base + off, width, true);
    *ss = (uint16_t)cpu_lin_read(c, tr->base + off + width, 2, true);
}

void stack_build_push(struct cpu *c, struct stack_build *sb, uint32_t v, unsigned size)
{
    bool big = (sb->ss.attr & SEGA_DB) != 0;
    uint32_t mask = big ? 0xffffffffu : 0xffffu;
    uint32_t sp = (sb->esp - size) & mask;
    uint64_t last = (uint64_t)sp + size - 1;
    bool bad;
    if ((sb->ss.attr & (SEGA_CODE | SEGA_DC)) == SEGA_DC)
        bad = sp <= sb->ss.limit || last > (big ? 0xffffffffu : 0xffffu);
    else
        bad = last > sb->ss.limit;
    if (bad)
        cpu_ss_fault(c, sb->fault_err);
    cpu_lin_write(c, sb->ss.base + sp, size, v, sb->system);
    sb->esp = (sb->esp & ~mask) | sp;
}

/* ---- segment register loads ---- */

static void load_real(struct cpu *c, int sreg, uint16_t sel)
{
    struct seg_cache *s = &c->s.seg[sreg];
    s->selector = sel;
    s->base = (uint32_t)sel << 4;
    if (c->v86) {
        s->limit = 0xffff;
        s->attr = (sreg == SEG_CS ? 0xfbu : 0xf3u);
    } else if (s->attr & SEGA_UNUSABLE) {
        /* Real mode keeps limit and attributes (big real mode), but a
         * register left null by protected mode becomes usable again. */
        s->limit = 0xffff;
        s->attr = (sreg == SEG_CS ? 0x9bu : 0x93u);
    } else {
        s->attr |= SEGA_P;
    }
}

void cpu_load_seg(struct cpu *c, int sreg, uint16_t sel)
{
    if (sreg == SEG_CS)
        cpu_internal_error(c, "cpu_load_seg(CS) is not a valid operation; use a far transfer");
    if (!c->pe || c->v86) {
        load_real(c, sreg, sel);
    } else if (sreg == SEG_SS) {
        if ((sel & ~3u) == 0)
            cpu_gp(c, 0);
        struct seg_cache sc;
        uint64_t d;
        seg_check_stack(c, sel, c->cpl, EXC_GP, 0, &sc, &d);
        seg_set_accessed(c, sel, d);
        sc.attr |= SEGA_ACCESSED;
        c->s.seg[SEG_SS] = sc;
    } else if ((sel & ~3u) == 0) {
        struct seg_cache *s = &c->s.seg[sreg];
        s->selector = sel;
        s->base = 0;
        s->limit = 0;
        s->attr = SEGA_UNUSABLE;
    } else {
        uint64_t d = fetch_or_gp(c, sel);
        if (!DESC_S(d) || (DESC_CODE(d) && !DESC_RW(d)))
            cpu_gp(c, SEL_ERR(sel));
        if (!(DESC_CODE(d) && DESC_CONF(d))) {
            if ((sel & 3u) > DESC_DPL(d) || c->cpl > DESC_DPL(d))
                cpu_gp(c, SEL_ERR(sel));
        }
        if (!DESC_P(d))
            cpu_np(c, SEL_ERR(sel));
        seg_set_accessed(c, sel, d);
        seg_from_descriptor(&c->s.seg[sreg], sel, d | (1ull << 40));
    }
    if (sreg == SEG_SS) {
        c->s.events.interrupt_shadow = 1;
        cpu_mode_changed(c);
    } else {
        seg_update_fast(c, sreg);
    }
}

void seg_null_inaccessible(struct cpu *c)
{
    static const int data_regs[] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
    for (unsigned k = 0; k < 4; k++) {
        struct seg_cache *s = &c->s.seg[data_regs[k]];
        if (s->attr & SEGA_UNUSABLE)
            continue;
        unsigned dpl = (s->attr & SEGA_DPL_MASK) >> SEGA_DPL_SHIFT;
        bool conforming_code = (s->attr & (SEGA_CODE | SEGA_DC)) == (SEGA_CODE | SEGA_DC);
        if (!conforming_code && dpl < c->cpl) {
            s->selector = 0;
            s->base = 0;
            s->limit = 0;
            s->attr = SEGA_UNUSABLE;
            seg_update_fast(c, data_regs[k]);
        }
    }
}

/* ---- far transfers ---- */

static void set_real_cs(struct cpu *c, uint16_t sel, uint32_t eip)
{
    load_real(c, SEG_CS, sel);
    c->s.eip = eip;
    cpu_mode_changed(c);
}

/* Code segment checks for JMP/CALL to a code descriptor at the current CPL. */
static void check_code_same_priv(struct cpu *c, uint16_t sel, uint64_t d)
{
    if (!DESC_S(d) || !DESC_CODE(d))
        cpu_gp(c, SEL_ERR(sel));
    if (DESC_CONF(d)) {
        if (DESC_DPL(d) > c->cpl)
            cpu_gp(c, SEL_ERR(sel));
    } else if ((sel & 3u) > c->cpl || DESC_DPL(d) != c->cpl) {
        cpu_gp(c, SEL_ERR(sel));
    }
    if (!DESC_P(d))
        cpu_np(c, SEL_ERR(sel));
}

/* Commit CS (RPL = new cpl) and EIP after all checks passed. */
static void commit_cs(struct cpu *c, uint16_t sel, uint64_t d, uint32_t eip, unsigned cpl)
{
    struct seg_cache sc;
    seg_from_descriptor(&sc, (uint16_t)((sel & ~3u) | cpl), d | (1ull << 40));
    if (eip > sc.limit)
        cpu_gp(c, 0);
    seg_set_accessed(c, sel, d);
    c->s.seg[SEG_CS] = sc;
    c->s.eip = eip;
}

/* A far JMP/CALL target after resolving a call gate. */
struct far_target {
    uint16_t sel;        /* code selector (RPL adjusted) */
    uint32_t off;
    uint64_t desc;       /* code descriptor */
    bool gate;           /* reached through a call gate */
    bool gate16;         /* ... a 16-bit one */
    unsigned params;     /* gate parameter count */
    bool inner;          /* the gate leads to a more privileged non-conforming segment */
    bool task;           /* a TSS or task gate: sel/desc are the TSS's */
};

/* Resolve a far JMP/CALL target: a code segment or a call gate. */
static void resolve_far_target(struct cpu *c, uint16_t sel, uint32_t off, struct far_target *t)
{
    memset(t, 0, sizeof(*t));
    if ((sel & ~3u) == 0)
        cpu_gp(c, 0);
    uint64_t d = fetch_or_gp(c, sel);
    if (DESC_S(d)) {
        check_code_same_priv(c, sel, d);
        t->sel = (uint16_t)((sel & ~3u) | c->cpl);
        t->off = off;
        t->desc = d;
        return;
    }
    unsigned type = DESC_TYPE(d);
    if (type == 0x1 || type == 0x9 || type == 0x5) {
        /* A TSS or a task gate: a task switch. */
        if (DESC_DPL(d) < c->cpl || DESC_DPL(d) < (sel & 3u))
            cpu_gp(c, SEL_ERR(sel));
        if (!DESC_P(d))
            cpu_np(c, SEL_ERR(sel));
        t->task = true;
        t->sel = sel;
        t->desc = d;
        if (type == 0x5) {
            t->sel = (uint16_t)(d >> 16);
            if ((t->sel & 4) || !seg_read_descriptor(c, t->sel, &t->desc))
                cpu_gp(c, SEL_ERR(t->sel));
        }
        return;
    }
    if (type != 0x4 && type != 0xc)
        cpu_gp(c, SEL_ERR(sel));
    if (DESC_DPL(d) < c->cpl || DESC_DPL(d) < (sel & 3u))
        cpu_gp(c, SEL_ERR(sel));
    if (!DESC_P(d))
        cpu_np(c, SEL_ERR(sel));
    uint16_t tsel = (uint16_t)(d >> 16);
    t->off = (uint32_t)(d & 0xffffu);
    if (type == 0xc)
        t->off |= (uint32_t)((d >> 32) & 0xffff0000u);
    t->gate = true;
    t->gate16 = type == 0x4;
    t->params = (unsigned)((d >> 32) & 0x1f);
    if ((tsel & ~3u) == 0)
        cpu_gp(c, 0);
    uint64_t td = fetch_or_gp(c, tsel);
    if (!DESC_S(td) || !DESC_CODE(td) || DESC_DPL(td) > c->cpl)
        cpu_gp(c, SEL_ERR(tsel));
    if (!DESC_P(td))
        cpu_np(c, SEL_ERR(tsel));
    t->inner = !DESC_CONF(td) && DESC_DPL(td) < c->cpl;
    t->sel = (uint16_t)((tsel & ~3u) | (t->inner ? DESC_DPL(td) : c->cpl));
    t->desc = td;
}

void cpu_far_jmp(struct cpu *c, uint16_t sel, uint32_t offset)
{
    if (!c->pe || c->v86) {
        if (offset > c->s.seg[SEG_CS].limit)
            cpu_gp(c, 0);
        set_real_cs(c, sel, offset);
        return;
    }
    struct far_target t;
    resolve_far_target(c, sel, offset, &t);
    if (t.task) {
        task_switch(c, t.sel, t.desc, TASK_JMP, -1);
        return;
    }
    if (t.inner)
        cpu_gp(c, SEL_ERR(sel));   /* JMP through a call gate cannot change privilege */
    commit_cs(c, t.sel, t.desc, t.off, c->cpl);
    cpu_mode_changed(c);
}

/* CALL through a call gate to a more privileged level: switch to the
 * TSS stack of that level, copy the gate's parameters, push the caller's
 * SS:ESP and CS:EIP there. */
static void call_gate_inner(struct cpu *c, const struct far_target *t)
{
    unsigned new_cpl = t->sel & 3u;
    unsigned size = t->gate16 ? 2 : 4;
    uint16_t ss_sel;
    uint32_t esp;
    uint64_t ss_d;
    struct stack_build sb;
    seg_tss_stack(c, new_cpl, &ss_sel, &esp, 0);
    seg_check_stack(c, ss_sel, new_cpl, EXC_TS, 0, &sb.ss, &ss_d);
    sb.esp = esp;
    sb.system = true;
    sb.fault_err = SEL_ERR(ss_sel);
    struct seg_cache cs;
    seg_from_descriptor(&cs, t->sel, t->desc | (1ull << 40));
    if (t->off > cs.limit)
        cpu_gp(c, 0);
    stack_build_push(c, &sb, c->s.seg[SEG_SS].selector, size);
    stack_build_push(c, &sb, c->s.gpr[REG_ESP], size);
    for (unsigned k = t->params; k-- > 0;)
        stack_build_push(c, &sb, cpu_stack_peek(c, k * size, size), size);
    stack_build_push(c, &sb, c->s.seg[SEG_CS].selector, size);
    stack_build_push(c, &sb, c->s.eip, size);
    seg_set_accessed(c, t->sel, t->desc);
    seg_set_accessed(c, ss_sel, ss_d);
    sb.ss.attr |= SEGA_ACCESSED;
    c->s.seg[SEG_SS] = sb.ss;
    c->s.gpr[REG_ESP] = sb.esp;
    c->s.seg[SEG_CS] = cs;
    c->s.eip = t->off;
    cpu_mode_changed(c);
}

void cpu_far_call(struct cpu *c, uint16_t sel, uint32_t offset, int opsize)
{
    uint32_t ret_eip = c->s.eip;
    uint16_t ret_cs = c->s.seg[SEG_CS].selector;
    if (!c->pe || c->v86) {
        cpu_stack_poke(c, (uint32_t)opsize, (unsigned)opsize, ret_cs);
        cpu_stack_poke(c, 2u * (uint32_t)opsize, (unsigned)opsize, ret_eip);
        if (offset > c->s.seg[SEG_CS].limit)
            cpu_gp(c, 0);
        set_real_cs(c, sel, offset);
        cpu_stack_adjust(c, -2 * opsize);
        return;
    }
    struct far_target t;
    resolve_far_target(c, sel, offset, &t);
    if (t.task) {
        task_switch(c, t.sel, t.desc, TASK_CALL, -1);
        return;
    }
    if (t.inner) {
        call_gate_inner(c, &t);
        return;
    }
    if (t.gate)
        opsize = t.gate16 ? 2 : 4;
    cpu_stack_poke(c, (uint32_t)opsize, (unsigned)opsize, ret_cs);
    cpu_stack_poke(c, 2u * (uint32_t)opsize, (unsigned)opsize, ret_eip);
    commit_cs(c, t.sel, t.desc, t.off, c->cpl);
    cpu_stack_adjust(c, -2 * opsize);
    cpu_mode_changed(c);
}

/* Checks of the CS popped by RET/IRET.  Returns the descriptor. */
static uint64_t check_return_cs(struct cpu *c, uint16_t sel)
{
    if ((sel & ~3u) == 0)
        cpu_gp(c, 0);
    unsigned rpl = sel & 3u;
    if (rpl < c->cpl)
        cpu_gp(c, SEL_ERR(sel));
    uint64_t d = fetch_or_gp(c, sel);
    if (!DESC_S(d) || !DESC_CODE(d))
        cpu_gp(c, SEL_ERR(sel));
    if (DESC_CONF(d) ? DESC_DPL(d) > rpl : DESC_DPL(d) != rpl)
        cpu_gp(c, SEL_ERR(sel));
    if (!DESC_P(d))
        cpu_np(c, SEL_ERR(sel));
    return d;
}

/* Return to an outer privilege level: SS:ESP were popped at `depth`. */
static void return_outer(struct cpu *c, uint16_t cs_sel, uint64_t cs_d, uint32_t eip,
                         uint32_t depth, int opsize, uint16_t imm)
{
    unsigned rpl = cs_sel & 3u;
    uint32_t new_esp = cpu_stack_peek(c, depth + imm, (unsigned)opsize);
    uint16_t ss_sel = (uint16_t)cpu_stack_peek(c, depth + imm + (uint32_t)opsize, (unsigned)opsize);
    struct seg_cache ss;
    uint64_t ss_d;
    seg_check_stack(c, ss_sel, rpl, EXC_GP, 0, &ss, &ss_d);
    commit_cs(c, cs_sel, cs_d, eip, rpl);
    seg_set_accessed(c, ss_sel, ss_d);
    ss.attr |= SEGA_ACCESSED;
    c->s.seg[SEG_SS] = ss;
    new_esp += imm;
    if (ss.attr & SEGA_DB)
        c->s.gpr[REG_ESP] = new_esp;
    else
        c->s.gpr[REG_ESP] = (c->s.gpr[REG_ESP] & 0xffff0000u) | (new_esp & 0xffffu);
    cpu_mode_changed(c);
    seg_null_inaccessible(c);
}

void cpu_far_ret(struct cpu *c, int opsize, uint16_t imm)
{
    uint32_t eip = cpu_stack_peek(c, 0, (unsigned)opsize);
    uint16_t sel = (uint16_t)cpu_stack_peek(c, (uint32_t)opsize, (unsigned)opsize);
    if (!c->pe || c->v86) {
        if (eip > c->s.seg[SEG_CS].limit)
            cpu_gp(c, 0);
        set_real_cs(c, sel, eip);
        cpu_stack_adjust(c, 2 * opsize + imm);
        return;
    }
    uint64_t d = check_return_cs(c, sel);
    if ((sel & 3u) == c->cpl) {
        commit_cs(c, sel, d, eip, c->cpl);
        cpu_stack_adjust(c, 2 * opsize + imm);
        cpu_mode_changed(c);
    } else {
        return_outer(c, sel, d, eip, 2u * (uint32_t)opsize, opsize, imm);
    }
}

/* IRET from ring 0 to virtual-8086 mode: the frame holds EIP, CS, EFLAGS,
 * ESP, SS, ES, DS, FS, GS (dwords). */
static void iret_to_v86(struct cpu *c, uint32_t eip, uint16_t cs, uint32_t flags)
{
    uint32_t esp = cpu_stack_peek(c, 12, 4);
    uint16_t sel[4];
    uint16_t ss = (uint16_t)cpu_stack_peek(c, 16, 4);
    for (unsigned k = 0; k < 4; k++)
        sel[k] = (uint16_t)cpu_stack_peek(c, 20 + 4 * k, 4);
    cpu_set_eflags(c, flags, EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_TF | EFL_IF |
                   EFL_DF | EFL_OF | EFL_IOPL | EFL_NT | EFL_RF | EFL_VM | EFL_AC |
                   EFL_VIF | EFL_VIP | EFL_ID);
    cpu_mode_changed(c);   /* now v86: segment loads below are v86 loads */
    load_real(c, SEG_CS, cs);
    load_real(c, SEG_SS, ss);
    load_real(c, SEG_ES, sel[0]);
    load_real(c, SEG_DS, sel[1]);
    load_real(c, SEG_FS, sel[2]);
    load_real(c, SEG_GS, sel[3]);
    c->s.gpr[REG_ESP] = esp;
    c->s.eip = eip & 0xffffu;
    cpu_mode_changed(c);
}

void cpu_iret(struct cpu *c, int opsize)
{
    unsigned size = (unsigned)opsize;
    if (c->pe && !c->v86 && (c->eflags_rest & EFL_NT)) {
        /* Return to the task in the current TSS's link field. */
        uint16_t link = (uint16_t)cpu_lin_read(c, c->s.tr.base, 2, true);
        uint64_t d;
        if ((link & 4) || !seg_read_descriptor(c, link, &d))
            cpu_ts(c, SEL_ERR(link));
        task_switch(c, link, d, TASK_IRET, -1);
        c->s.events.nmi_blocked = false;
        return;
    }
    if (c->v86 && iopl(c) < 3)
        cpu_gp(c, 0);
    uint32_t eip = cpu_stack_peek(c, 0, size);
    uint16_t sel = (uint16_t)cpu_stack_peek(c, size, size);
    uint32_t flags = cpu_stack_peek(c, 2 * size, size);
    c->s.events.nmi_blocked = false;

    if (!c->pe || c->v86) {
        uint32_t mask;
        if (c->v86)
            mask = (size == 4 ? 0x254dd5u : 0x4dd5u) | EFL_IF;   /* IOPL stays */
        else
            mask = size == 4 ? 0x257fd5u : 0x7fd5u;
        if (eip > c->s.seg[SEG_CS].limit)
            cpu_gp(c, 0);
        set_real_cs(c, sel, eip);
        cpu_set_eflags(c, flags, mask);
        cpu_stack_adjust(c, 3 * opsize);
        cpu_mode_changed(c);
        return;
    }
    if (size == 4 && (flags & EFL_VM) && c->cpl == 0) {
        iret_to_v86(c, eip, sel, flags);
        return;
    }

    uint32_t mask = EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_TF | EFL_DF | EFL_OF | EFL_NT;
    if (size == 4)
        mask |= EFL_RF | EFL_AC | EFL_ID;
    if (c->cpl <= iopl(c))
        mask |= EFL_IF;
    if (c->cpl == 0)
        mask |= EFL_IOPL | (size == 4 ? EFL_VIF | EFL_VIP : 0);

    uint64_t d = check_return_cs(c, sel);
    if ((sel & 3u) == c->cpl) {
        commit_cs(c, sel, d, eip, c->cpl);
        cpu_set_eflags(c, flags, mask);
        cpu_stack_adjust(c, 3 * opsize);
        cpu_mode_changed(c);
    } else {
        return_outer(c, sel, d, eip, 3 * size, opsize, 0);
        cpu_set_eflags(c, flags, mask);
        cpu_mode_changed(c);
    }
}

/* ---- LLDT / LTR ---- */

static void system_insn_checks(struct cpu *c)
{
    if (!c->pe || c->v86)
        cpu_ud(c);
    if (c->cpl != 0)
        cpu_gp(c, 0);
}

void cpu_lldt(struct cpu *c, uint16_t sel)
{
    system_insn_checks(c);
    if ((sel & ~3u) == 0) {
        c->s.ldtr.selector = sel;
        c->s.ldtr.base = 0;
        c->s.ldtr.limit = 0;
        c->s.ldtr.attr = SEGA_UNUSABLE;
        return;
    }
    if (sel & 4)
        cpu_gp(c, SEL_ERR(sel));
    uint64_t d = fetch_or_gp(c, sel);
    if (DESC_S(d) || DESC_TYPE(d) != 2)
        cpu_gp(c, SEL_ERR(sel));
    if (!DESC_P(d))
        cpu_np(c, SEL_ERR(sel));
    seg_from_descriptor(&c->s.ldtr, sel, d);
}

void cpu_ltr(struct cpu *c, uint16_t sel)
{
    system_insn_checks(c);
    if ((sel & ~3u) == 0)
        cpu_gp(c, 0);
    if (sel & 4)
        cpu_gp(c, SEL_ERR(sel));
    uint64_t d = fetch_or_gp(c, sel);
    unsigned type = DESC_TYPE(d);
    if (DESC_S(d) || (type != 1 && type != 9))
        cpu_gp(c, SEL_ERR(sel));
    if (!DESC_P(d))
        cpu_np(c, SEL_ERR(sel));
    /* Mark the TSS busy in the GDT. */
    cpu_lin_write(c, c->s.gdtr.base + (sel & ~7u) + 5, 1, (uint32_t)((d >> 40) & 0xff) | 2u, true);
    seg_from_descriptor(&c->s.tr, sel, d | (2ull << 40));
}

/* ---- I/O permission ---- */

void cpu_check_io(struct cpu *c, uint16_t port, unsigned size)
{
    if (!c->pe || (!c->v86 && c->cpl <= iopl(c)))
        return;
    const struct seg_cache *tr = &c->s.tr;
    unsigned type = tr->attr & SEGA_TYPE_MASK;
    if ((type != 9 && type != 11) || tr->limit < 0x67)
        cpu_gp(c, 0);
    uint32_t map = cpu_lin_read(c, tr->base + 0x66, 2, true);
    uint32_t byte = map + port / 8u;
    if (byte + 1 > tr->limit)
        cpu_gp(c, 0);
    uint32_t bits = cpu_lin_read(c, tr->base + byte, 2, true);
    uint32_t want = ((1u << size) - 1) << (port & 7u);
    if (bits & want)
        cpu_gp(c, 0);
}

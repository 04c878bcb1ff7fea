/* task.c - hardware task switches (Intel SDM vol. 3, 7.3) for JMP/CALL to a
 * TSS or task gate, interrupts through a task gate and IRET with NT.
 *
 * 32-bit TSSs only (a 16-bit TSS is an internal error: nothing we target
 * uses them).  Everything that reads the new TSS or writes the old one is
 * done before any register changes, so a fault there is taken in the old
 * task; faults while loading the new task's segments are taken in the new
 * task, as on hardware. */
#include "engine/soft/mem.h"
#include "engine/soft/soft_priv.h"

#define DESC_S(d)     (((d) >> 44) & 1)
#define DESC_TYPE(d)  ((unsigned)(((d) >> 40) & 0xf))
#define DESC_DPL(d)   ((unsigned)(((d) >> 45) & 3))
#define DESC_P(d)     (((d) >> 47) & 1)
#define SEL_ERR(sel)  ((uint32_t)((sel) & 0xfffcu))

#define TSS_LINK   0x00
#define TSS_CR3    0x1c
#define TSS_EIP    0x20
#define TSS_EFLAGS 0x24
#define TSS_GPR    0x28   /* EAX..EDI */
#define TSS_SEG    0x48   /* ES CS SS DS FS GS, 4 bytes each */
#define TSS_LDT    0x60

struct tss_image {
    uint32_t cr3, eip, eflags, gpr[8];
    uint16_t seg[SEG_COUNT], ldt;
};

static void set_busy(struct cpu *c, uint16_t sel, uint64_t desc, bool busy)
{
    uint32_t type_byte = (uint32_t)((desc >> 40) & 0xff);
    type_byte = busy ? (type_byte | 2u) : (type_byte & ~2u);
    cpu_lin_write(c, c->s.gdtr.base + (sel & ~7u) + 5, 1, type_byte, true);
}

/* Load a segment register of the new task with the checks of a task
 * switch (#TS for bad selectors, #NP / #SS when not present). */
static void load_task_seg(struct cpu *c, int sreg, uint16_t sel, uint32_t ext)
{
    struct seg_cache *s = &c->s.seg[sreg];
    unsigned cpl = c->s.seg[SEG_CS].selector & 3u;
    if ((sel & ~3u) == 0) {
        if (sreg == SEG_CS || sreg == SEG_SS)
            cpu_ts(c, SEL_ERR(sel) | ext);
        *s = (struct seg_cache){ .selector = sel, .attr = SEGA_UNUSABLE };
        return;
    }
    uint64_t d;
    if (!seg_read_descriptor(c, sel, &d) || !DESC_S(d))
        cpu_ts(c, SEL_ERR(sel) | ext);
    unsigned type = DESC_TYPE(d), dpl = DESC_DPL(d), rpl = sel & 3u;
    if (sreg == SEG_CS) {
        if (!(type & 8) || ((type & 4) ? dpl > rpl : dpl != rpl))
            cpu_ts(c, SEL_ERR(sel) | ext);
    } else if (sreg == SEG_SS) {
        if ((type & 8) || !(type & 2) || dpl != cpl || rpl != cpl)
            cpu_ts(c, SEL_ERR(sel) | ext);
        if (!DESC_P(d))
            cpu_raise(c, EXC_SS, SEL_ERR(sel) | ext);
    } else {
        if ((type & 8) && !(type & 2))
            cpu_ts(c, SEL_ERR(sel) | ext);
        if (!((type & 8) && (type & 4)) && (dpl < cpl || dpl < rpl))
            cpu_ts(c, SEL_ERR(sel) | ext);
    }
    if (!DESC_P(d))
        cpu_np(c, SEL_ERR(sel) | ext);
    seg_set_accessed(c, sel, d);
    seg_from_descriptor(s, sel, d | (1ull << 40));
}

static void read_tss(struct cpu *c, uint32_t base, struct tss_image *t)
{
    t->cr3 = cpu_lin_read(c, base + TSS_CR3, 4, true);
    t->eip = cpu_lin_read(c, base + TSS_EIP, 4, true);
    t->eflags = cpu_lin_read(c, base + TSS_EFLAGS, 4, true);
    for (int k = 0; k < 8; k++)
        t->gpr[k] = cpu_lin_read(c, base + TSS_GPR + 4u * k, 4, true);
    for (int k = 0; k < SEG_COUNT; k++)
        t->seg[k] = (uint16_t)cpu_lin_read(c, base + TSS_SEG + 4u * k, 2, true);
    t->ldt = (uint16_t)cpu_lin_read(c, base + TSS_LDT, 2, true);
}

void task_switch(struct cpu *c, uint16_t sel, uint64_t desc, enum task_source src, int64_t error)
{
    uint32_t ext = src == TASK_EXT ? 1 : 0;
    unsigned type = DESC_TYPE(desc);
    if (sel & 4)
        cpu_gp(c, SEL_ERR(sel) | ext);
    if (src == TASK_IRET ? type != 0xb : type != 0x9) {
        if (type == 0x1 || type == 0x3)
            cpu_internal_error(c, "task switch to a 16-bit TSS is not implemented");
        if (src == TASK_IRET)
            cpu_ts(c, SEL_ERR(sel));
        cpu_gp(c, SEL_ERR(sel) | ext);
    }
    if (!DESC_P(desc))
        cpu_np(c, SEL_ERR(sel) | ext);
    struct seg_cache ntr;
    seg_from_descriptor(&ntr, sel, desc);
    if (ntr.limit < 0x67)
        cpu_ts(c, SEL_ERR(sel) | ext);
    const struct seg_cache otr = c->s.tr;
    unsigned otype = otr.attr & SEGA_TYPE_MASK;
    if ((otype != 0xb && otype != 0x9) || otr.limit < 0x67)
        cpu_internal_error(c, "task switch from a TSS that is not a 32-bit TSS");

    /* Read everything of the new task first. */
    struct tss_image t;
    read_tss(c, ntr.base, &t);
    uint64_t old_desc = 0;
    if (src == TASK_JMP || src == TASK_IRET) {
        if (!seg_read_descriptor(c, otr.selector, &old_desc))
            cpu_ts(c, SEL_ERR(otr.selector) | ext);
    }

    /* Save the old task. */
    uint32_t eflags = cpu_get_eflags(c);
    if (src == TASK_IRET)
        eflags &= ~EFL_NT;
    cpu_lin_write(c, otr.base + TSS_EIP, 4, c->s.eip, true);
    cpu_lin_write(c, otr.base + TSS_EFLAGS, 4, eflags, true);
    for (int k = 0; k < 8; k++)
        cpu_lin_write(c, otr.base + TSS_GPR + 4u * k, 4, c->s.gpr[k], true);
    for (int k = 0; k < SEG_COUNT; k++)
        cpu_lin_write(c, otr.base + TSS_SEG + 4u * k, 2, c->s.seg[k].selector, true);
    if (src == TASK_JMP || src == TASK_IRET)
        set_busy(c, otr.selector, old_desc, false);
    if (src == TASK_CALL || src == TASK_EXT || src == TASK_SOFT) {
        cpu_lin_write(c, ntr.base + TSS_LINK, 2, otr.selector, true);
        t.eflags |= EFL_NT;
    }
    if (src != TASK_IRET)
        set_busy(c, sel, desc, true);

    /* Commit: the rest happens in the new task. */
    ntr.attr |= 2;                    /* busy */
    c->s.tr = ntr;
    c->s.cr0 |= CR0_TS;
    if (c->pg) {
        c->s.cr3 = t.cr3;
        cpu_tlb_flush(c, false);
    }
    c->s.eip = t.eip;
    c->insn_eip = t.eip;              /* faults from here on belong to the new task */
    for (int k = 0; k < 8; k++)
        c->s.gpr[k] = t.gpr[k];
    cpu_set_eflags(c, t.eflags, ~0u);
    for (int k = 0; k < SEG_COUNT; k++) {
        c->s.seg[k].selector = t.seg[k];
        c->s.seg[k].attr = SEGA_UNUSABLE;
    }
    c->s.ldtr = (struct seg_cache){ .selector = t.ldt, .attr = SEGA_UNUSABLE };
    cpu_mode_changed(c);
    if (t.ldt & ~3u) {
        uint64_t d;
        if ((t.ldt & 4) || !seg_read_descriptor(c, t.ldt, &d) || DESC_S(d) || DESC_TYPE(d) != 2)
            cpu_ts(c, SEL_ERR(t.ldt) | ext);
        if (!DESC_P(d))
            cpu_ts(c, SEL_ERR(t.ldt) | ext);
        seg_from_descriptor(&c->s.ldtr, t.ldt, d);
    }
    if (t.eflags & EFL_VM) {
        for (int k = 0; k < SEG_COUNT; k++)
            c->s.seg[k] = (struct seg_cache){ .selector = t.seg[k], .base = (uint32_t)t.seg[k] << 4,
                                              .limit = 0xffff, .attr = 0xf3 };
        cpu_mode_changed(c);
    } else {
        /* CS first: its RPL is the new CPL the others are checked against. */
        c->s.seg[SEG_CS].selector = t.seg[SEG_CS];
        c->s.seg[SEG_SS].attr = (uint32_t)(t.seg[SEG_CS] & 3u) << SEGA_DPL_SHIFT;
        load_task_seg(c, SEG_CS, t.seg[SEG_CS], ext);
        load_task_seg(c, SEG_SS, t.seg[SEG_SS], ext);
        cpu_mode_changed(c);
        load_task_seg(c, SEG_ES, t.seg[SEG_ES], ext);
        load_task_seg(c, SEG_DS, t.seg[SEG_DS], ext);
        load_task_seg(c, SEG_FS, t.seg[SEG_FS], ext);
        load_task_seg(c, SEG_GS, t.seg[SEG_GS], ext);
        cpu_mode_changed(c);
    }
    if (c->s.eip > c->s.seg[SEG_CS].limit)
        cpu_gp(c, ext);
    if (error >= 0) {
        unsigned size = 4;
        cpu_push(c, (uint32_t)error, size);
    }
}

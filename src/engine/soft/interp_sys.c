/* interp_sys.c - flag instructions, PUSHF/POPF, CLI/STI, port I/O, system
 * registers and tables, privileged and model-specific instructions, the x87
 * hook and the #UD handlers. */
#include "interp.h"

#include "opcodes.h"

/* ---- undefined encodings ---- */

/* One warning per distinct opcode, naming EIP and the instruction bytes.
 * The bytes were just fetched for decoding, so reading them again cannot
 * fault. */
static void warn_unknown(struct cpu *c, const struct insn *i)
{
    uint32_t bit = 1u << (i->opcode & 31);
    uint32_t *word = &c->unknown_warned[(i->opcode >> 5) & 15];
    if (*word & bit)
        return;
    *word |= bit;
    FILE *out = c->trace_out ? c->trace_out : stderr;
    uint32_t lin = c->s.seg[SEG_CS].base + c->insn_eip;
    fprintf(out, "morph: warning: unknown instruction at eip 0x%08x:", c->insn_eip);
    for (unsigned k = 0; k < i->len; k++)
        fprintf(out, " %02x", cpu_lin_read(c, lin + k, 1, false) & 0xff);
    fprintf(out, " (#UD to the guest)\n");
}

void op_undefined(struct cpu *c, const struct insn *i)
{
    if (c->trace & TRACE_UNKNOWN)
        warn_unknown(c, i);
    cpu_ud(c);
}

void op_lock_ud(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_ud(c);
}

void op_ud2(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_ud(c);
}

/* ---- flag instructions ---- */
static void set_cf(struct cpu *c, bool cf)
{
    lf_set_flags(c, (lf_arith_flags(c) & ~EFL_CF) | (cf ? EFL_CF : 0));
}

void op_clc(struct cpu *c, const struct insn *i) { (void)i; set_cf(c, false); }
void op_stc(struct cpu *c, const struct insn *i) { (void)i; set_cf(c, true); }
void op_cmc(struct cpu *c, const struct insn *i) { (void)i; set_cf(c, !cpu_get_cf(c)); }
void op_cld(struct cpu *c, const struct insn *i) { (void)i; c->eflags_rest &= ~EFL_DF; }
void op_std(struct cpu *c, const struct insn *i) { (void)i; c->eflags_rest |= EFL_DF; }

/* CLI/STI: protected mode needs CPL <= IOPL, virtual-8086 mode IOPL 3. */
static void check_if_privilege(struct cpu *c)
{
    if (c->v86 ? iopl(c) < 3 : (c->pe && c->cpl > iopl(c)))
        cpu_gp(c, 0);
}

void op_cli(struct cpu *c, const struct insn *i)
{
    (void)i;
    check_if_privilege(c);
    c->eflags_rest &= ~EFL_IF;
}

/* STI delays interrupts by one instruction when it sets IF. */
void op_sti(struct cpu *c, const struct insn *i)
{
    (void)i;
    check_if_privilege(c);
    if (!(c->eflags_rest & EFL_IF))
        c->s.events.interrupt_shadow = 1;
    c->eflags_rest |= EFL_IF;
}

void op_pushf(struct cpu *c, const struct insn *i)
{
    if (c->v86 && iopl(c) < 3)
        cpu_gp(c, 0);
    uint32_t f = cpu_get_eflags(c) & ~(EFL_VM | EFL_RF);
    cpu_push(c, f & size_mask(i->opsize), i->opsize);
}

/* POPF: IOPL changes only at CPL 0, IF only at CPL <= IOPL; VM, VIF, VIP
 * never change; RF is cleared. */
void op_popf(struct cpu *c, const struct insn *i)
{
    if (c->v86 && iopl(c) < 3)
        cpu_gp(c, 0);
    uint32_t v = cpu_pop(c, i->opsize);
    uint32_t mask = EFL_ARITH | EFL_TF | EFL_DF | EFL_NT | EFL_RF | EFL_AC | EFL_ID;
    if (c->cpl == 0 && !c->v86)
        mask |= EFL_IOPL;
    if (c->cpl <= iopl(c) || !c->pe)
        mask |= EFL_IF;
    if (i->opsize == 2)
        mask &= 0xffff;
    cpu_set_eflags(c, v & ~EFL_RF, mask);
}

/* ---- port I/O (permission checks are in cpu_io_in/out) ---- */
static inline uint16_t io_port(const struct cpu *c, const struct insn *i)
{
    return (i->opcode & 8) ? (uint16_t)c->s.gpr[REG_EDX] : (uint16_t)i->imm;
}

void op_in(struct cpu *c, const struct insn *i)
{
    unsigned size = (i->opcode & 1) ? i->opsize : 1;
    reg_set(c, REG_EAX, size, cpu_io_in(c, io_port(c, i), size));
}

void op_out(struct cpu *c, const struct insn *i)
{
    unsigned size = (i->opcode & 1) ? i->opsize : 1;
    cpu_io_out(c, io_port(c, i), size, reg_get(c, REG_EAX, size));
}

/* ---- descriptor-table registers ---- */
static uint32_t ea_plus(const struct insn *i, uint32_t ea, uint32_t n)
{
    ea += n;
    return i->adsize == 2 ? (ea & 0xffff) : ea;
}

static void load_dtable(struct cpu *c, const struct insn *i, struct dtable_reg *d)
{
    require_mem(c, i);
    require_cpl0(c);
    uint32_t ea = insn_ea(c, i);
    uint16_t limit = cpu_read16(c, i->seg, ea);
    uint32_t base = cpu_read32(c, i->seg, ea_plus(i, ea, 2));
    d->limit = limit;
    d->base = i->opsize == 2 ? (base & 0xffffff) : base;
}

static void store_dtable(struct cpu *c, const struct insn *i, const struct dtable_reg *d)
{
    require_mem(c, i);
    uint32_t ea = insn_ea(c, i);
    cpu_check_write(c, i->seg, ea, 2);
    cpu_check_write(c, i->seg, ea_plus(i, ea, 2), 4);
    cpu_write16(c, i->seg, ea, d->limit);
    cpu_write32(c, i->seg, ea_plus(i, ea, 2), i->opsize == 2 ? (d->base & 0xffffff) : d->base);
}

void op_lgdt(struct cpu *c, const struct insn *i) { load_dtable(c, i, &c->s.gdtr); }
void op_lidt(struct cpu *c, const struct insn *i) { load_dtable(c, i, &c->s.idtr); }
void op_sgdt(struct cpu *c, const struct insn *i) { store_dtable(c, i, &c->s.gdtr); }
void op_sidt(struct cpu *c, const struct insn *i) { store_dtable(c, i, &c->s.idtr); }

/* LLDT LTR SLDT STR VERR VERW LAR LSL ARPL exist only in protected mode. */
static void require_protected(struct cpu *c)
{
    if (!c->pe || c->v86)
        cpu_ud(c);
}

void op_lldt(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    require_cpl0(c);
    cpu_lldt(c, (uint16_t)rm_read(c, i, 2));
}

void op_ltr(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    require_cpl0(c);
    cpu_ltr(c, (uint16_t)rm_read(c, i, 2));
}

/* Store a selector or MSW: a register gets operand size, memory 16 bits. */
static void store_word(struct cpu *c, const struct insn *i, uint32_t v)
{
    if (i->mod == 3)
        reg_set(c, i->rm, i->opsize, v);
    else
        cpu_write16(c, i->seg, insn_ea(c, i), (uint16_t)v);
}

void op_sldt(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    store_word(c, i, c->s.ldtr.selector);
}

void op_str(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    store_word(c, i, c->s.tr.selector);
}

void op_smsw(struct cpu *c, const struct insn *i)
{
    store_word(c, i, i->mod == 3 ? c->s.cr0 : (c->s.cr0 & 0xffff));
}

/* LMSW changes PE MP EM TS; it can set PE but not clear it. */
void op_lmsw(struct cpu *c, const struct insn *i)
{
    require_cpl0(c);
    uint32_t v = rm_read(c, i, 2) & 0xf;
    uint32_t cr0 = c->s.cr0;
    cpu_write_cr(c, 0, (cr0 & ~0xeu) | (v & 0xe) | ((cr0 | v) & CR0_PE));
}

void op_clts(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    cpu_write_cr(c, 0, c->s.cr0 & ~CR0_TS);
}

void op_invlpg(struct cpu *c, const struct insn *i)
{
    require_mem(c, i);
    require_cpl0(c);
    cpu_invlpg(c, c->s.seg[i->seg].base + insn_ea(c, i));
}

void op_wbinvd(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
}

/* 0F AE: fences (register forms /5 /6 /7) and CLFLUSH (/7 memory) are
 * no-ops for one in-order CPU; the rest (FXSAVE, LDMXCSR...) is #UD. */
void op_grp15(struct cpu *c, const struct insn *i)
{
    if (i->mod != 3 && i->reg != 7)
        cpu_ud(c);
}

/* ---- control and debug registers ---- */
void op_mov_RdCd(struct cpu *c, const struct insn *i)
{
    if (i->reg == 1 || i->reg > 4)
        cpu_ud(c);
    require_cpl0(c);
    c->s.gpr[i->rm] = cpu_read_cr(c, i->reg);
}

void op_mov_CdRd(struct cpu *c, const struct insn *i)
{
    if (i->reg == 1 || i->reg > 4)
        cpu_ud(c);
    require_cpl0(c);
    cpu_write_cr(c, i->reg, c->s.gpr[i->rm]);
}

/* DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD. */
static unsigned debug_reg(struct cpu *c, unsigned n)
{
    if (n == 4 || n == 5) {
        if (c->s.cr4 & CR4_DE)
            cpu_ud(c);
        n += 2;
    }
    return n;
}

void op_mov_RdDd(struct cpu *c, const struct insn *i)
{
    unsigned n = debug_reg(c, i->reg);
    require_cpl0(c);
    c->s.gpr[i->rm] = c->s.dr[n];
}

void op_mov_DdRd(struct cpu *c, const struct insn *i)
{
    unsigned n = debug_reg(c, i->reg);
    require_cpl0(c);
    c->s.dr[n] = c->s.gpr[i->rm];
}

/* ---- privileged and model-specific ---- */
void op_hlt(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    cpu_hlt(c);
}

void op_cpuid(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_cpuid(c);
}

void op_rdtsc(struct cpu *c, const struct insn *i)
{
    (void)i;
    if ((c->s.cr4 & CR4_TSD) && c->cpl != 0)
        cpu_gp(c, 0);
    cpu_rdtsc(c);
}

void op_rdmsr(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    cpu_rdmsr(c);
}

void op_wrmsr(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    cpu_wrmsr(c);
}

/* ---- selector checks: ARPL LAR LSL VERR VERW ---- */

/* Read the descriptor of a non-null selector from the GDT or LDT; false if
 * the selector is null or outside the table (these instructions then clear
 * ZF instead of faulting). */
static bool read_descriptor(struct cpu *c, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    if ((sel & ~3u) == 0)
        return false;
    const struct dtable_reg gdt = c->s.gdtr;
    uint32_t base = (sel & 4) ? c->s.ldtr.base : gdt.base;
    uint32_t limit = (sel & 4) ? c->s.ldtr.limit : gdt.limit;
    if ((sel & 4) && (c->s.ldtr.attr & SEGA_UNUSABLE))
        return false;
    if ((uint32_t)(sel | 7) > limit)
        return false;
    *lo = cpu_lin_read(c, base + (sel & ~7u), 4, true);
    *hi = cpu_lin_read(c, base + (sel & ~7u) + 4, 4, true);
    return true;
}

static void set_zf(struct cpu *c, bool zf)
{
    lf_set_flags(c, (lf_arith_flags(c) & ~EFL_ZF) | (zf ? EFL_ZF : 0));
}

/* Visible at the current privilege: conforming code always; otherwise
 * DPL >= max(CPL, RPL). */
static bool descriptor_visible(const struct cpu *c, uint16_t sel, uint32_t hi)
{
    unsigned dpl = (hi >> 13) & 3, rpl = sel & 3;
    bool conforming_code = (hi & 0x1800) == 0x1800 && (hi & 0x400);
    return conforming_code || (dpl >= c->cpl && dpl >= rpl);
}

/* Selector check shared by LAR (lar=true) and LSL. */
static bool selector_ok(struct cpu *c, uint16_t sel, uint32_t *lo, uint32_t *hi, bool lar)
{
    if (!read_descriptor(c, sel, lo, hi))
        return false;
    if (!(*hi & 0x1000)) {   /* system descriptor: only some types qualify */
        unsigned type = (*hi >> 8) & 15;
        static const uint16_t lar_types = 0x1a3e;   /* 1 2 3 4 5 9 B C */
        static const uint16_t lsl_types = 0x0a0e;   /* 1 2 3 9 B */
        if (!(((lar ? lar_types : lsl_types) >> type) & 1))
            return false;
    }
    return descriptor_visible(c, sel, *hi);
}

void op_lar(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    uint32_t lo, hi;
    uint16_t sel = (uint16_t)rm_read(c, i, 2);
    if (!selector_ok(c, sel, &lo, &hi, true)) {
        set_zf(c, false);
        return;
    }
    reg_set(c, i->reg, i->opsize, hi & 0x00ffff00u);
    set_zf(c, true);
}

void op_lsl(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    uint32_t lo, hi;
    uint16_t sel = (uint16_t)rm_read(c, i, 2);
    if (!selector_ok(c, sel, &lo, &hi, false)) {
        set_zf(c, false);
        return;
    }
    uint32_t limit = (lo & 0xffff) | (hi & 0x000f0000u);
    if (hi & 0x00800000u)
        limit = limit << 12 | 0xfff;
    reg_set(c, i->reg, i->opsize, limit);
    set_zf(c, true);
}

static void verify(struct cpu *c, const struct insn *i, bool write)
{
    require_protected(c);
    uint32_t lo, hi;
    uint16_t sel = (uint16_t)rm_read(c, i, 2);
    bool ok = read_descriptor(c, sel, &lo, &hi) && (hi & 0x1000) && descriptor_visible(c, sel, hi);
    if (ok) {
        bool code = hi & 0x800, rw = hi & 0x200;
        ok = write ? (!code && rw) : (!code || rw);
    }
    set_zf(c, ok);
}

void op_verr(struct cpu *c, const struct insn *i) { verify(c, i, false); }
void op_verw(struct cpu *c, const struct insn *i) { verify(c, i, true); }

void op_arpl(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    uint16_t d = (uint16_t)rm_read(c, i, 2), s = reg16(c, i->reg);
    bool adjust = (d & 3) < (s & 3);
    if (adjust)
        rm_write(c, i, 2, (d & ~3u) | (s & 3));
    set_zf(c, adjust);
}

/* ---- SYSENTER / SYSEXIT ----
 * Fast transitions to and from ring 0 through flat segments derived from
 * IA32_SYSENTER_CS: the descriptors in the GDT are not read; the caches get
 * the fixed values the SDM specifies (base 0, 4 GiB, 32-bit, accessed). */
#define SYSENTER_CODE_ATTR (SEGA_G | SEGA_DB | SEGA_P | SEGA_S | SEGA_CODE | SEGA_RW | SEGA_ACCESSED)
#define SYSENTER_DATA_ATTR (SEGA_G | SEGA_DB | SEGA_P | SEGA_S | SEGA_RW | SEGA_ACCESSED)

static void flat_cache(struct seg_cache *s, uint16_t sel, uint32_t attr, unsigned dpl)
{
    *s = (struct seg_cache){ .selector = sel, .base = 0, .limit = 0xffffffffu,
                             .attr = attr | (uint32_t)dpl << SEGA_DPL_SHIFT };
}

void op_sysenter(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint16_t cs = (uint16_t)c->s.msr.sysenter_cs;
    if (!c->pe || (cs & 0xfffc) == 0)
        cpu_gp(c, 0);
    c->eflags_rest &= ~(EFL_VM | EFL_IF | EFL_RF);
    flat_cache(&c->s.seg[SEG_CS], cs & 0xfffc, SYSENTER_CODE_ATTR, 0);
    flat_cache(&c->s.seg[SEG_SS], (uint16_t)((cs & 0xfffc) + 8), SYSENTER_DATA_ATTR, 0);
    c->s.gpr[REG_ESP] = (uint32_t)c->s.msr.sysenter_esp;
    c->s.eip = (uint32_t)c->s.msr.sysenter_eip;
    cpu_mode_changed(c);
}

void op_sysexit(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint16_t cs = (uint16_t)c->s.msr.sysenter_cs;
    if (!c->pe || c->cpl != 0 || (cs & 0xfffc) == 0)
        cpu_gp(c, 0);
    flat_cache(&c->s.seg[SEG_CS], (uint16_t)((cs + 16) | 3), SYSENTER_CODE_ATTR, 3);
    flat_cache(&c->s.seg[SEG_SS], (uint16_t)((cs + 24) | 3), SYSENTER_DATA_ATTR, 3);
    c->s.gpr[REG_ESP] = c->s.gpr[REG_ECX];
    c->s.eip = c->s.gpr[REG_EDX];
    cpu_mode_changed(c);
}

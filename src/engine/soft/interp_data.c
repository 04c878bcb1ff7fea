/* interp_data.c - data movement: MOV forms, MOVZX/MOVSX, LEA, XCHG,
 * CMPXCHG(8B), XADD, PUSH/POP (incl. PUSHA/POPA, ENTER/LEAVE), segment
 * loads (MOV Sreg, POP Sreg, LDS...), XLAT, LAHF/SAHF, NOP. */
#include "interp.h"

/* Stack offset delta bytes above ESP, wrapped to the stack size (SS.B). */
static inline uint32_t stack_off(const struct cpu *c, uint32_t delta)
{
    uint32_t sp = c->s.gpr[REG_ESP] + delta;
    return c->stack32 ? sp : (sp & 0xffff);
}

/* ---- MOV ---- */
DEFINE_RM_FORMS(op_mov_EbGb) { RM_PUT(1, reg8(c, i->reg)); return true; }
DEFINE_RM_FORMS(op_mov_EvGv_w) { RM_PUT(2, c->s.gpr[i->reg]); return true; }
DEFINE_RM_FORMS(op_mov_EvGv_d) { RM_PUT(4, c->s.gpr[i->reg]); return true; }
DEFINE_RM_FORMS(op_mov_GbEb) { set_reg8(c, i->reg, (uint8_t)RM_GET(1)); return true; }
DEFINE_RM_FORMS(op_mov_GvEv_w) { set_reg16(c, i->reg, (uint16_t)RM_GET(2)); return true; }
DEFINE_RM_FORMS(op_mov_GvEv_d) { c->s.gpr[i->reg] = RM_GET(4); return true; }
DEFINE_RM_FORMS(op_mov_EbIb) { RM_PUT(1, i->imm); return true; }
void op_mov_EvIz_w(struct cpu *c, const struct insn *i) { rm_write(c, i, 2, i->imm); }
DEFINE_RM_FORMS(op_mov_EvIz_d) { RM_PUT(4, i->imm); return true; }
void op_mov_r8_Ib(struct cpu *c, const struct insn *i)  { set_reg8(c, i->opcode & 7, (uint8_t)i->imm); }
void op_mov_r_Iv_w(struct cpu *c, const struct insn *i) { set_reg16(c, i->opcode & 7, (uint16_t)i->imm); }
void op_mov_r_Iv_d(struct cpu *c, const struct insn *i) { c->s.gpr[i->opcode & 7] = i->imm; }

/* moffs forms: the decoder put the offset in disp (no base, no index). */
void op_mov_ALOb(struct cpu *c, const struct insn *i)
{
    set_reg8(c, REG_EAX, cpu_read8(c, i->seg, insn_ea(c, i)));
}

void op_mov_eAXOv(struct cpu *c, const struct insn *i)
{
    reg_set(c, REG_EAX, i->opsize, mem_read(c, i->seg, insn_ea(c, i), i->opsize));
}

void op_mov_ObAL(struct cpu *c, const struct insn *i)
{
    cpu_write8(c, i->seg, insn_ea(c, i), reg8(c, REG_EAX));
}

void op_mov_OveAX(struct cpu *c, const struct insn *i)
{
    mem_write(c, i->seg, insn_ea(c, i), i->opsize, c->s.gpr[REG_EAX]);
}

/* MOV r/m, Sreg: a register destination gets the selector zero-extended. */
void op_mov_EwSw(struct cpu *c, const struct insn *i)
{
    if (i->reg >= SEG_COUNT)
        cpu_ud(c);
    uint16_t sel = c->s.seg[i->reg].selector;
    if (i->mod == 3)
        reg_set(c, i->rm, i->opsize, sel);
    else
        cpu_write16(c, i->seg, insn_ea(c, i), sel);
}

void op_mov_SwEw(struct cpu *c, const struct insn *i)
{
    if (i->reg >= SEG_COUNT || i->reg == SEG_CS)
        cpu_ud(c);
    cpu_load_seg(c, i->reg, (uint16_t)rm_read(c, i, 2));
}

DEFINE_RM_FORMS(op_movzx_GvEb) { reg_set(c, i->reg, i->opsize, RM_GET(1)); return true; }
DEFINE_RM_FORMS(op_movzx_GvEw) { reg_set(c, i->reg, i->opsize, RM_GET(2)); return true; }

DEFINE_RM_FORMS(op_movsx_GvEb)
{
    reg_set(c, i->reg, i->opsize, sign_extend(RM_GET(1), 1));
    return true;
}

DEFINE_RM_FORMS(op_movsx_GvEw)
{
    reg_set(c, i->reg, i->opsize, sign_extend(RM_GET(2), 2));
    return true;
}

DEFINE_RM_FORMS(op_lea)
{
    if (rm_is_reg(i, f))
        cpu_ud(c);
    reg_set(c, i->reg, i->opsize, rm_ea(c, i, f));
    return true;
}

/* ---- exchanges ---- */
void op_xchg_EbGb(struct cpu *c, const struct insn *i)
{
    uint8_t g = reg8(c, i->reg);
    if (i->mod == 3) {
        set_reg8(c, i->reg, reg8(c, i->rm));
        set_reg8(c, i->rm, g);
    } else {
        uint32_t ea = insn_ea(c, i);
        uint8_t m = (uint8_t)mem_read_rmw(c, i->seg, ea, 1);
        cpu_write8(c, i->seg, ea, g);
        set_reg8(c, i->reg, m);
    }
}

void op_xchg_EvGv(struct cpu *c, const struct insn *i)
{
    unsigned size = i->opsize;
    uint32_t g = reg_get(c, i->reg, size);
    if (i->mod == 3) {
        reg_set(c, i->reg, size, reg_get(c, i->rm, size));
        reg_set(c, i->rm, size, g);
    } else {
        uint32_t ea = insn_ea(c, i);
        uint32_t m = mem_read_rmw(c, i->seg, ea, size);
        mem_write(c, i->seg, ea, size, g);
        reg_set(c, i->reg, size, m);
    }
}

void op_xchg_eAX_r(struct cpu *c, const struct insn *i)
{
    unsigned r = i->opcode & 7, size = i->opsize;
    uint32_t a = reg_get(c, REG_EAX, size);
    reg_set(c, REG_EAX, size, reg_get(c, r, size));
    reg_set(c, r, size, a);
}

/* CMPXCHG: compare the accumulator with r/m; the destination is written
 * either way (with its own value on a mismatch), as on hardware. */
static void cmpxchg(struct cpu *c, const struct insn *i, unsigned size)
{
    uint32_t ea = 0, acc = reg_get(c, REG_EAX, size), src = reg_get(c, i->reg, size);
    uint32_t d = rm_read_rmw(c, i, size, &ea);
    bool eq = acc == d;
    uint32_t out = eq ? src : d;
    rm_write_back(c, i, size, ea, out);
    if (!eq)
        reg_set(c, REG_EAX, size, d);
    lf_record(c, LF_SUB, size, (acc - d) & size_mask(size), acc, d);
}

void op_cmpxchg_EbGb(struct cpu *c, const struct insn *i) { cmpxchg(c, i, 1); }
void op_cmpxchg_EvGv(struct cpu *c, const struct insn *i) { cmpxchg(c, i, i->opsize); }

void op_cmpxchg8b(struct cpu *c, const struct insn *i)
{
    require_mem(c, i);
    uint32_t ea = insn_ea(c, i);
    cpu_check_write(c, i->seg, ea, 8);   /* write access is checked first */
    uint64_t m = cpu_read64(c, i->seg, ea);
    uint64_t edx_eax = (uint64_t)c->s.gpr[REG_EDX] << 32 | c->s.gpr[REG_EAX];
    bool eq = m == edx_eax;
    cpu_write64(c, i->seg, ea, eq ? ((uint64_t)c->s.gpr[REG_ECX] << 32 | c->s.gpr[REG_EBX]) : m);
    if (!eq) {
        c->s.gpr[REG_EAX] = (uint32_t)m;
        c->s.gpr[REG_EDX] = (uint32_t)(m >> 32);
    }
    lf_set_flags(c, (lf_arith_flags(c) & ~EFL_ZF) | (eq ? EFL_ZF : 0));
}

static void xadd(struct cpu *c, const struct insn *i, unsigned size)
{
    uint32_t g = reg_get(c, i->reg, size), ea = 0;
    uint32_t d = rm_read_rmw(c, i, size, &ea);
    uint32_t sum = (d + g) & size_mask(size);
    if (i->mod == 3) {
        reg_set(c, i->reg, size, d);
        reg_set(c, i->rm, size, sum);   /* after: XADD r, r leaves the sum */
    } else {
        mem_write(c, i->seg, ea, size, sum);
        reg_set(c, i->reg, size, d);
    }
    lf_record(c, LF_ADD, size, sum, d, g);
}

void op_xadd_EbGb(struct cpu *c, const struct insn *i) { xadd(c, i, 1); }
void op_xadd_EvGv(struct cpu *c, const struct insn *i) { xadd(c, i, i->opsize); }

/* ---- stack ---- */
void op_push_r_w(struct cpu *c, const struct insn *i) { cpu_push(c, c->s.gpr[i->opcode & 7] & 0xffff, 2); }
/* PUSH/POP r32 try the 32-bit stack's fast path and leave everything else
 * to the general path, a tail call, so the fast path needs no frame. */
static __attribute__((noinline)) void push_r_d_general(struct cpu *c, const struct insn *i)
{
    cpu_push(c, c->s.gpr[i->opcode & 7], 4);
}

void op_push_r_d(struct cpu *c, const struct insn *i)
{
    uint8_t *p = cpu_stack_fast_ptr(c, -4, 4, true);
    if (!p) {
        push_r_d_general(c, i);
        return;
    }
    cpu_store(p, 4, c->s.gpr[i->opcode & 7]);
    c->s.gpr[REG_ESP] -= 4;
}
void op_pop_r_w(struct cpu *c, const struct insn *i)  { set_reg16(c, i->opcode & 7, (uint16_t)cpu_pop(c, 2)); }
static __attribute__((noinline)) void pop_r_d_general(struct cpu *c, const struct insn *i)
{
    c->s.gpr[i->opcode & 7] = cpu_pop(c, 4);
}

void op_pop_r_d(struct cpu *c, const struct insn *i)
{
    const uint8_t *p = cpu_stack_fast_ptr(c, 0, 4, false);
    if (!p) {
        pop_r_d_general(c, i);
        return;
    }
    uint32_t v = cpu_load(p, 4);
    c->s.gpr[REG_ESP] += 4;
    c->s.gpr[i->opcode & 7] = v;     /* after: POP ESP loads the value read */
}

void op_push_imm(struct cpu *c, const struct insn *i)
{
    cpu_push(c, i->imm & size_mask(i->opsize), i->opsize);
}

void op_push_Ev(struct cpu *c, const struct insn *i)
{
    cpu_push(c, rm_read(c, i, i->opsize), i->opsize);
}

/* POP r/m: a memory destination addressed through ESP sees ESP after the
 * pop (on a 16-bit stack: SP incremented with its wrap, ESP[31:16] kept). */
void op_pop_Ev(struct cpu *c, const struct insn *i)
{
    unsigned size = i->opsize;
    uint32_t v = cpu_stack_peek(c, 0, size);
    uint32_t esp = cpu_sp_moved(c, (int32_t)size);
    if (i->mod == 3) {
        c->s.gpr[REG_ESP] = esp;
        reg_set(c, i->rm, size, v);
        return;
    }
    uint32_t ea = insn_ea(c, i);
    if (i->base == REG_ESP)
        ea += esp - c->s.gpr[REG_ESP];    /* only 32-bit addressing has an ESP base */
    cpu_write(c, i->seg, ea, size, v);
    c->s.gpr[REG_ESP] = esp;
}

/* Segment register number encoded in bits 3-5 of PUSH/POP sreg opcodes. */
static inline unsigned opcode_sreg(const struct insn *i)
{
    return (i->opcode >> 3) & 7;
}

void op_push_sreg(struct cpu *c, const struct insn *i)
{
    cpu_push(c, c->s.seg[opcode_sreg(i)].selector, i->opsize);
}

/* POP Sreg: a 32-bit pop reads 4 bytes and keeps the low 16.  ESP moves by
 * the stack size the pop was made with: POP SS may change SS.B. */
void op_pop_sreg(struct cpu *c, const struct insn *i)
{
    uint16_t sel = (uint16_t)cpu_stack_peek(c, 0, i->opsize);
    uint32_t esp = cpu_sp_moved(c, i->opsize);
    cpu_load_seg(c, (int)opcode_sreg(i), sel);   /* SS: sets the interrupt shadow */
    c->s.gpr[REG_ESP] = esp;
}

void op_pusha(struct cpu *c, const struct insn *i)
{
    unsigned size = i->opsize;
    uint32_t sp = c->s.gpr[REG_ESP];
    for (unsigned r = 0; r < 8; r++) {
        uint32_t v = r == REG_ESP ? sp : c->s.gpr[r];
        cpu_write(c, SEG_SS, stack_off(c, -(r + 1) * size), size, v & size_mask(size));
    }
    cpu_stack_adjust(c, -(int32_t)(8 * size));
}

void op_popa(struct cpu *c, const struct insn *i)
{
    unsigned size = i->opsize;
    uint32_t v[8];
    for (unsigned r = 0; r < 8; r++)
        v[7 - r] = cpu_stack_peek(c, r * size, size);
    for (unsigned r = 0; r < 8; r++)
        if (r != REG_ESP)
            reg_set(c, r, size, v[r]);
    cpu_stack_adjust(c, (int32_t)(8 * size));
}

/* ENTER: the frame pointer (FrameTemp) is ESP after pushing (E)BP, so on a
 * 16-bit stack ESP[31:16] with the decremented SP; the display is copied
 * from (E)BP downwards, wrapped like SP on a 16-bit stack. */
void op_enter(struct cpu *c, const struct insn *i)
{
    unsigned size = i->opsize, level = i->imm2 & 31;
    uint32_t alloc = i->imm & 0xffff;
    uint32_t bp = c->s.gpr[REG_EBP];
    uint32_t delta = size;                        /* bytes pushed so far */
    cpu_stack_poke(c, delta, size, bp);
    uint32_t frame = cpu_sp_moved(c, -(int32_t)delta);
    if (level > 0) {
        for (unsigned k = 1; k < level; k++) {
            uint32_t v = cpu_read(c, SEG_SS, (bp - k * size) & cpu_sp_mask(c), size);
            delta += size;
            cpu_stack_poke(c, delta, size, v);
        }
        delta += size;
        cpu_stack_poke(c, delta, size, frame);
    }
    /* The CPU finishes with a write check at the new stack top (the host
     * faults there with W set even though nothing is stored). */
    cpu_check_write(c, SEG_SS, stack_off(c, -(delta + alloc)), size);
    reg_set(c, REG_EBP, size, frame);
    cpu_stack_adjust(c, -(int32_t)(delta + alloc));
}

void op_leave(struct cpu *c, const struct insn *i)
{
    unsigned size = i->opsize;
    uint32_t bp = c->stack32 ? c->s.gpr[REG_EBP] : (c->s.gpr[REG_EBP] & 0xffff);
    uint32_t v = cpu_read(c, SEG_SS, bp, size);
    if (c->stack32)
        c->s.gpr[REG_ESP] = bp + size;
    else
        set_reg16(c, REG_ESP, (uint16_t)(bp + size));
    reg_set(c, REG_EBP, size, v);
}

/* ---- far pointer loads: LES LDS LSS LFS LGS ---- */
void op_lseg(struct cpu *c, const struct insn *i)
{
    int sreg;
    switch (i->opcode) {
    case 0xc4:  sreg = SEG_ES; break;
    case 0xc5:  sreg = SEG_DS; break;
    case 0x1b2: sreg = SEG_SS; break;
    case 0x1b4: sreg = SEG_FS; break;
    default:    sreg = SEG_GS; break;
    }
    require_mem(c, i);
    uint32_t ea = insn_ea(c, i);
    uint32_t off = mem_read(c, i->seg, ea, i->opsize);
    uint32_t ea2 = ea + i->opsize;
    uint16_t sel = cpu_read16(c, i->seg, i->adsize == 2 ? (ea2 & 0xffff) : ea2);
    cpu_load_seg(c, sreg, sel);
    reg_set(c, i->reg, i->opsize, off);
}

/* ---- misc ---- */
void op_xlat(struct cpu *c, const struct insn *i)
{
    uint32_t off = areg(c, i, REG_EBX) + reg8(c, REG_EAX);
    set_reg8(c, REG_EAX, cpu_read8(c, i->seg, i->adsize == 2 ? (off & 0xffff) : off));
}

#define LAHF_BITS (EFL_SF | EFL_ZF | EFL_AF | EFL_PF | EFL_CF)

void op_lahf(struct cpu *c, const struct insn *i)
{
    (void)i;
    set_reg8(c, 4, (uint8_t)((cpu_get_eflags(c) & LAHF_BITS) | EFL_FIXED));   /* AH */
}

void op_sahf(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_set_eflags(c, reg8(c, 4), LAHF_BITS);
}

void op_nop(struct cpu *c, const struct insn *i)
{
    (void)c;
    (void)i;
}

/* Hint NOPs and PREFETCH: the memory operand is not accessed. */
void op_nop_Ev(struct cpu *c, const struct insn *i)
{
    (void)c;
    (void)i;
}

/* BOUND: #BR when the signed index lies outside [lower, upper]. */
void op_bound(struct cpu *c, const struct insn *i)
{
    require_mem(c, i);
    unsigned size = i->opsize;
    uint32_t ea = insn_ea(c, i), ea2 = ea + size;
    int32_t lo = (int32_t)sign_extend(mem_read(c, i->seg, ea, size), size);
    int32_t hi = (int32_t)sign_extend(mem_read(c, i->seg, i->adsize == 2 ? (ea2 & 0xffff) : ea2, size), size);
    int32_t idx = (int32_t)sign_extend(reg_get(c, i->reg, size), size);
    if (idx < lo || idx > hi)
        cpu_raise(c, EXC_BR, -1);
}

/* interp_ctrl.c - control transfer: Jcc, JMP, CALL, RET (near and far),
 * IRET, INT n / INT3 / INTO / INT1, LOOP*, JCXZ. */
#include "interp.h"

/* A near target truncated to the operand size and checked against CS.limit,
 * without jumping yet (so a push can come between check and jump). */
static inline uint32_t near_target(struct cpu *c, const struct insn *i, uint32_t target)
{
    if (i->opsize == 2)
        target &= 0xffff;
    if (target > c->s.seg[SEG_CS].limit)
        cpu_gp(c, 0);
    return target;
}

void op_jcc(struct cpu *c, const struct insn *i)
{
    if (cpu_cond(c, i->opcode & 15))
        jump_near(c, i, c->s.eip + i->imm);
}

/* Jcc with a constant condition: decided inline when that is cheap and the
 * target is a plain 32-bit one inside CS; anything else (the general
 * condition, a #GP) is op_jcc's, a tail call, so the fast path needs no
 * stack frame. */
#define JCC_FORM_DEFINE(cc)                                                   \
    void op_jcc_##cc(struct cpu *c, const struct insn *i)                     \
    {                                                                         \
        bool taken;                                                           \
        if (!cpu_cond_known(c, cc, &taken)) {                                 \
            op_jcc(c, i);                                                     \
            return;                                                           \
        }                                                                     \
        if (taken) {                                                          \
            uint32_t target = c->s.eip + i->imm;                              \
            if (i->opsize != 4 || target > c->s.seg[SEG_CS].limit) {          \
                op_jcc(c, i);                                                 \
                return;                                                       \
            }                                                                 \
            c->s.eip = target;                                                \
        }                                                                     \
    }
JCC_FORMS(JCC_FORM_DEFINE)

void op_jmp_J(struct cpu *c, const struct insn *i)
{
    jump_near(c, i, c->s.eip + i->imm);
}

void op_jmp_Ev(struct cpu *c, const struct insn *i)
{
    jump_near(c, i, rm_read(c, i, i->opsize));
}

static void call_near(struct cpu *c, const struct insn *i, uint32_t target)
{
    /* The return address's stack slot is checked before the target (the
     * host CPU: with both bad, #SS comes first; a bad target alone writes
     * nothing). */
    cpu_check_write(c, SEG_SS, (c->s.gpr[REG_ESP] - i->opsize) & cpu_sp_mask(c), i->opsize);
    target = near_target(c, i, target);
    cpu_push(c, c->s.eip & size_mask(i->opsize), i->opsize);
    c->s.eip = target;
}

/* CALL rel and RET with a 32-bit operand size try the 32-bit stack's fast
 * path; anything else (a fault included) goes to the general path, a tail
 * call, so the fast path needs no frame. */
static __attribute__((noinline)) void call_J_general(struct cpu *c, const struct insn *i)
{
    call_near(c, i, c->s.eip + i->imm);
}

void op_call_J(struct cpu *c, const struct insn *i)
{
    uint32_t target = c->s.eip + i->imm;
    uint8_t *p;
    if (i->opsize != 4 || target > c->s.seg[SEG_CS].limit ||
        !(p = cpu_stack_fast_ptr(c, -4, 4, true))) {
        call_J_general(c, i);
        return;
    }
    cpu_store(p, 4, c->s.eip);
    c->s.gpr[REG_ESP] -= 4;
    c->s.eip = target;
}

void op_call_Ev(struct cpu *c, const struct insn *i) { call_near(c, i, rm_read(c, i, i->opsize)); }

/* RET / RET imm16 (C3 decodes imm = 0). */
static __attribute__((noinline)) void ret_near_general(struct cpu *c, const struct insn *i)
{
    uint32_t target = near_target(c, i, cpu_stack_peek(c, 0, i->opsize));
    cpu_stack_adjust(c, (int32_t)(i->opsize + (i->imm & 0xffff)));
    c->s.eip = target;
}

void op_ret_near(struct cpu *c, const struct insn *i)
{
    const uint8_t *p = i->opsize == 4 ? cpu_stack_fast_ptr(c, 0, 4, false) : NULL;
    uint32_t target;
    if (!p || (target = cpu_load(p, 4)) > c->s.seg[SEG_CS].limit) {
        ret_near_general(c, i);
        return;
    }
    c->s.gpr[REG_ESP] += 4 + (i->imm & 0xffff);
    c->s.eip = target;
}

void op_ret_far(struct cpu *c, const struct insn *i)
{
    cpu_far_ret(c, i->opsize, (uint16_t)i->imm);
}

void op_callf_Ap(struct cpu *c, const struct insn *i)
{
    cpu_far_call(c, i->imm2, i->imm, i->opsize);
}

void op_jmpf_Ap(struct cpu *c, const struct insn *i)
{
    cpu_far_jmp(c, i->imm2, i->imm);
}

/* m16:16 / m16:32 far pointer operand. */
static void read_far_ptr(struct cpu *c, const struct insn *i, uint16_t *sel, uint32_t *off)
{
    require_mem(c, i);
    uint32_t ea = insn_ea(c, i), ea2 = ea + i->opsize;
    *off = mem_read(c, i->seg, ea, i->opsize);
    *sel = cpu_read16(c, i->seg, i->adsize == 2 ? (ea2 & 0xffff) : ea2);
}

void op_callf_Ep(struct cpu *c, const struct insn *i)
{
    uint16_t sel;
    uint32_t off;
    read_far_ptr(c, i, &sel, &off);
    cpu_far_call(c, sel, off, i->opsize);
}

void op_jmpf_Ep(struct cpu *c, const struct insn *i)
{
    uint16_t sel;
    uint32_t off;
    read_far_ptr(c, i, &sel, &off);
    cpu_far_jmp(c, sel, off);
}

void op_iret(struct cpu *c, const struct insn *i)
{
    cpu_iret(c, i->opsize);
}

/* INT n in virtual-8086 mode needs IOPL 3 (no VME). */
void op_int(struct cpu *c, const struct insn *i)
{
    if (c->v86 && iopl(c) < 3)
        cpu_gp(c, 0);
    cpu_soft_interrupt(c, (uint8_t)i->imm, 0);
}

void op_int3(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_soft_interrupt(c, EXC_BP, 1);
}

void op_into(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (cpu_get_of(c))
        cpu_soft_interrupt(c, EXC_OF, 2);
}

void op_int1(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_soft_interrupt(c, EXC_DB, 3);
}

/* LOOP (E2), LOOPE (E1), LOOPNE (E0): the counter is CX or ECX by address size. */
void op_loop(struct cpu *c, const struct insn *i)
{
    uint32_t count = (areg(c, i, REG_ECX) - 1) & (i->adsize == 2 ? 0xffff : 0xffffffffu);
    bool take = count != 0;
    if (take && i->opcode == 0xe1)
        take = cpu_get_zf(c);
    else if (take && i->opcode == 0xe0)
        take = !cpu_get_zf(c);
    uint32_t target = take ? near_target(c, i, c->s.eip + i->imm) : c->s.eip;
    set_areg(c, i, REG_ECX, count);
    c->s.eip = target;
}

void op_jcxz(struct cpu *c, const struct insn *i)
{
    if (areg(c, i, REG_ECX) == 0)
        jump_near(c, i, c->s.eip + i->imm);
}

/* interp_forms.c - the most specific handler for a decoded instruction.
 *
 * The decoder names each instruction's general handler (opcodes.def); for
 * the hottest ones the interpreter also has forms that know the shape of
 * the r/m operand (interp.h: RM_REG, RM_BASE, RM_SIB, RM_ABS) or the Jcc condition as
 * constants.  Picking the form once, when the insn is decoded and cached,
 * takes those tests off every execution. */
#include "interp.h"

struct rm_forms {
    insn_exec_fn any, reg, base, sib, abs;
};

#define RM_FORM_ROW(name) { name, name##__reg, name##__base, name##__sib, name##__abs },
static const struct rm_forms rm_forms[] = { RM_FORM_HANDLERS(RM_FORM_ROW) };

#define JCC_FORM_ROW(cc) op_jcc_##cc,
static const insn_exec_fn jcc_forms[16] = { JCC_FORMS(JCC_FORM_ROW) };

insn_exec_fn interp_pick_form(const struct insn *i)
{
    if (i->exec == op_jcc)
        return jcc_forms[i->opcode & 15];
    for (unsigned k = 0; k < sizeof(rm_forms) / sizeof(rm_forms[0]); k++) {
        if (rm_forms[k].any != i->exec)
            continue;
        const struct rm_forms *r = &rm_forms[k];
        if (i->mod == 3)
            return r->reg;
        if (i->adsize != 4)
            return i->exec;
        if (i->index == INSN_NOREG)
            return i->base == INSN_NOREG ? r->abs : r->base;
        return i->base == INSN_NOREG ? i->exec : r->sib;
    }
    return i->exec;
}

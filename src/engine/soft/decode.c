/* decode.c - the table-driven instruction decoder (see decode.h, opcodes.def). */
#include "decode.h"

#include <stddef.h>

#include "interp.h"
#include "opcodes.h"

static const struct opcode_entry op_table[OPCODE_COUNT] = {
#define OP(code, mnem, form, h16, h32) [code] = { mnem, form, h16, h32 },
#include "opcodes.def"
};

static const struct opcode_entry group_table[OPGROUP_COUNT][8] = {
#define GRP(g, r, mnem, form, h16, h32) [OPGROUP_##g][r] = { mnem, form, h16, h32 },
#include "opcodes.def"
};

const struct opcode_entry *opcode_entry(unsigned code)
{
    return &op_table[code % OPCODE_COUNT];
}

const struct opcode_entry *opcode_group_entry(int group, unsigned reg)
{
    return &group_table[group][reg & 7];
}

const char *insn_mnemonic(const struct insn *i)
{
    const struct opcode_entry *e = opcode_entry(i->opcode);
    int g = F_GROUP_OF(e->form);
    if (g >= 0)
        e = opcode_group_entry(g, i->reg);
    return e->mnem ? e->mnem : "(bad)";
}

/* Cursor over the instruction bytes; every read checks both limits. */
struct cursor {
    const uint8_t *b;
    unsigned pos, avail;
};

#define MAX_INSN_LEN 15

static enum decode_status need(const struct cursor *k, unsigned n)
{
    if (k->pos + n > MAX_INSN_LEN)
        return DECODE_TOO_LONG;
    if (k->pos + n > k->avail)
        return DECODE_TRUNCATED;
    return DECODE_OK;
}

/* Little-endian read of n bytes (caller checked need()). */
static uint32_t take(struct cursor *k, unsigned n)
{
    uint32_t v = 0;
    for (unsigned j = 0; j < n; j++)
        v |= (uint32_t)k->b[k->pos + j] << (8 * j);
    k->pos += n;
    return v;
}

#define TAKE(var, k, n) do {                          \
        enum decode_status st_ = need((k), (n));      \
        if (st_ != DECODE_OK)                         \
            return st_;                               \
        (var) = take((k), (n));                       \
    } while (0)

static enum decode_status decode_modrm16(struct insn *i, struct cursor *k)
{
    static const uint8_t base16[8]  = { REG_EBX, REG_EBX, REG_EBP, REG_EBP,
                                        INSN_NOREG, INSN_NOREG, REG_EBP, REG_EBX };
    static const uint8_t index16[8] = { REG_ESI, REG_EDI, REG_ESI, REG_EDI,
                                        REG_ESI, REG_EDI, INSN_NOREG, INSN_NOREG };
    uint32_t d = 0;
    i->base = base16[i->rm];
    i->index = index16[i->rm];
    if (i->mod == 0 && i->rm == 6) {
        i->base = INSN_NOREG;
        TAKE(d, k, 2);
    } else if (i->mod == 1) {
        TAKE(d, k, 1);
        d = (uint32_t)(int8_t)d;
    } else if (i->mod == 2) {
        TAKE(d, k, 2);
    }
    i->disp = (int32_t)d;
    i->seg = i->base == REG_EBP ? SEG_SS : SEG_DS;
    return DECODE_OK;
}

static enum decode_status decode_modrm32(struct insn *i, struct cursor *k)
{
    uint32_t d = 0;
    i->base = i->rm;
    i->index = INSN_NOREG;
    if (i->rm == 4) {
        uint32_t sib;
        TAKE(sib, k, 1);
        i->base = sib & 7;
        i->index = (sib >> 3) & 7;
        i->scale = (uint8_t)(sib >> 6);
        if (i->index == REG_ESP)
            i->index = INSN_NOREG;
        if (i->base == REG_EBP && i->mod == 0) {
            i->base = INSN_NOREG;
            TAKE(d, k, 4);
        }
    } else if (i->rm == 5 && i->mod == 0) {
        i->base = INSN_NOREG;
        TAKE(d, k, 4);
    }
    if (i->mod == 1) {
        TAKE(d, k, 1);
        d = (uint32_t)(int8_t)d;
    } else if (i->mod == 2) {
        TAKE(d, k, 4);
    }
    i->disp = (int32_t)d;
    i->seg = (i->base == REG_ESP || i->base == REG_EBP) ? SEG_SS : SEG_DS;
    return DECODE_OK;
}

static enum decode_status decode_immediates(struct insn *i, struct cursor *k, uint32_t form)
{
    uint32_t v;
    if (form & F_IB) {
        TAKE(i->imm, k, 1);
    } else if (form & F_IBS) {
        TAKE(v, k, 1);
        i->imm = (uint32_t)(int8_t)v;
    } else if (form & F_IW) {
        TAKE(i->imm, k, 2);
    } else if (form & F_IZ) {
        TAKE(i->imm, k, i->opsize);
    } else if (form & F_IO) {
        TAKE(v, k, i->adsize);
        i->disp = (int32_t)v;
        i->base = i->index = INSN_NOREG;
    } else if (form & F_IP) {
        TAKE(i->imm, k, i->opsize);
        TAKE(v, k, 2);
        i->imm2 = (uint16_t)v;
    } else if (form & F_IE) {
        TAKE(i->imm, k, 2);
        TAKE(v, k, 1);
        i->imm2 = (uint16_t)v;
    } else if (form & F_I1) {
        i->imm = 1;
    }
    return DECODE_OK;
}

/* Prefixes; leaves the cursor on the opcode. */
static enum decode_status decode_prefixes(struct insn *i, struct cursor *k, int *seg_override)
{
    for (;;) {
        enum decode_status st = need(k, 1);
        if (st != DECODE_OK)
            return st;
        switch (k->b[k->pos]) {
        case 0x66: i->prefixes |= PFX_OPSIZE; break;
        case 0x67: i->prefixes |= PFX_ADSIZE; break;
        case 0xf0: i->prefixes |= PFX_LOCK; break;
        /* The last of F2/F3 wins, as on hardware. */
        case 0xf2: i->prefixes = (uint8_t)((i->prefixes & ~PFX_REP) | PFX_REPNE); break;
        case 0xf3: i->prefixes = (uint8_t)((i->prefixes & ~PFX_REPNE) | PFX_REP); break;
        case 0x26: *seg_override = SEG_ES; break;
        case 0x2e: *seg_override = SEG_CS; break;
        case 0x36: *seg_override = SEG_SS; break;
        case 0x3e: *seg_override = SEG_DS; break;
        case 0x64: *seg_override = SEG_FS; break;
        case 0x65: *seg_override = SEG_GS; break;
        default:
            return DECODE_OK;
        }
        k->pos++;
    }
}

enum decode_status decode_insn(struct insn *out, const uint8_t *bytes, unsigned avail, bool code32)
{
    struct insn i = { .base = INSN_NOREG, .index = INSN_NOREG, .seg = SEG_DS };
    struct cursor k = { bytes, 0, avail };
    int seg_override = -1;
    enum decode_status st;
    uint32_t op;

    if ((st = decode_prefixes(&i, &k, &seg_override)) != DECODE_OK)
        return st;
    i.opsize = (code32 ^ !!(i.prefixes & PFX_OPSIZE)) ? 4 : 2;
    i.adsize = (code32 ^ !!(i.prefixes & PFX_ADSIZE)) ? 4 : 2;

    TAKE(op, &k, 1);
    if (op == 0x0f) {
        TAKE(op, &k, 1);
        op |= 0x100;
    }
    i.opcode = (uint16_t)op;

    const struct opcode_entry *e = &op_table[op];
    uint32_t form = e->form;
    int group = F_GROUP_OF(form);
    if ((form & F_M) || group >= 0) {
        uint32_t m;
        TAKE(m, &k, 1);
        i.mod = (uint8_t)(m >> 6);
        i.reg = (m >> 3) & 7;
        i.rm = m & 7;
        if (form & F_MR)
            i.mod = 3;
        if (i.mod != 3) {
            st = i.adsize == 4 ? decode_modrm32(&i, &k) : decode_modrm16(&i, &k);
            if (st != DECODE_OK)
                return st;
        }
    }
    if ((st = decode_immediates(&i, &k, form)) != DECODE_OK)
        return st;
    if (group >= 0) {
        e = &group_table[group][i.reg];
        form |= e->form;
        if ((st = decode_immediates(&i, &k, e->form)) != DECODE_OK)
            return st;
    }
    if (seg_override >= 0) {
        i.seg = (uint8_t)seg_override;
        i.prefixes |= PFX_SEG;
    }

    i.exec = i.opsize == 4 ? e->exec32 : e->exec16;
    if (!i.exec)
        i.exec = op_undefined;
    else if ((i.prefixes & PFX_LOCK) && (!(form & F_LK) || i.mod == 3))
        i.exec = op_lock_ud;
    else
        i.exec = interp_pick_form(&i);
    i.len = (uint8_t)k.pos;
    *out = i;
    return DECODE_OK;
}

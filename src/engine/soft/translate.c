/* translate.c - guest blocks to x86-64 host code (see translate.h).
 *
 * Shape of a translation:
 *
 *   prologue     save callee-saved registers, R15 = cpu, (guest flags to R12
 *                when an early instruction reads them), guest registers in
 *   insn 0..n-1  main line, one piece per instruction
 *   end exit     EIP = after the last insn, return n | FELL
 *   stubs        out of line: taken branches, and for each instruction
 *                whose inline path can miss, "run it in the interpreter"
 *   epilogue
 *
 * Guest flags are in one of three places while the code runs, tracked at
 * translation time: still in cpu->lf (FL_MEM, before anything touched
 * them), in host EFLAGS (FL_HOST) or saved in R12 (FL_R12, because glue
 * code - the TLB check - clobbers EFLAGS).  Every exit and interpreter
 * call stores them from where they are; an instruction that reads flags
 * gets them into EFLAGS first.
 */
#include "engine/soft/translate.h"

#include <stddef.h>
#include <string.h>

#include "engine/soft/flags.h"
#include "engine/soft/interp.h"
#include "engine/soft/opcodes.h"
#include "engine/soft/soft_priv.h"
#include "engine/soft/tcache.h"
#include "engine/soft/x64.h"

_Static_assert(sizeof(struct tlb_entry) == 32, "the TLB index is (lin >> 7) scaled by the 32-byte entry");
_Static_assert(((TLB_SIZE - 1) << 5) < 0x80000000u, "the TLB index is (lin >> 7) & ((TLB_SIZE - 1) << 5)");

/* Guest register -> host register. */
static const uint8_t host_reg[8] = { X_RAX, X_RCX, X_RDX, X_RBX, X_R14, X_RBP, X_RSI, X_RDI };
#define CPU_REG X_R15
#define FLAGS_SAVE X_R12
#define TLB_REG X_R13          /* cpu->tlb_now: CPL cannot change inside translated code */
#define GROUP_REG X_R11        /* host addend of the open access group (plan_groups) */

#define OFF(field) ((int32_t)offsetof(struct cpu, field))
/* soft_engine fields: the cpu is its first member, so R15 points at both */
#define SE_OFF(field) ((int32_t)offsetof(struct soft_engine, field))

/* ---- what the translator knows of an instruction ---- */

enum tr_kind {
    K_HELPER,       /* run by the interpreter */
    K_MODRM,        /* ModRM form, re-encoded with the r/m operand remapped */
    K_ACC_IMM,      /* AL/eAX, imm: copied */
    K_COPY1,        /* one opcode byte, no operands to remap: copied */
    K_MOV_RIMM,     /* B0-BF */
    K_INCDEC_R,     /* 40-4F */
    K_XCHG_AX,      /* 91-97 */
    K_BSWAP,        /* 0F C8-CF */
    K_LEA,
    K_MOFFS,        /* A0-A3 */
    K_JCC,
    K_JMP,
    K_CALL,
    K_RET,
    K_PUSH_R, K_POP_R, K_PUSH_I, K_LEAVE,
    K_CALL_IND, K_JMP_IND,   /* FF /2, FF /4, register forms */
    K_HELPER_EXIT,  /* interpreted, then the translation ends (may load segments) */
};

/* Attributes of K_MODRM instructions. */
#define A_REGOP  0x01u   /* ModRM.reg names a register (else an opcode extension) */
#define A_BYTE   0x02u   /* byte operands (reg and r/m) */
#define A_RM8    0x04u   /* r/m is a byte, reg a full register (MOVZX/MOVSX) */
#define A_RM16   0x08u   /* r/m is a word (MOVZX/MOVSX) */
#define A_R      0x10u   /* memory form reads */
#define A_W      0x20u   /* memory form writes */
#define A_NOMEM  0x40u   /* memory form is not translated */
#define F_RD     0x100u  /* reads the arithmetic flags */
#define F_WA     0x200u  /* writes all arithmetic flags without reading them */
#define F_PW     0x400u  /* writes some, keeps the others (INC, rotates, counts that may be 0) */
#define F_MULFIX 0x1000u /* MUL/IMUL: the host's SF ZF AF PF follow no rule: where they are
                            live they are made the interpreter's (SF ZF PF of the low half) */
#define F_UND    0x800u  /* leaves flags the SDM calls undefined (the host's values, not the
                            interpreter's): native only where no one can see them */

struct tr_info {
    uint8_t kind;
    uint16_t attr;
};

#define ALU_INFO(b, fl, cmp_rw) \
    [b + 0] = { K_MODRM, A_REGOP | A_BYTE | cmp_rw | fl }, \
    [b + 1] = { K_MODRM, A_REGOP | cmp_rw | fl }, \
    [b + 2] = { K_MODRM, A_REGOP | A_BYTE | A_R | fl }, \
    [b + 3] = { K_MODRM, A_REGOP | A_R | fl }, \
    [b + 4] = { K_ACC_IMM, fl }, [b + 5] = { K_ACC_IMM, fl }

#define RW (A_R | A_W)

static const struct tr_info tr_table[512] = {
    ALU_INFO(0x00, F_WA, RW), ALU_INFO(0x08, F_WA, RW), ALU_INFO(0x10, F_RD, RW),
    ALU_INFO(0x18, F_RD, RW), ALU_INFO(0x20, F_WA, RW), ALU_INFO(0x28, F_WA, RW),
    ALU_INFO(0x30, F_WA, RW), ALU_INFO(0x38, F_WA, A_R),
    [0x07] = { K_HELPER_EXIT, 0 }, [0x1f] = { K_HELPER_EXIT, 0 },   /* POP ES/DS */
    [0x40 ... 0x4f] = { K_INCDEC_R, F_PW },
    [0x50 ... 0x57] = { K_PUSH_R, 0 }, [0x58 ... 0x5f] = { K_POP_R, 0 },
    [0x68] = { K_PUSH_I, 0 }, [0x6a] = { K_PUSH_I, 0 },
    [0x69] = { K_MODRM, A_REGOP | A_R | F_WA | F_UND }, [0x6b] = { K_MODRM, A_REGOP | A_R | F_WA | F_UND },
    [0x70 ... 0x7f] = { K_JCC, F_RD },
    [0x80] = { K_MODRM, A_BYTE }, [0x81] = { K_MODRM, 0 }, [0x83] = { K_MODRM, 0 },
    [0x84] = { K_MODRM, A_REGOP | A_BYTE | A_R | F_WA }, [0x85] = { K_MODRM, A_REGOP | A_R | F_WA },
    [0x86] = { K_MODRM, A_REGOP | A_BYTE | RW }, [0x87] = { K_MODRM, A_REGOP | RW },
    [0x88] = { K_MODRM, A_REGOP | A_BYTE | A_W }, [0x89] = { K_MODRM, A_REGOP | A_W },
    [0x8a] = { K_MODRM, A_REGOP | A_BYTE | A_R }, [0x8b] = { K_MODRM, A_REGOP | A_R },
    [0x8d] = { K_LEA, 0 },
    [0x90] = { K_COPY1, 0 }, [0x91 ... 0x97] = { K_XCHG_AX, 0 },
    [0x98] = { K_COPY1, 0 }, [0x99] = { K_COPY1, 0 },
    [0x9e] = { K_COPY1, F_PW }, [0x9f] = { K_COPY1, F_RD },   /* SAHF keeps OF; LAHF reads */
    [0xa0 ... 0xa3] = { K_MOFFS, 0 },
    [0xa8] = { K_ACC_IMM, F_WA }, [0xa9] = { K_ACC_IMM, F_WA },
    [0xb0 ... 0xbf] = { K_MOV_RIMM, 0 },
    [0xc0] = { K_MODRM, A_BYTE }, [0xc1] = { K_MODRM, 0 },
    [0xc2] = { K_RET, 0 }, [0xc3] = { K_RET, 0 },
    [0xc4] = { K_HELPER_EXIT, 0 }, [0xc5] = { K_HELPER_EXIT, 0 },   /* LES/LDS */
    [0xc6] = { K_MODRM, A_BYTE }, [0xc7] = { K_MODRM, 0 },
    [0xc9] = { K_LEAVE, 0 },
    [0xd0] = { K_MODRM, A_BYTE }, [0xd1] = { K_MODRM, 0 },
    [0xd2] = { K_MODRM, A_BYTE }, [0xd3] = { K_MODRM, 0 },
    [0xe8] = { K_CALL, 0 }, [0xe9] = { K_JMP, 0 }, [0xeb] = { K_JMP, 0 },
    [0xf5] = { K_COPY1, F_RD }, [0xf8] = { K_COPY1, F_PW }, [0xf9] = { K_COPY1, F_PW },
    [0xf6] = { K_MODRM, A_BYTE }, [0xf7] = { K_MODRM, 0 },
    [0xfe] = { K_MODRM, A_BYTE }, [0xff] = { K_MODRM, 0 },
    [0x140 ... 0x14f] = { K_MODRM, A_REGOP | A_R | F_RD },            /* CMOVcc */
    [0x180 ... 0x18f] = { K_JCC, F_RD },
    [0x190 ... 0x19f] = { K_MODRM, A_BYTE | A_W | F_RD },             /* SETcc */
    [0x1a1] = { K_HELPER_EXIT, 0 }, [0x1a9] = { K_HELPER_EXIT, 0 },   /* POP FS/GS */
    [0x1a3] = { K_MODRM, A_REGOP | A_NOMEM | F_PW | F_UND },                  /* BT r/m, r */
    [0x1ab] = { K_MODRM, A_REGOP | A_NOMEM | F_PW | F_UND },
    [0x1b3] = { K_MODRM, A_REGOP | A_NOMEM | F_PW | F_UND },
    [0x1bb] = { K_MODRM, A_REGOP | A_NOMEM | F_PW | F_UND },
    [0x1a4] = { K_MODRM, A_REGOP | RW | F_PW | F_UND }, [0x1a5] = { K_MODRM, A_REGOP | RW | F_PW | F_UND },
    [0x1ac] = { K_MODRM, A_REGOP | RW | F_PW | F_UND }, [0x1ad] = { K_MODRM, A_REGOP | RW | F_PW | F_UND },
    [0x1af] = { K_MODRM, A_REGOP | A_R | F_WA | F_UND },
    [0x1b0] = { K_MODRM, A_REGOP | A_BYTE | RW | F_WA }, [0x1b1] = { K_MODRM, A_REGOP | RW | F_WA },
    [0x1b2] = { K_HELPER_EXIT, 0 }, [0x1b4] = { K_HELPER_EXIT, 0 }, [0x1b5] = { K_HELPER_EXIT, 0 },
    [0x1b6] = { K_MODRM, A_REGOP | A_RM8 | A_R }, [0x1b7] = { K_MODRM, A_REGOP | A_RM16 | A_R },
    [0x1ba] = { K_MODRM, 0 },
    [0x1bc] = { K_MODRM, A_REGOP | A_R | F_PW | F_UND }, [0x1bd] = { K_MODRM, A_REGOP | A_R | F_PW | F_UND },
    [0x1be] = { K_MODRM, A_REGOP | A_RM8 | A_R }, [0x1bf] = { K_MODRM, A_REGOP | A_RM16 | A_R },
    [0x1c0] = { K_MODRM, A_REGOP | A_BYTE | RW | F_WA }, [0x1c1] = { K_MODRM, A_REGOP | RW | F_WA },
    [0x1c8 ... 0x1cf] = { K_BSWAP, 0 },
};

/* The group opcodes: their entry by ModRM.reg.  kind K_HELPER when the
 * extension is not translated. */
/* MUL/IMUL: unless the host's SF ZF AF PF after them follow a rule the
 * interpreter takes (host_flags.h), translated code sets them as the
 * interpreter does where they are live (emit_mul_flags). */
static uint16_t mul_und(const struct cpu *c)
{
    return c->flag_rules.mul == MUL_FLAGS_UNKNOWN ? F_MULFIX : 0;
}

static struct tr_info group_info(const struct cpu *c, const struct insn *i, struct tr_info t)
{
    unsigned r = i->reg & 7;
    uint16_t byte = t.attr & A_BYTE;
    switch (i->opcode) {
    case 0x80: case 0x81: case 0x83:                    /* group 1 */
        t.attr = (uint16_t)(byte | (r == 7 ? A_R : RW) | ((r == 2 || r == 3) ? F_RD : F_WA));
        return t;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {  /* shifts */
        if (r == 6)
            break;                                       /* SAL alias */
        /* SHL/SHR/SAR by a count that is not 0 write every flag; RCL/RCR
         * read CF; rotates write CF and OF only; a count of 0 (CL) keeps all */
        bool count_known = i->opcode <= 0xd1;
        unsigned count = i->opcode >= 0xd0 ? 1u : (i->imm & 31u);
        uint16_t fl = (r == 2 || r == 3) ? F_RD : (r >= 4 && count_known && count) ? F_WA : F_PW;
        /* AF after a shift, OF after a count above 1: the interpreter
         * shows the host's where the host follows a rule */
        const struct host_flag_rules *hr = &c->flag_rules;
        bool same = r >= 4 ? hr->shift_af_known && hr->shift_of : hr->rotate_of;
        if (!same && (r >= 4 || count != 1 || !count_known))
            fl |= F_UND;
        t.attr = (uint16_t)(byte | RW | fl);
        return t;
    }
    case 0xf6: case 0xf7:                               /* group 3 */
        if (r == 0) { t.attr = (uint16_t)(byte | A_R | F_WA); return t; }
        if (r == 2) { t.attr = (uint16_t)(byte | RW); return t; }
        if (r == 3) { t.attr = (uint16_t)(byte | RW | F_WA); return t; }
        if (r == 4 || r == 5) { t.attr = (uint16_t)(byte | A_R | F_WA | mul_und(c)); return t; }
        break;                                           /* DIV/IDIV fault: interpreted */
    case 0xfe: case 0xff:                               /* INC/DEC, group 5 */
        if (r <= 1) { t.attr = (uint16_t)(byte | RW | F_PW); return t; }
        if (i->opcode == 0xff && i->mod == 3 && r == 2) return (struct tr_info){ K_CALL_IND, 0 };
        if (i->opcode == 0xff && i->mod == 3 && r == 4) return (struct tr_info){ K_JMP_IND, 0 };
        break;
    case 0xc6: case 0xc7:                               /* MOV r/m, imm */
        if (r == 0) { t.attr = (uint16_t)(byte | A_W); return t; }
        break;
    case 0x1ba:                                         /* BT* r/m, imm8 */
        if (r == 4) { t.attr = (uint16_t)(A_R | F_PW | (c->flag_rules.bt_keeps ? 0 : F_UND)); return t; }
        if (r >= 5) { t.attr = (uint16_t)(RW | F_PW | (c->flag_rules.bt_keeps ? 0 : F_UND)); return t; }
        break;
    default:
        return t;
    }
    return (struct tr_info){ K_HELPER, 0 };
}

static struct tr_info insn_info_rest(const struct cpu *c, const struct insn *i, struct tr_info t);

static struct tr_info insn_info(const struct cpu *c, const struct insn *i)
{
    struct tr_info t = tr_table[i->opcode & 0x1ff];
    if (i->opcode == 0x69 || i->opcode == 0x6b || i->opcode == 0x1af)
        t.attr = (uint16_t)((t.attr & ~F_UND) | mul_und(c));
    if (!(t.attr & F_UND))
        return insn_info_rest(c, i, t);
    /* the interpreter follows the host where it has a rule (host_flags.h) */
    const struct host_flag_rules *hr = &c->flag_rules;
    switch (i->opcode) {
    case 0x1a4: case 0x1a5: case 0x1ac: case 0x1ad:       /* SHLD/SHRD */
        if (i->opsize == 4 && hr->dshift_af_known && hr->dshift_of)
            t.attr &= (uint16_t)~F_UND;
        break;
    case 0x1bc: case 0x1bd:                               /* BSF/BSR */
        if (hr->bitscan_keeps)
            t.attr &= (uint16_t)~F_UND;
        break;
    case 0x1a3: case 0x1ab: case 0x1b3: case 0x1bb:       /* BT* r/m, r */
        if (hr->bt_keeps)
            t.attr &= (uint16_t)~F_UND;
        break;
    default:
        break;
    }
    return insn_info_rest(c, i, t);
}

static struct tr_info insn_info_rest(const struct cpu *c, const struct insn *i, struct tr_info t)
{
    if (i->exec == op_undefined || i->exec == op_lock_ud)
        return (struct tr_info){ K_HELPER, 0 };
    if (i->prefixes & (PFX_ADSIZE | PFX_REP | PFX_REPNE))
        return t.kind == K_HELPER_EXIT ? t : (struct tr_info){ K_HELPER, 0 };
    if (t.kind == K_MODRM)
        t = group_info(c, i, t);
    if (t.kind == K_MODRM && i->mod != 3 && (t.attr & A_NOMEM))
        return (struct tr_info){ K_HELPER, 0 };
    return t;
}

static unsigned imm_width(const struct insn *i)
{
    const struct opcode_entry *e = opcode_entry(i->opcode);
    uint32_t form = e->form;
    int g = F_GROUP_OF(form);
    if (g >= 0)
        form |= opcode_group_entry(g, i->reg)->form;
    if (form & (F_IB | F_IBS))
        return 1;
    if (form & F_IW)
        return 2;
    if (form & F_IZ)
        return i->opsize;
    return 0;
}

/* ---- the translation under way ---- */

enum fl_state { FL_MEM, FL_HOST, FL_R12 };

enum stub_kind { STUB_INTERP, STUB_EXIT, STUB_LEAVE };

struct stub {
    uint8_t kind;
    uint8_t fl_at, fl_after;       /* flags at the jump, and what the resume point expects */
    uint16_t k;                    /* instruction index */
    uint32_t fix[4];               /* rel32 fields jumping here (0: unused) */
    uint32_t target;               /* STUB_EXIT: the EIP to leave with */
    bool leave;                    /* STUB_INTERP: leave after the insn instead of resuming */
};

#define MAX_STUBS (2 * BLOCK_MAX_INSNS + 4)

struct tr {
    struct x64 x;
    struct cpu *c;
    struct block *b;
    unsigned k, cover;
    uint32_t next;                 /* EIP after insn k */
    enum fl_state fl;
    uint8_t need;                  /* cpu->jit_flat bits assumed */
    uint32_t start[BLOCK_MAX_INSNS + 1];   /* code offset of each insn; [cover]: end exit */
    uint32_t insn_eip[BLOCK_MAX_INSNS + 1]; /* EIP of each insn; [cover]: after the last */
    struct stub stubs[MAX_STUBS];
    unsigned nstubs;
    /* Access groups (plan_groups): grp_of[k] is the group insn k's memory
     * operand belongs to, or -1. */
    int8_t grp_of[BLOCK_MAX_INSNS];
    struct access_group {
        uint8_t base, seg;          /* guest base register, segment (flat) */
        uint8_t first, last, members;
        bool write;
        int32_t lo, hi;             /* displacements of the first and last byte touched */
    } grps[BLOCK_MAX_INSNS];
    unsigned ngrps;
    /* live_after[k]: the guest flags after insn k must be exact (plan_flags) */
    bool live_after[BLOCK_MAX_INSNS];
    /* interp[k]: insn k runs in the interpreter although it could be native
     * (its undefined flags would be seen: plan_undefined_flags) */
    bool interp[BLOCK_MAX_INSNS];
    uint32_t body;                 /* code offset where the first insn starts */
    uint32_t chain, chain_page;    /* code offsets of the linked-jump entries */
    uint32_t slot_site[JIT_SLOTS]; /* rel32 field of each linkable exit */
    uint32_t slot_eip[JIT_SLOTS];
    unsigned nslots;
    uint32_t epi_fix[MAX_STUBS + BLOCK_MAX_INSNS + 4];
    unsigned nepi;
    bool failed;
};

static struct stub *stub_new(struct tr *t, enum stub_kind kind)
{
    if (t->nstubs == MAX_STUBS) {
        t->failed = true;
        return &t->stubs[0];
    }
    struct stub *s = &t->stubs[t->nstubs++];
    memset(s, 0, sizeof(*s));
    s->kind = (uint8_t)kind;
    s->k = (uint16_t)t->k;
    s->fl_at = (uint8_t)t->fl;
    return s;
}

static void stub_jump(struct tr *t, struct stub *s, unsigned cc)
{
    uint32_t at = cc == 16 ? x64_jmp_rel32(&t->x) : x64_jcc_rel32(&t->x, cc);
    for (unsigned j = 0; j < 4; j++) {
        if (!s->fix[j]) {
            s->fix[j] = at;
            return;
        }
    }
    t->failed = true;
}

static void patch_to(struct tr *t, uint32_t field, uint32_t target)
{
    int32_t rel = (int32_t)(target - (field + 4));
    if (field + 4 <= (uint32_t)(t->x.end - t->x.start))
        memcpy(t->x.start + field, &rel, 4);
}

static void jmp_epilogue(struct tr *t)
{
    if (t->nepi == sizeof(t->epi_fix) / sizeof(t->epi_fix[0])) {
        t->failed = true;
        return;
    }
    t->epi_fix[t->nepi++] = x64_jmp_rel32(&t->x);
}

/* ---- emitters ---- */

static void emit_mov_imm64(struct tr *t, unsigned reg, uint64_t v)
{
    x64_mov_imm64(&t->x, reg, v);
}

static void emit_call(struct tr *t, const void *fn)
{
    emit_mov_imm64(t, X_RAX, (uint64_t)(uintptr_t)fn);
    x64_call_reg(&t->x, X_RAX);
}

static void emit_spill_regs(struct tr *t)
{
    for (unsigned r = 0; r < 8; r++)
        x64_store(&t->x, 4, x64_at(CPU_REG, OFF(s.gpr[r])), host_reg[r]);
}

static void emit_reload_regs(struct tr *t)
{
    for (unsigned r = 0; r < 8; r++)
        x64_load(&t->x, 4, host_reg[r], x64_at(CPU_REG, OFF(s.gpr[r])));
}

/* Flags are kept out of EFLAGS in "LAHF form" (R12, and what the C
 * helpers return): bits 8-15 = EFLAGS bits 0-7 (SF ZF AF PF CF), bit 0 =
 * OF.  LAHF/SETO and ADD AL,0x7F/SAHF (x64_flags_to_ax/from_ax) move them
 * in a few fast instructions; PUSHF/POPF cost some 40 ns a pair on this
 * kind of host. */

/* eax (LAHF form) -> cpu->lf as materialised EFLAGS bits. */
static void emit_store_lahf_form(struct tr *t)
{
    struct x64 *x = &t->x;
    x64_mov_rr(x, 4, X_R11, X_RAX);
    x64_op_rr(x, 4, 0xc1, 1, 5, X_R11);                        /* shr r11d, 8 */
    x64_byte(x, 8);
    x64_alu_ri(x, 4, 4, X_R11, EFL_ARITH & 0xff);
    x64_alu_ri(x, 4, 4, X_RAX, 1);
    x64_op_rr(x, 4, 0xc1, 1, 4, X_RAX);                        /* shl eax, 11 */
    x64_byte(x, 11);
    x64_op_rr(x, 4, 0x09, 1, X_RAX, X_R11);                    /* or r11d, eax */
    x64_store(x, 4, x64_at(CPU_REG, OFF(lf.flags)), X_R11);
    x64_store_imm32(x, 1, x64_at(CPU_REG, OFF(lf.op)), LF_NONE);
}

/* Guest flags from where they are into cpu->lf (materialised).  The
 * guest registers are already stored: RAX is free. */
static void emit_flags_spill(struct tr *t, enum fl_state fl)
{
    if (fl == FL_MEM)
        return;
    if (fl == FL_HOST)
        x64_flags_to_ax(&t->x);
    else
        x64_mov_rr(&t->x, 4, X_RAX, FLAGS_SAVE);
    emit_store_lahf_form(t);
}

/* Guest flags in EFLAGS -> R12, with guest EAX live in RAX. */
static void emit_save_host_flags(struct tr *t)
{
    x64_mov_rr(&t->x, 8, X_R9, X_RAX);
    x64_flags_to_ax(&t->x);
    x64_mov_rr(&t->x, 4, FLAGS_SAVE, X_RAX);
    x64_mov_rr(&t->x, 8, X_RAX, X_R9);
}

/* Before glue that clobbers EFLAGS: keep the guest's in R12. */
static void flags_protect(struct tr *t)
{
    if (t->fl == FL_HOST) {
        emit_save_host_flags(t);
        t->fl = FL_R12;
    }
}

/* Before an instruction that reads guest flags from EFLAGS. */
static void flags_to_host(struct tr *t)
{
    if (t->fl == FL_R12) {
        x64_mov_rr(&t->x, 8, X_R9, X_RAX);
        x64_mov_rr(&t->x, 4, X_RAX, FLAGS_SAVE);
        x64_flags_from_ax(&t->x);
        x64_mov_rr(&t->x, 8, X_RAX, X_R9);
        t->fl = FL_HOST;
    } else if (t->fl == FL_MEM) {
        t->failed = true;       /* the body starts with them in R12: cannot happen */
    }
}

/* Leave with EIP = imm (or r10 when by_reg) and return value ret. */
static void emit_exit(struct tr *t, enum fl_state fl, bool by_reg, uint32_t eip, uint32_t ret)
{
    emit_spill_regs(t);
    emit_flags_spill(t, fl);
    if (by_reg)
        x64_store(&t->x, 4, x64_at(CPU_REG, OFF(s.eip)), X_R10);
    else
        x64_store_imm32(&t->x, 4, x64_at(CPU_REG, OFF(s.eip)), eip);
    x64_mov_imm32(&t->x, X_RAX, ret);
    jmp_epilogue(t);
}

static uint32_t ret_value(unsigned done, enum jit_end end)
{
    return (uint32_t)done | (uint32_t)end << JIT_END_SHIFT;
}

/* Leave for the EIP in r10 (RET, indirect JMP and CALL) after `done`
 * insns: the block table is asked for a translation there to go on with
 * (its chain entry does the run loop's checks), else back to the loop. */
static void emit_exit_indirect(struct tr *t, enum fl_state fl, unsigned done)
{
    struct x64 *x = &t->x;
    if (fl == FL_MEM) {
        emit_exit(t, fl, true, 0, ret_value(done, JIT_END_INDIRECT));
        return;
    }
    if (fl == FL_HOST)
        emit_save_host_flags(t);
    /* the jump cache: entry = jcache[eip & mask], valid for this fetch
     * generation and CPL (a flat CS makes EIP the linear address) */
    x64_mov_rr(x, 4, X_R9, X_R10);
    x64_alu_ri(x, 4, 4, X_R9, JCACHE_SIZE - 1);
    x64_op_rr(x, 4, 0xc1, 1, 4, X_R9);                         /* shl r9d, 4 */
    x64_byte(x, 4);
    _Static_assert(sizeof(struct jcache_entry) == 16, "jump-cache entries are 16 bytes");
    x64_lea(x, 8, X_R9, (struct x64_mem){ CPU_REG, X_R9, 0, SE_OFF(jcache) });
    x64_op_rm(x, 4, 0x3b, 1, X_R10, x64_at(X_R9, 0));         /* cmp r10d, [r9].eip */
    uint32_t miss1 = x64_jcc_rel32(x, 0x5);
    x64_load(x, 4, X_R8, x64_at(CPU_REG, SE_OFF(fetch_gen)));
    x64_op_rm(x, 4, 0x0b, 1, X_R8, x64_at(CPU_REG, OFF(jit_cpl_tag)));   /* or */
    x64_op_rm(x, 4, 0x3b, 1, X_R8, x64_at(X_R9, 4));          /* cmp r8d, [r9].tag */
    uint32_t miss2 = x64_jcc_rel32(x, 0x5);
    x64_alu_mi(x, 8, 0, x64_at(CPU_REG, OFF(stats.instructions)), (int32_t)done);
    x64_jmp_mem(x, x64_at(X_R9, 8));
    patch_to(t, miss1, x64_pos(x));
    patch_to(t, miss2, x64_pos(x));
    emit_spill_regs(t);
    x64_store(x, 4, x64_at(CPU_REG, OFF(s.eip)), X_R10);
    x64_alu_mi(x, 8, 0, x64_at(CPU_REG, OFF(stats.instructions)), (int32_t)done);
    x64_mov_rr(x, 8, X_RDI, CPU_REG);
    x64_mov_rr(x, 4, X_RSI, X_R10);
    emit_call(t, (const void *)soft_engine_jit_chain_for);
    x64_op_rr(x, 8, 0x85, 1, X_RAX, X_RAX);                    /* test rax, rax */
    uint32_t miss = x64_jcc_rel32(x, 0x4);                     /* jz */
    x64_mov_rr(x, 8, X_R11, X_RAX);
    emit_reload_regs(t);
    x64_jmp_reg(x, X_R11);
    patch_to(t, miss, x64_pos(x));
    x64_alu_mi(x, 8, 5, x64_at(CPU_REG, OFF(stats.instructions)), (int32_t)done);
    emit_flags_spill(t, FL_R12);
    x64_mov_imm32(x, X_RAX, ret_value(done, JIT_END_INDIRECT));
    jmp_epilogue(t);
}

/* What the run loop checks before a block after one that chains: this
 * block (a last insn the loop runs counts too) fits before the guest-time
 * deadline, and no kick is pending.  The two jumps out are bail->fix[0-1]. */
static void emit_deadline_check(struct tr *t, struct stub *bail)
{
    struct x64 *x = &t->x;
    x64_load(x, 8, X_R11, x64_at(CPU_REG, OFF(stats.instructions)));
    x64_alu_ri(x, 8, 0, X_R11, (int32_t)t->b->n);
    x64_op_rm(x, 8, 0x3b, 1, X_R11, x64_at(CPU_REG, SE_OFF(vt.deadline_insns)));
    bail->fix[0] = x64_jcc_rel32(x, 0x7);                       /* ja */
    x64_alu_mi(x, 1, 7, x64_at(CPU_REG, OFF(kick)), 0);
    bail->fix[1] = x64_jcc_rel32(x, 0x5);                       /* jne */
}

/* Leave for a known EIP after `done` insns.  In a block that chains the
 * exit is a slot translate_link can point at another translation: the
 * count is added here, the flags go to R12 (where a translation's body
 * wants them) and the jump, until linked, goes on to the ordinary exit,
 * which takes the count back. */
static void emit_exit_direct(struct tr *t, enum fl_state fl, uint32_t eip, unsigned done,
                             enum jit_end end)
{
    struct x64 *x = &t->x;
    if (!t->b->chains || t->nslots == JIT_SLOTS || fl == FL_MEM) {
        emit_exit(t, fl, false, eip, ret_value(done, end));
        return;
    }
    if (fl == FL_HOST)
        emit_save_host_flags(t);
    x64_alu_mi(x, 8, 0, x64_at(CPU_REG, OFF(stats.instructions)), (int32_t)done);
    if (eip == t->insn_eip[0]) {
        /* A loop back to this block's start: only what the run loop
         * checks between two blocks is left to do (segments, the mapping
         * and the running block are as they were). */
        struct stub bail = { .kind = STUB_EXIT };
        emit_deadline_check(t, &bail);
        patch_to(t, x64_jmp_rel32(x), t->body);
        for (unsigned j = 0; j < 2; j++)
            patch_to(t, bail.fix[j], x64_pos(x));
        x64_alu_mi(x, 8, 5, x64_at(CPU_REG, OFF(stats.instructions)), (int32_t)done);
        emit_exit(t, FL_R12, false, eip, ret_value(done, end));
        return;
    }
    unsigned slot = t->nslots++;
    t->slot_site[slot] = x64_jmp_rel32(x);
    t->slot_eip[slot] = eip;
    patch_to(t, t->slot_site[slot], x64_pos(x));
    x64_alu_mi(x, 8, 5, x64_at(CPU_REG, OFF(stats.instructions)), (int32_t)done);
    emit_exit(t, FL_R12, false, eip, ret_value(done, end) | (slot + 1u) << JIT_SLOT_SHIFT);
}

/* r8d = the instruction's effective address (32-bit addressing). */
static void emit_ea(struct tr *t, const struct insn *i)
{
    struct x64_mem m = { X_NONE, X_NONE, i->scale, i->disp };
    if (i->base != INSN_NOREG)
        m.base = host_reg[i->base];
    if (i->index != INSN_NOREG)
        m.index = host_reg[i->index];
    if (m.base == X_NONE && m.index == X_NONE)
        x64_mov_imm32(&t->x, X_R8, (uint32_t)i->disp);
    else
        x64_lea(&t->x, 4, X_R8, m);
}

/* r8 = host pointer for a `size`-byte access at seg:r8d, or a jump to
 * the instruction's interpreter stub.  write: the write tag (a page that
 * may be written and holds no decoded code). */
static void emit_access(struct tr *t, struct stub *s, unsigned seg, unsigned size, bool write)
{
    struct x64 *x = &t->x;
    flags_protect(t);
    s->fl_at = (uint8_t)t->fl;
    unsigned flat_bit = 1u << seg;
    bool folded = seg != SEG_CS && (t->c->jit_flat & flat_bit);
    if (folded) {
        t->need |= (uint8_t)flat_bit;
    } else {
        x64_lea(x, 8, X_R9, x64_at(X_R8, (int32_t)size - 1));
        x64_op_rm(x, 8, 0x3b, 1, X_R9,
                  x64_at(CPU_REG, write ? OFF(seg_wmax[seg]) : OFF(seg_rmax[seg])));
        stub_jump(t, s, 0xf);                                  /* jg: past the limit */
        x64_op_rm(x, 4, 0x03, 1, X_R8, x64_at(CPU_REG, OFF(s.seg[seg].base)));
    }
    x64_mov_rr(x, 4, X_R9, X_R8);
    x64_op_rr(x, 4, 0xc1, 1, 5, X_R9);                         /* shr r9d, 7 */
    x64_byte(x, 7);
    x64_alu_ri(x, 4, 4, X_R9, (TLB_SIZE - 1) << 5);            /* the entry's offset */
    x64_op_rr(x, 8, 0x01, 1, TLB_REG, X_R9);                   /* add r9, r13 */
    if (size == 1)
        x64_mov_rr(x, 4, X_R10, X_R8);
    else
        x64_lea(x, 4, X_R10, x64_at(X_R8, (int32_t)size - 1));
    x64_alu_ri(x, 4, 4, X_R10, (int32_t)0xfffff000u);         /* page of the last byte */
    int32_t tag = write ? (int32_t)offsetof(struct tlb_entry, write_tag)
                        : (int32_t)offsetof(struct tlb_entry, read_tag);
    x64_op_rm(x, 4, 0x3b, 1, X_R10, x64_at(X_R9, tag));
    stub_jump(t, s, 0x5);                                      /* jne: miss or crossing */
    x64_op_rm(x, 8, 0x03, 1, X_R8, x64_at(X_R9, (int32_t)offsetof(struct tlb_entry, host_addend)));
}

/* Stack access at ESP + delta: r8 = host pointer. */
static void emit_stack_access(struct tr *t, struct stub *s, int32_t delta, unsigned size, bool write)
{
    t->need |= JIT_FLAT_STACK32;
    x64_lea(&t->x, 4, X_R8, x64_at(host_reg[REG_ESP], delta));
    emit_access(t, s, SEG_SS, size, write);
}

/* The guest instruction re-encoded: ModRM.reg and a register r/m mapped
 * to host registers, a memory r/m replaced by [r8]. */
static void emit_modrm_op(struct tr *t, const struct insn *i, uint16_t attr, bool group)
{
    struct x64 *x = &t->x;
    bool mem = i->mod != 3;
    bool regop = attr & A_REGOP;
    bool byte_reg = attr & A_BYTE;
    bool byte_rm = attr & (A_BYTE | A_RM8);
    unsigned hreg = i->reg & 7, hrm = i->rm & 7, rex = 0;
    if (regop && !byte_reg)
        hreg = host_reg[i->reg & 7];
    if (mem)
        hrm = group ? host_reg[i->base] : X_R8;
    else if (!byte_rm)
        hrm = host_reg[i->rm & 7];
    rex = ((hreg & 8) ? 4u : 0u) | ((hrm & 8) ? 1u : 0u) | (group ? 2u : 0u);
    /* With a REX prefix, byte registers 4-7 would be SPL-DIL, not AH-BH. */
    if (rex && ((regop && byte_reg && (i->reg & 7) >= 4) || (!mem && byte_rm && (i->rm & 7) >= 4))) {
        t->failed = true;
        return;
    }
    if (i->prefixes & PFX_OPSIZE)
        x64_byte(x, 0x66);
    if (rex)
        x64_byte(x, (uint8_t)(0x40 | rex));
    if (i->opcode >= 0x100)
        x64_byte(x, 0x0f);
    x64_byte(x, (uint8_t)i->opcode);
    if (group) {
        /* [base + r11 + disp32]: r11 is the group's host addend */
        x64_byte(x, (uint8_t)(0x84 | ((hreg & 7) << 3)));
        x64_byte(x, (uint8_t)(((GROUP_REG & 7) << 3) | (hrm & 7)));
        x64_u32(x, (uint32_t)i->disp);
    } else {
        x64_byte(x, (uint8_t)((mem ? 0 : 0xc0) | ((hreg & 7) << 3) | (hrm & 7)));
    }
    unsigned w = imm_width(i);
    if (w == 1)
        x64_byte(x, (uint8_t)i->imm);
    else if (w == 2)
        x64_u16(x, (uint16_t)i->imm);
    else if (w == 4)
        x64_u32(x, i->imm);
}

static unsigned access_size(const struct insn *i, uint16_t attr)
{
    if (attr & (A_BYTE | A_RM8))
        return 1;
    if (attr & A_RM16)
        return 2;
    return i->opsize;
}

/* ---- instructions ---- */

static void emit_group_check(struct tr *t, const struct insn *i);

/* After a native MUL/IMUL (CF = OF = overflow in EFLAGS): the flags as the
 * interpreter has them - SF ZF PF of the low half of the result, AF clear -
 * into R12 (LAHF form).  TEST gives SF ZF PF (and CF = OF = AF = 0: AF after
 * TEST is the host's, 0 on hosts this runs on), SETO keeps the overflow. */
static void emit_mul_flags(struct tr *t, const struct insn *i)
{
    struct x64 *x = &t->x;
    unsigned size = (i->opcode == 0xf6) ? 1 : i->opsize;
    unsigned low = (i->opcode == 0xf6 || i->opcode == 0xf7) ? X_RAX : host_reg[i->reg & 7];
    static const uint8_t seto_r9b[] = { 0x41, 0x0f, 0x90, 0xc1 };
    for (unsigned k = 0; k < sizeof(seto_r9b); k++)
        x64_byte(x, seto_r9b[k]);
    x64_op_rr(x, size, size == 1 ? 0x84 : 0x85, 1, low, low);    /* test low, low */
    x64_mov_rr(x, 8, X_R10, X_RAX);
    x64_byte(x, 0x9f);                                          /* lahf */
    x64_byte(x, 0x0f); x64_byte(x, 0xb6); x64_byte(x, 0xc4);    /* movzx eax, ah */
    x64_op_rr(x, 4, 0xc1, 1, 4, X_RAX);                         /* shl eax, 8 */
    x64_byte(x, 8);
    x64_op_rr(x, 4, 0x0fb6, 2, X_R9, X_R9);                     /* movzx r9d, r9b */
    x64_op_rr(x, 4, 0x09, 1, X_R9, X_RAX);                      /* or eax, r9d: OF */
    x64_op_rr(x, 4, 0xc1, 1, 4, X_R9);                          /* shl r9d, 8 */
    x64_byte(x, 8);
    x64_op_rr(x, 4, 0x09, 1, X_R9, X_RAX);                      /* or eax, r9d: CF */
    x64_mov_rr(x, 4, FLAGS_SAVE, X_RAX);
    x64_mov_rr(x, 8, X_RAX, X_R10);
    t->fl = FL_R12;
}

/* Must an insn that keeps some flags (F_PW) see the guest's real ones? Only
 * when they are live after it; otherwise it runs on whatever EFLAGS holds. */
static void flags_before_op(struct tr *t, uint16_t attr)
{
    if ((attr & F_RD) || ((attr & F_PW) && t->live_after[t->k]))
        flags_to_host(t);
}

static void flags_after_op(struct tr *t, uint16_t attr)
{
    if (attr & (F_WA | F_PW))
        t->fl = FL_HOST;
}

static void tr_modrm(struct tr *t, const struct insn *i, struct tr_info info)
{
    bool group = i->mod != 3 && t->grp_of[t->k] >= 0;
    if (i->mod != 3 && !group) {
        if (i->adsize != 4) {
            t->failed = true;
            return;
        }
        struct stub *s = stub_new(t, STUB_INTERP);
        emit_ea(t, i);
        emit_access(t, s, i->seg, access_size(i, info.attr), (info.attr & A_W) != 0);
        flags_before_op(t, info.attr);
        emit_modrm_op(t, i, info.attr, false);
        flags_after_op(t, info.attr);
        if ((info.attr & F_MULFIX) && t->live_after[t->k])
            emit_mul_flags(t, i);
        s->fl_after = (uint8_t)t->fl;
        return;
    }
    if (group && t->grps[t->grp_of[t->k]].first == t->k)
        emit_group_check(t, i);
    flags_before_op(t, info.attr);
    emit_modrm_op(t, i, info.attr, group);
    flags_after_op(t, info.attr);
    if ((info.attr & F_MULFIX) && t->live_after[t->k])
        emit_mul_flags(t, i);
}

/* An instruction with no ModRM whose only register is in the opcode:
 * prefix 66, REX.B when that register is ESP (R14), opcode. */
static void emit_opreg(struct tr *t, const struct insn *i, uint8_t op_base, unsigned guest_reg,
                       bool byte)
{
    unsigned h = byte ? guest_reg : host_reg[guest_reg];
    if (i->prefixes & PFX_OPSIZE)
        x64_byte(&t->x, 0x66);
    if (h & 8)
        x64_byte(&t->x, 0x41);
    x64_byte(&t->x, (uint8_t)(op_base + (h & 7)));
}

static void emit_imm(struct tr *t, unsigned w, uint32_t v)
{
    if (w == 1)
        x64_byte(&t->x, (uint8_t)v);
    else if (w == 2)
        x64_u16(&t->x, (uint16_t)v);
    else if (w == 4)
        x64_u32(&t->x, v);
}

static void tr_simple(struct tr *t, const struct insn *i, struct tr_info info)
{
    struct x64 *x = &t->x;
    flags_before_op(t, info.attr);
    switch (info.kind) {
    case K_ACC_IMM:
    case K_COPY1:
        if (i->prefixes & PFX_OPSIZE)
            x64_byte(x, 0x66);
        x64_byte(x, (uint8_t)i->opcode);
        emit_imm(t, imm_width(i), i->imm);
        break;
    case K_MOV_RIMM:
        if (i->opcode < 0xb8) {
            emit_opreg(t, i, 0xb0, i->opcode & 7, true);
            x64_byte(x, (uint8_t)i->imm);
        } else {
            emit_opreg(t, i, 0xb8, i->opcode & 7, false);
            emit_imm(t, i->opsize, i->imm);
        }
        break;
    case K_INCDEC_R: {
        /* 40-4F are REX prefixes on x86-64: FF /0 or /1 instead */
        unsigned h = host_reg[i->opcode & 7];
        if (i->prefixes & PFX_OPSIZE)
            x64_byte(x, 0x66);
        if (h & 8)
            x64_byte(x, 0x41);
        x64_byte(x, 0xff);
        x64_byte(x, (uint8_t)(0xc0 | ((i->opcode & 8) ? 8 : 0) | (h & 7)));
        break;
    }
    case K_XCHG_AX:
        emit_opreg(t, i, 0x90, i->opcode & 7, false);
        break;
    case K_BSWAP:
        if (i->opsize != 4) {
            t->failed = true;            /* BSWAP r16 is undefined: interpret */
            return;
        }
        if (host_reg[i->opcode & 7] & 8)
            x64_byte(x, 0x41);
        x64_byte(x, 0x0f);
        x64_byte(x, (uint8_t)(0xc8 + (host_reg[i->opcode & 7] & 7)));
        break;
    case K_LEA: {
        if (i->mod == 3 || i->adsize != 4) {
            t->failed = true;
            return;
        }
        emit_ea(t, i);
        unsigned d = host_reg[i->reg & 7];
        if (i->opsize == 4)
            x64_mov_rr(x, 4, d, X_R8);
        else
            x64_mov_rr(x, 2, d, X_R8);
        break;
    }
    default:
        t->failed = true;
        return;
    }
    flags_after_op(t, info.attr);
}

static void tr_moffs(struct tr *t, const struct insn *i)
{
    if (i->adsize != 4) {
        t->failed = true;
        return;
    }
    bool store = i->opcode >= 0xa2;
    unsigned size = (i->opcode & 1) ? i->opsize : 1;
    struct stub *s = stub_new(t, STUB_INTERP);
    x64_mov_imm32(&t->x, X_R8, (uint32_t)i->disp);
    emit_access(t, s, i->seg, size, store);
    if (store)
        x64_store(&t->x, size, x64_at(X_R8, 0), X_RAX);
    else
        x64_load(&t->x, size, X_RAX, x64_at(X_R8, 0));
    s->fl_after = (uint8_t)t->fl;
}

static void tr_push(struct tr *t, const struct insn *i, bool imm)
{
    if (i->opsize != 4) {
        t->failed = true;
        return;
    }
    struct stub *s = stub_new(t, STUB_INTERP);
    emit_stack_access(t, s, -4, 4, true);
    if (imm)
        x64_store_imm32(&t->x, 4, x64_at(X_R8, 0), i->imm);
    else
        x64_store(&t->x, 4, x64_at(X_R8, 0), host_reg[i->opcode & 7]);
    x64_lea(&t->x, 4, host_reg[REG_ESP], x64_at(host_reg[REG_ESP], -4));
    s->fl_after = (uint8_t)t->fl;
}

static void tr_pop(struct tr *t, const struct insn *i)
{
    if (i->opsize != 4) {
        t->failed = true;
        return;
    }
    struct stub *s = stub_new(t, STUB_INTERP);
    emit_stack_access(t, s, 0, 4, false);
    x64_load(&t->x, 4, X_R9, x64_at(X_R8, 0));
    x64_lea(&t->x, 4, host_reg[REG_ESP], x64_at(host_reg[REG_ESP], 4));
    x64_mov_rr(&t->x, 4, host_reg[i->opcode & 7], X_R9);     /* POP ESP: the value wins */
    s->fl_after = (uint8_t)t->fl;
}

static void tr_leave(struct tr *t, const struct insn *i)
{
    if (i->opsize != 4) {
        t->failed = true;
        return;
    }
    struct stub *s = stub_new(t, STUB_INTERP);
    t->need |= JIT_FLAT_STACK32;
    x64_mov_rr(&t->x, 4, X_R8, host_reg[REG_EBP]);
    emit_access(t, s, SEG_SS, 4, false);
    x64_load(&t->x, 4, X_R9, x64_at(X_R8, 0));
    x64_lea(&t->x, 4, host_reg[REG_ESP], x64_at(host_reg[REG_EBP], 4));
    x64_mov_rr(&t->x, 4, host_reg[REG_EBP], X_R9);
    s->fl_after = (uint8_t)t->fl;
}

/* A direct target inside CS (the translation runs only with a 4 GiB CS
 * limit, JIT_FLAT_CS) and in 32-bit code. */
static void tr_jcc(struct tr *t, const struct insn *i)
{
    flags_to_host(t);
    struct stub *s = stub_new(t, STUB_EXIT);
    s->target = t->next + i->imm;
    s->fl_at = (uint8_t)t->fl;
    stub_jump(t, s, i->opcode & 15);
}

static void tr_jmp(struct tr *t, const struct insn *i)
{
    emit_exit_direct(t, t->fl, t->next + i->imm, t->k + 1, JIT_END_BRANCH);
}

static void tr_call(struct tr *t, const struct insn *i)
{
    if (i->opsize != 4) {
        t->failed = true;
        return;
    }
    struct stub *s = stub_new(t, STUB_INTERP);
    emit_stack_access(t, s, -4, 4, true);
    x64_store_imm32(&t->x, 4, x64_at(X_R8, 0), t->next);
    x64_lea(&t->x, 4, host_reg[REG_ESP], x64_at(host_reg[REG_ESP], -4));
    s->fl_after = (uint8_t)t->fl;
    emit_exit_direct(t, t->fl, t->next + i->imm, t->k + 1, JIT_END_BRANCH);
}

static void tr_ret(struct tr *t, const struct insn *i)
{
    if (i->opsize != 4) {
        t->failed = true;
        return;
    }
    struct stub *s = stub_new(t, STUB_INTERP);
    emit_stack_access(t, s, 0, 4, false);
    x64_load(&t->x, 4, X_R10, x64_at(X_R8, 0));
    int32_t pop = 4 + (i->opcode == 0xc2 ? (int32_t)(i->imm & 0xffff) : 0);
    x64_lea(&t->x, 4, host_reg[REG_ESP], x64_at(host_reg[REG_ESP], pop));
    s->fl_after = (uint8_t)t->fl;
    emit_exit_indirect(t, t->fl, t->k + 1);
}

static void tr_jmp_ind(struct tr *t, const struct insn *i, bool call)
{
    if (i->opsize != 4) {
        t->failed = true;
        return;
    }
    x64_mov_rr(&t->x, 4, X_R10, host_reg[i->rm & 7]);
    if (call) {
        struct stub *s = stub_new(t, STUB_INTERP);
        emit_stack_access(t, s, -4, 4, true);
        x64_store_imm32(&t->x, 4, x64_at(X_R8, 0), t->next);
        x64_lea(&t->x, 4, host_reg[REG_ESP], x64_at(host_reg[REG_ESP], -4));
        s->fl_after = (uint8_t)t->fl;
        x64_mov_rr(&t->x, 4, X_R10, host_reg[i->rm & 7]);    /* r10 was the glue's; rm is not ESP */
    }
    emit_exit_indirect(t, t->fl, t->k + 1);
}

/* ---- the interpreter from translated code ---- */

#define JIT_LEAVE (1ull << 63)

/* EFLAGS' arithmetic bits in the LAHF form of translated code. */
static uint64_t lahf_form(uint32_t f)
{
    return (uint64_t)((f & 0xd5u) << 8) | ((f >> 11) & 1u);
}

/* Run insn i in the interpreter (EIP and insn_eip already set, registers
 * and flags stored).  Returns the materialised arithmetic flags, or
 * JIT_LEAVE when the translation must end here: the insn moved EIP off
 * the straight line, changed decoded code or paging (fetch generation). */
static uint64_t jit_interp(struct cpu *c, const struct insn *i)
{
    uint32_t next = c->s.eip;
    uint64_t gen = c->engine->fetch_gen;
    c->log.pos = 0;
    i->exec(c, i);
    if (c->s.eip != next || c->engine->fetch_gen != gen)
        return JIT_LEAVE;
    return lahf_form(lf_arith_flags(c));
}

static uint64_t jit_helper_insn(struct cpu *c, const struct insn *i)
{
    c->stats.jit_helper_insns++;
    return jit_interp(c, i);
}

static uint64_t jit_slow_insn(struct cpu *c, const struct insn *i)
{
    c->stats.jit_slow_insns++;
    return jit_interp(c, i);
}

static uint64_t jit_entry_flags(struct cpu *c)
{
    return lahf_form(lf_arith_flags(c));
}

/* Call the interpreter for insn k with the guest flags in fl.  Returns
 * the rel32 field of the jump taken on JIT_LEAVE; on the other path the
 * flags are put where fl_after says and the registers are reloaded. */
static uint32_t emit_interp_call(struct tr *t, unsigned k, enum fl_state fl, enum fl_state fl_after,
                                 bool slow)
{
    struct x64 *x = &t->x;
    uint32_t eip = t->insn_eip[k];
    emit_spill_regs(t);
    emit_flags_spill(t, fl);
    x64_store_imm32(x, 4, x64_at(CPU_REG, OFF(insn_eip)), eip);
    x64_store_imm32(x, 4, x64_at(CPU_REG, OFF(s.eip)), t->insn_eip[k + 1]);
    x64_mov_rr(x, 8, X_RDI, CPU_REG);
    emit_mov_imm64(t, X_RSI, (uint64_t)(uintptr_t)&t->b->insn[k]);
    emit_call(t, slow ? (const void *)jit_slow_insn : (const void *)jit_helper_insn);
    x64_op_rr(x, 8, 0x85, 1, X_RAX, X_RAX);                    /* test rax, rax */
    uint32_t to_leave = x64_jcc_rel32(x, 0x8);                 /* js: JIT_LEAVE */
    if (fl_after == FL_HOST) {
        x64_flags_from_ax(&t->x);
    } else if (fl_after == FL_R12) {
        x64_mov_rr(x, 8, FLAGS_SAVE, X_RAX);
    }
    emit_reload_regs(t);
    return to_leave;
}

/* The leave path: registers and flags are in the cpu, EIP is set. */
static void emit_leave(struct tr *t, unsigned k)
{
    x64_mov_imm32(&t->x, X_RAX, ret_value(k + 1, JIT_END_HELPER));
    jmp_epilogue(t);
}

/* An instruction the translator leaves to the interpreter, in line. */
static void tr_helper(struct tr *t, bool ends)
{
    struct stub *leave = stub_new(t, STUB_LEAVE);
    uint32_t fix = emit_interp_call(t, t->k, t->fl, ends ? FL_MEM : FL_R12, false);
    leave->fix[0] = fix;
    if (ends) {
        emit_leave(t, t->k);
        t->fl = FL_MEM;
    } else {
        t->fl = FL_R12;
    }
}

/* ---- choosing: native or interpreted ---- */

/* Would the re-encoded ModRM instruction need REX together with AH-BH? */
static bool rex_conflict(const struct insn *i, uint16_t attr)
{
    bool mem = i->mod != 3;
    bool regop = attr & A_REGOP;
    bool byte_reg = regop && (attr & A_BYTE);
    bool byte_rm = !mem && (attr & (A_BYTE | A_RM8));
    bool rex = mem || (regop && !byte_reg && (i->reg & 7) == REG_ESP) ||
               (!mem && !byte_rm && (i->rm & 7) == REG_ESP);
    return rex && ((byte_reg && (i->reg & 7) >= 4) || (byte_rm && (i->rm & 7) >= 4));
}

static struct tr_info classify(const struct cpu *c, const struct insn *i)
{
    static const struct tr_info helper = { K_HELPER, 0 };
    struct tr_info t = insn_info(c, i);
    bool mem = i->mod != 3;
    switch (t.kind) {
    case K_PUSH_R: case K_POP_R: case K_PUSH_I: case K_LEAVE: case K_CALL: case K_RET:
    case K_CALL_IND:
        if (!c->stack32)
            return helper;          /* ESP arithmetic is 32-bit in translated code */
        break;
    default:
        break;
    }
    switch (t.kind) {
    case K_MODRM:
        if ((mem && i->adsize != 4) || rex_conflict(i, t.attr))
            return helper;
        if ((i->prefixes & PFX_LOCK) && !mem)
            return helper;
        return t;
    case K_LEA:
        return (mem && i->adsize == 4) ? t : helper;
    case K_MOFFS:
        return i->adsize == 4 ? t : helper;
    case K_BSWAP: case K_PUSH_R: case K_POP_R: case K_PUSH_I: case K_LEAVE:
    case K_CALL: case K_RET: case K_JMP_IND:
        return i->opsize == 4 ? t : helper;
    case K_CALL_IND:
        return (i->opsize == 4 && (i->rm & 7) != REG_ESP) ? t : helper;
    case K_JMP:
        return i->opsize == 4 ? t : helper;      /* JMP rel16 wraps IP: interpret */
    case K_JCC:
        return i->opsize == 4 ? t : helper;
    default:
        return t;
    }
}

static bool ends_line(const struct cpu *c, const struct insn *i);

/* What insn k of the block being translated becomes. */
static struct tr_info info_at(const struct tr *t, unsigned k)
{
    if (t->interp[k])
        return (struct tr_info){ K_HELPER, 0 };
    return classify(t->c, &t->b->insn[k]);
}

/* Guest registers insn i may write (a superset; bit r = register r). */
static uint8_t regs_written(const struct insn *i, struct tr_info info)
{
    const uint8_t all = 0xff, eax = 1u << REG_EAX, edx = 1u << REG_EDX, esp = 1u << REG_ESP;
    /* byte registers 4-7 are AH-BH: registers 0-3 */
    #define REGBIT(r, byte) ((uint8_t)(1u << ((byte) ? ((r) & 3) : (r))))
    switch (info.kind) {
    case K_MODRM: {
        uint8_t w = 0;
        bool byte = info.attr & A_BYTE;
        if (info.attr & A_REGOP)
            w |= REGBIT(i->reg & 7, byte);
        if (i->mod == 3)
            w |= REGBIT(i->rm & 7, byte && !(info.attr & A_RM8));
        if (i->opcode == 0xf6 || i->opcode == 0xf7 || i->opcode == 0x1b0 || i->opcode == 0x1b1)
            w |= eax | edx;
        return w;
    }
    case K_ACC_IMM: case K_COPY1: case K_MOFFS: return eax | edx;
    case K_MOV_RIMM: return REGBIT(i->opcode & 7, i->opcode < 0xb8);
    case K_INCDEC_R: case K_BSWAP: return REGBIT(i->opcode & 7, false);
    case K_XCHG_AX: return eax | REGBIT(i->opcode & 7, false);
    case K_LEA: return REGBIT(i->reg & 7, false);
    case K_PUSH_R: case K_PUSH_I: case K_CALL: case K_RET: case K_CALL_IND: case K_JMP_IND:
        return esp;
    case K_POP_R: return esp | REGBIT(i->opcode & 7, false);
    case K_LEAVE: return esp | (1u << REG_EBP);
    case K_JCC: case K_JMP: return 0;
    default: return all;
    }
    #undef REGBIT
}

/* A memory operand [base + disp] (no index) in a flat segment, made native:
 * it may join an access group. */
static bool group_candidate(const struct cpu *c, const struct insn *i, struct tr_info info)
{
    return info.kind == K_MODRM && i->mod != 3 && i->adsize == 4 && i->base != INSN_NOREG &&
           i->index == INSN_NOREG && i->seg != SEG_CS && (c->jit_flat & (1u << i->seg));
}

/* Access groups: runs of memory operands [B + d] with the same base
 * register B and flat segment while B is not written (and nothing runs in
 * the interpreter).  The group's first insn checks once that every byte
 * the group touches lies in one page the TLB maps for it (for writing if
 * any member writes) and keeps that page's host addend in R11; each
 * member is then one host instruction on [B + R11 + d], and leaves
 * EFLAGS alone.  One group is open at a time; others use the inline path. */
static void plan_groups(struct tr *t, const struct block *b, unsigned cover)
{
    memset(t->grp_of, -1, sizeof(t->grp_of));
    t->ngrps = 0;
    int open = -1;
    for (unsigned k = 0; k < cover; k++) {
        const struct insn *i = &b->insn[k];
        struct tr_info info = info_at(t, k);
        if (group_candidate(t->c, i, info)) {
            int32_t lo = i->disp, hi = i->disp + (int32_t)access_size(i, info.attr) - 1;
            struct access_group *g = open >= 0 ? &t->grps[open] : NULL;
            if (g && g->base == i->base && g->seg == i->seg) {
                g->lo = lo < g->lo ? lo : g->lo;
                g->hi = hi > g->hi ? hi : g->hi;
                g->write |= (info.attr & A_W) != 0;
                g->last = (uint8_t)k;
                g->members++;
                t->grp_of[k] = (int8_t)open;
            } else if (!g && i->disp > -0x8000 && i->disp < 0x8000) {
                open = (int)t->ngrps++;
                t->grps[open] = (struct access_group){ i->base, i->seg, (uint8_t)k, (uint8_t)k, 1,
                                                       (info.attr & A_W) != 0, lo, hi };
                t->grp_of[k] = (int8_t)open;
            }
        }
        bool ends = info.kind == K_HELPER || info.kind == K_HELPER_EXIT || ends_line(t->c, i);
        if (open >= 0 && (ends || (regs_written(i, info) & (1u << t->grps[open].base))))
            open = -1;
    }
    for (unsigned k = 0; k < cover; k++)
        if (t->grp_of[k] >= 0 && t->grps[t->grp_of[k]].members < 2)
            t->grp_of[k] = -1;
    /* groups of one member stay in grps[] but nothing refers to them */
    for (unsigned g = 0; g < t->ngrps; g++)
        if (t->grps[g].members < 2)
            t->grps[g].last = t->grps[g].first;
}

/* Must the guest flags be exact just before insn k (it reads them, or it
 * may leave for the interpreter or the run loop)? */
static bool flags_exact_before(const struct tr *t, const struct insn *i, struct tr_info info,
                               unsigned k)
{
    switch (info.kind) {
    case K_MODRM:
        if (info.attr & F_RD)
            return true;
        /* a memory operand has a way out, unless a group member's */
        return i->mod != 3 && (t->grp_of[k] < 0 || t->grps[t->grp_of[k]].first == k);
    case K_ACC_IMM: case K_COPY1: case K_MOV_RIMM: case K_INCDEC_R: case K_XCHG_AX:
    case K_BSWAP: case K_LEA:
        return (info.attr & F_RD) != 0;
    default:
        return true;
    }
}

/* Flag liveness, backwards from the block's end (where they are live). */
static void plan_flags(struct tr *t, const struct block *b, unsigned cover)
{
    bool live = true;
    for (unsigned k = cover; k-- > 0;) {
        t->live_after[k] = live;
        struct tr_info info = info_at(t, k);
        if (flags_exact_before(t, &b->insn[k], info, k))
            live = true;
        else if (info.attr & F_WA)
            live = false;
    }
}

/* Undefined flags: where the host CPU's values of flags the SDM leaves
 * undefined (AF after a shift, SF ZF PF after MUL, ...) could be seen -
 * the flags are live after the insn - it runs in the interpreter, so both
 * engines show the same values and an exit trace is the same on both.
 * Each such change can make more flags live: repeat until nothing moves. */
static void plan_block(struct tr *t, const struct block *b, unsigned cover)
{
    memset(t->interp, 0, sizeof(t->interp));
    for (unsigned round = 0; round <= cover; round++) {
        plan_groups(t, b, cover);
        plan_flags(t, b, cover);
        bool changed = false;
        for (unsigned k = 0; k < cover; k++) {
            if (!t->interp[k] && (info_at(t, k).attr & F_UND) && t->live_after[k]) {
                t->interp[k] = true;
                changed = true;
            }
        }
        if (!changed)
            break;
    }
}

/* The group's first insn: R11 = host addend of the one page holding
 * [B + lo, B + hi], mapped for the group's accesses; else the insn runs in
 * the interpreter and the translation ends there. */
static void emit_group_check(struct tr *t, const struct insn *i)
{
    struct x64 *x = &t->x;
    const struct access_group *g = &t->grps[t->grp_of[t->k]];
    struct stub *s = stub_new(t, STUB_INTERP);
    s->leave = true;
    flags_protect(t);
    s->fl_at = (uint8_t)t->fl;
    unsigned b = host_reg[g->base];
    x64_lea(x, 8, X_R9, x64_at(b, g->lo));              /* 64-bit: no wrap hides */
    x64_lea(x, 8, X_R10, x64_at(b, g->hi));
    x64_op_rr(x, 8, 0x31, 1, X_R9, X_R10);              /* xor r10, r9 */
    x64_op_rr(x, 8, 0xc1, 1, 5, X_R10);                 /* shr r10, 12 */
    x64_byte(x, 12);
    stub_jump(t, s, 0x5);                               /* jnz: two pages */
    x64_mov_rr(x, 4, X_R10, X_R9);
    x64_op_rr(x, 4, 0xc1, 1, 5, X_R10);                 /* shr r10d, 7 */
    x64_byte(x, 7);
    x64_alu_ri(x, 4, 4, X_R10, (TLB_SIZE - 1) << 5);
    x64_op_rr(x, 8, 0x01, 1, TLB_REG, X_R10);           /* the TLB entry */
    x64_alu_ri(x, 8, 4, X_R9, -4096);                   /* the page, 64-bit */
    int32_t tag = g->write ? (int32_t)offsetof(struct tlb_entry, write_tag)
                           : (int32_t)offsetof(struct tlb_entry, read_tag);
    x64_load(x, 4, X_R8, x64_at(X_R10, tag));
    x64_op_rr(x, 8, 0x39, 1, X_R8, X_R9);               /* cmp r9, r8 */
    stub_jump(t, s, 0x5);
    x64_load(x, 8, GROUP_REG, x64_at(X_R10, (int32_t)offsetof(struct tlb_entry, host_addend)));
    (void)i;
}

static void tr_insn(struct tr *t, const struct insn *i)
{
    struct tr_info info = info_at(t, t->k);
    switch (info.kind) {
    case K_HELPER: tr_helper(t, false); break;
    case K_HELPER_EXIT: tr_helper(t, true); break;
    case K_MODRM: tr_modrm(t, i, info); break;
    case K_MOFFS: tr_moffs(t, i); break;
    case K_PUSH_R: tr_push(t, i, false); break;
    case K_PUSH_I: tr_push(t, i, true); break;
    case K_POP_R: tr_pop(t, i); break;
    case K_LEAVE: tr_leave(t, i); break;
    case K_JCC: tr_jcc(t, i); break;
    case K_JMP: tr_jmp(t, i); break;
    case K_CALL: tr_call(t, i); break;
    case K_RET: tr_ret(t, i); break;
    case K_JMP_IND: tr_jmp_ind(t, i, false); break;
    case K_CALL_IND: tr_jmp_ind(t, i, true); break;
    default: tr_simple(t, i, info); break;
    }
}

/* Does insn k end the line in the translation (nothing after it runs)? */
static bool ends_line(const struct cpu *c, const struct insn *i)
{
    switch (classify(c, i).kind) {
    case K_JMP: case K_CALL: case K_RET: case K_JMP_IND: case K_CALL_IND: case K_HELPER_EXIT:
        return true;
    default:
        return false;
    }
}

/* The guest flags into R12: from cpu->lf.flags when materialised (what a
 * translation leaves), else through lf_arith_flags. */
static void emit_load_flags(struct tr *t)
{
    struct x64 *x = &t->x;
    x64_alu_mi(x, 1, 7, x64_at(CPU_REG, OFF(lf.op)), LF_NONE);       /* cmp */
    uint32_t lazy = x64_jcc_rel32(x, 0x5);
    x64_load(x, 4, X_RAX, x64_at(CPU_REG, OFF(lf.flags)));      /* EFLAGS bits -> LAHF form */
    x64_mov_rr(x, 4, FLAGS_SAVE, X_RAX);
    x64_alu_ri(x, 4, 4, FLAGS_SAVE, EFL_ARITH & 0xff);
    x64_op_rr(x, 4, 0xc1, 1, 4, FLAGS_SAVE);                   /* shl r12d, 8 */
    x64_byte(x, 8);
    x64_op_rr(x, 4, 0xc1, 1, 5, X_RAX);                        /* shr eax, 11 */
    x64_byte(x, 11);
    x64_alu_ri(x, 4, 4, X_RAX, 1);
    x64_op_rr(x, 4, 0x09, 1, X_RAX, FLAGS_SAVE);               /* or r12d, eax */
    uint32_t done = x64_jmp_rel32(x);
    patch_to(t, lazy, x64_pos(x));
    x64_mov_rr(x, 8, X_RDI, CPU_REG);
    emit_call(t, (const void *)jit_entry_flags);
    x64_mov_rr(x, 8, FLAGS_SAVE, X_RAX);
    patch_to(t, done, x64_pos(x));
}

/* Entry from C: the body starts with guest registers in host registers
 * and the guest flags in R12, as a linked jump leaves them too. */
static void emit_prologue(struct tr *t)
{
    struct x64 *x = &t->x;
    static const uint8_t saved[] = { X_RBX, X_RBP, X_R12, X_R13, X_R14, X_R15 };
    for (unsigned k = 0; k < sizeof(saved); k++)
        x64_push(x, saved[k]);
    x64_lea(x, 8, X_RSP, x64_at(X_RSP, -8));                  /* 16-byte aligned calls */
    x64_mov_rr(x, 8, CPU_REG, X_RDI);
    x64_load(x, 8, TLB_REG, x64_at(CPU_REG, OFF(tlb_now)));
    emit_load_flags(t);
    t->fl = FL_R12;
    emit_reload_regs(t);
}

static void emit_epilogue(struct tr *t)
{
    struct x64 *x = &t->x;
    static const uint8_t saved[] = { X_R15, X_R14, X_R13, X_R12, X_RBP, X_RBX };
    x64_lea(x, 8, X_RSP, x64_at(X_RSP, 8));
    for (unsigned k = 0; k < sizeof(saved); k++)
        x64_pop(x, saved[k]);
    x64_ret(x);
}

/* Is an access group open from insn k to k + 1? */
static bool group_spans(const struct tr *t, unsigned k)
{
    for (unsigned g = 0; g < t->ngrps; g++)
        if (t->grps[g].first <= k && k < t->grps[g].last)
            return true;
    return false;
}

static void emit_stubs(struct tr *t)
{
    for (unsigned n = 0; n < t->nstubs; n++) {
        struct stub *s = &t->stubs[n];
        uint32_t here = x64_pos(&t->x);
        for (unsigned j = 0; j < 4; j++)
            if (s->fix[j])
                patch_to(t, s->fix[j], here);
        switch (s->kind) {
        case STUB_EXIT:
            emit_exit_direct(t, (enum fl_state)s->fl_at, s->target, s->k + 1u, JIT_END_BRANCH);
            break;
        case STUB_LEAVE:
            emit_leave(t, s->k);
            break;
        case STUB_INTERP: {
            /* Resuming needs every open access group valid at k + 1: after
             * a C call (R11 gone, the TLB maybe refilled) leave instead. */
            /* A CALL/RET whose target is the next insn seems to have fallen
             * through, but no code for the next insn follows a line end. */
            bool leave = s->leave || group_spans(t, s->k) || ends_line(t->c, &t->b->insn[s->k]);
            uint32_t to_leave = emit_interp_call(t, s->k, (enum fl_state)s->fl_at,
                                                 leave ? FL_MEM : (enum fl_state)s->fl_after, true);
            if (!leave) {
                uint32_t to_resume = x64_jmp_rel32(&t->x);
                patch_to(t, to_resume, t->start[s->k + 1]);
            }
            patch_to(t, to_leave, x64_pos(&t->x));
            emit_leave(t, s->k);
            break;
        }
        }
    }
}


/* Where linked jumps from other translations come in (registers in host
 * registers, flags in R12, their insns counted): what the run loop checks
 * between two blocks that chain - the guest-time deadline (this block
 * must fit before it) and a kick - and what this translation assumes of
 * the segments; then the fault bookkeeping (the running block) and the
 * body.  When anything is not so, back to the run loop at this block. */
static void emit_chain_entry(struct tr *t)
{
    struct x64 *x = &t->x;
    struct stub bail = { .kind = STUB_EXIT };
    t->chain = x64_pos(x);
    /* From another page: its mapping may have changed since the run loop
     * last found this block (a TLB flush moves the fetch generation). */
    emit_mov_imm64(t, X_R11, (uint64_t)(uintptr_t)&t->b->jit_valid_gen);
    x64_load(x, 8, X_R11, x64_at(X_R11, 0));
    x64_op_rm(x, 8, 0x3b, 1, X_R11, x64_at(CPU_REG, SE_OFF(fetch_gen)));
    bail.fix[3] = x64_jcc_rel32(x, 0x5);
    t->chain_page = x64_pos(x);
    emit_deadline_check(t, &bail);
    uint8_t need = (uint8_t)(t->need | JIT_FLAT_CS);
    x64_op_rm(x, 4, 0x0fb6, 2, X_R11, x64_at(CPU_REG, OFF(jit_flat)));
    x64_alu_ri(x, 4, 4, X_R11, need);
    x64_alu_ri(x, 4, 7, X_R11, need);
    bail.fix[2] = x64_jcc_rel32(x, 0x5);
    x64_store_imm32(x, 4, x64_at(CPU_REG, SE_OFF(running_eip)), t->insn_eip[0]);
    emit_mov_imm64(t, X_R11, (uint64_t)(uintptr_t)t->b);
    x64_store(x, 8, x64_at(CPU_REG, SE_OFF(running)), X_R11);
    patch_to(t, x64_jmp_rel32(x), t->body);
    for (unsigned j = 0; j < 4; j++)
        patch_to(t, bail.fix[j], x64_pos(x));
    emit_exit(t, FL_R12, false, t->insn_eip[0], ret_value(0, JIT_END_UNLINKED));
}

/* Translate into the free space of tc; false if it does not fit or some
 * part could not be made. */
static bool translate_into(struct tr *t, struct tcache *tc, struct cpu *c, struct block *b,
                           unsigned cover)
{
    memset(t, 0, sizeof(*t));
    t->c = c;
    t->b = b;
    t->cover = cover;
    size_t room = tcache_free_size(tc);
    x64_init(&t->x, tcache_free_rw(tc), (uint32_t)(room < (1u << 20) ? room : (1u << 20)));
    uint32_t eip = c->s.eip;
    for (unsigned k = 0; k <= cover; k++) {
        t->insn_eip[k] = eip;
        if (k < cover)
            eip += b->insn[k].len;
    }
    plan_block(t, b, cover);
    emit_prologue(t);
    t->body = x64_pos(&t->x);
    unsigned k = 0;
    for (; k < cover && !t->failed; k++) {
        t->k = k;
        t->start[k] = x64_pos(&t->x);
        t->next = t->insn_eip[k + 1];
        tr_insn(t, &b->insn[k]);
        if (ends_line(c, &b->insn[k])) {
            k++;
            break;
        }
    }
    /* Whatever follows a line-ending insn is never reached from here. */
    for (unsigned j = k; j <= cover; j++)
        t->start[j] = x64_pos(&t->x);
    if (k == cover && !ends_line(c, &b->insn[cover - 1]))
        emit_exit_direct(t, t->fl, t->insn_eip[cover], cover, JIT_END_FELL);
    else if (k < cover && classify(c, &b->insn[k - 1]).kind != K_HELPER_EXIT)
        t->failed = true;           /* an insn after a jump: not a block shape we make */
    emit_stubs(t);
    emit_chain_entry(t);
    uint32_t epi = x64_pos(&t->x);
    emit_epilogue(t);
    for (unsigned n = 0; n < t->nepi; n++)
        patch_to(t, t->epi_fix[n], epi);
    return !t->failed && !t->x.overflow;
}

/* The cache was flushed: b's translation and links are gone with it
 * (nothing to undo in code that no longer exists). */
static void forget_translation(struct block *b)
{
    b->jit = NULL;
    b->jit_chain = NULL;
    b->jit_chain_page = NULL;
    b->jit_in = NULL;
    memset(b->jit_out, 0, sizeof(b->jit_out));
    memset(b->jit_slot_rw, 0, sizeof(b->jit_slot_rw));
}

static void flush_cache(struct tcache *tc, struct cpu *c)
{
    tcache_flush(tc);
    dcache_for_each_block(c->engine->dcache, forget_translation);
    memset(c->engine->jcache, 0, sizeof(c->engine->jcache));
}

static void keep_translation(struct tcache *tc, struct block *b, const struct tr *t)
{
    uint8_t *rw = tcache_free_rw(tc);
    const uint8_t *rx = tcache_exec_addr(tc, rw);
    b->jit = (uint32_t (*)(struct cpu *))(uintptr_t)rx;
    b->jit_chain = rx + t->chain;
    b->jit_chain_page = rx + t->chain_page;
    b->jit_gen = tc->gen;
    b->jit_need = (uint8_t)(t->need | JIT_FLAT_CS);
    b->jit_cover = (uint16_t)t->cover;
    b->jit_eip = t->insn_eip[0];
    for (unsigned s = 0; s < JIT_SLOTS; s++) {
        b->jit_slot_rw[s] = s < t->nslots ? rw + t->slot_site[s] : NULL;
        if (s < t->nslots) {
            memcpy(&b->jit_slot_rel[s], rw + t->slot_site[s], 4);
            b->jit_slot_eip[s] = t->slot_eip[s];
        }
    }
    tcache_commit(tc, x64_pos(&t->x));
}

bool translate_block(struct tcache *tc, struct cpu *c, struct block *b)
{
    unsigned cover = b->n - (b->chains ? 0u : 1u);
    if (!b->code32 || !c->code32 || cover == 0 || !(c->jit_flat & JIT_FLAT_CS) ||
        (uint64_t)c->s.eip + b->bytes > 0x100000000ull) {
        b->jit_failed = true;
        return false;
    }
    if (b->jit && b->jit_gen == tc->gen)
        translate_unlink(b);          /* made again (for another EIP or segment state) */
    struct tr t;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (translate_into(&t, tc, c, b, cover)) {
            keep_translation(tc, b, &t);
            return true;
        }
        if (!t.x.overflow)
            break;
        flush_cache(tc, c);
    }
    b->jit = NULL;
    b->jit_failed = true;
    return false;
}

/* ---- links ---- */

static void link_drop(struct jit_link *l)
{
    memcpy(l->site_rw, &l->unlinked_rel, 4);
    *l->in_prev = l->in_next;
    if (l->in_next)
        l->in_next->in_prev = l->in_prev;
    l->to = NULL;
}

void translate_link(struct tcache *tc, struct block *from, unsigned slot, struct block *to)
{
    struct jit_link *l = &from->jit_out[slot];
    if (l->to == to)
        return;
    if (l->to)
        link_drop(l);
    uint8_t *site = from->jit_slot_rw[slot];
    bool same_page = ((from->jit_eip ^ to->jit_eip) & ~0xfffu) == 0;
    const uint8_t *entry = same_page ? to->jit_chain_page : to->jit_chain;
    int32_t rel = (int32_t)(entry - (tcache_exec_addr(tc, site) + 4));
    l->to = to;
    l->site_rw = site;
    l->unlinked_rel = from->jit_slot_rel[slot];
    l->in_next = to->jit_in;
    l->in_prev = &to->jit_in;
    if (to->jit_in)
        to->jit_in->in_prev = &l->in_next;
    to->jit_in = l;
    memcpy(site, &rel, 4);
}

void translate_unlink(struct block *b)
{
    for (unsigned s = 0; s < JIT_SLOTS; s++)
        if (b->jit_out[s].to)
            link_drop(&b->jit_out[s]);
    while (b->jit_in)
        link_drop(b->jit_in);
}

/* test_decoder.c - the soft CPU's decoder: lengths, operands, prefixes,
 * 16/32-bit addressing, groups, truncation and the 15-byte limit.
 * Lengths are cross-checked against Capstone over the whole opcode table and
 * over random byte strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <capstone/capstone.h>

#include "engine/soft/decode.h"
#include "engine/soft/interp.h"
#include "engine/soft/opcodes.h"

struct dcase {
    const char *what;
    bool code32;
    uint8_t bytes[16];
    unsigned n;
    unsigned len;
    const char *mnem;
    int opsize, adsize, seg;     /* -1: don't check */
    int base, index, scale;
    int64_t disp, imm, imm2;     /* INT64_MIN: don't check */
};

#define NC INT64_MIN
#define B(...) { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ })

static const struct dcase cases[] = {
    { "nop", true, B(0x90), 1, "nop", 4, 4, -1, -1, -1, -1, NC, NC, NC },
    { "add eax,ecx", true, B(0x01, 0xc8), 2, "add", 4, 4, -1, -1, -1, -1, NC, NC, NC },
    { "66 add ax,cx", true, B(0x66, 0x01, 0xc8), 3, "add", 2, 4, -1, -1, -1, -1, NC, NC, NC },
    { "16-bit add ax,cx", false, B(0x01, 0xc8), 2, "add", 2, 2, -1, -1, -1, -1, NC, NC, NC },
    { "mov eax,[ebp+8]", true, B(0x8b, 0x45, 0x08), 3, "mov", 4, 4, SEG_SS, REG_EBP, INSN_NOREG, -1, 8, NC, NC },
    { "mov eax,[esp]", true, B(0x8b, 0x04, 0x24), 3, "mov", 4, 4, SEG_SS, REG_ESP, INSN_NOREG, 0, 0, NC, NC },
    { "mov eax,[disp32+ecx*4]", true, B(0x8b, 0x04, 0x8d, 0x78, 0x56, 0x34, 0x12), 7, "mov", 4, 4,
      SEG_DS, INSN_NOREG, REG_ECX, 2, 0x12345678, NC, NC },
    { "mov eax,[ebx+esi*8-4]", true, B(0x8b, 0x44, 0xf3, 0xfc), 4, "mov", 4, 4,
      SEG_DS, REG_EBX, REG_ESI, 3, -4, NC, NC },
    { "mov eax,[ebp+ecx*2+0x100] (disp32)", true, B(0x8b, 0x84, 0x4d, 0x00, 0x01, 0, 0), 7, "mov", 4, 4,
      SEG_SS, REG_EBP, REG_ECX, 1, 0x100, NC, NC },
    { "mov eax,[0x1000] modrm disp32", true, B(0x8b, 0x05, 0x00, 0x10, 0, 0), 6, "mov", 4, 4,
      SEG_DS, INSN_NOREG, INSN_NOREG, -1, 0x1000, NC, NC },
    { "es: mov eax,[ebp+8]", true, B(0x26, 0x8b, 0x45, 0x08), 4, "mov", 4, 4, SEG_ES, REG_EBP, -1, -1, 8, NC, NC },
    { "gs: mov eax,[0]", true, B(0x65, 0x8b, 0x05, 0, 0, 0, 0), 7, "mov", 4, 4, SEG_GS, -1, -1, -1, 0, NC, NC },
    { "16: mov ax,[bp+2]", false, B(0x8b, 0x46, 0x02), 3, "mov", 2, 2, SEG_SS, REG_EBP, INSN_NOREG, -1, 2, NC, NC },
    { "16: mov ax,[bp+si]", false, B(0x8b, 0x02), 2, "mov", 2, 2, SEG_SS, REG_EBP, REG_ESI, -1, 0, NC, NC },
    { "16: mov ax,[bx+di-1]", false, B(0x8b, 0x41, 0xff), 3, "mov", 2, 2, SEG_DS, REG_EBX, REG_EDI, -1, -1, NC, NC },
    { "16: mov ax,[0x1234]", false, B(0x8b, 0x06, 0x34, 0x12), 4, "mov", 2, 2, SEG_DS, INSN_NOREG, INSN_NOREG, -1, 0x1234, NC, NC },
    { "16: mov ax,[bx+0x8000]", false, B(0x8b, 0x87, 0x00, 0x80), 4, "mov", 2, 2, SEG_DS, REG_EBX, INSN_NOREG, -1, NC, NC, NC },
    { "67 in 32-bit: mov eax,[bp+di]", true, B(0x67, 0x8b, 0x03), 3, "mov", 4, 2, SEG_SS, REG_EBP, REG_EDI, -1, 0, NC, NC },
    { "67 in 16-bit: mov ax,[eax*2+ebx]", false, B(0x67, 0x8b, 0x04, 0x43), 4, "mov", 2, 4, SEG_DS, REG_EBX, REG_EAX, 1, 0, NC, NC },
    { "add eax,imm32", true, B(0x05, 0x78, 0x56, 0x34, 0x12), 5, "add", 4, 4, -1, -1, -1, -1, NC, 0x12345678, NC },
    { "66 add ax,imm16", true, B(0x66, 0x05, 0x34, 0x12), 4, "add", 2, 4, -1, -1, -1, -1, NC, 0x1234, NC },
    { "83 /0 sign-extended imm8", true, B(0x83, 0xc0, 0xff), 3, "add", 4, 4, -1, -1, -1, -1, NC, 0xffffffff, NC },
    { "80 /7 cmp byte [eax],0x80", true, B(0x80, 0x38, 0x80), 3, "cmp", 4, 4, SEG_DS, -1, -1, -1, NC, 0x80, NC },
    { "81 /5 sub [ebx+4],imm32", true, B(0x81, 0x6b, 0x04, 1, 2, 3, 4), 7, "sub", 4, 4, -1, -1, -1, -1, 4, 0x04030201, NC },
    { "c1 /4 shl eax,5", true, B(0xc1, 0xe0, 0x05), 3, "shl", -1, -1, -1, -1, -1, -1, NC, 5, NC },
    { "d1 /7 sar eax,1", true, B(0xd1, 0xf8), 2, "sar", -1, -1, -1, -1, -1, -1, NC, 1, NC },
    { "d3 /0 rol eax,cl", true, B(0xd3, 0xc0), 2, "rol", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "f6 /0 test byte [eax],imm8", true, B(0xf6, 0x00, 0x7f), 3, "test", -1, -1, -1, -1, -1, -1, NC, 0x7f, NC },
    { "f7 /0 test eax,imm32", true, B(0xf7, 0xc0, 1, 0, 0, 0), 6, "test", -1, -1, -1, -1, -1, -1, NC, 1, NC },
    { "f7 /6 div ecx", true, B(0xf7, 0xf1), 2, "div", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "66 f7 /0 test ax,imm16", true, B(0x66, 0xf7, 0xc0, 1, 0), 5, "test", 2, -1, -1, -1, -1, -1, NC, 1, NC },
    { "ff /2 call [eax]", true, B(0xff, 0x10), 2, "call", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "ff /5 jmp far [ebx]", true, B(0xff, 0x2b), 2, "jmpf", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "fe /1 dec byte [esi]", true, B(0xfe, 0x0e), 2, "dec", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "mov al,[moffs32]", true, B(0xa0, 0x78, 0x56, 0x34, 0x12), 5, "mov", -1, 4, SEG_DS, INSN_NOREG, INSN_NOREG, -1, 0x12345678, NC, NC },
    { "67 mov eax,[moffs16]", true, B(0x67, 0xa1, 0x34, 0x12), 4, "mov", 4, 2, SEG_DS, -1, -1, -1, 0x1234, NC, NC },
    { "fs: mov [moffs32],eax", true, B(0x64, 0xa3, 0, 0, 0, 0), 6, "mov", -1, -1, SEG_FS, -1, -1, -1, 0, NC, NC },
    { "16: mov [moffs16],al", false, B(0xa2, 0x00, 0x80), 3, "mov", -1, 2, SEG_DS, -1, -1, -1, 0x8000, NC, NC },
    { "jmp far 0x08:0x00100000", true, B(0xea, 0x00, 0x00, 0x10, 0x00, 0x08, 0x00), 7, "jmpf", -1, -1, -1, -1, -1, -1, NC, 0x100000, 8 },
    { "16: jmp far f000:e05b", false, B(0xea, 0x5b, 0xe0, 0x00, 0xf0), 5, "jmpf", -1, -1, -1, -1, -1, -1, NC, 0xe05b, 0xf000 },
    { "66 call far ptr16:32 in 16-bit", false, B(0x66, 0x9a, 1, 2, 3, 4, 5, 6), 8, "callf", 4, -1, -1, -1, -1, -1, NC, 0x04030201, 0x0605 },
    { "enter 0x1234,3", true, B(0xc8, 0x34, 0x12, 0x03), 4, "enter", -1, -1, -1, -1, -1, -1, NC, 0x1234, 3 },
    { "ret 8", true, B(0xc2, 0x08, 0x00), 3, "ret", -1, -1, -1, -1, -1, -1, NC, 8, NC },
    { "jne rel8 backwards", true, B(0x75, 0xfe), 2, "jne", -1, -1, -1, -1, -1, -1, NC, 0xfffffffe, NC },
    { "je rel32", true, B(0x0f, 0x84, 0x00, 0x01, 0x00, 0x00), 6, "je", -1, -1, -1, -1, -1, -1, NC, 0x100, NC },
    { "16: je rel16", false, B(0x0f, 0x84, 0xfd, 0xff), 4, "je", 2, -1, -1, -1, -1, -1, NC, 0xfffd, NC },
    { "call rel32", true, B(0xe8, 0, 0, 0, 0), 5, "call", -1, -1, -1, -1, -1, -1, NC, 0, NC },
    { "push imm8 (sign-extended)", true, B(0x6a, 0x80), 2, "push", -1, -1, -1, -1, -1, -1, NC, 0xffffff80, NC },
    { "imul eax,[ecx],imm32", true, B(0x69, 0x01, 0x10, 0, 0, 0), 6, "imul", -1, -1, -1, -1, -1, -1, NC, 0x10, NC },
    { "mov cr0,eax (mod ignored)", true, B(0x0f, 0x22, 0x00), 3, "mov", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "bt [eax],imm8", true, B(0x0f, 0xba, 0x20, 0x1f), 4, "bt", -1, -1, -1, -1, -1, -1, NC, 0x1f, NC },
    { "cmpxchg8b [esi]", true, B(0x0f, 0xc7, 0x0e), 3, "cmpxchg8b", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "lgdt [0x5000]", true, B(0x0f, 0x01, 0x15, 0x00, 0x50, 0, 0), 7, "lgdt", -1, -1, -1, -1, -1, -1, 0x5000, NC, NC },
    { "nop dword [eax+eax+0]", true, B(0x0f, 0x1f, 0x44, 0x00, 0x00), 5, "nop", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "rep movsd", true, B(0xf3, 0xa5), 2, "movs", -1, -1, SEG_DS, -1, -1, -1, NC, NC, NC },
    { "es: rep movsb: source segment override", true, B(0x26, 0xf3, 0xa4), 3, "movsb", -1, -1, SEG_ES, -1, -1, -1, NC, NC, NC },
    { "shld eax,ebx,4", true, B(0x0f, 0xa4, 0xd8, 0x04), 4, "shld", -1, -1, -1, -1, -1, -1, NC, 4, NC },
    { "fld qword [eax] (x87 modrm)", true, B(0xdd, 0x00), 2, "fpu", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "fstp st0 with disp32 sib", true, B(0xd9, 0x9c, 0x24, 0, 1, 0, 0), 7, "fpu", -1, -1, -1, -1, -1, -1, 0x100, NC, NC },
    { "bswap ecx", true, B(0x0f, 0xc9), 2, "bswap", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "movzx eax,byte [ebx]", true, B(0x0f, 0xb6, 0x03), 3, "movzx", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "out dx,al", true, B(0xee), 1, "out", -1, -1, -1, -1, -1, -1, NC, NC, NC },
    { "in al,0x60", true, B(0xe4, 0x60), 2, "in", -1, -1, -1, -1, -1, -1, NC, 0x60, NC },
    { "aam 16", true, B(0xd4, 0x10), 2, "aam", -1, -1, -1, -1, -1, -1, NC, 0x10, NC },
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct dcase *t = &cases[k];
        struct insn i;
        print_message("%s\n", t->what);
        assert_int_equal(decode_insn(&i, t->bytes, t->n, t->code32), DECODE_OK);
        assert_int_equal(i.len, t->len);
        assert_non_null(i.exec);
        assert_string_equal(insn_mnemonic(&i), t->mnem);
        if (t->opsize >= 0) assert_int_equal(i.opsize, t->opsize);
        if (t->adsize >= 0) assert_int_equal(i.adsize, t->adsize);
        if (t->seg >= 0) assert_int_equal(i.seg, t->seg);
        if (t->base >= 0) assert_int_equal(i.base, t->base);
        if (t->index >= 0) assert_int_equal(i.index, t->index);
        if (t->scale >= 0) assert_int_equal(i.scale, t->scale);
        if (t->disp != NC) assert_int_equal((uint32_t)i.disp, (uint32_t)t->disp);
        if (t->imm != NC) assert_int_equal(i.imm, (uint32_t)t->imm);
        if (t->imm2 != NC) assert_int_equal(i.imm2, (uint32_t)t->imm2);
    }
}

static void test_handler_by_operand_size(void **state)
{
    (void)state;
    struct insn i;
    const uint8_t add32[] = { 0x01, 0xc8 }, add16[] = { 0x66, 0x01, 0xc8 };
    assert_int_equal(decode_insn(&i, add32, 2, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_add_EvGv_d__reg);
    assert_int_equal(decode_insn(&i, add32, 2, false), DECODE_OK);
    assert_ptr_equal(i.exec, op_add_EvGv_w);
    assert_int_equal(decode_insn(&i, add16, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_add_EvGv_w);
    assert_int_equal(i.prefixes, PFX_OPSIZE);
    assert_int_equal(decode_insn(&i, add16, 3, false), DECODE_OK);
    assert_ptr_equal(i.exec, op_add_EvGv_d__reg);
    /* group entry handler chosen by ModRM.reg and operand size */
    const uint8_t sub_imm[] = { 0x83, 0xe9, 0x01 };   /* sub ecx,1 */
    assert_int_equal(decode_insn(&i, sub_imm, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_sub_EvI_d__reg);
    assert_int_equal(i.reg, 5);
    assert_int_equal(i.mod, 3);
    assert_int_equal(i.rm, REG_ECX);
}

/* The decoder hands out the most specific form of a hot handler
 * (interp_forms.c): register; with 32-bit addressing [base + disp],
 * [base + index * scale + disp] or [disp]; else the general one; Jcc by
 * its condition. */
static void test_handler_forms(void **state)
{
    (void)state;
    struct insn i;
    const uint8_t mov_base[] = { 0x8b, 0x45, 0xf8 };             /* mov eax,[ebp-8] */
    const uint8_t mov_sib[] = { 0x8b, 0x04, 0x8b };              /* mov eax,[ebx+ecx*4] */
    const uint8_t mov_abs[] = { 0x8b, 0x05, 0x00, 0x10, 0, 0 };  /* mov eax,[0x1000] */
    const uint8_t mov_index[] = { 0x8b, 0x04, 0x8d, 0, 0x10, 0, 0 }; /* mov eax,[ecx*4+0x1000] */
    const uint8_t mov_esp[] = { 0x89, 0x44, 0x24, 0x04 };        /* mov [esp+4],eax */
    const uint8_t mov_bx16[] = { 0x8b, 0x07 };                   /* mov ax,[bx] (16-bit) */
    const uint8_t lea_reg[] = { 0x8d, 0xc0 };                    /* lea eax,eax: #UD */
    const uint8_t je[] = { 0x74, 0x05 }, jg32[] = { 0x0f, 0x8f, 0, 0, 0, 0 };
    assert_int_equal(decode_insn(&i, mov_base, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_mov_GvEv_d__base);
    assert_int_equal(decode_insn(&i, mov_sib, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_mov_GvEv_d__sib);
    assert_int_equal(decode_insn(&i, mov_abs, 6, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_mov_GvEv_d__abs);
    assert_int_equal(decode_insn(&i, mov_index, 7, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_mov_GvEv_d);
    assert_int_equal(decode_insn(&i, mov_esp, 4, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_mov_EvGv_d__base);
    assert_int_equal(decode_insn(&i, mov_bx16, 2, false), DECODE_OK);
    assert_ptr_equal(i.exec, op_mov_GvEv_w);
    assert_int_equal(decode_insn(&i, lea_reg, 2, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_lea__reg);
    assert_int_equal(decode_insn(&i, je, 2, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_jcc_4);
    assert_int_equal(decode_insn(&i, jg32, 6, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_jcc_15);
}

static void test_lock_prefix(void **state)
{
    (void)state;
    struct insn i;
    const uint8_t lock_add_mem[] = { 0xf0, 0x01, 0x08 };   /* lock add [eax],ecx */
    const uint8_t lock_add_reg[] = { 0xf0, 0x01, 0xc8 };   /* lock add eax,ecx */
    const uint8_t lock_mov[] = { 0xf0, 0x89, 0x08 };       /* lock mov [eax],ecx */
    const uint8_t lock_cmp[] = { 0xf0, 0x39, 0x08 };       /* lock cmp: not RMW */
    const uint8_t lock_cx8[] = { 0xf0, 0x0f, 0xc7, 0x0e }; /* lock cmpxchg8b [esi] */
    const uint8_t lock_bts[] = { 0xf0, 0x0f, 0xba, 0x28, 3 };
    assert_int_equal(decode_insn(&i, lock_add_mem, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_add_EvGv_d__base);
    assert_true(i.prefixes & PFX_LOCK);
    assert_int_equal(decode_insn(&i, lock_add_reg, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_lock_ud);
    assert_int_equal(decode_insn(&i, lock_mov, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_lock_ud);
    assert_int_equal(decode_insn(&i, lock_cmp, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_lock_ud);
    assert_int_equal(decode_insn(&i, lock_cx8, 4, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_cmpxchg8b);
    assert_int_equal(decode_insn(&i, lock_bts, 5, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_bt_EvIb);
}

static void test_rep_prefixes(void **state)
{
    (void)state;
    struct insn i;
    const uint8_t repne_rep[] = { 0xf2, 0xf3, 0xa6 };
    const uint8_t rep_repne[] = { 0xf3, 0xf2, 0xa6 };
    assert_int_equal(decode_insn(&i, repne_rep, 3, true), DECODE_OK);
    assert_int_equal(i.prefixes & (PFX_REP | PFX_REPNE), PFX_REP);
    assert_int_equal(decode_insn(&i, rep_repne, 3, true), DECODE_OK);
    assert_int_equal(i.prefixes & (PFX_REP | PFX_REPNE), PFX_REPNE);
    /* the last segment override wins */
    const uint8_t two_segs[] = { 0x2e, 0x64, 0x8b, 0x00 };
    assert_int_equal(decode_insn(&i, two_segs, 4, true), DECODE_OK);
    assert_int_equal(i.seg, SEG_FS);
    assert_true(i.prefixes & PFX_SEG);
}

static void test_undefined(void **state)
{
    (void)state;
    struct insn i;
    const uint8_t grp5_7[] = { 0xff, 0xf8 };      /* FF /7 */
    const uint8_t op_0f0f[] = { 0x0f, 0x0f, 0xc0, 0x00 };
    const uint8_t c6_1[] = { 0xc6, 0xc8, 0x01 };  /* C6 /1: undefined, still takes imm8 */
    const uint8_t ud2[] = { 0x0f, 0x0b };
    assert_int_equal(decode_insn(&i, grp5_7, 2, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_undefined);
    assert_string_equal(insn_mnemonic(&i), "(bad)");
    assert_int_equal(i.len, 2);
    assert_int_equal(decode_insn(&i, op_0f0f, 4, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_undefined);
    assert_int_equal(i.opcode, 0x10f);
    assert_int_equal(decode_insn(&i, c6_1, 3, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_undefined);
    assert_int_equal(i.len, 3);
    assert_int_equal(decode_insn(&i, ud2, 2, true), DECODE_OK);
    assert_ptr_equal(i.exec, op_ud2);
    assert_string_equal(insn_mnemonic(&i), "ud2");
}

static void test_truncated(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct dcase *t = &cases[k];
        struct insn i;
        for (unsigned avail = 0; avail < t->len; avail++)
            assert_int_equal(decode_insn(&i, t->bytes, avail, t->code32), DECODE_TRUNCATED);
        assert_int_equal(decode_insn(&i, t->bytes, t->len, t->code32), DECODE_OK);
    }
}

static void test_too_long(void **state)
{
    (void)state;
    uint8_t b[32];
    struct insn i;
    memset(b, 0x66, sizeof(b));
    b[14] = 0x90;                    /* 14 prefixes + nop = 15 bytes: fine */
    assert_int_equal(decode_insn(&i, b, sizeof(b), true), DECODE_OK);
    assert_int_equal(i.len, 15);
    b[14] = 0x66;
    b[15] = 0x90;                    /* 16 bytes */
    assert_int_equal(decode_insn(&i, b, sizeof(b), true), DECODE_TOO_LONG);
    /* too long even if fewer bytes are available: the limit comes first */
    assert_int_equal(decode_insn(&i, b, 15, true), DECODE_TOO_LONG);
    /* an immediate crossing the limit: 11 prefixes + 81 /0 modrm sib disp32 imm32 */
    memset(b, 0x3e, 11);
    const uint8_t tail[] = { 0x81, 0x84, 0x24, 0, 0, 0, 0, 1, 2, 3, 4 };
    memcpy(b + 11, tail, sizeof(tail));
    assert_int_equal(decode_insn(&i, b, sizeof(b), true), DECODE_TOO_LONG);
    /* the same without prefixes: 11 bytes */
    assert_int_equal(decode_insn(&i, tail, sizeof(tail), true), DECODE_OK);
    assert_int_equal(i.len, 11);
}

/* ---- Capstone as the length oracle ---- */

static csh open_capstone(bool code32)
{
    csh h;
    assert_int_equal(cs_open(CS_ARCH_X86, code32 ? CS_MODE_32 : CS_MODE_16, &h), CS_ERR_OK);
    return h;
}

/* Our length must equal Capstone's whenever both accept the bytes. */
static bool lengths_agree(csh h, const uint8_t *b, unsigned n, bool code32, unsigned *ours, unsigned *theirs)
{
    struct insn i;
    cs_insn *ci;
    *ours = *theirs = 0;
    if (decode_insn(&i, b, n, code32) != DECODE_OK || i.exec == op_undefined)
        return true;
    /* LES/LDS/BOUND with a register operand are VEX/EVEX prefixes on AVX
     * CPUs (Capstone decodes them so); our CPU has no AVX: #UD, 2 bytes. */
    if ((i.opcode == 0xc4 || i.opcode == 0xc5 || i.opcode == 0x62) && i.mod == 3)
        return true;
    size_t cnt = cs_disasm(h, b, n, 0x1000, 1, &ci);
    if (cnt == 0)
        return true;
    *ours = i.len;
    *theirs = (unsigned)ci[0].size;
    cs_free(ci, cnt);
    return *ours == *theirs;
}

static void build(uint8_t *b, unsigned *n, const uint8_t *pfx, unsigned npfx, unsigned code,
                  uint8_t modrm, uint8_t sib)
{
    unsigned k = 0;
    memcpy(b, pfx, npfx);
    k = npfx;
    if (code & 0x100)
        b[k++] = 0x0f;
    b[k++] = (uint8_t)code;
    b[k++] = modrm;
    b[k++] = sib;
    /* displacement/immediate bytes: distinctive, not prefixes */
    for (unsigned j = 0; j < 12; j++)
        b[k++] = (uint8_t)(0x11 * (j + 1));
    *n = k;
}

static void test_table_lengths_vs_capstone(void **state)
{
    (void)state;
    static const uint8_t modrms[] = { 0x00, 0x05, 0x04, 0x0c, 0x44, 0x45, 0x84, 0x85, 0xc0,
                                      0x38, 0x3d, 0x7c, 0xbd, 0xf8, 0x16, 0x1e, 0x0e, 0x2f };
    static const uint8_t sibs[] = { 0x24, 0x25, 0x8d, 0x00 };
    static const uint8_t pfx_sets[][2] = { { 0, 0 }, { 0x66, 0 }, { 0x67, 0 }, { 0x66, 0x67 } };
    static const unsigned pfx_len[] = { 0, 1, 1, 2 };
    unsigned checked = 0, bad = 0;
    for (int mode = 0; mode < 2; mode++) {
        bool code32 = mode == 1;
        csh h = open_capstone(code32);
        for (unsigned code = 0; code < OPCODE_COUNT; code++) {
            const struct opcode_entry *e = opcode_entry(code);
            if (!e->mnem || code == 0x0f)
                continue;
            for (unsigned p = 0; p < 4; p++)
                for (unsigned m = 0; m < sizeof(modrms); m++)
                    for (unsigned s = 0; s < sizeof(sibs); s++) {
                        uint8_t b[32];
                        unsigned n, ours, theirs;
                        build(b, &n, pfx_sets[p], pfx_len[p], code, modrms[m], sibs[s]);
                        checked++;
                        if (!lengths_agree(h, b, n, code32, &ours, &theirs)) {
                            if (bad++ < 20) {
                                print_message("length mismatch (%s): ", code32 ? "32" : "16");
                                for (unsigned j = 0; j < ours || j < theirs; j++)
                                    print_message("%02x ", b[j]);
                                print_message(": ours %u capstone %u\n", ours, theirs);
                            }
                        }
                    }
        }
        cs_close(&h);
    }
    print_message("%u table encodings checked against Capstone\n", checked);
    assert_int_equal(bad, 0);
}

/* Random bytes (seeded, reproducible): wherever both decoders accept an
 * encoding, lengths agree. */
static void test_random_lengths_vs_capstone(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned bad = 0, compared = 0;
    for (int mode = 0; mode < 2; mode++) {
        csh h = open_capstone(mode == 1);
        for (unsigned k = 0; k < 200000; k++) {
            uint8_t b[16];
            for (unsigned j = 0; j < 16; j++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                b[j] = (uint8_t)x;
            }
            unsigned ours, theirs;
            if (!lengths_agree(h, b, 16, mode == 1, &ours, &theirs)) {
                if (bad++ < 20) {
                    print_message("random mismatch (%d): ", mode ? 32 : 16);
                    for (unsigned j = 0; j < 16; j++)
                        print_message("%02x ", b[j]);
                    print_message(": ours %u capstone %u\n", ours, theirs);
                }
            }
            if (ours)
                compared++;
        }
        cs_close(&h);
    }
    print_message("%u random encodings compared\n", compared);
    assert_true(compared > 50000);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_handler_by_operand_size),
        cmocka_unit_test(test_handler_forms),
        cmocka_unit_test(test_lock_prefix),
        cmocka_unit_test(test_rep_prefixes),
        cmocka_unit_test(test_undefined),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_table_lengths_vs_capstone),
        cmocka_unit_test(test_random_lengths_vs_capstone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* x64.c - the translator's x86-64 encoder (see x64.h). */
#include "engine/soft/x64.h"

#include <string.h>

void x64_init(struct x64 *x, uint8_t *buf, uint32_t size)
{
    x->start = x->p = buf;
    x->end = buf + size;
    x->overflow = false;
}

void x64_byte(struct x64 *x, uint8_t b)
{
    if (x->p < x->end)
        *x->p++ = b;
    else
        x->overflow = true;
}

void x64_u16(struct x64 *x, uint16_t v)
{
    x64_byte(x, (uint8_t)v);
    x64_byte(x, (uint8_t)(v >> 8));
}

void x64_u32(struct x64 *x, uint32_t v)
{
    x64_u16(x, (uint16_t)v);
    x64_u16(x, (uint16_t)(v >> 16));
}

void x64_u64(struct x64 *x, uint64_t v)
{
    x64_u32(x, (uint32_t)v);
    x64_u32(x, (uint32_t)(v >> 32));
}

/* Prefixes and opcode: 66 for 16-bit, REX when any of W R X B is needed
 * (or always for byte operands, so that 4-7 never mean AH-BH). */
static void prefix_opcode(struct x64 *x, unsigned size, uint32_t op, unsigned len,
                          unsigned reg, unsigned index, unsigned base)
{
    if (size == 2)
        x64_byte(x, 0x66);
    unsigned rex = (size == 8 ? 8u : 0u) | ((reg & 8) ? 4u : 0u) |
                   ((index < 16 && (index & 8)) ? 2u : 0u) |
                   ((base != X_NONE && (base & 8)) ? 1u : 0u);
    bool byte_low = size == 1 && ((reg >= 4 && reg < 8) || (base >= 4 && base < 8 && index == 0xfe));
    if (rex || byte_low)
        x64_byte(x, (uint8_t)(0x40 | rex));
    for (unsigned k = len; k-- > 0;)
        x64_byte(x, (uint8_t)(op >> (8 * k)));
}

void x64_op_rr(struct x64 *x, unsigned size, uint32_t op, unsigned len, unsigned reg, unsigned rm)
{
    /* index 0xfe marks a register r/m for the byte-register REX rule */
    prefix_opcode(x, size, op, len, reg, 0xfe, rm);
    x64_byte(x, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

void x64_op_rm(struct x64 *x, unsigned size, uint32_t op, unsigned len, unsigned reg, struct x64_mem m)
{
    prefix_opcode(x, size, op, len, reg, m.index, m.base);
    unsigned r = (reg & 7) << 3;
    if (m.base == X_NONE) {
        /* [index*scale + disp32] or [disp32] through a SIB without base */
        x64_byte(x, (uint8_t)(0x04 | r));
        unsigned idx = m.index == X_NONE ? 4u : (m.index & 7u);
        x64_byte(x, (uint8_t)((m.scale << 6) | (idx << 3) | 5));
        x64_u32(x, (uint32_t)m.disp);
        return;
    }
    unsigned mod;
    if (m.disp == 0 && (m.base & 7) != X_RBP)
        mod = 0;
    else if (m.disp >= -128 && m.disp <= 127)
        mod = 1;
    else
        mod = 2;
    if (m.index != X_NONE || (m.base & 7) == X_RSP) {
        unsigned idx = m.index == X_NONE ? 4u : (m.index & 7u);
        x64_byte(x, (uint8_t)((mod << 6) | r | 4));
        x64_byte(x, (uint8_t)((m.scale << 6) | (idx << 3) | (m.base & 7)));
    } else {
        x64_byte(x, (uint8_t)((mod << 6) | r | (m.base & 7)));
    }
    if (mod == 1)
        x64_byte(x, (uint8_t)m.disp);
    else if (mod == 2)
        x64_u32(x, (uint32_t)m.disp);
}

void x64_mov_rr(struct x64 *x, unsigned size, unsigned dst, unsigned src)
{
    x64_op_rr(x, size, size == 1 ? 0x88 : 0x89, 1, src, dst);
}

void x64_load(struct x64 *x, unsigned size, unsigned dst, struct x64_mem m)
{
    x64_op_rm(x, size, size == 1 ? 0x8a : 0x8b, 1, dst, m);
}

void x64_store(struct x64 *x, unsigned size, struct x64_mem m, unsigned src)
{
    x64_op_rm(x, size, size == 1 ? 0x88 : 0x89, 1, src, m);
}

void x64_store_imm32(struct x64 *x, unsigned size, struct x64_mem m, uint32_t imm)
{
    if (size == 1) {
        x64_op_rm(x, 1, 0xc6, 1, 0, m);
        x64_byte(x, (uint8_t)imm);
    } else if (size == 2) {
        x64_op_rm(x, 2, 0xc7, 1, 0, m);
        x64_u16(x, (uint16_t)imm);
    } else {
        x64_op_rm(x, size, 0xc7, 1, 0, m);
        x64_u32(x, imm);
    }
}

void x64_lea(struct x64 *x, unsigned size, unsigned dst, struct x64_mem m)
{
    x64_op_rm(x, size, 0x8d, 1, dst, m);
}

void x64_mov_imm32(struct x64 *x, unsigned dst, uint32_t imm)
{
    if (dst & 8)
        x64_byte(x, 0x41);
    x64_byte(x, (uint8_t)(0xb8 + (dst & 7)));
    x64_u32(x, imm);
}

void x64_mov_imm64(struct x64 *x, unsigned dst, uint64_t imm)
{
    x64_byte(x, (uint8_t)(0x48 | ((dst & 8) ? 1 : 0)));
    x64_byte(x, (uint8_t)(0xb8 + (dst & 7)));
    x64_u64(x, imm);
}

/* Group 1 with an immediate: 80 (byte), 83 (sign-extended imm8) or 81. */
static bool alu_imm8(unsigned size, int32_t imm)
{
    return size == 1 || (imm >= -128 && imm <= 127);
}

static uint32_t alu_opcode(unsigned size, int32_t imm)
{
    return size == 1 ? 0x80 : alu_imm8(size, imm) ? 0x83 : 0x81;
}

static void alu_imm(struct x64 *x, unsigned size, int32_t imm)
{
    if (alu_imm8(size, imm))
        x64_byte(x, (uint8_t)imm);
    else if (size == 2)
        x64_u16(x, (uint16_t)imm);
    else
        x64_u32(x, (uint32_t)imm);
}

void x64_alu_ri(struct x64 *x, unsigned size, unsigned ext, unsigned rm, int32_t imm)
{
    x64_op_rr(x, size, alu_opcode(size, imm), 1, ext, rm);
    alu_imm(x, size, imm);
}

void x64_alu_mi(struct x64 *x, unsigned size, unsigned ext, struct x64_mem m, int32_t imm)
{
    x64_op_rm(x, size, alu_opcode(size, imm), 1, ext, m);
    alu_imm(x, size, imm);
}

void x64_push(struct x64 *x, unsigned reg)
{
    if (reg & 8)
        x64_byte(x, 0x41);
    x64_byte(x, (uint8_t)(0x50 + (reg & 7)));
}

void x64_pop(struct x64 *x, unsigned reg)
{
    if (reg & 8)
        x64_byte(x, 0x41);
    x64_byte(x, (uint8_t)(0x58 + (reg & 7)));
}

void x64_call_reg(struct x64 *x, unsigned reg)
{
    x64_op_rr(x, 4, 0xff, 1, 2, reg);
}

void x64_jmp_reg(struct x64 *x, unsigned reg)
{
    x64_op_rr(x, 4, 0xff, 1, 4, reg);
}

void x64_jmp_mem(struct x64 *x, struct x64_mem m)
{
    x64_op_rm(x, 4, 0xff, 1, 4, m);
}

void x64_ret(struct x64 *x)
{
    x64_byte(x, 0xc3);
}

uint32_t x64_jmp_rel32(struct x64 *x)
{
    x64_byte(x, 0xe9);
    uint32_t at = x64_pos(x);
    x64_u32(x, 0);
    return at;
}

uint32_t x64_jcc_rel32(struct x64 *x, unsigned cc)
{
    x64_byte(x, 0x0f);
    x64_byte(x, (uint8_t)(0x80 | (cc & 15)));
    uint32_t at = x64_pos(x);
    x64_u32(x, 0);
    return at;
}

uint32_t x64_call_rel32(struct x64 *x)
{
    x64_byte(x, 0xe8);
    uint32_t at = x64_pos(x);
    x64_u32(x, 0);
    return at;
}

void x64_set_rel32(uint8_t *field_w, const uint8_t *field_x, const uint8_t *target_x)
{
    int32_t rel = (int32_t)(target_x - (field_x + 4));
    memcpy(field_w, &rel, 4);
}

void x64_flags_to_ax(struct x64 *x)
{
    x64_byte(x, 0x9f);                          /* lahf */
    x64_byte(x, 0x0f); x64_byte(x, 0x90); x64_byte(x, 0xc0);   /* seto al */
}

void x64_flags_from_ax(struct x64 *x)
{
    x64_byte(x, 0x04); x64_byte(x, 0x7f);       /* add al, 0x7f: OF = (al == 1) */
    x64_byte(x, 0x9e);                          /* sahf */
}

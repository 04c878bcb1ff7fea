/* opcodes.h - the opcode table's entry type and form flags (see opcodes.def).
 * Internal to the soft CPU: the decoder and the decoder tests read the table
 * through opcode_entry() / opcode_group_entry(). */
#ifndef MORPH_SOFT_OPCODES_H
#define MORPH_SOFT_OPCODES_H

#include <stdint.h>

#include "decode.h"

#define F_M    0x0001u   /* ModRM follows */
#define F_MR   0x0002u   /* ModRM always names a register */
#define F_IB   0x0004u   /* imm8 zero-extended */
#define F_IBS  0x0008u   /* imm8 sign-extended */
#define F_IW   0x0010u   /* imm16 */
#define F_IZ   0x0020u   /* imm16/imm32 by operand size */
#define F_IO   0x0040u   /* moffs by address size */
#define F_IP   0x0080u   /* far pointer */
#define F_IE   0x0100u   /* ENTER imm16, imm8 */
#define F_I1   0x0200u   /* implicit 1 */
#define F_LK   0x0400u   /* LOCK allowed with a memory operand */
#define F_GROUP_SHIFT 16
#define F_G(g) ((uint32_t)(OPGROUP_##g + 1) << F_GROUP_SHIFT)
#define F_GROUP_OF(form) ((int)((form) >> F_GROUP_SHIFT) - 1)   /* -1: not a group */

enum opcode_group {
#define GROUP(name) OPGROUP_##name,
#include "opcodes.def"
    OPGROUP_COUNT
};

struct opcode_entry {
    const char *mnem;        /* NULL: undefined */
    uint32_t form;           /* F_* */
    insn_exec_fn exec16, exec32;
};

#define OPCODE_COUNT 512     /* one-byte map, then the 0F map */

/* Table rows; never NULL (undefined rows have mnem == NULL). */
const struct opcode_entry *opcode_entry(unsigned code);
const struct opcode_entry *opcode_group_entry(int group, unsigned reg);

#endif

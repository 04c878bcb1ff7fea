/* x87_host.h - the x87 arithmetic core: one guest operation executed by the
 * host's own x87 unit (x86 hosts only).
 *
 * Why the host's unit and not C/libm: the guest must see exactly what real
 * hardware computes - rounding under every precision/rounding control, C1,
 * NaN propagation, pseudo-denormals and unnormals, FSIN/FPTAN/FPREM results
 * and condition codes, the biased results of unmasked overflow/underflow.
 * The host's x87 is that hardware.  A kernel loads the guest's control word
 * and the operands into an empty host stack, runs one instruction, and reads
 * back the status word and the stack.  When the guest leaves an exception
 * unmasked, the kernel ends with FNSAVE (non-waiting, and it re-initialises
 * the unit), so a pending host exception never traps.  The host's control
 * word is restored afterwards.  No guest state machinery lives here: stack
 * faults, tags, masking decisions and memory belong to x87.c. */
#ifndef MORPH_SOFT_X87_HOST_H
#define MORPH_SOFT_X87_HOST_H

#include <stdint.h>

enum x87_hop {
    /* two operands in ST0 = in[0], ST1 = in[1]; out[0] = ST0 afterwards,
     * out[1] = ST1 afterwards */
    HOP_ADD, HOP_MUL, HOP_SUB, HOP_SUBR, HOP_DIV, HOP_DIVR,
    HOP_COM, HOP_UCOM, HOP_PREM, HOP_PREM1, HOP_SCALE,
    /* two operands, the instruction pops: out[0] is the result */
    HOP_PATAN, HOP_YL2X, HOP_YL2XP1,
    /* one operand in[0]; out[0] = ST0 afterwards */
    HOP_SQRT, HOP_ABS, HOP_CHS, HOP_RNDINT, HOP_SIN, HOP_COS, HOP_F2XM1,
    HOP_TST, HOP_XAM,
    /* one operand, may push (depth 2: out[0] = ST0, out[1] = ST1) */
    HOP_PTAN, HOP_SINCOS, HOP_XTRACT,
    /* constants: push one value */
    HOP_LD1, HOP_LDL2T, HOP_LDL2E, HOP_LDPI, HOP_LDLG2, HOP_LDLN2, HOP_LDZ,
    /* memory -> out[0] */
    HOP_LD_M32, HOP_LD_M64, HOP_LD_BCD,
    /* in[0] -> memory (mem) */
    HOP_ST_M32, HOP_ST_M64, HOP_ST_I16, HOP_ST_I32, HOP_ST_I64, HOP_ST_BCD,
    /* ST0 op memory operand, as the instruction itself (exception
     * priorities between the conversion and the operation are the
     * hardware's): HOP_MEM + row * 8 + ModRM.reg, rows D8 DA DC DE =
     * m32fp m32int m64fp m16int */
    HOP_MEM,
    HOP_COUNT = HOP_MEM + 32
};

struct x87_host_io {
    long double in[2];
    long double out[2];
    uint8_t mem[10];      /* memory operand (input of loads, output of stores) */
    uint16_t sw;          /* host status word after the instruction */
    uint8_t depth;        /* host stack depth after the instruction */
};

/* Run `op` under control word `cw` (the guest's FCW, masks included). */
void x87_host_run(enum x87_hop op, uint16_t cw, struct x87_host_io *io);

#endif

/* x87_host.c - guest x87 operations run on the host's x87 (see x87_host.h). */
#include "x87_host.h"

#include <stdbool.h>
#include <string.h>

#if !defined(__x86_64__) && !defined(__i386__)
#error "the soft CPU's x87 runs its arithmetic on the host's x87: x86 hosts only"
#endif

#define FSW_TOP_SHIFT 11

/* All eight host stack registers: the compiler keeps nothing on the host
 * stack across a kernel. */
#define CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

#define PRE "fnstcw %[save]\n\tfldcw %[cw]\n\tfnclex\n\t"

/* Fast path (every exception masked, so nothing can be left pending): store
 * the status word and pop what the instruction left.  Slow path: FNSAVE
 * takes the whole result state without waiting and re-initialises. */
#define RUN(LOADS, OP, STORES)                                                        \
    do {                                                                              \
        if (fast)                                                                     \
            asm volatile(PRE LOADS OP "\n\tfnstsw %[sw]\n\t" STORES "fldcw %[save]"  \
                         : [sw] "=m"(io->sw), [r0] "=m"(io->out[0]),                  \
                           [r1] "=m"(io->out[1]), [mo] "=m"(io->mem), [save] "=m"(save), \
                           [buf] "=m"(buf)                                            \
                         : [cw] "m"(cw), [a] "m"(io->in[0]), [b] "m"(io->in[1]),      \
                           [mi] "m"(io->mem)                                          \
                         : CLOBBERS);                                                 \
        else                                                                          \
            asm volatile(PRE LOADS OP "\n\tfnsave %[buf]\n\tfldcw %[save]"            \
                         : [sw] "=m"(io->sw), [r0] "=m"(io->out[0]),                  \
                           [r1] "=m"(io->out[1]), [mo] "=m"(io->mem), [save] "=m"(save), \
                           [buf] "=m"(buf)                                            \
                         : [cw] "m"(cw), [a] "m"(io->in[0]), [b] "m"(io->in[1]),      \
                           [mi] "m"(io->mem)                                          \
                         : CLOBBERS);                                                 \
    } while (0)

#define L2 "fldt %[b]\n\tfldt %[a]\n\t"
#define L1 "fldt %[a]\n\t"
#define S2 "fstpt %[r0]\n\tfstpt %[r1]\n\t"
#define S1 "fstpt %[r0]\n\t"
#define SDROP "fstp %%st(0)\n\t"

/* Stack depth each operation leaves when every exception is masked; 0xff:
 * data dependent (FPTAN/FSINCOS leave the stack alone for huge operands),
 * so always take the slow path. */
static const uint8_t fast_depth[HOP_COUNT] = {
    [HOP_ADD] = 2, [HOP_MUL] = 2, [HOP_SUB] = 2, [HOP_SUBR] = 2, [HOP_DIV] = 2, [HOP_DIVR] = 2,
    [HOP_COM] = 2, [HOP_UCOM] = 2, [HOP_PREM] = 2, [HOP_PREM1] = 2, [HOP_SCALE] = 2,
    [HOP_PATAN] = 1, [HOP_YL2X] = 1, [HOP_YL2XP1] = 1,
    [HOP_SQRT] = 1, [HOP_ABS] = 1, [HOP_CHS] = 1, [HOP_RNDINT] = 1, [HOP_SIN] = 1,
    [HOP_COS] = 1, [HOP_F2XM1] = 1, [HOP_TST] = 1, [HOP_XAM] = 1,
    [HOP_PTAN] = 0xff, [HOP_SINCOS] = 0xff, [HOP_XTRACT] = 2,
    [HOP_LD1] = 1, [HOP_LDL2T] = 1, [HOP_LDL2E] = 1, [HOP_LDPI] = 1, [HOP_LDLG2] = 1,
    [HOP_LDLN2] = 1, [HOP_LDZ] = 1,
    [HOP_LD_M32] = 1, [HOP_LD_M64] = 1, [HOP_LD_BCD] = 1,
    [HOP_ST_M32] = 0, [HOP_ST_M64] = 0, [HOP_ST_I16] = 0, [HOP_ST_I32] = 0,
    [HOP_ST_I64] = 0, [HOP_ST_BCD] = 0,
    [HOP_MEM ... HOP_MEM + 31] = 1,
};

#define MEM_ROW(row, pfx, sfx)                                                      \
    case HOP_MEM + row * 8 + 0: RUN(L1, "f" pfx "add" sfx " %[mi]", S1); break;      \
    case HOP_MEM + row * 8 + 1: RUN(L1, "f" pfx "mul" sfx " %[mi]", S1); break;      \
    case HOP_MEM + row * 8 + 2:                                                \
    case HOP_MEM + row * 8 + 3: RUN(L1, "f" pfx "com" sfx " %[mi]", S1); break;      \
    case HOP_MEM + row * 8 + 4: RUN(L1, "f" pfx "sub" sfx " %[mi]", S1); break;      \
    case HOP_MEM + row * 8 + 5: RUN(L1, "f" pfx "subr" sfx " %[mi]", S1); break;     \
    case HOP_MEM + row * 8 + 6: RUN(L1, "f" pfx "div" sfx " %[mi]", S1); break;      \
    case HOP_MEM + row * 8 + 7: RUN(L1, "f" pfx "divr" sfx " %[mi]", S1); break;

/* FNSAVE image (32-bit format): status word at 4, ST(0..7) from 28. */
static void parse_save(const uint8_t *buf, struct x87_host_io *io)
{
    memcpy(&io->sw, buf + 4, 2);
    unsigned top = (io->sw >> FSW_TOP_SHIFT) & 7;
    io->depth = (uint8_t)((8 - top) & 7);
    memcpy(&io->out[0], buf + 28, 10);
    memcpy(&io->out[1], buf + 38, 10);
}

void x87_host_run(enum x87_hop op, uint16_t cw, struct x87_host_io *io)
{
    uint8_t buf[108];
    uint16_t save;
    bool fast = (cw & 0x3f) == 0x3f && fast_depth[op] != 0xff;

    switch ((unsigned)op) {
    case HOP_ADD:    RUN(L2, "fadd %%st(1), %%st", S2); break;
    case HOP_MUL:    RUN(L2, "fmul %%st(1), %%st", S2); break;
    case HOP_SUB:    RUN(L2, "fsub %%st(1), %%st", S2); break;
    case HOP_SUBR:   RUN(L2, "fsubr %%st(1), %%st", S2); break;
    case HOP_DIV:    RUN(L2, "fdiv %%st(1), %%st", S2); break;
    case HOP_DIVR:   RUN(L2, "fdivr %%st(1), %%st", S2); break;
    case HOP_COM:    RUN(L2, "fcom %%st(1)", S2); break;
    case HOP_UCOM:   RUN(L2, "fucom %%st(1)", S2); break;
    case HOP_PREM:   RUN(L2, "fprem", S2); break;
    case HOP_PREM1:  RUN(L2, "fprem1", S2); break;
    case HOP_SCALE:  RUN(L2, "fscale", S2); break;
    case HOP_PATAN:  RUN(L2, "fpatan", S1); break;
    case HOP_YL2X:   RUN(L2, "fyl2x", S1); break;
    case HOP_YL2XP1: RUN(L2, "fyl2xp1", S1); break;
    case HOP_SQRT:   RUN(L1, "fsqrt", S1); break;
    case HOP_ABS:    RUN(L1, "fabs", S1); break;
    case HOP_CHS:    RUN(L1, "fchs", S1); break;
    case HOP_RNDINT: RUN(L1, "frndint", S1); break;
    case HOP_SIN:    RUN(L1, "fsin", S1); break;
    case HOP_COS:    RUN(L1, "fcos", S1); break;
    case HOP_F2XM1:  RUN(L1, "f2xm1", S1); break;
    case HOP_TST:    RUN(L1, "ftst", S1); break;
    case HOP_XAM:    RUN(L1, "fxam", S1); break;
    case HOP_PTAN:   RUN(L1, "fptan", S2); break;
    case HOP_SINCOS: RUN(L1, "fsincos", S2); break;
    case HOP_XTRACT: RUN(L1, "fxtract", S2); break;
    case HOP_LD1:    RUN("", "fld1", S1); break;
    case HOP_LDL2T:  RUN("", "fldl2t", S1); break;
    case HOP_LDL2E:  RUN("", "fldl2e", S1); break;
    case HOP_LDPI:   RUN("", "fldpi", S1); break;
    case HOP_LDLG2:  RUN("", "fldlg2", S1); break;
    case HOP_LDLN2:  RUN("", "fldln2", S1); break;
    case HOP_LDZ:    RUN("", "fldz", S1); break;
    case HOP_LD_M32: RUN("", "flds %[mi]", S1); break;
    case HOP_LD_M64: RUN("", "fldl %[mi]", S1); break;
    case HOP_LD_BCD: RUN("", "fbld %[mi]", S1); break;
    case HOP_ST_M32: RUN(L1, "fsts %[mo]", SDROP); break;
    case HOP_ST_M64: RUN(L1, "fstl %[mo]", SDROP); break;
    case HOP_ST_I16: RUN(L1, "fists %[mo]", SDROP); break;
    case HOP_ST_I32: RUN(L1, "fistl %[mo]", SDROP); break;
    case HOP_ST_I64: RUN(L1, "fistpll %[mo]", ""); break;
    case HOP_ST_BCD: RUN(L1, "fbstp %[mo]", ""); break;
    MEM_ROW(0, "", "s")
    MEM_ROW(1, "i", "l")
    MEM_ROW(2, "", "l")
    MEM_ROW(3, "i", "s")
    case HOP_COUNT:  return;
    }
    if (fast)
        io->depth = fast_depth[op];
    else
        parse_save(buf, io);
}

/* cpu_state.c - the x86 power-on state (Intel SDM vol. 3, 9.1.1). */
#include <string.h>

#include "engine/cpu_state.h"

void cpu_state_power_on(struct cpu_state *s)
{
    memset(s, 0, sizeof(*s));
    s->gpr[REG_EDX] = CPU_SIGNATURE;
    s->eip = 0xfff0;
    s->eflags = EFL_FIXED;
    for (int k = 0; k < SEG_COUNT; k++) {
        s->seg[k].selector = 0;
        s->seg[k].base = 0;
        s->seg[k].limit = 0xffff;
        s->seg[k].attr = SEGA_P | SEGA_S | SEGA_RW | SEGA_ACCESSED;
    }
    s->seg[SEG_CS].selector = 0xf000;
    s->seg[SEG_CS].base = 0xffff0000u;
    s->seg[SEG_CS].attr |= SEGA_CODE;
    s->ldtr.limit = 0xffff;
    s->ldtr.attr = SEGA_P | 0x2;          /* LDT */
    s->tr.limit = 0xffff;
    s->tr.attr = SEGA_P | 0xb;            /* busy 32-bit TSS */
    s->gdtr.limit = 0xffff;
    s->idtr.limit = 0xffff;
    s->cr0 = CR0_ET | CR0_NW | CR0_CD;
    s->dr[6] = 0xffff0ff0u;
    s->dr[7] = 0x00000400u;
    s->msr.pat = 0x0007040600070406ull;
    s->fpu.fcw = 0x0040;
    s->fpu.ftw = 0xffff;                  /* all empty (full tag word) */
}

/* crash_report.c - instruction bytes, disassembly, register dump. */
#include "monitor/crash_report.h"

#include <capstone/capstone.h>
#include <string.h>

static int read_u32(const struct guest_ram *g, uint64_t gpa, uint32_t *v)
{
    const uint8_t *p = guest_ram_peek(g, gpa, 4);
    if (!p)
        return -1;
    memcpy(v, p, 4);
    return 0;
}

int guest_linear_to_phys(const struct guest_ram *g, const struct cpu_state *s,
                         uint32_t linear, uint64_t *phys)
{
    if (!(s->cr0 & CR0_PG)) {
        *phys = linear;
        return 0;
    }
    if (s->cr4 & CR4_PAE)
        return -1;   /* the soft CPU does not do PAE yet */
    uint32_t pde, pte;
    if (read_u32(g, (s->cr3 & ~0xfffu) + (linear >> 22) * 4, &pde) || !(pde & 1))
        return -1;
    if ((pde & 0x80) && (s->cr4 & CR4_PSE)) {
        *phys = (pde & 0xffc00000u) | (linear & 0x3fffffu);
        return 0;
    }
    if (read_u32(g, (pde & ~0xfffu) + ((linear >> 12) & 0x3ff) * 4, &pte) || !(pte & 1))
        return -1;
    *phys = (pte & ~0xfffu) | (linear & 0xfffu);
    return 0;
}

size_t guest_read_code(const struct guest_ram *g, const struct cpu_state *s, uint32_t eip,
                       uint8_t *buf, size_t max)
{
    size_t n = 0;
    for (; n < max; n++) {
        uint64_t phys;
        uint32_t linear = s->seg[SEG_CS].base + eip + (uint32_t)n;
        if (guest_linear_to_phys(g, s, linear, &phys))
            break;
        const uint8_t *p = guest_ram_peek(g, phys, 1);
        if (!p)
            break;
        buf[n] = *p;
    }
    return n;
}

static bool code_is_32bit(const struct cpu_state *s)
{
    return (s->cr0 & CR0_PE) && !(s->eflags & EFL_VM) && (s->seg[SEG_CS].attr & SEGA_DB);
}

void crash_print_bytes(FILE *f, const struct cpu_state *s, uint32_t eip,
                       const uint8_t *bytes, size_t n)
{
    if (n == 0) {
        fprintf(f, "(not readable)");
        return;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%02x", i ? " " : "", bytes[i]);
    csh h;
    if (cs_open(CS_ARCH_X86, code_is_32bit(s) ? CS_MODE_32 : CS_MODE_16, &h) != CS_ERR_OK)
        return;
    cs_insn *insn;
    size_t count = cs_disasm(h, bytes, n, eip, 1, &insn);
    if (count > 0) {
        fprintf(f, "  (%s %s)", insn[0].mnemonic, insn[0].op_str);
        cs_free(insn, count);
    } else {
        fprintf(f, "  (does not decode)");
    }
    cs_close(&h);
}

void crash_print_registers(FILE *f, const struct cpu_state *s)
{
    static const char *const seg_names[SEG_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    fprintf(f, "  EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n", s->gpr[REG_EAX], s->gpr[REG_EBX],
            s->gpr[REG_ECX], s->gpr[REG_EDX]);
    fprintf(f, "  ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", s->gpr[REG_ESI], s->gpr[REG_EDI],
            s->gpr[REG_EBP], s->gpr[REG_ESP]);
    fprintf(f, "  EIP=%08x EFLAGS=%08x\n", s->eip, s->eflags);
    for (int i = 0; i < SEG_COUNT; i++)
        fprintf(f, "  %s=%04x base=%08x limit=%08x attr=%05x\n", seg_names[i],
                s->seg[i].selector, s->seg[i].base, s->seg[i].limit, s->seg[i].attr);
    fprintf(f, "  GDTR=%08x/%04x IDTR=%08x/%04x TR=%04x LDTR=%04x\n", s->gdtr.base,
            s->gdtr.limit, s->idtr.base, s->idtr.limit, s->tr.selector, s->ldtr.selector);
    fprintf(f, "  CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", s->cr0, s->cr2, s->cr3, s->cr4);
}

/* msr.c - the soft CPU's MSR file, RDMSR/WRMSR/RDTSC and HLT.
 *
 * The TSC runs at 1 GHz on guest time (vtime.c: instruction-based, the
 * base of the monitor's device timers too) plus the state map's
 * tsc_offset.  There is no local APIC: APIC_BASE reads 0 and ignores writes (CPUID reports no APIC).
 * Unknown MSRs raise #GP(0); MSRs the monitor solicits exit. */
#include <string.h>

#include "engine/soft/soft_priv.h"

#define MSR_IA32_PLATFORM_ID   0x00000017u
#define MSR_IA32_BIOS_SIGN_ID  0x0000008bu   /* microcode revision */
#define MSR_IA32_MTRRCAP       0x000000feu
#define MSR_IA32_MTRR_DEF_TYPE 0x000002ffu

static uint64_t guest_tsc(const struct cpu *c)
{
    return soft_guest_ns(c) + c->s.tsc_offset;
}

/* The engine's MSR file: false if the MSR does not exist (#GP). */
static bool msr_read(struct cpu *c, uint32_t index, uint64_t *v)
{
    const struct cpu_msrs *m = &c->s.msr;
    switch (index) {
    case MSR_IA32_TSC:            *v = guest_tsc(c); return true;
    case MSR_IA32_PLATFORM_ID:    *v = 0; return true;
    case MSR_IA32_APIC_BASE:      *v = 0; return true;
    case MSR_IA32_BIOS_SIGN_ID:   *v = 0; return true;
    case MSR_IA32_MTRRCAP:        *v = 0; return true;
    case MSR_IA32_SYSENTER_CS:    *v = m->sysenter_cs; return true;
    case MSR_IA32_SYSENTER_ESP:   *v = m->sysenter_esp; return true;
    case MSR_IA32_SYSENTER_EIP:   *v = m->sysenter_eip; return true;
    case MSR_IA32_MISC_ENABLE:    *v = m->misc_enable; return true;
    case MSR_IA32_PAT:            *v = m->pat; return true;
    case MSR_IA32_MTRR_DEF_TYPE:  *v = 0; return true;
    default:                      return false;
    }
}

bool msr_write(struct cpu *c, uint32_t index, uint64_t v)
{
    struct cpu_msrs *m = &c->s.msr;
    switch (index) {
    case MSR_IA32_TSC:            c->s.tsc_offset = v - soft_guest_ns(c); return true;
    case MSR_IA32_APIC_BASE:      return true;
    case MSR_IA32_BIOS_SIGN_ID:   return true;
    case MSR_IA32_SYSENTER_CS:    m->sysenter_cs = v & 0xffffu; return true;
    case MSR_IA32_SYSENTER_ESP:   m->sysenter_esp = v & 0xffffffffu; return true;
    case MSR_IA32_SYSENTER_EIP:   m->sysenter_eip = v & 0xffffffffu; return true;
    case MSR_IA32_MISC_ENABLE:    m->misc_enable = v; return true;
    case MSR_IA32_PAT:            m->pat = v; return true;
    case MSR_IA32_MTRR_DEF_TYPE:  return true;
    default:                      return false;
    }
}

static bool msr_solicited(const struct exit_policy *p, uint32_t index)
{
    for (unsigned k = 0; k < p->n_msrs && k < MAX_POLICY_ENTRIES; k++)
        if (p->msrs[k] == index)
            return true;
    return false;
}

/* Hand a whole-instruction exit to the monitor; the next run applies its
 * answer and moves past the instruction. */
_Noreturn static void exit_completing(struct cpu *c, enum exit_reason r)
{
    c->engine->completing = r;
    c->engine->resume_eip = c->s.eip;
    cpu_exit_now(c);
}


/* A solicited MSR: hand it to the monitor with the engine's value prefilled. */
static void msr_exit(struct cpu *c, enum exit_reason reason, uint32_t index, uint64_t v)
{
    struct vm_exit *x = c->exit;
    memset(x, 0, sizeof(*x));
    x->reason = reason;
    x->msr.index = index;
    x->msr.value = v;
    exit_completing(c, reason);
}
void cpu_rdmsr(struct cpu *c)
{
    if (c->pe && c->cpl != 0)
        cpu_gp(c, 0);
    uint32_t index = c->s.gpr[REG_ECX];
    uint64_t v = 0;
    bool known = msr_read(c, index, &v);
    if (msr_solicited(c->policy, index)) {
        msr_exit(c, EXIT_RDMSR, index, v);
    }
    if (!known)
        cpu_gp(c, 0);
    c->s.gpr[REG_EAX] = (uint32_t)v;
    c->s.gpr[REG_EDX] = (uint32_t)(v >> 32);
}

void cpu_wrmsr(struct cpu *c)
{
    if (c->pe && c->cpl != 0)
        cpu_gp(c, 0);
    uint32_t index = c->s.gpr[REG_ECX];
    uint64_t v = c->s.gpr[REG_EAX] | ((uint64_t)c->s.gpr[REG_EDX] << 32);
    if (msr_solicited(c->policy, index)) {
        msr_exit(c, EXIT_WRMSR, index, v);
    }
    if (!msr_write(c, index, v))
        cpu_gp(c, 0);
}

void cpu_rdtsc(struct cpu *c)
{
    if ((c->s.cr4 & CR4_TSD) && c->pe && c->cpl != 0)
        cpu_gp(c, 0);
    uint64_t v = guest_tsc(c);
    if (c->policy->rdtsc) {
        struct vm_exit *x = c->exit;
        memset(x, 0, sizeof(*x));
        x->reason = EXIT_RDTSC;
        x->rdtsc.value = v;
        exit_completing(c, EXIT_RDTSC);
    }
    c->s.gpr[REG_EAX] = (uint32_t)v;
    c->s.gpr[REG_EDX] = (uint32_t)(v >> 32);
}

void cpu_hlt(struct cpu *c)
{
    if (c->pe && c->cpl != 0)
        cpu_gp(c, 0);
    c->s.events.halted = true;
    c->after_insn |= AFTER_HLT;
}

/* cpuid.c - the soft CPU's one CPUID table.
 *
 * A family 6 "GenuineIntel" CPU (Pentium II class) whose feature bits are
 * exactly what the soft CPU implements: x87 FPU, no VME, no PAE,
 * no APIC, SYSENTER/SYSEXIT (SEP), no MMX/SSE.  Leaves the monitor solicits
 * exit with this answer prefilled.  Model 3 stepping 3 matters: Linux ignores
 * SEP on family 6 below model 3 and stepping 3 (the Pentium Pro's is bogus). */
#include <string.h>

#include "engine/cpu_state.h"
#include "engine/soft/soft_priv.h"

#define FEAT_FPU   (1u << 0)   /* x87 on chip */
#define FEAT_DE    (1u << 2)   /* CR4.DE */
#define FEAT_PSE   (1u << 3)   /* 4 MiB pages */
#define FEAT_TSC   (1u << 4)
#define FEAT_MSR   (1u << 5)
#define FEAT_CX8   (1u << 8)   /* CMPXCHG8B */
#define FEAT_SEP   (1u << 11)  /* SYSENTER/SYSEXIT */
#define FEAT_PGE   (1u << 13)
#define FEAT_CMOV  (1u << 15)

#define CPUID_FEATURES (FEAT_FPU | FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_CX8 | FEAT_SEP | FEAT_PGE | FEAT_CMOV)

static const char vendor[12] = "GenuineIntel";
static const char brand[48] = "morph soft CPU";

static uint32_t word_at(const char *s, unsigned k)
{
    uint32_t v;
    memcpy(&v, s + 4 * k, 4);
    return v;
}

/* The engine's own CPUID answer. */
static void cpuid_answer(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)subleaf;
    memset(out, 0, 4 * sizeof(out[0]));
    switch (leaf) {
    case 0:
        out[0] = 1;
        out[1] = word_at(vendor, 0);
        out[3] = word_at(vendor, 1);
        out[2] = word_at(vendor, 2);
        break;
    case 1:
        out[0] = CPU_SIGNATURE;
        out[3] = CPUID_FEATURES;
        break;
    case 0x80000000u:
        out[0] = 0x80000004u;
        break;
    case 0x80000002u:
    case 0x80000003u:
    case 0x80000004u:
        for (unsigned k = 0; k < 4; k++)
            out[k] = word_at(brand, (leaf - 0x80000002u) * 4 + k);
        break;
    default:
        break;   /* unknown leaves read as zeros */
    }
}

static bool leaf_solicited(const struct exit_policy *p, uint32_t leaf)
{
    for (unsigned k = 0; k < p->n_cpuid_leaves && k < MAX_POLICY_ENTRIES; k++)
        if (p->cpuid_leaves[k] == leaf)
            return true;
    return false;
}

void cpu_cpuid(struct cpu *c)
{
    uint32_t leaf = c->s.gpr[REG_EAX], subleaf = c->s.gpr[REG_ECX];
    uint32_t r[4];
    cpuid_answer(leaf, subleaf, r);
    if (leaf_solicited(c->policy, leaf)) {
        struct vm_exit *x = c->exit;
        memset(x, 0, sizeof(*x));
        x->reason = EXIT_CPUID;
        x->cpuid.leaf = leaf;
        x->cpuid.subleaf = subleaf;
        x->cpuid.eax = r[0];
        x->cpuid.ebx = r[1];
        x->cpuid.ecx = r[2];
        x->cpuid.edx = r[3];
        c->engine->completing = EXIT_CPUID;
        c->engine->resume_eip = c->s.eip;
        cpu_exit_now(c);
    }
    c->s.gpr[REG_EAX] = r[0];
    c->s.gpr[REG_EBX] = r[1];
    c->s.gpr[REG_ECX] = r[2];
    c->s.gpr[REG_EDX] = r[3];
}

/* CPUID leaves 0 and 1, RDTSC, RDMSR/WRMSR (TSC, SYSENTER MSRs), and #GP
 * on an MSR that does not exist. */
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "cpuid";

static void test_cpuid(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    char vendor[13];
    uint32_t *v = (uint32_t *)vendor;
    v[0] = r[1];
    v[1] = r[3];
    v[2] = r[2];
    vendor[12] = 0;
    kprintf("cpuid: max leaf %u vendor '%s'\n", r[0], vendor);
    check("cpuid_max_leaf", r[0] >= 1 && r[0] < 0x100, "max basic leaf %x", r[0]);
    int printable = 1;
    for (int i = 0; i < 12; i++)
        printable &= vendor[i] >= 0x20 && vendor[i] < 0x7F;
    check("cpuid_vendor_printable", printable, "vendor bytes %x %x %x", v[0], v[1], v[2]);

    cpuid(1, 0, r);
    uint32_t family = (r[0] >> 8) & 0xF, model = (r[0] >> 4) & 0xF;
    if (family == 0xF)
        family += (r[0] >> 20) & 0xFF;
    if (family == 6 || family == 0xF)
        model |= ((r[0] >> 16) & 0xF) << 4;
    kprintf("cpuid: family %u model %u stepping %u edx %x ecx %x\n", family, model, r[0] & 0xF,
            r[3], r[2]);
    check("cpuid_family_6", family == 6, "family %u", family);
    check("cpuid_has_tsc_msr_pse", (r[3] & 0x38) == 0x38, "edx %x (want TSC, MSR, PSE)", r[3]);

    /* The same leaf twice gives the same answer; an unknown high leaf does not fault. */
    uint32_t s[4];
    cpuid(1, 0, s);
    check("cpuid_stable", s[0] == r[0] && s[3] == r[3], "eax %x/%x", r[0], s[0]);
    cpuid(0x40000000 - 1, 0, s);
    pass("cpuid_unknown_leaf_no_fault");
}

static void test_rdtsc(void)
{
    uint64_t prev = rdtsc();
    int monotonic = 1;
    for (int i = 0; i < 1000; i++) {
        uint64_t now = rdtsc();
        monotonic &= now > prev;
        prev = now;
    }
    check("rdtsc_strictly_increasing", monotonic, "TSC went backwards or stood still");
    uint64_t a = rdtsc();
    for (volatile int i = 0; i < 100000; i++)
        ;
    uint64_t b = rdtsc();
    check("rdtsc_advances_over_busy_loop", b - a >= 100000, "delta %llu over 100000 iterations",
          (unsigned long long)(b - a));
}

static void test_msrs(void)
{
    /* Below 2^32: P6-family CPUs write only the low 32 bits of the TSC. */
    const uint64_t base = 0x80000000ull;
    wrmsr(0x10, base);
    uint64_t m = rdmsr(0x10);
    uint64_t t = rdtsc();
    check("msr_tsc_write_read", m >= base && m - base < (1ull << 32), "wrote %llx read %llx",
          (unsigned long long)base, (unsigned long long)m);
    check("rdtsc_follows_tsc_msr", t >= m && t - base < (1ull << 32), "rdtsc %llx",
          (unsigned long long)t);

    wrmsr(0x174, 0x0008);
    wrmsr(0x175, 0x00123450);
    wrmsr(0x176, 0xC0100000);
    uint64_t cs = rdmsr(0x174), esp = rdmsr(0x175), eip = rdmsr(0x176);
    check("msr_sysenter_roundtrip", cs == 0x0008 && esp == 0x00123450 && eip == 0xC0100000,
          "cs %llx esp %llx eip %llx", (unsigned long long)cs, (unsigned long long)esp,
          (unsigned long long)eip);

    uint32_t lo = 0x1111, hi = 0x2222;
    __asm__ volatile("movl $0x4B564DFF, %%ecx\n\t" CATCH_ASM("rdmsr")
                     : "+a"(lo), "+d"(hi) : : "ecx", "memory");
    int ok = caught.hit == 1 && caught.vector == 13 && caught.error == 0 && caught.eip == catch_insn;
    check("unknown_msr_gp", ok, "rdmsr 0x4B564DFF: hit %d vector %u error %x (edx:eax %x:%x)",
          caught.hit, caught.vector, caught.error, hi, lo);
    catch_reset();
    __asm__ volatile("movl $0x4B564DFF, %%ecx\n\txorl %%eax, %%eax\n\txorl %%edx, %%edx\n\t"
                     CATCH_ASM("wrmsr") : : : "eax", "ecx", "edx", "memory");
    check("unknown_msr_write_gp", caught.hit == 1 && caught.vector == 13,
          "wrmsr: hit %d vector %u", caught.hit, caught.vector);
    catch_reset();
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    test_cpuid();
    test_rdtsc();
    test_msrs();
    return test_finish();
}

/* Paging: 4 KiB and 4 MiB (PSE) pages, aliases, accessed/dirty bits, a page
 * fault handled and resumed after mapping the page, CR0.WP, INVLPG. */
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "paging";

#define PG_P   0x001u
#define PG_RW  0x002u
#define PG_A   0x020u
#define PG_D   0x040u
#define PG_PS  0x080u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u
#define CR4_PSE 0x10u

#define ALIAS4K  0x40000000u     /* PDE 0x100: page table pt_alias */
#define ALIAS4M  0x80000000u     /* PDE 0x200.. : 4 MiB pages */
#define PHYS_4M  0x00C00000u     /* identity-mapped through a 4 MiB PDE */

typedef volatile uint32_t table[1024] __attribute__((aligned(4096)));
static table pd, pt_low, pt_alias, pt_extra, pt_ro;
static volatile uint8_t pages[8][4096] __attribute__((aligned(4096)));

#define PDX(a) ((uint32_t)(a) >> 22)
#define PTX(a) (((uint32_t)(a) >> 12) & 0x3FF)
#define VPTR(a) ((volatile uint32_t *)(uintptr_t)(a))

/* Page-fault handler: records the fault, installs a prepared entry, retries. */
static volatile struct {
    int count;
    uint32_t cr2, err, eip;
    volatile uint32_t *entry;
    uint32_t value;
} pf;

static void pf_handler(struct int_frame *f)
{
    pf.count++;
    pf.cr2 = READ_CR(2);
    pf.err = f->error;
    pf.eip = f->eip;
    if (pf.entry && pf.count < 4) {
        *pf.entry = pf.value;
        invlpg(VPTR(pf.cr2));
    } else {
        kprintf("FAIL page_fault_unexpected: cr2 %x err %x eip %x\n", pf.cr2, pf.err, pf.eip);
        debug_exit(1);
    }
}

static void pf_expect(volatile uint32_t *entry, uint32_t value)
{
    pf.count = 0;
    pf.cr2 = pf.err = pf.eip = 0xFFFFFFFF;
    pf.entry = entry;
    pf.value = value;
    __asm__ volatile("" ::: "memory");
}

static void setup_tables(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        pt_low[i] = (i << 12) | PG_P | PG_RW;               /* 0-4 MiB, 4 KiB pages */
    pd[0] = (uint32_t)pt_low | PG_P | PG_RW;
    for (uint32_t i = 1; i < 16; i++)
        pd[i] = (i << 22) | PG_PS | PG_P | PG_RW;            /* 4-64 MiB, 4 MiB pages */
    pd[PDX(ALIAS4K)] = (uint32_t)pt_alias | PG_P | PG_RW;
}

static void test_enable(void)
{
    setup_tables();
    WRITE_CR(3, pd);
    WRITE_CR(4, READ_CR(4) | CR4_PSE);
    WRITE_CR(0, READ_CR(0) | CR0_PG | CR0_WP);
    uint32_t cr0 = READ_CR(0);
    check("paging_enabled", (cr0 & (CR0_PG | CR0_WP)) == (CR0_PG | CR0_WP), "cr0 %x", cr0);
    check("cr3_readback", READ_CR(3) == (uint32_t)pd, "cr3 %x", READ_CR(3));
    /* Code, stack and data keep working through the identity maps. */
    static volatile uint32_t probe = 0x1234;
    probe += 1;
    check("identity_map_4k", probe == 0x1235, "probe %x", probe);
    *VPTR(PHYS_4M + 0x100) = 0xCAFE0001;
    check("identity_map_4m", *VPTR(PHYS_4M + 0x100) == 0xCAFE0001, "read %x", *VPTR(PHYS_4M + 0x100));
}

static void test_alias(void)
{
    uint32_t *page0 = (uint32_t *)pages[0];
    page0[5] = 0xA11A5000;
    pt_alias[0] = (uint32_t)page0 | PG_P | PG_RW;
    uint32_t got = *VPTR(ALIAS4K + 20);
    check("alias_4k_reads_same_data", got == 0xA11A5000, "alias read %x", got);
    *VPTR(ALIAS4K + 24) = 0xB0B0B0B0;
    check("alias_4k_write_visible", ((volatile uint32_t *)page0)[6] == 0xB0B0B0B0, "identity read %x", page0[6]);

    pd[PDX(ALIAS4M)] = PHYS_4M | PG_PS | PG_P | PG_RW;
    *VPTR(PHYS_4M + 0x3FF000) = 0x4444AAAA;
    got = *VPTR(ALIAS4M + 0x3FF000);
    check("alias_4m_reads_same_data", got == 0x4444AAAA, "alias read %x", got);
    *VPTR(ALIAS4M + 0x10) = 0x5555BBBB;
    check("alias_4m_write_visible", *VPTR(PHYS_4M + 0x10) == 0x5555BBBB, "identity read %x", *VPTR(PHYS_4M + 0x10));
}

static void test_accessed_dirty(void)
{
    volatile uint32_t *pte = &pt_alias[1];
    volatile uint32_t *pde = &pd[PDX(ALIAS4K)];
    *pde &= ~PG_A;
    *pte = (uint32_t)pages[1] | PG_P | PG_RW;
    invlpg(VPTR(ALIAS4K + 0x1000));
    (void)*VPTR(ALIAS4K + 0x1000);
    check("accessed_bit_set_on_read", (*pte & (PG_A | PG_D)) == PG_A, "pte %x", *pte);
    check("pde_accessed_bit_set", *pde & PG_A, "pde %x", *pde);
    *VPTR(ALIAS4K + 0x1004) = 1;
    check("dirty_bit_set_on_write", (*pte & (PG_A | PG_D)) == (PG_A | PG_D), "pte %x", *pte);

    volatile uint32_t *pde4m = &pd[PDX(ALIAS4M) + 1];
    *pde4m = PHYS_4M | PG_PS | PG_P | PG_RW;
    invlpg(VPTR(ALIAS4M + 0x400000));
    (void)*VPTR(ALIAS4M + 0x400000);
    check("accessed_bit_4m_page", (*pde4m & (PG_A | PG_D)) == PG_A, "pde %x", *pde4m);
    *VPTR(ALIAS4M + 0x400008) = 1;
    check("dirty_bit_4m_page", (*pde4m & (PG_A | PG_D)) == (PG_A | PG_D), "pde %x", *pde4m);
}

static void test_page_faults(void)
{
    idt_set_handler(14, pf_handler);
    uint32_t *page2 = (uint32_t *)pages[2];
    page2[1] = 0x0BADF00D;

    /* Not-present read: err 0, CR2 = address, EIP = the instruction. */
    uint32_t va = ALIAS4K + 0x2004, got, at;
    pt_alias[2] = 0;
    pf_expect(&pt_alias[2], (uint32_t)page2 | PG_P | PG_RW);
    __asm__ volatile("movl $1f, %[at]\n\t1: movl (%[p]), %[v]"
                     : [v] "=r"(got), [at] "=m"(at) : [p] "r"(va) : "memory");
    check("pf_not_present_read", pf.count == 1 && pf.cr2 == va && pf.err == 0,
          "count %d cr2 %x err %x", pf.count, pf.cr2, pf.err);
    check("pf_eip_is_faulting_insn", pf.eip == at, "eip %x insn %x", pf.eip, at);
    check("pf_resumed_after_mapping", got == 0x0BADF00D, "read %x", got);

    /* Not-present write: err 2 (W). */
    va = ALIAS4K + 0x3010;
    pt_alias[3] = 0;
    pf_expect(&pt_alias[3], (uint32_t)pages[3] | PG_P | PG_RW);
    *VPTR(va) = 0x600DD00D;
    check("pf_not_present_write", pf.count == 1 && pf.cr2 == va && pf.err == 2,
          "count %d cr2 %x err %x", pf.count, pf.cr2, pf.err);
    check("pf_write_resumed", ((volatile uint32_t *)pages[3])[4] == 0x600DD00D,
          "page holds %x", ((volatile uint32_t *)pages[3])[4]);

    /* Not-present page directory entry (4 KiB level missing). */
    va = 0x40400000u + 0x5008;
    pt_extra[5] = (uint32_t)pages[4] | PG_P | PG_RW;
    ((volatile uint32_t *)pages[4])[2] = 0x7777;
    pd[PDX(va)] = 0;
    pf_expect(&pd[PDX(va)], (uint32_t)pt_extra | PG_P | PG_RW);
    got = *VPTR(va);
    check("pf_pde_not_present", pf.count == 1 && pf.cr2 == va && pf.err == 0 && got == 0x7777,
          "count %d cr2 %x err %x read %x", pf.count, pf.cr2, pf.err, got);

    /* Not-present 4 MiB page. */
    va = ALIAS4M + 0x800000 + 0x123454;
    pd[PDX(va)] = 0;
    pf_expect(&pd[PDX(va)], PHYS_4M | PG_PS | PG_P | PG_RW);
    *VPTR(PHYS_4M + 0x123454) = 0x40000040u;
    got = *VPTR(va);
    check("pf_4m_not_present", pf.count == 1 && pf.cr2 == va && pf.err == 0 && got == 0x40000040u,
          "count %d cr2 %x err %x read %x", pf.count, pf.cr2, pf.err, got);
}

static void test_write_protect(void)
{
    /* CR0.WP=1: a supervisor write to a read-only page faults with P|W. */
    uint32_t va = ALIAS4K + 0x4020;
    pt_alias[4] = (uint32_t)pages[5] | PG_P;
    invlpg(VPTR(va));
    uint32_t got = *VPTR(va);
    (void)got;
    pf_expect(&pt_alias[4], (uint32_t)pages[5] | PG_P | PG_RW);
    *VPTR(va) = 0x12345678;
    check("pf_wp_readonly_write", pf.count == 1 && pf.cr2 == va && pf.err == 3,
          "count %d cr2 %x err %x", pf.count, pf.cr2, pf.err);
    check("pf_wp_resumed", ((volatile uint32_t *)pages[5])[8] == 0x12345678, "page holds %x",
          ((volatile uint32_t *)pages[5])[8]);

    /* Read-only at the directory level with a writable PTE still protects. */
    va = 0x40800000u + 0x1000;
    pt_ro[1] = (uint32_t)pages[6] | PG_P | PG_RW;
    pd[PDX(va)] = (uint32_t)pt_ro | PG_P;
    invlpg(VPTR(va));
    pf_expect(&pd[PDX(va)], (uint32_t)pt_ro | PG_P | PG_RW);
    *VPTR(va) = 0xD1D1;
    check("pf_wp_pde_readonly", pf.count == 1 && pf.cr2 == va && pf.err == 3,
          "count %d cr2 %x err %x", pf.count, pf.cr2, pf.err);

    /* CR0.WP=0: supervisor writes ignore R/W. */
    va = ALIAS4K + 0x5000;
    pt_alias[5] = (uint32_t)pages[7] | PG_P;
    invlpg(VPTR(va));
    WRITE_CR(0, READ_CR(0) & ~CR0_WP);
    pf_expect(0, 0);
    *VPTR(va) = 0xAB;
    WRITE_CR(0, READ_CR(0) | CR0_WP);
    check("wp_clear_supervisor_write_ok", pf.count == 0 && ((volatile uint32_t *)pages[7])[0] == 0xAB,
          "faults %d value %x", pf.count, ((volatile uint32_t *)pages[7])[0]);
}

static void test_invlpg(void)
{
    uint32_t va = ALIAS4K + 0x6000;
    ((volatile uint32_t *)pages[0])[0] = 0xAAAA0000;
    ((volatile uint32_t *)pages[1])[0] = 0xBBBB0000;
    pt_alias[6] = (uint32_t)pages[0] | PG_P | PG_RW;
    invlpg(VPTR(va));
    uint32_t first = *VPTR(va);
    pt_alias[6] = (uint32_t)pages[1] | PG_P | PG_RW;
    invlpg(VPTR(va));
    uint32_t second = *VPTR(va);
    check("invlpg_picks_up_new_pte", first == 0xAAAA0000 && second == 0xBBBB0000,
          "before %x after %x", first, second);

    pt_alias[6] = (uint32_t)pages[0] | PG_P | PG_RW;
    WRITE_CR(3, READ_CR(3));
    uint32_t third = *VPTR(va);
    check("cr3_reload_flushes_tlb", third == 0xAAAA0000, "read %x", third);

    /* Unmapping then touching must fault (the stale translation is gone). */
    pt_alias[6] = 0;
    invlpg(VPTR(va));
    pf_expect(&pt_alias[6], (uint32_t)pages[1] | PG_P | PG_RW);
    uint32_t fourth = *VPTR(va);
    check("invlpg_unmap_faults", pf.count == 1 && pf.cr2 == va && fourth == 0xBBBB0000,
          "faults %d cr2 %x read %x", pf.count, pf.cr2, fourth);
}

static void test_disable(void)
{
    WRITE_CR(0, READ_CR(0) & ~CR0_PG);
    *VPTR(PHYS_4M + 0x200) = 0x99;
    check("paging_disabled_again", !(READ_CR(0) & CR0_PG) && *VPTR(PHYS_4M + 0x200) == 0x99,
          "cr0 %x", READ_CR(0));
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    test_enable();
    test_alias();
    test_accessed_dirty();
    test_page_faults();
    test_write_protect();
    test_invlpg();
    test_disable();
    return test_finish();
}

/* Paging protection and status bits in more depth: CR0.WP for supervisor
 * writes to read-only pages (PTE and PDE), accessed bits on the PDE and PTE,
 * dirty bits set only by writes (4 KiB PTE and 4 MiB PDE), and the U/S, R/W
 * combination rules and #PF error codes for user accesses. */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "paging2";

#define PG_P   0x001u
#define PG_RW  0x002u
#define PG_US  0x004u
#define PG_A   0x020u
#define PG_D   0x040u
#define PG_PS  0x080u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u

#define V_ROPDE  0x40000000u     /* PDE read-only, PTE writable */
#define V_AD     0x40400000u     /* own PDE and PT for A/D tests */
#define V_UPDE   0x40800000u     /* PDE supervisor, PTE user */
#define V_NP     0x40C00000u     /* PDE present, PTE not present */
#define V_4M     0x80000000u     /* 4 MiB page of physical 12 MiB */
#define PHYS_4M  0x00C00000u

typedef volatile uint32_t table[1024] __attribute__((aligned(4096)));
static table pd, pt_low, pt_ropde, pt_ad, pt_upde, pt_np;
static volatile uint32_t ro_page[1024] __attribute__((aligned(4096)));
static volatile uint32_t sup_page[1024] __attribute__((aligned(4096)));
static volatile uint32_t data_page[1024] __attribute__((aligned(4096)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));

#define PDX(a) ((uint32_t)(a) >> 22)
#define PTX(a) (((uint32_t)(a) >> 12) & 0x3FF)
#define VPTR(a) ((volatile uint32_t *)(uintptr_t)(a))

static void setup(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        pt_low[i] = (i << 12) | PG_P | PG_RW | PG_US;
    pt_low[PTX(ro_page)] &= ~PG_RW;
    pt_low[PTX(sup_page)] &= ~PG_US;
    pd[0] = (uint32_t)pt_low | PG_P | PG_RW | PG_US;
    for (uint32_t i = 1; i < 16; i++)
        pd[i] = (i << 22) | PG_PS | PG_P | PG_RW | PG_US;
    pd[PDX(V_ROPDE)] = (uint32_t)pt_ropde | PG_P | PG_US;
    pt_ropde[0] = (uint32_t)data_page | PG_P | PG_RW | PG_US;
    pd[PDX(V_AD)] = (uint32_t)pt_ad | PG_P | PG_RW | PG_US;
    pt_ad[0] = (uint32_t)data_page | PG_P | PG_RW | PG_US;
    pd[PDX(V_UPDE)] = (uint32_t)pt_upde | PG_P | PG_RW;
    pt_upde[0] = (uint32_t)data_page | PG_P | PG_RW | PG_US;
    pd[PDX(V_NP)] = (uint32_t)pt_np | PG_P | PG_RW | PG_US;
    pd[PDX(V_4M)] = PHYS_4M | PG_PS | PG_P | PG_RW | PG_US;
    WRITE_CR(3, pd);
    WRITE_CR(4, READ_CR(4) | 0x10);                 /* PSE */
    WRITE_CR(0, READ_CR(0) | CR0_PG);               /* WP clear for now */
}

static void set_wp(int on)
{
    uint32_t cr0 = READ_CR(0);
    WRITE_CR(0, on ? cr0 | CR0_WP : cr0 & ~CR0_WP);
}

static void write_probe(volatile uint32_t *p, uint32_t v)
{
    catch_reset();
    __asm__ volatile(CATCH_ASM("movl %1, (%0)") : : "r"(p), "r"(v) : "memory");
}

static uint32_t read_probe(volatile uint32_t *p)
{
    uint32_t v = 0;
    catch_reset();
    __asm__ volatile(CATCH_ASM("movl (%1), %0") : "+r"(v) : "r"(p) : "memory");
    return v;
}

static void expect_pf(const char *name, uint32_t err, const volatile void *addr)
{
    check(name, caught.hit == 1 && caught.vector == 14 && caught.error == err &&
                    caught.cr2 == (uint32_t)addr && caught.eip == catch_insn,
          "hit %d vector %u error %x cr2 %x (want #PF %x at %p)", caught.hit, caught.vector, caught.error,
          caught.cr2, err, addr);
    catch_reset();
}

static void expect_none(const char *name)
{
    check(name, caught.hit == 0, "vector %u error %x cr2 %x", caught.vector, caught.error, caught.cr2);
    catch_reset();
}

static void test_wp(void)
{
    volatile uint32_t *pte = &pt_low[PTX(ro_page)];
    *pte &= ~(PG_A | PG_D);
    invlpg(ro_page);
    set_wp(0);
    write_probe(&ro_page[1], 0x1111);
    expect_none("wp0_supervisor_write_readonly_ok");
    check("wp0_write_landed_and_dirty", ro_page[1] == 0x1111 && (*pte & PG_D), "value %x pte %x", ro_page[1], *pte);

    *pte &= ~(PG_A | PG_D);
    invlpg(ro_page);
    set_wp(1);
    write_probe(&ro_page[2], 0x2222);
    expect_pf("wp1_supervisor_write_readonly_pf", PG_P | PG_RW, &ro_page[2]);
    check("wp1_fault_no_write_no_dirty", ro_page[2] == 0 && !(*pte & PG_D), "value %x pte %x", ro_page[2], *pte);
    read_probe(&ro_page[2]);
    expect_none("wp1_supervisor_read_readonly_ok");

    /* Read-only in the PDE, writable in the PTE: read-only overall. */
    write_probe(VPTR(V_ROPDE + 8), 0x3333);
    expect_pf("wp1_readonly_pde_pf", PG_P | PG_RW, VPTR(V_ROPDE + 8));
    set_wp(0);
    write_probe(VPTR(V_ROPDE + 8), 0x3333);
    expect_none("wp0_readonly_pde_write_ok");
    check("wp0_readonly_pde_write_landed", data_page[2] == 0x3333, "value %x", data_page[2]);
    set_wp(1);
}

static void test_accessed_dirty(void)
{
    volatile uint32_t *pde = &pd[PDX(V_AD)], *pte = &pt_ad[0];
    *pde &= ~(PG_A | PG_D);
    *pte &= ~(PG_A | PG_D);
    invlpg(VPTR(V_AD));
    data_page[4] = 0x4444;
    uint32_t v = read_probe(VPTR(V_AD + 16));
    expect_none("ad_read_ok");
    check("read_sets_pde_and_pte_accessed", v == 0x4444 && (*pde & PG_A) && (*pte & PG_A), "value %x pde %x pte %x",
          v, *pde, *pte);
    check("read_leaves_pte_clean", !(*pte & PG_D), "pte %x", *pte);
    write_probe(VPTR(V_AD + 20), 0x5555);
    expect_none("ad_write_ok");
    check("write_after_read_sets_dirty", (*pte & PG_D) && data_page[5] == 0x5555, "pte %x", *pte);
    check("pde_to_table_never_dirty", !(*pde & PG_D), "pde %x", *pde);

    /* A write as the first access sets both. */
    *pte &= ~(PG_A | PG_D);
    invlpg(VPTR(V_AD));
    write_probe(VPTR(V_AD + 24), 0x6666);
    check("first_access_write_sets_a_and_d", (*pte & (PG_A | PG_D)) == (PG_A | PG_D), "pte %x", *pte);

    /* 4 MiB page: A and D live in the PDE. */
    volatile uint32_t *pde4 = &pd[PDX(V_4M)];
    *pde4 &= ~(PG_A | PG_D);
    invlpg(VPTR(V_4M));
    *VPTR(PHYS_4M + 0x1230) = 0x7777;
    v = read_probe(VPTR(V_4M + 0x1230));
    check("4m_read_accessed_not_dirty", v == 0x7777 && (*pde4 & PG_A) && !(*pde4 & PG_D), "value %x pde %x", v,
          *pde4);
    write_probe(VPTR(V_4M + 0x3FF000), 0x8888);
    check("4m_write_sets_pde_dirty", (*pde4 & PG_D) && *VPTR(PHYS_4M + 0x3FF000) == 0x8888, "pde %x", *pde4);
}

/* Ring 3 accesses, results reported from ring 0. */
static volatile struct {
    int hit;
    uint32_t vector, error, cr2, eip_ok;
} ur[8];

static void urecord(int i)
{
    ur[i].hit = caught.hit;
    ur[i].vector = caught.vector;
    ur[i].error = caught.error;
    ur[i].cr2 = caught.cr2;
    ur[i].eip_ok = caught.eip == catch_insn;
    catch_reset();
}

enum { U_READ_SUP, U_WRITE_SUP, U_WRITE_RO, U_READ_RO, U_READ_UPDE, U_WRITE_NP, U_WRITE_ROPDE, U_WRITE_OK };
static volatile uint32_t *const u_addr[] = {
    [U_READ_SUP] = &sup_page[3],          [U_WRITE_SUP] = &sup_page[4], [U_WRITE_RO] = &ro_page[5],
    [U_READ_RO] = &ro_page[6],            [U_READ_UPDE] = VPTR(V_UPDE + 12),
    [U_WRITE_NP] = VPTR(V_NP + 0x10),     [U_WRITE_ROPDE] = VPTR(V_ROPDE + 28),
    [U_WRITE_OK] = &data_page[9],
};

static void user_main(void)
{
    uint32_t v = 0;
    __asm__ volatile(CATCH_ASM("movl (%1), %0") : "+r"(v) : "r"(u_addr[U_READ_SUP]) : "memory");
    urecord(U_READ_SUP);
    __asm__ volatile(CATCH_ASM("movl %0, (%1)") : : "r"(1), "r"(u_addr[U_WRITE_SUP]) : "memory");
    urecord(U_WRITE_SUP);
    __asm__ volatile(CATCH_ASM("movl %0, (%1)") : : "r"(1), "r"(u_addr[U_WRITE_RO]) : "memory");
    urecord(U_WRITE_RO);
    __asm__ volatile(CATCH_ASM("movl (%1), %0") : "+r"(v) : "r"(u_addr[U_READ_RO]) : "memory");
    urecord(U_READ_RO);
    __asm__ volatile(CATCH_ASM("movl (%1), %0") : "+r"(v) : "r"(u_addr[U_READ_UPDE]) : "memory");
    urecord(U_READ_UPDE);
    __asm__ volatile(CATCH_ASM("movl %0, (%1)") : : "r"(1), "r"(u_addr[U_WRITE_NP]) : "memory");
    urecord(U_WRITE_NP);
    __asm__ volatile(CATCH_ASM("movl %0, (%1)") : : "r"(1), "r"(u_addr[U_WRITE_ROPDE]) : "memory");
    urecord(U_WRITE_ROPDE);
    __asm__ volatile(CATCH_ASM("movl %0, (%1)") : : "r"(0x9999), "r"(u_addr[U_WRITE_OK]) : "memory");
    urecord(U_WRITE_OK);
    __asm__ volatile("int $0x80" : : : "memory");
    for (;;)
        ;
}

static void sys_exit_handler(struct int_frame *f)
{
    (void)f;
    ring3_leave();
}

static void expect_user(int i, const char *name, uint32_t err)
{
    check(name, ur[i].hit == 1 && ur[i].vector == 14 && ur[i].error == err && ur[i].cr2 == (uint32_t)u_addr[i] &&
                    ur[i].eip_ok,
          "hit %d vector %u error %x cr2 %x eip ok %u (want #PF %x at %p)", ur[i].hit, ur[i].vector, ur[i].error,
          ur[i].cr2, ur[i].eip_ok, err, u_addr[i]);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    static struct tss32 tss;
    tss_install(&tss, SEL_TSS, TSS_LIMIT_NOIO, (uint32_t)(kstack + sizeof(kstack)));
    idt_set_handler(0x80, sys_exit_handler);
    idt_set_dpl(0x80, 3);
    setup();
    test_wp();
    test_accessed_dirty();

    /* WP does not matter for user accesses: clear it to show that. */
    set_wp(0);
    ring3_enter(user_main, (uint32_t)(ustack + sizeof(ustack)), 0x202);
    cli();
    set_wp(1);
    pass("back_from_user_mode");
    expect_user(U_READ_SUP, "user_read_supervisor_page_pf", PG_P | PG_US);
    expect_user(U_WRITE_SUP, "user_write_supervisor_page_pf", PG_P | PG_RW | PG_US);
    expect_user(U_WRITE_RO, "user_write_readonly_page_wp0_pf", PG_P | PG_RW | PG_US);
    check("user_read_readonly_page_ok", ur[U_READ_RO].hit == 0, "vector %u error %x", ur[U_READ_RO].vector,
          ur[U_READ_RO].error);
    expect_user(U_READ_UPDE, "user_read_supervisor_pde_pf", PG_P | PG_US);
    expect_user(U_WRITE_NP, "user_write_not_present_pf", PG_RW | PG_US);
    expect_user(U_WRITE_ROPDE, "user_write_readonly_pde_pf", PG_P | PG_RW | PG_US);
    check("user_write_user_page_ok", ur[U_WRITE_OK].hit == 0 && data_page[9] == 0x9999, "vector %u value %x",
          ur[U_WRITE_OK].vector, data_page[9]);
    check("sup_page_unchanged", sup_page[4] == 0 && ro_page[5] == 0, "sup %x ro %x", sup_page[4], ro_page[5]);
    return test_finish();
}

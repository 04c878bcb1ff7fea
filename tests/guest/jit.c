/* The binary translator under stress (issue 7): precise state when a page
 * fault, an MMIO exit or an interrupt hits translated code, the exact
 * instruction count across a fault, translations that must not be reused
 * under another CS limit or base, code size, CPL, segment base or limit,
 * or stack size, single-stepping, A/D bits, code patched through an alias
 * or by an interrupt handler, and transfers to the very next instruction
 * on the slow path.  The code under test is in jit_code.asm; every case runs
 * often enough (ROUNDS) to be translated under the default threshold (a
 * block is translated after 50 interpreted runs) as well as with
 * threshold=1, and gives the same answers under --engine interp. */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "printf.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "jit";

#define ROUNDS 200

#define PG_P   0x001u
#define PG_RW  0x002u
#define PG_US  0x004u
#define PG_A   0x020u
#define PG_D   0x040u
#define PG_PS  0x080u
#define EFL_ARITH 0x8D5u            /* CF PF AF ZF SF OF */

#define SEL_LIMCODE SEL_SPARE(0)    /* 32-bit code, base 0, limit ends at cslim's page */
#define SEL_CODE16B SEL_SPARE(1)    /* 16-bit code based at mode_code */
#define SEL_FS4     SEL_SPARE(2)    /* data, base 4, 4 GiB */
#define SEL_FS8     SEL_SPARE(3)    /* data, base 8, 4 GiB */
#define SEL_DSPAGE  SEL_SPARE(4)    /* data, base ds_page, limit 0xFFF */
#define SEL_SS16    SEL_SPARE(5)    /* 16-bit stack (B=0), base s16_area, limit 0xFFFF */
#define SEL_CSB     SEL_SPARE(6)    /* 32-bit code, base 0x1000, 4 GiB (wraps) */
#define SEL_SS32B   SEL_SPARE(7)    /* 32-bit stack (B=1), base s32b_area, 4 GiB */

/* ---- jit_code.asm ---- */
struct pf_record {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;   /* pushad order */
    uint32_t error, eip, cs, eflags, user_esp, user_ss, cr2;
};
extern volatile uint32_t pf_fix_pte, pf_fix_val, pf_count;
extern volatile struct pf_record pf_rec;
extern volatile uint32_t seq_esp, seq_out[4], u_out[4];
extern char pf_stub[], pf_seq_fault[], pf_seq_w_fault[], user_push_at[], user_ret_at[];
extern char user_ret_back[], jmp_self_spin[], jmp_self_out[], test_recover[], mode_code[];
extern char cslim_jmp_fn[], cslim_jmp[], cslim_jcc_fn[], cslim_jcc[], ds_walk_load[];
void pf_seq(volatile uint32_t *p);
void pf_seq_w(volatile uint32_t *p);
uint32_t icount_seq(volatile uint32_t *p);
void mmio_seq(volatile uint32_t *mmio, uint32_t out[9]);
uint32_t scratch_loop(uint32_t n);
uint32_t irq_spin(volatile uint32_t *flag, uint32_t *twice);
void jmp_self(void);
uint32_t smc_irq_loop(void);
extern uint8_t smc_irq_imm[];
uint32_t far_call(uint32_t sel, uint32_t off);
void far_jump(uint32_t sel, uint32_t off);
uint32_t fs_sum(uint32_t sel, uint32_t off, uint32_t n);
uint32_t ds_walk(uint32_t sel, uint32_t off, uint32_t n);
uint32_t stack_run(uint32_t ss_sel, uint32_t esp, uint32_t n, uint32_t *esp_after);
extern char stack_run_ret[];
void tf_body(void);
void tf_run(void);
extern char tf_after_mov[], tf_after_add[], tf_after_inc[], tf_after_mov2[], tf_ret_addr[];
uint32_t pop_ds_load(uint32_t sel, uint32_t off);
uint32_t alias_func(void);
extern char alias_imm[];
uint32_t long_seq(const volatile uint32_t *p);
uint32_t sf_pop_seq(volatile uint32_t *p);
uint32_t sf_leave_seq(volatile uint32_t *p);
extern char sf_pop_at[], sf_leave_at[];
extern const uint32_t long_adds[40];
void ad_rw(volatile uint32_t *p, uint32_t write);
uint32_t priv_read(volatile uint32_t *p);
void user_priv_read(void);
extern char priv_read_load[], eip_probe[], eip_probe_ret[], fetch_page_b[];
uint32_t fetch_fn(void);
void user_push_seq(void);
void user_call_next(void);
void user_ret_next(void);
void user_callr_next(void);
extern char user_call_next_ret[], user_ret_next_after[], user_callr_next_ret[], user_ret_runaway[];
void user_ret_seq(void);

/* Instructions pf_stub runs from its first to its IRET for a fault at
 * CPL 0 (counted in the listing in jit_code.asm). */
#define PF_HANDLER_INSNS 40u
/* Instructions from the first RDTSC of icount_seq up to the second. */
#define ICOUNT_SEQ_INSNS 8u
/* TSC ticks per instruction at the default --ips 100M (1 GHz TSC). */
#define TSC_PER_INSN 10u

/* ---- paging: identity map, 4 KiB pages below 4 MiB (user-accessible, so
 * ring-3 code can run anywhere), an identity 4 MiB page for the MMIO test ---- */
typedef volatile uint32_t table[1024] __attribute__((aligned(4096)));
static table pd, pt_low;
static volatile uint32_t test_pages[4][1024] __attribute__((aligned(4096)));

#define MMIO_BASE 0xD0000000u       /* the PCI hole above the virtio BARs (0xC0000000 up): unclaimed */

static volatile uint32_t *pte_of(volatile const void *p)
{
    return &pt_low[(uint32_t)p >> 12];
}

static void setup_paging(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        pt_low[i] = (i << 12) | PG_P | PG_RW | PG_US;
    pd[0] = (uint32_t)pt_low | PG_P | PG_RW | PG_US;
    for (uint32_t i = 1; i < 16; i++)
        pd[i] = (i << 22) | PG_PS | PG_P | PG_RW | PG_US;
    pd[MMIO_BASE >> 22] = MMIO_BASE | PG_PS | PG_P | PG_RW;
    WRITE_CR(3, pd);
    WRITE_CR(4, READ_CR(4) | 0x10);                 /* PSE */
    WRITE_CR(0, READ_CR(0) | 0x80010000u);          /* PG | WP */
}

/* Takes page p away; the next access faults and pf_stub puts it back. */
static void unmap_page(volatile const void *p)
{
    volatile uint32_t *pte = pte_of(p);
    *pte &= ~PG_P;
    invlpg(p);
    pf_count = 0;
    pf_fix_val = *pte | PG_P;
    pf_fix_pte = (uint32_t)pte;
}

/* Makes page p read-only; the next write faults and pf_stub allows it. */
static void protect_page(volatile const void *p)
{
    volatile uint32_t *pte = pte_of(p);
    *pte &= ~PG_RW;
    invlpg(p);
    pf_count = 0;
    pf_fix_val = *pte | PG_RW;
    pf_fix_pte = (uint32_t)pte;
}

/* The check under way, named in a report of an unexpected #PF. */
static const char *current = "jit";
/* Set while ring-3 code runs that may fault unexpectedly: the fault ends
 * the ring-3 run instead of the program, and is recorded here. */
static volatile int pf_escape;
static volatile uint32_t escaped_eip, escaped_cr2;

void pf_unexpected(uint32_t eip, uint32_t cr2)
{
    if (pf_escape) {
        pf_escape = 0;
        escaped_eip = eip;
        escaped_cr2 = cr2;
        ring3_leave();
    }
    kprintf("FAIL %s: unexpected #PF at eip %x cr2 %x\n", current, eip, cr2);
    debug_exit(1);
}

/* Points IDT gate 14 straight at pf_stub (a 32-bit interrupt gate). */
static void install_pf_stub(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    volatile uint16_t *g = (volatile uint16_t *)(uintptr_t)(idtr.base + 14 * 8);
    uint32_t a = (uint32_t)pf_stub;
    g[0] = (uint16_t)a;
    g[1] = SEL_CODE32;
    g[2] = 0x8E00;
    g[3] = (uint16_t)(a >> 16);
}

/* ---- C handlers for the tests that end in a fault ---- */
static volatile struct {
    int hit;
    uint32_t vector, error, eip, cs, eax, ebx, ecx, edx, ds;
} fault;

static void fault_reset(void)
{
    fault.hit = 0;
    fault.vector = fault.error = fault.eip = fault.cs = 0xFFFFFFFF;
}

/* Records the fault and its registers, then ends the test in test_recover
 * (flat 32-bit CS, flat data segments). */
static void to_recover(struct int_frame *f)
{
    fault.hit++;
    fault.vector = f->vector;
    fault.error = f->error;
    fault.eip = f->eip;
    fault.cs = f->cs;
    fault.eax = f->eax;
    fault.ebx = f->ebx;
    fault.ecx = f->ecx;
    fault.edx = f->edx;
    fault.ds = f->ds;
    f->eip = (uint32_t)test_recover;
    f->cs = SEL_CODE32;
    f->ds = f->es = f->fs = f->gs = SEL_DATA32;
}

/* ---- page faults in translated code ---- */

static int regs_differ(const char *name, uint32_t got, uint32_t want, int round)
{
    if (got == want)
        return 0;
    fail(name, "round %d: got %x, want %x", round, got, want);
    return 1;
}

static void test_pf_mid_block(void)
{
    volatile uint32_t *page = test_pages[0];
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        page[2] = 0x600D0000u + (uint32_t)r;
        unmap_page(page);
        pf_seq(page);
        const volatile struct pf_record *p = &pf_rec;
        bad |= regs_differ("pf_mid_block_fault_count", pf_count, 1, r);
        bad |= regs_differ("pf_mid_block_eip", p->eip, (uint32_t)pf_seq_fault, r);
        bad |= regs_differ("pf_mid_block_cr2", p->cr2, (uint32_t)&page[2], r);
        bad |= regs_differ("pf_mid_block_error_code", p->error, 0, r);
        bad |= regs_differ("pf_mid_block_eax", p->eax, 0x80000000u, r);
        bad |= regs_differ("pf_mid_block_ebx", p->ebx, 1, r);
        bad |= regs_differ("pf_mid_block_ecx", p->ecx, 0x101, r);
        bad |= regs_differ("pf_mid_block_edx", p->edx, 0x55, r);
        bad |= regs_differ("pf_mid_block_esi", p->esi, 0x1111, r);
        bad |= regs_differ("pf_mid_block_edi", p->edi, (uint32_t)page, r);
        bad |= regs_differ("pf_mid_block_ebp", p->ebp, 0x2222, r);
        bad |= regs_differ("pf_mid_block_esp", p->esp + 16, seq_esp, r);
        /* cmp 0x55, 0x56: CF PF AF SF */
        bad |= regs_differ("pf_mid_block_eflags", p->eflags & EFL_ARITH, 0x95, r);
        /* After the retry: adc uses CF of the cmp, sbb the CF of the adc. */
        bad |= regs_differ("pf_mid_block_resumed_adc", seq_out[0], page[2] + 0x11, r);
        bad |= regs_differ("pf_mid_block_resumed_sbb", seq_out[1], 0x800000ACu, r);
    }
    if (!bad)
        pass("pf_mid_block_precise_state");
}

static void test_pf_store(void)
{
    volatile uint32_t *page = test_pages[1];
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        /* Odd rounds: present but read-only (CR0.WP): P|W in the error code. */
        int ro = r & 1;
        page[3] = 0;
        if (ro)
            protect_page(page);
        else
            unmap_page(page);
        pf_seq_w(page);
        const volatile struct pf_record *p = &pf_rec;
        bad |= regs_differ("pf_store_fault_count", pf_count, 1, r);
        bad |= regs_differ("pf_store_eip", p->eip, (uint32_t)pf_seq_w_fault, r);
        bad |= regs_differ("pf_store_cr2", p->cr2, (uint32_t)&page[3], r);
        bad |= regs_differ(ro ? "pf_store_readonly_error_code" : "pf_store_error_code", p->error,
                           ro ? 3u : 2u, r);
        bad |= regs_differ("pf_store_eax", p->eax, 0, r);
        bad |= regs_differ("pf_store_ebx", p->ebx, 0x4000, r);
        bad |= regs_differ("pf_store_ecx", p->ecx, 0xFFFFFFFFu, r);
        bad |= regs_differ("pf_store_edx", p->edx, 0x7FFFFFFFu, r);
        bad |= regs_differ("pf_store_esi", p->esi, 0x0F0F0F0Fu, r);
        bad |= regs_differ("pf_store_ebp", p->ebp, 0x3333, r);
        bad |= regs_differ("pf_store_esp", p->esp + 16, seq_esp, r);
        bad |= regs_differ("pf_store_eflags", p->eflags & EFL_ARITH, 0x84, r);   /* SF PF */
        bad |= regs_differ("pf_store_written", page[3], 0x0F0F0F0Fu, r);
        bad |= regs_differ("pf_store_resumed_setnz", seq_out[0], 1, r);
        bad |= regs_differ("pf_store_resumed_sets", seq_out[1], 0x4001, r);
    }
    if (!bad)
        pass("pf_store_precise_state");

    /* CR0.WP=0: the same store to the read-only page just works. */
    WRITE_CR(0, READ_CR(0) & ~0x10000u);
    *pte_of(page) &= ~PG_RW;
    invlpg(page);
    pf_fix_pte = 0;
    bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        page[3] = 0;
        pf_seq_w(page);
        bad |= regs_differ("wp0_store_to_readonly_page", page[3], 0x0F0F0F0Fu, r);
    }
    *pte_of(page) |= PG_RW;
    invlpg(page);
    WRITE_CR(0, READ_CR(0) | 0x10000u);
    if (!bad)
        pass("wp0_store_to_readonly_page");
}

/* A fault on the last insn of a maximum-length block (k = 28) and on the
 * first of the next (k = 29): p[0..k-1] end page 2, p[k..] start page 3,
 * which is not present. */
static void test_pf_block_edge(void)
{
    volatile uint32_t *next = test_pages[3];
    for (int i = 0; i < 1024; i++) {
        test_pages[2][i] = 0x100u + (uint32_t)i;
        next[i] = 0x10000u * (uint32_t)(i + 1);
    }
    for (int k = 28; k <= 29; k++) {
        const char *name = k == 28 ? "pf_last_insn_of_max_block" : "pf_first_insn_of_next_block";
        const volatile uint32_t *p = next - k;
        uint32_t before = 0, all = 0;
        for (int i = 0; i < 40; i++) {
            all += p[i];
            if (i < k)
                before += p[i];
        }
        int bad = 0;
        for (int r = 0; r < ROUNDS && !bad; r++) {
            unmap_page(next);
            uint32_t got = long_seq(p);
            const volatile struct pf_record *f = &pf_rec;
            bad |= regs_differ(name, pf_count, 1, r);
            bad |= regs_differ(name, f->eip, long_adds[k], r);
            bad |= regs_differ(name, f->cr2, (uint32_t)next, r);
            bad |= regs_differ(name, f->eax, before, r);
            bad |= regs_differ(name, f->esi, (uint32_t)p, r);
            bad |= regs_differ(name, got, all, r);
        }
        if (!bad)
            pass(name);
    }
}

/* POP and LEAVE reading a not-present stack page at CPL 0.  The page
 * before it (test_pages[0]) takes the #PF frame. */
static void test_pf_pop_leave(void)
{
    volatile uint32_t *page = test_pages[1];
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        page[0] = 0xC0FFEE00u + (uint32_t)r;
        unmap_page(page);
        uint32_t v = sf_pop_seq(page);
        const volatile struct pf_record *p = &pf_rec;
        bad |= regs_differ("pf_pop_fault_count", pf_count, 1, r);
        bad |= regs_differ("pf_pop_eip", p->eip, (uint32_t)sf_pop_at, r);
        bad |= regs_differ("pf_pop_cr2", p->cr2, (uint32_t)page, r);
        bad |= regs_differ("pf_pop_error_code", p->error, 0, r);
        bad |= regs_differ("pf_pop_esp", p->esp + 16, (uint32_t)page, r);
        bad |= regs_differ("pf_pop_ebx", p->ebx, (uint32_t)page, r);
        bad |= regs_differ("pf_pop_ecx", p->ecx, 0x82, r);
        bad |= regs_differ("pf_pop_eflags", p->eflags & EFL_ARITH, 0x04, r);   /* PF */
        bad |= regs_differ("pf_pop_resumed_value", v, page[0], r);
        bad |= regs_differ("pf_pop_resumed_esp", seq_out[0], (uint32_t)page + 4, r);

        unmap_page(page);
        v = sf_leave_seq(page);
        bad |= regs_differ("pf_leave_fault_count", pf_count, 1, r);
        bad |= regs_differ("pf_leave_eip", p->eip, (uint32_t)sf_leave_at, r);
        bad |= regs_differ("pf_leave_cr2", p->cr2, (uint32_t)page, r);
        bad |= regs_differ("pf_leave_error_code", p->error, 0, r);
        bad |= regs_differ("pf_leave_esp", p->esp + 16, seq_esp, r);
        bad |= regs_differ("pf_leave_ebp", p->ebp, (uint32_t)page, r);
        bad |= regs_differ("pf_leave_ecx", p->ecx, 0x82, r);
        bad |= regs_differ("pf_leave_eflags", p->eflags & EFL_ARITH, 0x04, r);
        bad |= regs_differ("pf_leave_resumed_ebp", v, page[0], r);
        bad |= regs_differ("pf_leave_resumed_esp", seq_out[0], (uint32_t)page + 4, r);
    }
    if (!bad)
        pass("pf_pop_and_leave_precise_state");
}

/* ---- ring 3: PUSH and RET on a stack page that is not present (the #PF
 * frame goes to the ring-0 stack, so the faulting page may be the stack) ---- */
static struct tss32 tss;
static uint8_t kstack[8192] __attribute__((aligned(16)));

static void sys_leave(struct int_frame *f)
{
    (void)f;
    ring3_leave();
}

static void test_pf_user_stack(void)
{
    volatile uint32_t *page = test_pages[2];
    uint32_t top = (uint32_t)page + 4096;
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        unmap_page(page);
        ring3_enter(user_push_seq, top, 0x2);
        const volatile struct pf_record *p = &pf_rec;
        bad |= regs_differ("pf_push_fault_count", pf_count, 1, r);
        bad |= regs_differ("pf_push_eip", p->eip, (uint32_t)user_push_at, r);
        bad |= regs_differ("pf_push_cs", p->cs, SEL_UCODE32 | 3, r);
        bad |= regs_differ("pf_push_cr2", p->cr2, top - 4, r);
        bad |= regs_differ("pf_push_error_code", p->error, 6, r);   /* user, write, not present */
        bad |= regs_differ("pf_push_esp", p->user_esp, top, r);
        bad |= regs_differ("pf_push_eax", p->eax, 0xA5A5A5A5u, r);
        bad |= regs_differ("pf_push_ebx", p->ebx, 0x10, r);
        bad |= regs_differ("pf_push_ecx", p->ecx, 0, r);
        bad |= regs_differ("pf_push_edx", p->edx, 0xFFFFFFF7u, r);
        bad |= regs_differ("pf_push_esi", p->esi, 0x3333, r);
        bad |= regs_differ("pf_push_edi", p->edi, 0x4444, r);
        bad |= regs_differ("pf_push_ebp", p->ebp, 0x5555, r);
        bad |= regs_differ("pf_push_eflags", p->eflags & EFL_ARITH, 0x81, r);   /* CF SF */
        bad |= regs_differ("pf_push_resumed_pops", u_out[0] ^ u_out[1], 0xA5A5A5A5u ^ 0xFFFFFFF7u, r);
        bad |= regs_differ("pf_push_resumed_esp", u_out[2], top, r);
    }
    if (!bad)
        pass("pf_push_precise_state");

    bad = 0;
    uint32_t sp = top - 16;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        page[1020] = (uint32_t)user_ret_back;      /* at sp */
        unmap_page(page);
        ring3_enter(user_ret_seq, sp, 0x2);
        const volatile struct pf_record *p = &pf_rec;
        bad |= regs_differ("pf_ret_fault_count", pf_count, 1, r);
        bad |= regs_differ("pf_ret_eip", p->eip, (uint32_t)user_ret_at, r);
        bad |= regs_differ("pf_ret_cr2", p->cr2, sp, r);
        bad |= regs_differ("pf_ret_error_code", p->error, 4, r);    /* user, read, not present */
        bad |= regs_differ("pf_ret_esp", p->user_esp, sp, r);
        bad |= regs_differ("pf_ret_eax", p->eax, 0x80000000u, r);
        bad |= regs_differ("pf_ret_ebx", p->ebx, 0x22, r);
        bad |= regs_differ("pf_ret_ecx", p->ecx, 0x33, r);
        bad |= regs_differ("pf_ret_edx", p->edx, 0x44, r);
        bad |= regs_differ("pf_ret_esi", p->esi, 0x55, r);
        bad |= regs_differ("pf_ret_edi", p->edi, 0x66, r);
        bad |= regs_differ("pf_ret_ebp", p->ebp, 0x77, r);
        bad |= regs_differ("pf_ret_eflags", p->eflags & EFL_ARITH, 0x894, r);   /* OF SF AF PF */
        bad |= regs_differ("pf_ret_resumed_esp", u_out[0], sp + 4, r);
        bad |= regs_differ("pf_ret_resumed_eax", u_out[1], 0x80000000u, r);
    }
    if (!bad)
        pass("pf_ret_precise_state");
}

/* ---- CALL rel, RET and CALL r32 whose target is the next instruction,
 * with the stack access taking the translated code's slow path (the
 * interpreter): "EIP is at the next instruction" must not be taken for
 * "did not jump".  A CALL run again and again walks the stack down into the
 * unmapped guard page below (the #PF ends the ring-3 run); a RET run twice
 * lands in user_ret_runaway. ---- */
static void test_transfer_to_next(void)
{
    static const char *const names[] = { "call_rel_to_next_insn", "ret_to_next_insn",
                                         "call_reg_to_next_insn" };
    void (*const fns[])(void) = { user_call_next, user_ret_next, user_callr_next };
    const uint32_t popped[] = { (uint32_t)user_call_next_ret, 0, (uint32_t)user_callr_next_ret };
    volatile uint32_t *guard = test_pages[0], *stack = test_pages[1];
    *pte_of(guard) &= ~PG_P;
    invlpg(guard);
    pf_fix_pte = 0;
    for (int k = 0; k < 3; k++) {
        current = names[k];
        int bad = -1;
        uint32_t esp = (uint32_t)stack + 4096 - 16;
        escaped_eip = escaped_cr2 = 0;
        for (int r = 0; r < ROUNDS && bad < 0; r++) {
            u_out[0] = u_out[1] = 0xFFFFFFFFu;
            stack[1020] = (uint32_t)user_ret_next_after;   /* at esp, for RET */
            for (int q = 1021; q < 1024; q++)
                stack[q] = (uint32_t)user_ret_runaway;
            invlpg(stack);                                  /* the user TLB forgets it */
            pf_escape = 1;
            ring3_enter(fns[k], esp, 0x2);
            if (!pf_escape)
                bad = r;
            pf_escape = 0;
            if (u_out[0] != 0 || (popped[k] && u_out[1] != popped[k]) || u_out[1] == 0xBAD0BAD0u)
                bad = r;
        }
        if (escaped_eip)
            fail(names[k], "round %d: ran until #PF at eip %x cr2 %x (the transfer repeated)", bad,
                 escaped_eip, escaped_cr2);
        else
            check(names[k], bad < 0, "round %d: ESP moved by %d across it (u_out[1] %x, want %x)",
                  bad, (int)u_out[0], u_out[1], popped[k]);
    }
    current = "jit";
    *pte_of(guard) |= PG_P;
    invlpg(guard);
}

/* ---- the instruction count across a fault ---- */
static void test_icount(void)
{
    volatile uint32_t *page = test_pages[3];
    uint32_t plain = ICOUNT_SEQ_INSNS * TSC_PER_INSN;
    uint32_t faulted = (ICOUNT_SEQ_INSNS + PF_HANDLER_INSNS) * TSC_PER_INSN;
    int bad_plain = -1, bad_fault = -1;
    uint32_t got_plain = 0, got_fault = 0;
    for (int r = 0; r < ROUNDS; r++) {
        uint32_t d = icount_seq(page);
        if (d != plain && bad_plain < 0) {
            bad_plain = r;
            got_plain = d;
        }
        unmap_page(page);
        d = icount_seq(page);
        if ((d != faulted || pf_count != 1) && bad_fault < 0) {
            bad_fault = r;
            got_fault = d;
        }
    }
    check("icount_straight_line_exact", bad_plain < 0, "round %d: %u TSC ticks, want %u",
          bad_plain, got_plain, plain);
    check("icount_across_page_fault_exact", bad_fault < 0,
          "round %d: %u TSC ticks (faults %u), want %u", bad_fault, got_fault, pf_count, faulted);

    /* The load an MMIO exit: the count is that of the plain run. */
    volatile uint32_t *mmio = (volatile uint32_t *)(uintptr_t)(MMIO_BASE + 0x200);
    bad_plain = -1;
    for (int r = 0; r < ROUNDS && bad_plain < 0; r++) {
        uint32_t d = icount_seq(mmio);
        if (d != plain) {
            bad_plain = r;
            got_plain = d;
        }
    }
    check("icount_across_mmio_exit_exact", bad_plain < 0, "round %d: %u TSC ticks, want %u",
          bad_plain, got_plain, plain);
}

/* ---- MMIO and port I/O from translated code ---- */
static void test_mmio(void)
{
    volatile uint32_t *mmio = (volatile uint32_t *)(uintptr_t)(MMIO_BASE + 0x100);
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        uint32_t out[9];
        mmio_seq(mmio, out);
        /* cmp 0x55, 0x56 before a store and a load that exit: AH = 0x97 */
        bad |= regs_differ("mmio_flags_kept_across_exits", out[8], 0x12349778u, r);
        /* add [mmio], 5 read 0xffffffff: 4, CF AF -> LAHF AH = 0x13 */
        bad |= regs_differ("mmio_rmw_flags_lahf", out[0], 0x12341378u, r);
        bad |= regs_differ("mmio_load_all_ones", out[1], 0xFFFFFFFFu, r);
        bad |= regs_differ("mmio_add_reg_mem", out[2], 4, r);
        bad |= regs_differ("mmio_movzx_byte", out[3], 0xFF, r);
        bad |= regs_differ("mmio_esi_untouched", out[4], 0x55, r);
        bad |= regs_differ("mmio_hot_loop_sum", out[5], (uint32_t)-50, r);
        bad |= regs_differ("mmio_edi_untouched", out[6], (uint32_t)mmio, r);
        bad |= regs_differ("mmio_loop_counter", out[7], 0, r);
    }
    if (!bad)
        pass("mmio_from_translated_code");

    uint32_t want = 0;
    for (uint32_t i = 1; i <= 300; i++)
        want += i & 0xFF;
    int bad_r = -1;
    uint32_t got = 0;
    for (int r = 0; r < 20 && bad_r < 0; r++) {
        got = scratch_loop(300);
        if (got != want)
            bad_r = r;
    }
    check("uart_scratch_hot_loop", bad_r < 0, "round %d: sum %u, want %u", bad_r, got, want);
}

/* ---- interrupts during tight translated loops ---- */
static volatile uint32_t irq_flag, irq_count, spin_hits, spin_other, irq_patch;

static void irq0_handler(struct int_frame *f)
{
    irq_count++;
    irq_flag = 1;
    if (irq_patch) {
        irq_patch = 0;
        *(volatile uint32_t *)smc_irq_imm = 1;     /* ends smc_irq_loop */
    }
    if (f->eip == (uint32_t)jmp_self_spin) {
        spin_hits++;
        f->eip = (uint32_t)jmp_self_out;
    } else if (f->eip >= (uint32_t)jmp_self_spin && f->eip < (uint32_t)jmp_self_out) {
        spin_other++;
    }
    pic_eoi(0);
}

static void test_interrupts(void)
{
    idt_set_handler(IRQ_VECTOR(0), irq0_handler);
    pit_ch0_periodic(1193);                          /* 1000 Hz */
    pic_unmask(0);
    int bad = -1;
    uint32_t n = 0, twice = 0, total = 0;
    for (int r = 0; r < 20 && bad < 0; r++) {
        irq_flag = 0;
        n = irq_spin(&irq_flag, &twice);
        total += n;
        if (n == 0 || twice != 2 * n)
            bad = r;
    }
    check("irq_ends_tight_loop", bad < 0 && total > 20 * 50,
          "round %d: %u iterations, second counter %u (total %u)", bad, n, twice, total);

    spin_hits = spin_other = 0;
    for (int r = 0; r < 20; r++)
        jmp_self();
    check("irq_in_jmp_self_precise_eip", spin_hits == 20 && spin_other == 0,
          "%u of 20 interrupts at the jmp, %u elsewhere in it", spin_hits, spin_other);
    bad = -1;
    for (int r = 0; r < 20 && bad < 0; r++) {
        *(volatile uint32_t *)smc_irq_imm = 0;
        irq_patch = 1;
        n = smc_irq_loop();
        if (n == 0 || irq_patch)
            bad = r;
    }
    check("irq_handler_patches_hot_loop", bad < 0, "round %d: %u rounds", bad, n);
    pic_mask(0);
}

/* ---- CS limit: a translated jump whose target is past a smaller limit ---- */
static void test_cs_limit(void)
{
    idt_set_handler(13, to_recover);
    uint32_t page = (uint32_t)cslim_jmp_fn & ~0xFFFu;
    gdt_set_seg(SEL_LIMCODE, 0, page >> 12, 0x9A, 0xC);   /* limit = page + 0xFFF */
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        uint32_t a = far_call(SEL_CODE32, (uint32_t)cslim_jmp_fn);
        uint32_t b = far_call(SEL_CODE32, (uint32_t)cslim_jcc_fn);
        bad |= regs_differ("cs_flat_jmp_runs", a, 2, r);
        bad |= regs_differ("cs_flat_jcc_runs", b, 5, r);
    }
    if (!bad)
        pass("cs_flat_jumps_run");
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "cs_limit_jcc_target_gp" : "cs_limit_jmp_target_gp";
        uint32_t fn = k ? (uint32_t)cslim_jcc_fn : (uint32_t)cslim_jmp_fn;
        uint32_t at = k ? (uint32_t)cslim_jcc : (uint32_t)cslim_jmp;
        bad = -1;
        for (int r = 0; r < 20 && bad < 0; r++) {
            fault_reset();
            uint32_t v = far_call(SEL_LIMCODE, fn);
            if (v != 0xFFFFFFFFu || fault.hit != 1 || fault.vector != 13 || fault.error != 0 ||
                fault.eip != at || fault.cs != SEL_LIMCODE)
                bad = r;
            if (far_call(SEL_CODE32, fn) != (k ? 5u : 2u))
                bad = r;
        }
        check(name, bad < 0, "round %d: faults %d vector %u error %x eip %x cs %x (want #GP(0) at %x)",
              bad, fault.hit, fault.vector, fault.error, fault.eip, fault.cs, at);
    }
    idt_set_handler(13, 0);
}

/* ---- the same bytes as 32-bit and 16-bit code ---- */
static int mode_run(uint32_t sel, uint32_t off, uint32_t eip, uint32_t eax, uint32_t ecx, int r)
{
    fault_reset();
    far_jump(sel, off);
    int bad = 0;
    bad |= regs_differ("code_size_fault", fault.vector, 6, r);
    bad |= regs_differ("code_size_eip", fault.eip, eip, r);
    bad |= regs_differ("code_size_cs", fault.cs, sel, r);
    bad |= regs_differ(sel == SEL_CODE32 ? "code32_eax" : "code16_eax", fault.eax, eax, r);
    bad |= regs_differ(sel == SEL_CODE32 ? "code32_ecx" : "code16_ecx", fault.ecx, ecx, r);
    return bad;
}

static void test_code_size(void)
{
    idt_set_handler(6, to_recover);
    gdt_set_seg(SEL_CODE16B, (uint32_t)mode_code, 0xFFFF, 0x9A, 0x0);
    uint32_t flat = (uint32_t)mode_code;
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++)
        bad |= mode_run(SEL_CODE32, flat, flat + 12, 0x00EB1227u, 0xAAAA5678u, r);
    for (int r = 0; r < ROUNDS && !bad; r++)
        bad |= mode_run(SEL_CODE16B, 0, 12, 0xFFFF1235u, 0x12345678u, r);
    for (int r = 0; r < ROUNDS && !bad; r++) {
        bad |= mode_run(SEL_CODE32, flat, flat + 12, 0x00EB1227u, 0xAAAA5678u, r);
        bad |= mode_run(SEL_CODE16B, 0, 12, 0xFFFF1235u, 0x12345678u, r);
    }
    if (!bad)
        pass("same_bytes_as_32_and_16_bit_code");
    idt_set_handler(6, 0);
}

/* ---- segment bases and limits ---- */
static volatile uint32_t fs_vals[4] = { 0x1111, 0x22220000, 0x3, 0x44 };

static void test_fs_base(void)
{
    gdt_set_seg(SEL_FS4, 4, 0xFFFFF, 0x92, 0xC);
    gdt_set_seg(SEL_FS8, 8, 0xFFFFF, 0x92, 0xC);
    uint32_t off = (uint32_t)fs_vals;
    static const uint16_t sels[] = { SEL_DATA32, SEL_FS4, SEL_FS8, SEL_FS4, SEL_DATA32, SEL_FS8 };
    int bad = 0;
    for (int r = 0; r < 20 && !bad; r++) {
        for (unsigned k = 0; k < sizeof(sels) / sizeof(sels[0]); k++) {
            uint32_t idx = sels[k] == SEL_DATA32 ? 0 : sels[k] == SEL_FS4 ? 1 : 2;
            uint32_t got = fs_sum(sels[k], off, ROUNDS);
            if (got != ROUNDS * fs_vals[idx]) {
                fail("fs_base_reload_in_hot_loop", "round %d, FS %x: sum %x, want %x", r, sels[k],
                     got, ROUNDS * fs_vals[idx]);
                bad = 1;
                break;
            }
        }
    }
    if (!bad)
        pass("fs_base_reload_in_hot_loop");
}

static uint8_t ds_page[4096] __attribute__((aligned(4096)));

static uint32_t load32_at(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_ds_limit(void)
{
    idt_set_handler(13, to_recover);
    for (unsigned k = 0; k < sizeof(ds_page); k++)
        ds_page[k] = (uint8_t)(k * 7 + 1);
    gdt_set_seg(SEL_DSPAGE, (uint32_t)ds_page, 0xFFF, 0x92, 0x4);   /* byte-granular, 32-bit */
    /* In bounds: flat DS first, then the limited one, same offsets. */
    uint32_t want = 0;
    for (uint32_t k = 0; k < 100; k++)
        want += load32_at(ds_page + 0x100 + 4 * k);
    int bad = 0;
    for (int r = 0; r < 20 && !bad; r++) {
        uint32_t a = ds_walk(SEL_DATA32, (uint32_t)ds_page + 0x100, 100);
        uint32_t b = ds_walk(SEL_DSPAGE, 0x100, 100);
        bad |= regs_differ("ds_flat_walk_sum", a, want, r);
        bad |= regs_differ("ds_limited_walk_sum", b, want, r);
    }
    if (!bad)
        pass("ds_limited_segment_in_hot_loop");

    /* The walk reaches the limit mid-loop: the 101st dword straddles it. */
    uint32_t start = 0x1000 - 4 * 100 - 2;
    want = 0;
    for (uint32_t k = 0; k < 100; k++)
        want += load32_at(ds_page + start + 4 * k);
    bad = -1;
    for (int r = 0; r < 20 && bad < 0; r++) {
        fault_reset();
        uint32_t v = ds_walk(SEL_DSPAGE, start, 150);
        if (v != 0xFFFFFFFFu || fault.hit != 1 || fault.vector != 13 || fault.error != 0 ||
            fault.eip != (uint32_t)ds_walk_load || fault.ebx != 100 || fault.eax != want ||
            fault.edx != 0xFFE || fault.ecx != 50 || fault.ds != SEL_DSPAGE)
            bad = r;
    }
    check("ds_limit_gp_in_hot_loop", bad < 0,
          "round %d: faults %d vector %u error %x eip %x (want %x) ebx %u eax %x (want %x) edx %x ecx %u ds %x",
          bad, fault.hit, fault.vector, fault.error, fault.eip, (uint32_t)ds_walk_load, fault.ebx,
          fault.eax, want, fault.edx, fault.ecx, fault.ds);
    idt_set_handler(13, 0);
}

/* POP DS inside a block changes the base the next load in it uses. */
static void test_pop_ds(void)
{
    gdt_set_seg(SEL_FS4, 4, 0xFFFFF, 0x92, 0xC);
    uint32_t off = (uint32_t)fs_vals;
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        uint32_t a = pop_ds_load(SEL_DATA32, off);
        uint32_t b = pop_ds_load(SEL_FS4, off);
        bad |= regs_differ("pop_ds_flat_load", a, fs_vals[0], r);
        bad |= regs_differ("pop_ds_based_load", b, fs_vals[1], r);
    }
    if (!bad)
        pass("pop_ds_base_in_hot_block");
}

/* ---- TF: code that is translated must still single-step ---- */
static volatile uint32_t db_eips[16], db_count;

static void db_handler(struct int_frame *f)
{
    if (db_count < 16)
        db_eips[db_count] = f->eip;
    db_count++;
}

static void test_single_step(void)
{
    for (int r = 0; r < ROUNDS; r++)
        tf_body();
    idt_set_handler(1, db_handler);
    /* A trap after CALL, each insn of tf_body, its RET, PUSHFD, AND and
     * the POPFD that clears TF (TF was set when it started). */
    const uint32_t want[] = { (uint32_t)tf_body, (uint32_t)tf_after_mov, (uint32_t)tf_after_add,
                              (uint32_t)tf_after_inc, (uint32_t)tf_after_mov2,
                              (uint32_t)tf_ret_addr };
    int bad = -1;
    for (int r = 0; r < 20 && bad < 0; r++) {
        db_count = 0;
        tf_run();
        if (db_count != 9)
            bad = r;
        for (unsigned k = 0; k < 6; k++)
            if (db_eips[k] != want[k])
                bad = r;
    }
    check("single_step_over_translated_code", bad < 0,
          "round %d: %u traps, EIPs %x %x %x %x %x %x (want 9: %x %x %x %x %x %x ...)", bad,
          db_count, db_eips[0], db_eips[1], db_eips[2], db_eips[3], db_eips[4], db_eips[5],
          want[0], want[1], want[2], want[3], want[4], want[5]);
    idt_set_handler(1, 0);
}

/* ---- SMC through an alias: hot code patched through another linear
 * address of its physical page ---- */
static table pt_alias;
#define ALIAS_VA 0x40000000u

static void test_smc_alias(void)
{
    uint32_t page = (uint32_t)alias_func & ~0xFFFu;
    pt_alias[0] = page | PG_P | PG_RW;
    pd[ALIAS_VA >> 22] = (uint32_t)pt_alias | PG_P | PG_RW;
    invlpg((void *)(uintptr_t)ALIAS_VA);
    volatile uint32_t *imm = (volatile uint32_t *)(uintptr_t)(ALIAS_VA + ((uint32_t)alias_imm - page));
    uint32_t v = 0x66666666, got = 0;
    int bad = -1;
    for (int r = 0; r < ROUNDS && bad < 0; r++) {
        for (int k = 0; k < 60 && bad < 0; k++)
            if ((got = alias_func()) != v + 2)
                bad = r;
        v = 0x01000193u * (uint32_t)(r + 1);
        *imm = v;
        if ((got = alias_func()) != v + 2)
            bad = r;
    }
    check("smc_through_alias_mapping", bad < 0, "round %d: returned %x, want %x", bad, got, v + 2);
}

/* ---- A/D bits: set by translated accesses, D also when the TLB entry
 * was made by a read ---- */
static void test_accessed_dirty(void)
{
    volatile uint32_t *page = test_pages[3];
    volatile uint32_t *pte = pte_of(page);
    int bad = -1;
    uint32_t seen = 0;
    for (int r = 0; r < ROUNDS && bad < 0; r++) {
        uint32_t write = r & 1;
        *pte &= ~(PG_A | PG_D);
        invlpg(page);
        ad_rw(page, write);
        seen = *pte & (PG_A | PG_D);
        if (seen != (write ? PG_A | PG_D : PG_A))
            bad = r;
    }
    check("accessed_dirty_from_hot_code", bad < 0, "round %d: PTE A/D %x, want %x", bad, seen,
          (bad & 1) ? PG_A | PG_D : PG_A);
}

/* ---- a translation made at CPL 0, run at CPL 3 on a supervisor page ---- */
static void test_cpl_reuse(void)
{
    volatile uint32_t *page = test_pages[3], *ustack = test_pages[1];
    volatile uint32_t *pte = pte_of(page);
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        page[0] = 0x7000u + (uint32_t)r;
        *pte &= ~PG_US;
        invlpg(page);
        for (int k = 0; k < 60 && !bad; k++)
            bad |= regs_differ("cpl0_read_supervisor_page", priv_read(page), page[0] + 1, r);
        pf_count = 0;
        pf_fix_val = *pte | PG_US;
        pf_fix_pte = (uint32_t)pte;
        u_out[0] = 0;
        u_out[3] = (uint32_t)page;
        ring3_enter(user_priv_read, (uint32_t)ustack + 4096, 0x2);
        const volatile struct pf_record *p = &pf_rec;
        bad |= regs_differ("cpl3_supervisor_page_fault_count", pf_count, 1, r);
        bad |= regs_differ("cpl3_supervisor_page_error_code", p->error, 5, r);  /* user, read, present */
        bad |= regs_differ("cpl3_supervisor_page_eip", p->eip, (uint32_t)priv_read_load, r);
        bad |= regs_differ("cpl3_supervisor_page_cr2", p->cr2, (uint32_t)page, r);
        bad |= regs_differ("cpl3_read_after_fix", u_out[0], page[0] + 1, r);
    }
    *pte |= PG_US;
    invlpg(page);
    if (!bad)
        pass("translation_from_cpl0_faults_at_cpl3");
}

/* ---- the same code through two CS bases: EIPs it pushes differ ---- */
static void test_cs_base(void)
{
    gdt_set_seg(SEL_CSB, 0x1000, 0xFFFFF, 0x9A, 0xC);
    uint32_t flat = (uint32_t)eip_probe, want = (uint32_t)eip_probe_ret;
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        bad |= regs_differ("cs_base0_pushed_eip", far_call(SEL_CODE32, flat), want, r);
        if (r >= ROUNDS / 2)
            bad |= regs_differ("cs_base1000_pushed_eip", far_call(SEL_CSB, flat - 0x1000),
                               want - 0x1000, r);
    }
    for (int r = 0; r < ROUNDS && !bad; r++)
        bad |= regs_differ("cs_base1000_pushed_eip", far_call(SEL_CSB, flat - 0x1000), want - 0x1000, r);
    for (int r = 0; r < 10 && !bad; r++)
        bad |= regs_differ("cs_base0_pushed_eip_again", far_call(SEL_CODE32, flat), want, r);
    if (!bad)
        pass("cs_base_change_same_code");
}

/* ---- a code fetch #PF where a hot function runs into the next page ---- */
static void test_fetch_fault(void)
{
    int bad = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        if (r & 1)
            unmap_page(fetch_page_b);
        else
            pf_count = 1;                   /* even rounds: mapped, no fault */
        uint32_t v = fetch_fn();
        bad |= regs_differ("fetch_fault_result", v, 0x101, r);
        bad |= regs_differ("fetch_fault_count", pf_count, 1, r);
        if (!(r & 1))
            continue;
        const volatile struct pf_record *p = &pf_rec;
        bad |= regs_differ("fetch_fault_eip", p->eip, (uint32_t)fetch_page_b, r);
        bad |= regs_differ("fetch_fault_cr2", p->cr2, (uint32_t)fetch_page_b, r);
        bad |= regs_differ("fetch_fault_error_code", p->error, 0, r);
        bad |= regs_differ("fetch_fault_eax", p->eax, 0x100, r);
        bad |= regs_differ("fetch_fault_eflags", p->eflags & EFL_ARITH, 0x14, r);   /* AF PF */
    }
    if (!bad)
        pass("code_fetch_fault_at_page_end");
}

/* ---- a 16-bit stack under a hot block with PUSH/POP/CALL/RET ---- */
static uint8_t s16_area[0x10000] __attribute__((aligned(4096)));
static uint8_t s32_area[4096] __attribute__((aligned(16)));
static uint8_t s32b_area[4096] __attribute__((aligned(4096)));

/* One stack_run on ss:esp: the sum, ESP after, and the return address the
 * CALL left at SS:ret_off (through the segment's base). */
static int stack_case(const char *name, uint16_t ss, uint32_t esp, const uint8_t *base,
                      uint32_t ret_off, int r)
{
    uint32_t n = ROUNDS, want = n * 0x1234u + n * (n + 1) / 2, after = 0;
    volatile uint32_t *low = (volatile uint32_t *)(uintptr_t)ret_off;
    uint32_t low_before = base ? *low : 0;
    uint32_t got = stack_run(ss, esp, n, &after);
    if (got != want || after != esp) {
        fail(name, "round %d: sum %x (want %x), ESP after %x (want %x)", r, got, want, after, esp);
        return 1;
    }
    if (base && (load32_at(base + ret_off) != (uint32_t)stack_run_ret || *low != low_before)) {
        fail(name, "round %d: SS:%x holds %x (want %x); linear %x %x -> %x (base not applied?)", r,
             ret_off, load32_at(base + ret_off), (uint32_t)stack_run_ret, ret_off, low_before, *low);
        return 1;
    }
    return 0;
}

static void test_stack16(void)
{
    gdt_set_seg(SEL_SS16, (uint32_t)s16_area, 0xFFFF, 0x92, 0x0);
    gdt_set_seg(SEL_SS32B, (uint32_t)s32b_area, 0xFFFFF, 0x92, 0xC);
    /* 16-bit: from SP 4 the second push wraps SP to 0xFFFC, the CALL's
     * return address goes to SS:0xFFF8 and ESP[31:16] stays. */
    uint32_t esp32 = (uint32_t)s32_area + sizeof(s32_area);
    int bad = 0;
    for (int r = 0; r < 10 && !bad; r++) {
        bad |= stack_case("stack32_flat_hot_block", SEL_DATA32, esp32, 0, 0, r);
        bad |= stack_case("stack16_hot_block", SEL_SS16, 0xABCD0004u, s16_area, 0xFFF8, r);
        bad |= stack_case("stack32_based_hot_block", SEL_SS32B, 0x800, s32b_area, 0x7F4, r);
    }
    if (!bad)
        pass("stack16_and_based_stack_hot_push_pop_call_ret");
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    setup_paging();
    install_pf_stub();
    tss_install(&tss, SEL_TSS, TSS_LIMIT_NOIO, (uint32_t)(kstack + sizeof(kstack)));
    idt_set_handler(0x80, sys_leave);
    idt_set_dpl(0x80, 3);

    test_pf_mid_block();
    test_pf_store();
    test_pf_block_edge();
    test_pf_pop_leave();
    test_pf_user_stack();
    test_icount();
    test_mmio();
    test_cs_limit();
    test_code_size();
    test_fs_base();
    test_ds_limit();
    test_pop_ds();
    test_stack16();
    test_single_step();
    test_smc_alias();
    test_accessed_dirty();
    test_cpl_reuse();
    test_cs_base();
    test_fetch_fault();
    test_interrupts();
    test_transfer_to_next();        /* last: a wrong translation ends the program */
    return test_finish();
}

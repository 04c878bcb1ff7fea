/* morph_run.c - the morph side of the differential fuzzer.
 *
 * Guest-physical layout (all in one RAM region):
 *   0x01000 page directory          0x05000 page table, linear 0xc0000000
 *   0x02000 page table, linear 0    0x06000 GDT (a copy of Linux's x86-64 one)
 *   0x03000 page table, 0x20000000  0x07000 IDT (256 interrupt gates)
 *   0x04000 page table, 0x30000000  0x08000 TSS, 0x09000 handlers,
 *                                   0x0a000 LDT (fz.h's 16-bit segments),
 *                                   0x0c000 top of the ring-0 stack
 *   0x10000 data page, 0x11000 code page, 0x12000 stack page
 * The system pages are mapped supervisor-only at linear 0xc0000000; the
 * three user pages at the same linear addresses as natively, nothing else.
 * The handler of vector v is `out v, al` at CPL 0: the port write exits,
 * the driver takes the error code and CR2 from the engine's event record
 * and the interrupted EIP/EFLAGS/ESP from the ring-0 frame. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/soft/soft_engine.h"
#include "morph_run.h"

#define RAM_SIZE     0x20000u
#define PHYS_PD      0x1000u
#define PHYS_PT_LOW  0x2000u
#define PHYS_PT_CODE 0x3000u
#define PHYS_PT_STK  0x4000u
#define PHYS_PT_SYS  0x5000u
#define PHYS_GDT     0x6000u
#define PHYS_IDT     0x7000u
#define PHYS_TSS     0x8000u
#define PHYS_HANDLER 0x9000u
#define PHYS_LDT     0xa000u
#define PHYS_STACK0  0xc000u
#define PHYS_DATA    0x10000u
#define PHYS_CODEPG  0x11000u
#define PHYS_STKPG   0x12000u
#define SYS_LIN      0xc0000000u

#define PTE_P  0x1u
#define PTE_RW 0x2u
#define PTE_US 0x4u

#define SEL_KCODE 0x08u
#define SEL_KDATA 0x18u
#define SEL_TSS   0x40u
#define SEL_LDT   0x50u     /* where Linux x86-64 keeps a process's LDT */

struct watchdog {
    pthread_t thread;
    atomic_uint_fast64_t started;  /* case number being run, 0 when idle */
    atomic_bool stop;
    struct engine *engine;
};

struct morph_runner {
    uint8_t *ram;
    struct guest_memory mem;
    struct exit_policy policy;
    struct engine *e;
    struct watchdog wd;
    uint64_t case_no;
    unsigned jit_threshold;
};

static void put32(uint8_t *ram, uint32_t pa, uint32_t v) { memcpy(ram + pa, &v, 4); }
static uint32_t get32(const uint8_t *ram, uint32_t pa) { uint32_t v; memcpy(&v, ram + pa, 4); return v; }
static void put64(uint8_t *ram, uint32_t pa, uint64_t v) { memcpy(ram + pa, &v, 8); }

/* Kicks the engine when one case has run for more than a second (a loop
 * the generator did not mean, or an engine bug). */
static void *watchdog_main(void *arg)
{
    struct watchdog *wd = arg;
    uint64_t seen = 0;
    unsigned ticks = 0;
    while (!atomic_load(&wd->stop)) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        uint64_t now = atomic_load(&wd->started);
        if (now != 0 && now == seen) {
            if (++ticks >= 10) {
                soft_engine_ops.kick(wd->engine);
                ticks = 0;
            }
        } else {
            ticks = 0;
        }
        seen = now;
    }
    return NULL;
}

/* The descriptor cache of LDT entry k (fz.h), as loading it would fill it. */
static struct seg_cache ldt_seg(unsigned k)
{
    struct fz_seg d = fz_ldt_entry(k);
    uint32_t type = d.code ? (SEGA_CODE | SEGA_RW) : d.down ? (SEGA_DC | SEGA_RW) : SEGA_RW;
    uint32_t attr = SEGA_P | (3u << SEGA_DPL_SHIFT) | SEGA_S | SEGA_ACCESSED | type |
                    (d.big ? SEGA_DB : 0);
    return (struct seg_cache){ .selector = FZ_LDT_SEL(k), .base = d.base, .limit = d.limit, .attr = attr };
}

static void build_tables(uint8_t *ram)
{
    /* Paging. */
    put32(ram, PHYS_PD + (0x00000000u >> 22) * 4, PHYS_PT_LOW | PTE_P | PTE_RW | PTE_US);
    put32(ram, PHYS_PD + (FZ_CODE >> 22) * 4, PHYS_PT_CODE | PTE_P | PTE_RW | PTE_US);
    put32(ram, PHYS_PD + (FZ_STACK >> 22) * 4, PHYS_PT_STK | PTE_P | PTE_RW | PTE_US);
    put32(ram, PHYS_PD + (SYS_LIN >> 22) * 4, PHYS_PT_SYS | PTE_P | PTE_RW);
    put32(ram, PHYS_PT_LOW + ((FZ_DATA >> 12) & 0x3ff) * 4, PHYS_DATA | PTE_P | PTE_RW | PTE_US);
    put32(ram, PHYS_PT_CODE + ((FZ_CODE >> 12) & 0x3ff) * 4, PHYS_CODEPG | PTE_P | PTE_RW | PTE_US);
    put32(ram, PHYS_PT_STK + ((FZ_STACK >> 12) & 0x3ff) * 4, PHYS_STKPG | PTE_P | PTE_RW | PTE_US);
    for (uint32_t k = 0; k < 16; k++)
        put32(ram, PHYS_PT_SYS + k * 4, (k << 12) | PTE_P | PTE_RW);

    /* GDT: the entries Linux x86-64 gives a 32-bit process. */
    put64(ram, PHYS_GDT + 1 * 8, 0x00cf9b000000ffffull);   /* 0x08 kernel 32-bit code */
    put64(ram, PHYS_GDT + 2 * 8, 0x00af9b000000ffffull);   /* 0x10 kernel 64-bit code */
    put64(ram, PHYS_GDT + 3 * 8, 0x00cf93000000ffffull);   /* 0x18 kernel data */
    put64(ram, PHYS_GDT + 4 * 8, 0x00cffb000000ffffull);   /* 0x23 user 32-bit code */
    put64(ram, PHYS_GDT + 5 * 8, 0x00cff3000000ffffull);   /* 0x2b user data */
    put64(ram, PHYS_GDT + 6 * 8, 0x00affb000000ffffull);   /* 0x33 user 64-bit code */
    uint32_t tss = SYS_LIN + PHYS_TSS;
    uint64_t tssd = 0x67u | ((uint64_t)(tss & 0xffffff) << 16) | (0x8bull << 40) |
                    ((uint64_t)(tss >> 24) << 56);
    put64(ram, PHYS_GDT + 8 * 8, tssd);                    /* 0x40 busy TSS */
    uint32_t ldt = SYS_LIN + PHYS_LDT;
    uint64_t ldtd = (FZ_LDT_ENTRIES * 8 - 1) | ((uint64_t)(ldt & 0xffffff) << 16) |
                    (0x82ull << 40) | ((uint64_t)(ldt >> 24) << 56);
    put64(ram, PHYS_GDT + (SEL_LDT >> 3) * 8, ldtd);       /* 0x50 LDT */

    /* LDT: the same descriptors the native runner installs with
     * modify_ldt (which sets the accessed bit). */
    for (unsigned k = 0; k < FZ_LDT_ENTRIES; k++) {
        struct seg_cache d = ldt_seg(k);
        uint64_t v = (d.limit & 0xffff) | ((uint64_t)(d.base & 0xffffff) << 16) |
                     ((uint64_t)(d.attr & 0xff) << 40) | ((uint64_t)((d.limit >> 16) & 0xf) << 48) |
                     ((uint64_t)((d.attr >> 12) & 0xf) << 52) | ((uint64_t)(d.base >> 24) << 56);
        put64(ram, PHYS_LDT + k * 8, v);
    }

    /* TSS: only the ring-0 stack matters. */
    put32(ram, PHYS_TSS + 4, SYS_LIN + PHYS_STACK0);
    put32(ram, PHYS_TSS + 8, SEL_KDATA);
    ram[PHYS_TSS + 0x66] = 0x68;                           /* I/O bitmap beyond the limit: */
    ram[PHYS_TSS + 0x67] = 0x00;                           /* every port #GP at CPL 3 */

    /* IDT and handlers: vector v -> `out v, al` at CPL 0.  #BP and #OF are
     * reachable from CPL 3 as on Linux (INT3, INT 3/4, INTO). */
    for (uint32_t v = 0; v < 256; v++) {
        uint32_t h = SYS_LIN + PHYS_HANDLER + v * 2;
        ram[PHYS_HANDLER + v * 2] = 0xe6;
        ram[PHYS_HANDLER + v * 2 + 1] = (uint8_t)v;
        uint32_t dpl = (v == 3 || v == 4) ? 3 : 0;
        uint64_t gate = (h & 0xffffu) | ((uint64_t)SEL_KCODE << 16) |
                        ((uint64_t)(0x8e | (dpl << 5)) << 40) | ((uint64_t)(h >> 16) << 48);
        put64(ram, PHYS_IDT + v * 8, gate);
    }
}

struct morph_runner *morph_runner_new(unsigned jit_threshold)
{
    struct morph_runner *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->ram = calloc(1, RAM_SIZE);
    if (!m->ram) {
        free(m);
        return NULL;
    }
    m->mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM_SIZE, .host = m->ram };
    m->mem.count = 1;
    for (unsigned p = 0; p < 256; p++)
        exit_policy_solicit_port(&m->policy, (uint16_t)p);
    m->jit_threshold = jit_threshold;
    struct engine_config cfg = { .mem = &m->mem, .policy = &m->policy, .jit_threshold = jit_threshold };
    char err[160];
    m->e = soft_engine_ops.create(&cfg, err, sizeof(err));
    if (!m->e) {
        fprintf(stderr, "fuzz: cannot create the soft engine: %s\n", err);
        free(m->ram);
        free(m);
        return NULL;
    }
    build_tables(m->ram);
    m->wd.engine = m->e;
    atomic_init(&m->wd.started, 0);
    atomic_init(&m->wd.stop, false);
    if (pthread_create(&m->wd.thread, NULL, watchdog_main, &m->wd) != 0) {
        fprintf(stderr, "fuzz: cannot start the watchdog thread\n");
        soft_engine_ops.destroy(m->e);
        free(m->ram);
        free(m);
        return NULL;
    }
    return m;
}

void morph_runner_free(struct morph_runner *m)
{
    if (!m)
        return;
    atomic_store(&m->wd.stop, true);
    pthread_join(m->wd.thread, NULL);
    soft_engine_ops.destroy(m->e);
    free(m->ram);
    free(m);
}

static struct seg_cache flat_seg(uint16_t sel, uint32_t attr)
{
    return (struct seg_cache){ .selector = sel, .base = 0, .limit = 0xffffffffu, .attr = attr };
}

/* A selector of the case's start (Linux's flat ones or an LDT entry). */
static struct seg_cache start_seg(uint16_t sel)
{
    if (sel & 4)
        return ldt_seg(sel >> 3);
    return flat_seg(sel, sel == FZ_SEL_CS ? 0xc0fbu : 0xc0f3u);
}

static void initial_state(struct cpu_state *s, const struct fz_case *c)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->gpr, c->regs, sizeof(s->gpr));
    s->eip = c->eip;
    s->eflags = (c->eflags & ~(EFL_IOPL | EFL_VM | EFL_RF)) | EFL_FIXED | EFL_IF;
    for (int k = 0; k < SEG_COUNT; k++)
        s->seg[k] = flat_seg(FZ_SEL_DS, 0xc0f3u);
    s->seg[SEG_CS] = start_seg(fz_mode_cs(c->mode));
    s->seg[SEG_SS] = start_seg(fz_mode_ss(c->mode));
    s->seg[SEG_DS] = s->seg[SEG_ES] = start_seg(fz_mode_ds(c->mode));
    s->tr = (struct seg_cache){ .selector = SEL_TSS, .base = SYS_LIN + PHYS_TSS, .limit = 0x67, .attr = 0x8b };
    s->ldtr = (struct seg_cache){ .selector = SEL_LDT, .base = SYS_LIN + PHYS_LDT,
                                  .limit = FZ_LDT_ENTRIES * 8 - 1, .attr = 0x82 };
    s->gdtr = (struct dtable_reg){ .base = SYS_LIN + PHYS_GDT, .limit = 16 * 8 - 1 };
    s->idtr = (struct dtable_reg){ .base = SYS_LIN + PHYS_IDT, .limit = 256 * 8 - 1 };
    s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
    s->cr3 = PHYS_PD;
    s->fpu.fcw = 0x037f;
    s->fpu.ftw = 0xffff;
}

/* x87 registers in stack order, as the native sigcontext gives them. */
static void read_fpu(const struct cpu_state *s, struct fz_x87 *out)
{
    out->fcw = s->fpu.fcw;
    out->fsw = s->fpu.fsw;
    out->ftw = s->fpu.ftw;
    unsigned top = (s->fpu.fsw >> 11) & 7;
    for (unsigned k = 0; k < 8; k++) {
        long double v = s->fpu.st[(top + k) & 7];
        memcpy(out->st[k], &v, 10);
    }
}

void morph_runner_run(struct morph_runner *m, const struct fz_case *c, struct fz_result *out)
{
    memset(out, 0, sizeof(*out));
    out->magic = FZ_MAGIC;
    memset(m->ram + PHYS_CODEPG, 0, FZ_PAGE - FZ_CODE_MAX);
    memcpy(m->ram + PHYS_CODEPG + FZ_PAGE - FZ_CODE_MAX, c->code, FZ_CODE_MAX);
    memcpy(m->ram + PHYS_DATA, c->data, FZ_PAGE);
    memcpy(m->ram + PHYS_STKPG, c->stack, FZ_PAGE);
    memset(m->ram + PHYS_STACK0 - 64, 0, 64);

    struct cpu_state s;
    initial_state(&s, c);
    soft_engine_ops.set_state(m->e, &s);

    struct soft_event_record before[SOFT_EVENT_RING];
    size_t nbefore = soft_engine_recent_events(m->e, before, SOFT_EVENT_RING);
    uint64_t last_insns = nbefore ? before[nbefore - 1].instructions : 0;
    (void)last_insns;

    atomic_store(&m->wd.started, ++m->case_no);
    struct vm_exit x;
    enum exit_reason r;
    do {
        memset(&x, 0, sizeof(x));
        r = soft_engine_ops.run(m->e, &x);
    } while (r == EXIT_IO && x.io.in);   /* a guest IN of a solicited port: answer 0, go on */
    atomic_store(&m->wd.started, 0);

    soft_engine_ops.get_state(m->e, &s);
    out->status = FZ_OK;
    if (r == EXIT_KICKED) {
        out->status = FZ_TIMEOUT;
        snprintf(out->note, sizeof(out->note), "timeout at eip 0x%08x", s.eip);
    } else if (r != EXIT_IO || s.seg[SEG_CS].selector != SEL_KCODE) {
        out->status = FZ_ERROR;
        if (r == EXIT_SHUTDOWN)
            snprintf(out->note, sizeof(out->note), "shutdown (vector %u at 0x%08x): %s",
                     x.shutdown.vector, x.shutdown.eip, x.shutdown.reason);
        else if (r == EXIT_INTERNAL_ERROR)
            snprintf(out->note, sizeof(out->note), "internal error at 0x%08x: %s",
                     x.internal.eip, x.internal.reason);
        else if (r == EXIT_IO)
            snprintf(out->note, sizeof(out->note), "port 0x%x write from cs 0x%x eip 0x%08x",
                     x.io.port, s.seg[SEG_CS].selector, s.eip);
        else
            snprintf(out->note, sizeof(out->note), "unexpected exit %s at 0x%08x",
                     exit_reason_name(r), s.eip);
    }

    memcpy(out->regs, s.gpr, sizeof(out->regs));
    out->sreg[0] = s.seg[SEG_ES].selector;
    out->sreg[3] = s.seg[SEG_DS].selector;
    out->sreg[4] = s.seg[SEG_FS].selector;
    out->sreg[5] = s.seg[SEG_GS].selector;
    if (out->status == FZ_OK) {
        /* Ring-0 frame: [error code,] EIP, CS, EFLAGS, ESP, SS. */
        out->vector = x.io.port;
        uint32_t top = PHYS_STACK0;
        out->eip = get32(m->ram, top - 20);
        out->sreg[1] = get32(m->ram, top - 16) & 0xffff;
        out->eflags = get32(m->ram, top - 12);
        out->regs[REG_ESP] = get32(m->ram, top - 8);
        out->sreg[2] = get32(m->ram, top - 4) & 0xffff;
        struct soft_event_record ev[SOFT_EVENT_RING];
        size_t n = soft_engine_recent_events(m->e, ev, SOFT_EVENT_RING);
        if (n > 0 && ev[n - 1].vector == out->vector) {
            out->err = ev[n - 1].has_error ? ev[n - 1].error : 0;
            out->cr2 = ev[n - 1].cr2;
        }
        if (out->vector == 14)
            out->cr2 = s.cr2;
    } else {
        out->eip = s.eip;
        out->eflags = s.eflags;
        out->vector = FZ_NO_VECTOR;
        out->sreg[1] = s.seg[SEG_CS].selector;
        out->sreg[2] = s.seg[SEG_SS].selector;
    }
    read_fpu(&s, &out->fpu);
    memcpy(out->data, m->ram + PHYS_DATA, FZ_PAGE);
    memcpy(out->stack, m->ram + PHYS_STKPG, FZ_PAGE);
}

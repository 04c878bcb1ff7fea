/* mmu.c - the soft CPU's memory: segment checks, paging with a TLB, RAM/ROM,
 * MMIO and port-I/O exits with their replay log, control registers.
 *
 * Page tables are read and updated only through cpu_phys_ptr, so a guest
 * can never point the walker at host memory: a page directory or table
 * outside RAM reads as not present (#PF), and a PTE that maps a non-RAM page
 * makes every access to it an MMIO exit. */
#include <string.h>

#include "engine/soft/mem.h"
#include "engine/soft/soft_priv.h"

#define PTE_P   0x001u
#define PTE_RW  0x002u
#define PTE_US  0x004u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PTE_PS  0x080u
#define PTE_G   0x100u

static uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void store32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* ---- guest-physical memory ---- */

static const struct mem_region *phys_region(const struct cpu *c, uint64_t gpa, uint64_t len)
{
    for (unsigned k = 0; k < c->mem->count; k++) {
        const struct mem_region *r = &c->mem->region[k];
        if (gpa >= r->gpa && gpa - r->gpa < r->size)
            return (len <= r->size - (gpa - r->gpa)) ? r : NULL;
    }
    return NULL;
}

uint8_t *cpu_phys_ptr(struct cpu *c, uint64_t gpa, uint32_t len, bool write)
{
    const struct mem_region *r = phys_region(c, gpa, len);
    if (!r || (write && r->readonly))
        return NULL;
    return r->host + (gpa - r->gpa);
}

/* Host pointer of a RAM/ROM page (or NULL) and whether it is read-only. */
static uint8_t *mmu_phys_page(struct cpu *c, uint32_t phys_page, bool *readonly)
{
    const struct mem_region *r = phys_region(c, phys_page, 0x1000);
    if (!r)
        return NULL;
    *readonly = r->readonly;
    return r->host + (phys_page - r->gpa);
}

/* ---- TLB ---- */

static void tlb_entry_clear(struct tlb_entry *e)
{
    e->read_tag = TLB_INVALID;
    e->write_tag = TLB_INVALID;
    e->host_base = NULL;
    e->global = false;
    e->code_writable = false;
}

void cpu_tlb_flush(struct cpu *c, bool include_global)
{
    soft_engine_fetch_flush(c);
    for (unsigned k = 0; k < TLB_SIZE; k++) {
        if (include_global || !c->tlb.sup[k].global)
            tlb_entry_clear(&c->tlb.sup[k]);
        if (include_global || !c->tlb.user[k].global)
            tlb_entry_clear(&c->tlb.user[k]);
    }
}

void cpu_invlpg(struct cpu *c, uint32_t linear)
{
    if (c->pe && c->cpl != 0)
        cpu_gp(c, 0);
    /* A 4 MiB page fills one entry per 4 KiB page: drop every entry of the
     * 4 MiB region, which covers both page sizes. */
    uint32_t region = linear & 0xffc00000u;
    soft_engine_fetch_flush(c);
    for (unsigned k = 0; k < TLB_SIZE; k++) {
        if ((c->tlb.sup[k].read_tag & 0xffc00001u) == region)
            tlb_entry_clear(&c->tlb.sup[k]);
        if ((c->tlb.user[k].read_tag & 0xffc00001u) == region)
            tlb_entry_clear(&c->tlb.user[k]);
    }
}

static void protect_entry(struct tlb_entry *e, uint32_t pfn)
{
    if (e->read_tag != TLB_INVALID && e->phys == pfn << 12 && e->write_tag != TLB_INVALID) {
        e->write_tag = TLB_INVALID;
        e->code_writable = true;
    }
}

void mmu_protect_code(struct cpu *c, uint32_t pfn)
{
    for (unsigned k = 0; k < TLB_SIZE; k++) {
        protect_entry(&c->tlb.sup[k], pfn);
        protect_entry(&c->tlb.user[k], pfn);
    }
}

_Noreturn static void page_fault(struct cpu *c, uint32_t lin, uint32_t code)
{
    c->s.cr2 = lin;
    cpu_raise(c, EXC_PF, code);
}

/* Set bits in a paging entry in guest memory (A/D), if it is writable RAM. */
static void pte_set(struct cpu *c, uint32_t addr, uint32_t *entry, uint32_t bits)
{
    if ((*entry & bits) == bits)
        return;
    *entry |= bits;
    uint8_t *p = cpu_phys_ptr(c, addr, 4, true);
    if (p) {
        store32(p, *entry);
        soft_engine_code_written(c, addr, 4);
    }
}

static uint32_t pt_read(struct cpu *c, uint32_t addr)
{
    uint8_t *p = cpu_phys_ptr(c, addr, 4, false);
    return p ? load32(p) : 0;
}

uint32_t mmu_translate(struct cpu *c, uint32_t lin, bool write, bool user)
{
    /* The A20 gate masks every physical address formed here: the page
     * directory and table entries read and updated, and the page itself. */
    uint32_t a20 = ~c->a20_clear;
    uint32_t page = lin & ~0xfffu;
    uint32_t phys;
    bool global = false, writable = true, dirty = true;

    if (c->pg) {
        uint32_t fault_bits = (write ? PFEC_W : 0) | (user ? PFEC_U : 0);
        uint32_t pde_addr = ((c->s.cr3 & ~0xfffu) + ((lin >> 22) << 2)) & a20;
        uint32_t pde = pt_read(c, pde_addr);
        if (!(pde & PTE_P))
            page_fault(c, lin, fault_bits);
        uint32_t perm, pte_addr = 0, pte = 0;
        bool large = (pde & PTE_PS) && (c->s.cr4 & CR4_PSE);
        if (large) {
            perm = pde;
        } else {
            pte_addr = ((pde & ~0xfffu) + ((lin >> 12) & 0x3ffu) * 4) & a20;
            pte = pt_read(c, pte_addr);
            if (!(pte & PTE_P))
                page_fault(c, lin, fault_bits);
            perm = pde & pte;
        }
        bool wp = (c->s.cr0 & CR0_WP) != 0;
        if (user && !(perm & PTE_US))
            page_fault(c, lin, fault_bits | PFEC_P);
        writable = (perm & PTE_RW) || (!user && !wp);
        if (write && !writable)
            page_fault(c, lin, fault_bits | PFEC_P);
        if (large) {
            pte_set(c, pde_addr, &pde, PTE_A | (write ? PTE_D : 0));
            phys = (pde & 0xffc00000u) | (lin & 0x003ff000u);
            global = (pde & PTE_G) != 0;
            dirty = (pde & PTE_D) != 0;
        } else {
            pte_set(c, pde_addr, &pde, PTE_A);
            pte_set(c, pte_addr, &pte, PTE_A | (write ? PTE_D : 0));
            phys = pte & ~0xfffu;
            global = (pte & PTE_G) != 0;
            dirty = (pte & PTE_D) != 0;
        }
        global = global && (c->s.cr4 & CR4_PGE);
    } else {
        phys = page;
    }
    phys &= a20;

    struct tlb_entry *e = &(user ? c->tlb.user : c->tlb.sup)[(lin >> 12) & (TLB_SIZE - 1)];
    bool readonly = false;
    uint8_t *host = mmu_phys_page(c, phys, &readonly);
    e->phys = phys;
    e->global = global;
    e->host_base = host;
    e->host_addend = (uintptr_t)host - (lin & ~0xfffu);
    e->code_writable = false;
    if (host) {
        e->read_tag = page;
        bool code = dcache_page_has_code(soft_engine_dcache(c), phys >> 12);
        bool can_write = writable && dirty && !readonly;
        e->write_tag = (can_write && !code) ? page : TLB_INVALID;
        e->code_writable = can_write && code;
    } else {
        /* MMIO (or a page only partly RAM): every access takes the slow path. */
        e->read_tag = TLB_INVALID;
        e->write_tag = TLB_INVALID;
    }
    return phys | (lin & 0xfffu);
}

/* ---- MMIO and port I/O with the replay log ---- */

static uint32_t size_mask(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* Either replay the next logged access (returns true, *data = logged value)
 * or log a new one and end the run with the exit already filled. */
static uint64_t logged_access(struct cpu *c, bool is_io, bool write, uint64_t addr,
                              unsigned size, uint64_t data)
{
    struct access_log *log = &c->log;
    if (log->pos < log->count) {
        struct access_log_entry *e = &log->e[log->pos++];
        if (e->is_io != is_io || e->write != write || e->addr != addr || e->size != size)
            cpu_internal_error(c, "replay mismatch: %s %s at 0x%llx size %u differs from the logged access",
                               is_io ? "port" : "MMIO", write ? "write" : "read",
                               (unsigned long long)addr, size);
        return e->data;
    }
    if (log->count >= ACCESS_LOG_MAX)
        cpu_internal_error(c, "more than %d I/O or MMIO accesses in one instruction", ACCESS_LOG_MAX);
    struct access_log_entry *e = &log->e[log->count];
    e->is_io = is_io;
    e->write = write;
    e->addr = addr;
    e->size = (uint8_t)size;
    e->data = data;
    log->pending = true;
    struct vm_exit *x = c->exit;
    memset(x, 0, sizeof(*x));
    if (is_io) {
        x->reason = EXIT_IO;
        x->io.port = (uint16_t)addr;
        x->io.size = (uint8_t)size;
        x->io.in = !write;
        x->io.count = 1;
        x->io.data = (uint32_t)data;
    } else {
        x->reason = EXIT_MMIO;
        x->mmio.gpa = addr;
        x->mmio.size = (uint8_t)size;
        x->mmio.write = write;
        x->mmio.data = data;
    }
    cpu_exit_now(c);
}

static uint32_t phys_read(struct cpu *c, uint32_t phys, unsigned size)
{
    uint8_t *p = cpu_phys_ptr(c, phys, size, false);
    if (p) {
        uint32_t v = 0;
        memcpy(&v, p, size);
        return v;
    }
    return (uint32_t)logged_access(c, false, false, phys, size, 0) & size_mask(size);
}

static void phys_write(struct cpu *c, uint32_t phys, unsigned size, uint32_t v)
{
    const struct mem_region *r = phys_region(c, phys, size);
    if (r) {
        if (!r->readonly) {
            soft_engine_code_written(c, phys, size);
            memcpy(r->host + (phys - r->gpa), &v, size);
        }
        return;
    }
    logged_access(c, false, true, phys, size, v & size_mask(size));
}

/* ---- linear accesses ---- */

static uint32_t lin_read_page(struct cpu *c, uint32_t lin, unsigned size, bool user)
{
    struct tlb_entry *e = &(user ? c->tlb.user : c->tlb.sup)[(lin >> 12) & (TLB_SIZE - 1)];
    if (e->read_tag == (lin & ~0xfffu)) {
        uint32_t v = 0;
        memcpy(&v, e->host_base + (lin & 0xfffu), size);
        return v;
    }
    return phys_read(c, mmu_translate(c, lin, false, user), size);
}

static uint32_t lin_read(struct cpu *c, uint32_t lin, unsigned size, bool user)
{
    unsigned in_page = 0x1000u - (lin & 0xfffu);
    if (size <= in_page)
        return lin_read_page(c, lin, size, user);
    uint32_t lo = lin_read_page(c, lin, in_page, user);
    uint32_t hi = lin_read_page(c, lin + in_page, size - in_page, user);
    return lo | (hi << (8 * in_page));
}

static void lin_write(struct cpu *c, uint32_t lin, unsigned size, uint32_t v, bool user)
{
    unsigned in_page = 0x1000u - (lin & 0xfffu);
    if (size <= in_page) {
        struct tlb_entry *e = &(user ? c->tlb.user : c->tlb.sup)[(lin >> 12) & (TLB_SIZE - 1)];
        if (e->write_tag == (lin & ~0xfffu)) {
            memcpy(e->host_base + (lin & 0xfffu), &v, size);
            return;
        }
        if (e->code_writable && e->read_tag == (lin & ~0xfffu)) {
            /* A page holding code: drop the code only if the write hits it. */
            uint32_t phys = e->phys | (lin & 0xfffu);
            uint8_t *host = e->host_base + (lin & 0xfffu);
            soft_engine_code_written(c, phys, size);
            memcpy(host, &v, size);
            if (!dcache_page_has_code(soft_engine_dcache(c), phys >> 12)) {
                e->write_tag = lin & ~0xfffu;     /* no code left: fast path again */
                e->code_writable = false;
            }
            return;
        }
        phys_write(c, mmu_translate(c, lin, true, user), size, v);
        return;
    }
    /* Both pages must be writable before either is written. */
    uint32_t p1 = mmu_translate(c, lin, true, user);
    uint32_t p2 = mmu_translate(c, lin + in_page, true, user);
    phys_write(c, p1, in_page, v);
    phys_write(c, p2, size - in_page, v >> (8 * in_page));
}

static void lin_check_write(struct cpu *c, uint32_t lin, uint32_t size, bool user)
{
    if (size == 0)
        return;
    uint32_t last = lin + size - 1;
    for (uint32_t page = lin & ~0xfffu;; page += 0x1000u) {
        mmu_translate(c, page == (lin & ~0xfffu) ? lin : page, true, user);
        if (page == (last & ~0xfffu))
            break;
    }
}

uint32_t cpu_lin_read(struct cpu *c, uint32_t lin, unsigned size, bool system)
{
    return lin_read(c, lin, size, !system && c->cpl == 3);
}

void cpu_lin_write(struct cpu *c, uint32_t lin, unsigned size, uint32_t v, bool system)
{
    lin_write(c, lin, size, v, !system && c->cpl == 3);
}

/* ---- segmented accesses ---- */

_Noreturn static void seg_fault(struct cpu *c, int seg)
{
    if (seg == SEG_SS)
        cpu_ss_fault(c, 0);
    cpu_gp(c, 0);
}

/* The segment checks of an access (limit incl. expand-down, type, null). */
static void mmu_seg_check(struct cpu *c, int seg, uint32_t off, unsigned size, bool write)
{
    const struct seg_cache *s = &c->s.seg[seg];
    bool prot = c->pe && !c->v86;
    if (prot) {
        if (s->attr & SEGA_UNUSABLE)
            seg_fault(c, seg);
        if (write && ((s->attr & SEGA_CODE) || !(s->attr & SEGA_RW)))
            seg_fault(c, seg);
        if (!write && (s->attr & SEGA_CODE) && !(s->attr & SEGA_RW))
            seg_fault(c, seg);
    }
    uint64_t last = (uint64_t)off + size - 1;
    if (prot && (s->attr & (SEGA_CODE | SEGA_DC)) == SEGA_DC) {
        /* expand-down: valid offsets are (limit, upper] */
        uint64_t upper = (s->attr & SEGA_DB) ? 0xffffffffu : 0xffffu;
        if (off <= s->limit || last > upper)
            seg_fault(c, seg);
    } else if (last > s->limit) {
        seg_fault(c, seg);
    }
}

uint32_t cpu_read_slow(struct cpu *c, int seg, uint32_t off, unsigned size)
{
    mmu_seg_check(c, seg, off, size, false);
    return lin_read(c, c->s.seg[seg].base + off, size, c->cpl == 3);
}

void cpu_write_slow(struct cpu *c, int seg, uint32_t off, unsigned size, uint32_t v)
{
    mmu_seg_check(c, seg, off, size, true);
    lin_write(c, c->s.seg[seg].base + off, size, v, c->cpl == 3);
}

uint64_t cpu_read64(struct cpu *c, int seg, uint32_t off)
{
    mmu_seg_check(c, seg, off, 8, false);
    uint32_t lin = c->s.seg[seg].base + off;
    bool user = c->cpl == 3;
    uint32_t lo = lin_read(c, lin, 4, user);
    uint32_t hi = lin_read(c, lin + 4, 4, user);
    return lo | ((uint64_t)hi << 32);
}

void cpu_write64(struct cpu *c, int seg, uint32_t off, uint64_t v)
{
    mmu_seg_check(c, seg, off, 8, true);
    uint32_t lin = c->s.seg[seg].base + off;
    bool user = c->cpl == 3;
    lin_check_write(c, lin, 8, user);
    lin_write(c, lin, 4, (uint32_t)v, user);
    lin_write(c, lin + 4, 4, (uint32_t)(v >> 32), user);
}

void cpu_check_write(struct cpu *c, int seg, uint32_t off, unsigned size)
{
    mmu_seg_check(c, seg, off, size, true);
    lin_check_write(c, c->s.seg[seg].base + off, size, c->cpl == 3);
}

void cpu_check_read_seg(struct cpu *c, int seg, uint32_t off, unsigned size)
{
    mmu_seg_check(c, seg, off, size, false);
}

/* ---- port I/O ---- */

static bool port_solicited(const struct cpu *c, uint16_t port, unsigned size)
{
    for (unsigned k = 0; k < size; k++)
        if (exit_policy_port(c->policy, (uint16_t)(port + k)))
            return true;
    return false;
}

uint32_t cpu_io_in(struct cpu *c, uint16_t port, unsigned size)
{
    cpu_check_io(c, port, size);
    if (!port_solicited(c, port, size)) {
        c->stats.unsolicited_io++;
        return size_mask(size);
    }
    return (uint32_t)logged_access(c, true, false, port, size, 0) & size_mask(size);
}

void cpu_io_out(struct cpu *c, uint16_t port, unsigned size, uint32_t value)
{
    cpu_check_io(c, port, size);
    if (!port_solicited(c, port, size)) {
        c->stats.unsolicited_io++;
        return;
    }
    logged_access(c, true, true, port, size, value & size_mask(size));
}

/* ---- control registers ---- */

#define CR0_WRITABLE (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | \
                      CR0_AM | CR0_NW | CR0_CD | CR0_PG)
/* CR4 bits of features the CPU implements (and CPUID reports). */
#define CR4_SUPPORTED (CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE)

uint32_t cpu_read_cr(struct cpu *c, int cr)
{
    if (c->pe && c->cpl != 0)
        cpu_gp(c, 0);
    switch (cr) {
    case 0: return c->s.cr0;
    case 2: return c->s.cr2;
    case 3: return c->s.cr3;
    case 4: return c->s.cr4;
    default: cpu_ud(c);
    }
}

void cpu_write_cr(struct cpu *c, int cr, uint32_t value)
{
    if (c->pe && c->cpl != 0)
        cpu_gp(c, 0);
    switch (cr) {
    case 0: {
        if ((value & CR0_PG) && !(value & CR0_PE))
            cpu_gp(c, 0);
        if ((value & CR0_NW) && !(value & CR0_CD))
            cpu_gp(c, 0);
        value = (value & CR0_WRITABLE) | CR0_ET;
        uint32_t old = c->s.cr0;
        c->s.cr0 = value;
        if ((old ^ value) & (CR0_PG | CR0_WP | CR0_PE))
            cpu_tlb_flush(c, true);
        cpu_mode_changed(c);
        return;
    }
    case 2:
        c->s.cr2 = value;
        return;
    case 3:
        c->s.cr3 = value;
        cpu_tlb_flush(c, false);
        return;
    case 4: {
        if (value & ~CR4_SUPPORTED)
            cpu_gp(c, 0);
        uint32_t old = c->s.cr4;
        c->s.cr4 = value;
        if ((old ^ value) & (CR4_PSE | CR4_PGE | CR4_PAE))
            cpu_tlb_flush(c, true);
        return;
    }
    default:
        cpu_ud(c);
    }
}

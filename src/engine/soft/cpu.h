/* cpu.h - the soft CPU's internal state and the contract between its parts.
 *
 * NOTE for cpu-insn (from the mmu/engine helper), changes to the non-flags parts:
 *  - struct cpu gained seg_rmax/seg_wmax (segment fast-path limits, kept by
 *    seg.c via cpu_mode_changed / cpu_load_seg), after_insn, and a few
 *    engine-private fields at the end; nothing existing changed meaning.
 *  - cpu_internal_error(c, fmt, ...): end the run with EXIT_INTERNAL_ERROR.
 *  - The interrupt shadow of STI is applied by the run loop (EFLAGS.IF going
 *    from 0 to 1 during an instruction); MOV SS/POP SS get it from
 *    cpu_load_seg(SEG_SS).  Handlers need not touch events.interrupt_shadow.
 *  - EFLAGS.TF single-step is done by the run loop; NMI blocking is cleared
 *    by cpu_iret.  Privilege checks (CPL 0) for MOV CR, LLDT, LTR, HLT,
 *    WRMSR/RDMSR are done inside the cpu_* functions; handlers may skip them.
 *  - mem.h functions are static inline fast paths over *_slow functions.
 *  - REP string instructions touching I/O or MMIO must not let the replay
 *    log hold accesses of earlier iterations (ACCESS_LOG_MAX entries;
 *    overflow is an internal error): either end the instruction after an
 *    iteration that logged an access (interp_string.c does: EIP left at the
 *    instruction, the run loop clears the log), or call cpu_iteration_done.
 *  - mem.h also has cpu_stack_poke(c, depth, size, v): write below ESP
 *    without moving it (multi-push instructions commit ESP at the end).
 *
 * Parts and owners of each function family:
 *   decode.c / opcodes.def  decoder (one X-macro opcode table)     -> struct insn
 *   interp*.c               instruction semantics (handlers)        uses mem.h, this file
 *   flags.c                 lazy flags                              cpu_get_eflags & co
 *   mmu.c / mem.h           TLB, page walk, segmented/linear access, MMIO/IO replay
 *   seg.c                   segment loads, descriptor checks, far transfers, call gates
 *   task.c                  hardware task switches
 *   except.c                exception/interrupt delivery, double/triple fault
 *   cpuid.c / msr.c         CPUID table, MSR file, RDTSC, HLT
 *   dcache.c                decoded-instruction cache (per guest-physical page)
 *   soft_engine.c           engine_ops, run loop, fetch cache, exits, traces
 *   soft_priv.h             internals shared by the system-side files
 *
 * Rules every instruction handler keeps, so faults and exits are precise:
 *  - The run loop sets cpu->insn_eip to the instruction's address and s.eip to
 *    the next instruction before calling the handler; a handler that jumps
 *    writes s.eip.
 *  - A fault (cpu_raise) longjmps back to the run loop, which restores s.eip
 *    to insn_eip; so a handler does all its memory reads and every access that
 *    can fault BEFORE it changes registers or flags.  Memory writes come last;
 *    register updates after them.
 *  - Port I/O and MMIO may end the run in the middle of an instruction: the
 *    access is logged, the run returns the exit, and on the next run the same
 *    instruction is executed again from its start, the logged accesses being
 *    replayed (reads return the value the monitor supplied; writes are not
 *    repeated).  The same handler discipline makes that exact.
 */
#ifndef MORPH_SOFT_CPU_H
#define MORPH_SOFT_CPU_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/engine.h"
#include "engine/soft/host_flags.h"

/* ---- exception vectors ---- */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
    EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* Page-fault error code bits. */
#define PFEC_P   0x1u
#define PFEC_W   0x2u
#define PFEC_U   0x4u
#define PFEC_RSV 0x8u
#define PFEC_I   0x10u

/* ---- lazy flags ----
 * Arithmetic records its operands and result; the arithmetic flags
 * (CF PF AF ZF SF OF) are computed only when read.  Other EFLAGS bits live in
 * cpu->eflags_rest. */
enum lazy_op {
    LF_NONE,        /* flags are materialised in cpu->lf_flags */
    LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC, LF_NEG,
    LF_SHL, LF_SHR, LF_SAR, LF_MUL,
    LF_ROT,         /* a rotate after record rot_base: CF OF in flags, the rest from it */
};

struct lazy_flags {
    uint32_t res, op1, op2;   /* result and operands, truncated to size */
    uint8_t op;               /* enum lazy_op */
    uint8_t size;             /* 1, 2, 4 bytes */
    uint8_t rot_base;         /* LF_ROT: the op of the record that still gives SF ZF PF AF */
    uint32_t aux;             /* op-specific: carry-in, shift count, CF of INC/DEC */
    uint32_t flags;           /* LF_NONE: CF PF AF ZF SF OF as in EFLAGS; LF_ROT: CF OF */
};

/* ---- TLB ----
 * Direct-mapped, one set for supervisor and one for user accesses.  An entry
 * maps a linear page to `host_base` (host pointer of the page); the read and
 * write tags hold the linear page number (lin & ~0xfff) or TLB_INVALID.
 * A write tag is left invalid when the page is not writable at that privilege,
 * not yet dirty in the guest page tables, holds decoded code (so writes are
 * seen by the decoded-instruction cache), or is not RAM. */
#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID 0x1u

struct tlb_entry {
    uint32_t read_tag;
    uint32_t write_tag;
    uint32_t phys;            /* guest-physical page */
    bool global;
    /* The page may be written at this privilege (RW, dirty, RAM) but the
     * write tag is withheld because it holds decoded code: the slow path
     * writes through host_base after checking the code blocks it hits. */
    bool code_writable;
    uint8_t *host_base;       /* NULL for MMIO pages (then tags are invalid) */
    /* host_base minus the linear page: translated code adds it to a linear
     * address (a 32-byte entry makes its index one shift and mask). */
    uintptr_t host_addend;
};

struct tlb {
    struct tlb_entry sup[TLB_SIZE];
    struct tlb_entry user[TLB_SIZE];
};

/* ---- port I/O and MMIO replay log (see the header comment) ---- */
#define ACCESS_LOG_MAX 8

struct access_log_entry {
    bool is_io;
    bool write;
    uint64_t addr;            /* port or guest-physical address */
    uint8_t size;
    uint64_t data;
};

struct access_log {
    struct access_log_entry e[ACCESS_LOG_MAX];
    unsigned count;           /* accesses completed for the current instruction */
    unsigned pos;             /* replay position during re-execution */
    bool pending;             /* e[count] is an exit handed to the monitor */
};

/* ---- the CPU ---- */
struct soft_engine;

struct cpu {
    struct cpu_state s;       /* architectural state; s.eflags is stale while lazy */
    struct lazy_flags lf;
    uint32_t eflags_rest;     /* EFLAGS without CF PF AF ZF SF OF */

    /* derived mode, recomputed by cpu_mode_changed() */
    uint8_t cpl;
    bool pe, pg, v86;
    bool code32;              /* CS.D */
    bool stack32;             /* SS.B */

    struct tlb tlb;
    struct tlb_entry *tlb_now;  /* tlb.sup or tlb.user by CPL (cpu_mode_changed) */
    /* 1 << 20 while the A20 gate is disabled, else 0 (so a zeroed CPU has
     * the gate enabled): the address bit cleared where physical addresses
     * are formed (page walks and TLB fills, mmu.c), so TLB entries and
     * everything keyed by guest-physical address (the decoded-instruction
     * cache) hold the wrapped address. */
    uint32_t a20_clear;
    const struct guest_memory *mem;
    const struct exit_policy *policy;

    /* per-instruction */
    uint32_t insn_eip;        /* address of the instruction being executed */
    jmp_buf *fault_jmp;       /* where cpu_raise / cpu_exit_now go */

    struct access_log log;
    struct vm_exit *exit;     /* the exit being filled by cpu_exit_now() */

    /* exception delivery bookkeeping (double/triple fault detection) */
    int delivering_vector;    /* -1 when not delivering */

    atomic_bool kick;
    bool irq_window_requested;
    int injected_vector;      /* -1 when none */

    struct engine_stats stats;
    unsigned trace;
    uint64_t trace_insn_limit;
    FILE *trace_out;
    /* Opcodes (512: one-byte map, then 0F) already reported under
     * TRACE_UNKNOWN, so each unknown opcode warns once (interp_sys.c). */
    uint32_t unknown_warned[512 / 32];

    struct soft_engine *engine;

    /* Segment fast path (mem.h): an access of `size` bytes at offset off
     * passes the segment checks if off + size - 1 <= seg_rmax/seg_wmax;
     * -1 sends every access to the slow path (expand-down, unusable,
     * unreadable/unwritable).  Kept by seg.c. */
    int64_t seg_rmax[SEG_COUNT];
    int64_t seg_wmax[SEG_COUNT];
    /* JIT_FLAT_* bits (seg.c): what translated code may assume about the
     * segments (translate.c folds flat segments away); a translation runs
     * only while the bits it assumed are set. */
    uint8_t jit_flat;
    /* What the host CPU leaves in undefined flags (host_flags.h): the
     * interpreter follows it where it is a rule. */
    struct host_flag_rules flag_rules;
    /* (CPL == 3) << 31: part of a jump-cache tag (soft_engine.c). */
    uint32_t jit_cpl_tag;

    /* AFTER_* bits: work for the run loop once the instruction completed. */
    uint32_t after_insn;
    /* Exception being delivered (double-fault classification), and the
     * pending fault recorded by cpu_raise. */
    bool fault_pending;
    bool exit_pending;        /* cpu_exit_now was called: return cpu->exit */
};

#define AFTER_HLT   0x1u      /* HLT executed: end the run with EXIT_HLT */

/* cpu->jit_flat: bit sreg (ES SS DS FS GS) = that data segment has base 0
 * and its fast-path limits cover 4 GiB for reads and writes. */
#define JIT_FLAT_STACK32 0x40u   /* SS.B: ESP-relative stack arithmetic */
#define JIT_FLAT_CS      0x80u   /* CS base 0, limit 4 GiB: EIP is the linear address,
                                    no jump target is past the limit */

/* ---- faults and exits (except.c) ---- */

/* Raise an exception at the current instruction: restores EIP to insn_eip,
 * delivers through the IDT/IVT (double fault, triple fault -> shutdown exit)
 * and longjmps to the run loop.  error < 0: no error code. */
_Noreturn void cpu_raise(struct cpu *c, int vector, int64_t error);
#define cpu_ud(c)        cpu_raise((c), EXC_UD, -1)
#define cpu_gp(c, err)   cpu_raise((c), EXC_GP, (int64_t)(err))
#define cpu_ss_fault(c, err) cpu_raise((c), EXC_SS, (int64_t)(err))
#define cpu_np(c, err)   cpu_raise((c), EXC_NP, (int64_t)(err))
#define cpu_ts(c, err)   cpu_raise((c), EXC_TS, (int64_t)(err))
#define cpu_de(c)        cpu_raise((c), EXC_DE, -1)

/* End the run now with cpu->exit filled; the instruction restarts on the next
 * run (see replay above). */
_Noreturn void cpu_exit_now(struct cpu *c);

/* Something the engine cannot go on with: ends the run with
 * EXIT_INTERNAL_ERROR (EIP, instruction bytes, this reason). */
_Noreturn void cpu_internal_error(struct cpu *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Software interrupt: INT n (kind 0), INT3 (1), INTO (2), ICEBP (3).
 * s.eip already points past the instruction. */
void cpu_soft_interrupt(struct cpu *c, uint8_t vector, int kind);

/* Deliver an external interrupt or NMI at an instruction boundary. */
void cpu_deliver_external(struct cpu *c, uint8_t vector, bool nmi);

/* A REP string iteration completed with its register updates: forget the
 * accesses logged so far (see the note at the top). */
static inline void cpu_iteration_done(struct cpu *c)
{
    c->log.count = 0;
    c->log.pos = 0;
}

/* ---- flags (flags.c) ---- */
uint32_t cpu_get_eflags(struct cpu *c);                 /* materialised EFLAGS */
/* Write EFLAGS bits selected by mask (privilege checks are the caller's). */
void cpu_set_eflags(struct cpu *c, uint32_t value, uint32_t mask);
bool cpu_get_cf(struct cpu *c);
bool cpu_get_zf(struct cpu *c);
bool cpu_get_sf(struct cpu *c);
bool cpu_get_of(struct cpu *c);
bool cpu_get_pf(struct cpu *c);
bool cpu_get_af(struct cpu *c);
/* Condition code cc (0-15, the low nibble of Jcc/SETcc/CMOVcc). */
bool cpu_cond(struct cpu *c, unsigned cc);

/* ---- segments and privilege (seg.c) ---- */

/* Load a segment register by the rules of the current mode (real, v86,
 * protected): descriptor fetch, type/privilege/present checks with the
 * architectural fault, accessed bit.  Loading SS sets the interrupt shadow. */
void cpu_load_seg(struct cpu *c, int sreg, uint16_t selector);
/* Far JMP/CALL/RET/IRET, including call gates, task gates and TSS selectors.
 * opsize is 2 or 4.  s.eip holds the return address on entry. */
void cpu_far_jmp(struct cpu *c, uint16_t selector, uint32_t offset);
void cpu_far_call(struct cpu *c, uint16_t selector, uint32_t offset, int opsize);
void cpu_far_ret(struct cpu *c, int opsize, uint16_t imm);
void cpu_iret(struct cpu *c, int opsize);
/* LGDT/LIDT are plain; these do the checks: */
void cpu_lldt(struct cpu *c, uint16_t selector);
void cpu_ltr(struct cpu *c, uint16_t selector);
/* Recompute cpl/pe/pg/v86/code32/stack32 after CR0, EFLAGS.VM or CS/SS change. */
void cpu_mode_changed(struct cpu *c);
/* I/O permission: IOPL, then the TSS bitmap; raises #GP(0) if denied. */
void cpu_check_io(struct cpu *c, uint16_t port, unsigned size);

/* ---- control registers and system instructions (mmu.c / except.c) ---- */
void cpu_write_cr(struct cpu *c, int cr, uint32_t value);   /* #GP on bad bits; flushes TLB */
uint32_t cpu_read_cr(struct cpu *c, int cr);
void cpu_invlpg(struct cpu *c, uint32_t linear);
void cpu_tlb_flush(struct cpu *c, bool include_global);
void cpu_cpuid(struct cpu *c);              /* reads EAX/ECX, writes EAX-EDX; may exit */
void cpu_rdmsr(struct cpu *c);              /* ECX -> EDX:EAX; may exit or #GP */
void cpu_wrmsr(struct cpu *c);
void cpu_rdtsc(struct cpu *c);              /* -> EDX:EAX; may exit */
void cpu_hlt(struct cpu *c);                /* ends the run with EXIT_HLT */

/* ---- port I/O (mmu.c): checks permission, exits or answers per policy ---- */
uint32_t cpu_io_in(struct cpu *c, uint16_t port, unsigned size);
void cpu_io_out(struct cpu *c, uint16_t port, unsigned size, uint32_t value);

#endif

/* engine.h - the interface between the monitor and an execution engine.
 *
 * An engine runs one guest CPU over guest-physical memory that the monitor
 * owns (regions of the morph process), until something the monitor must
 * handle happens: an exit.  The monitor never decodes guest code; an exit
 * carries everything already decoded.  The soft CPU (src/engine/soft) and,
 * later, KVM (src/engine/kvm) implement the same ops, and the state map can
 * move between them.
 */
#ifndef MORPH_ENGINE_H
#define MORPH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- state map ---------------------------------------------------------- */

enum gpr { REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI };

/* Segment register numbers, in the order x86 encodes them. */
enum sreg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

/* Descriptor attribute bits (access byte in bits 0-7, flags nibble in 12-15),
 * the layout of descriptor bytes 5 and 6. */
#define SEGA_TYPE_MASK  0x000fu   /* type field: bit 3 code, bit 0 accessed */
#define SEGA_ACCESSED   0x0001u
#define SEGA_RW         0x0002u   /* data: writable, code: readable */
#define SEGA_DC         0x0004u   /* data: expand-down, code: conforming */
#define SEGA_CODE       0x0008u
#define SEGA_S          0x0010u   /* 1 = code/data, 0 = system */
#define SEGA_DPL_SHIFT  5
#define SEGA_DPL_MASK   0x0060u
#define SEGA_P          0x0080u
#define SEGA_AVL        0x1000u
#define SEGA_DB         0x4000u   /* default operand size / big */
#define SEGA_G          0x8000u
#define SEGA_UNUSABLE   0x10000u  /* null selector loaded in protected mode */

struct seg_cache {
    uint16_t selector;
    uint32_t base;
    uint32_t limit;   /* in bytes, already expanded by G */
    uint32_t attr;    /* SEGA_* */
};

struct dtable_reg {
    uint32_t base;
    uint16_t limit;
};

#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u

#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE  0x0008u
#define CR4_PSE 0x0010u
#define CR4_PAE 0x0020u
#define CR4_MCE 0x0040u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u
#define CR4_OSFXSR 0x0200u

#define EFL_CF   0x00000001u
#define EFL_FIXED 0x00000002u  /* bit 1 always reads as 1 */
#define EFL_PF   0x00000004u
#define EFL_AF   0x00000010u
#define EFL_ZF   0x00000040u
#define EFL_SF   0x00000080u
#define EFL_TF   0x00000100u
#define EFL_IF   0x00000200u
#define EFL_DF   0x00000400u
#define EFL_OF   0x00000800u
#define EFL_IOPL 0x00003000u
#define EFL_NT   0x00004000u
#define EFL_RF   0x00010000u
#define EFL_VM   0x00020000u
#define EFL_AC   0x00040000u
#define EFL_VIF  0x00080000u
#define EFL_VIP  0x00100000u
#define EFL_ID   0x00200000u

/* MSRs the engine keeps in its MSR file (the state map carries their values). */
#define MSR_IA32_TSC           0x00000010u
#define MSR_IA32_APIC_BASE     0x0000001bu
#define MSR_IA32_SYSENTER_CS   0x00000174u
#define MSR_IA32_SYSENTER_ESP  0x00000175u
#define MSR_IA32_SYSENTER_EIP  0x00000176u
#define MSR_IA32_MISC_ENABLE   0x000001a0u
#define MSR_IA32_PAT           0x00000277u

struct cpu_msrs {
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t apic_base;
    uint64_t misc_enable;
    uint64_t pat;
};

/* x87 state.  st[] is indexed by physical register number (not stack
 * position); TOP lives in fsw bits 11-13.  The host's long double is the
 * same 80-bit extended format. */
struct x87_state {
    uint16_t fcw, fsw, ftw;   /* ftw: full 2-bit-per-register tag word */
    uint16_t fop;
    uint32_t fip, fdp;
    uint16_t fcs, fds;
    long double st[8];
};

/* Events pending at the next instruction boundary. */
struct cpu_events {
    bool nmi_pending;
    bool nmi_blocked;         /* between NMI delivery and the next IRET */
    uint8_t interrupt_shadow; /* non-zero: no interrupts before the next insn (STI, MOV SS) */
    bool halted;              /* HLT executed, waiting for an interrupt */
    bool exception_pending;
    uint8_t exception_vector;
    bool exception_has_error;
    uint32_t exception_error;
};

struct cpu_state {
    uint32_t gpr[8];          /* enum gpr order */
    uint32_t eip;
    uint32_t eflags;
    struct seg_cache seg[SEG_COUNT];
    struct seg_cache ldtr, tr;
    struct dtable_reg gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    uint64_t tsc_offset;      /* guest TSC = engine time base + tsc_offset */
    struct cpu_msrs msr;
    struct x87_state fpu;
    struct cpu_events events;
};

/* ---- guest-physical memory ---------------------------------------------- */

/* A region of guest-physical space backed by memory of the morph process.
 * Everything not covered by a region is MMIO: every access exits. */
struct mem_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
    bool readonly;            /* ROM: guest writes are dropped */
};

#define MAX_MEM_REGIONS 8

struct guest_memory {
    struct mem_region region[MAX_MEM_REGIONS]; /* first match wins: list ROM before RAM */
    unsigned count;
};

/* ---- exits -------------------------------------------------------------- */

enum exit_reason {
    EXIT_NONE,
    EXIT_IO,             /* port I/O the monitor solicited */
    EXIT_MMIO,           /* access outside RAM/ROM, precise at the instruction */
    EXIT_CPUID,          /* a solicited CPUID leaf */
    EXIT_RDMSR,          /* a solicited MSR */
    EXIT_WRMSR,
    EXIT_RDTSC,          /* only when solicited */
    EXIT_HLT,            /* the CPU halted; run resumes it when an interrupt arrives */
    EXIT_IRQ_WINDOW,     /* interrupts became deliverable (requested by the monitor) */
    EXIT_KICKED,         /* engine->kick() or the instruction budget ended the run */
    EXIT_SHUTDOWN,       /* triple fault */
    EXIT_INTERNAL_ERROR, /* the engine could not go on */
    EXIT_REASON_COUNT
};

struct vm_exit {
    enum exit_reason reason;
    union {
        struct {
            uint16_t port;
            uint8_t size;        /* 1, 2 or 4 */
            bool in;             /* in: the handler stores the value in data */
            bool string;         /* from INS/OUTS (the engine steps elements one exit each) */
            uint32_t count;      /* elements in this exit (1 for the soft CPU) */
            uint32_t data;
        } io;
        struct {
            uint64_t gpa;
            uint8_t size;        /* 1, 2, 4 or 8 */
            bool write;          /* read: the handler stores the value in data */
            uint64_t data;
        } mmio;
        struct {
            uint32_t leaf, subleaf;
            uint32_t eax, ebx, ecx, edx; /* engine fills its own answer; the handler may change it */
        } cpuid;
        struct {
            uint32_t index;
            uint64_t value;      /* RDMSR: handler stores it; WRMSR: the value written */
            bool fault;          /* handler sets it to raise #GP(0) in the guest */
        } msr;
        struct {
            uint64_t value;      /* handler stores the TSC value */
        } rdtsc;
        struct {
            uint32_t eip;
            uint8_t vector;      /* the exception that could not be delivered */
            char reason[96];
        } shutdown;
        struct {
            uint32_t eip;
            uint8_t bytes[16];
            uint8_t nbytes;
            char reason[128];
        } internal;
    };
};

/* What the monitor wants to see.  Everything else the engine answers itself:
 * unsolicited ports read all ones and drop writes, CPUID comes from the
 * engine's table, MSRs from its MSR file.  MMIO, HLT and shutdown always exit. */
#define MAX_POLICY_ENTRIES 32

struct exit_policy {
    uint8_t port_bitmap[65536 / 8];   /* bit set: accesses to the port exit */
    uint32_t cpuid_leaves[MAX_POLICY_ENTRIES];
    unsigned n_cpuid_leaves;
    uint32_t msrs[MAX_POLICY_ENTRIES];
    unsigned n_msrs;
    bool rdtsc;
};

static inline void exit_policy_solicit_port(struct exit_policy *p, uint16_t port)
{
    p->port_bitmap[port >> 3] |= (uint8_t)(1u << (port & 7));
}

static inline bool exit_policy_port(const struct exit_policy *p, uint16_t port)
{
    return p->port_bitmap[port >> 3] & (1u << (port & 7));
}

/* ---- counters and tracing ----------------------------------------------- */

struct engine_stats {
    uint64_t instructions;     /* guest instructions retired */
    uint64_t exceptions;       /* exceptions delivered to the guest */
    uint64_t interrupts;       /* external interrupts delivered */
    uint64_t unsolicited_io;   /* port accesses the engine answered itself */
    uint64_t decode_cache_flushes; /* pages dropped because the guest wrote code */
    /* The translator (soft CPU with --engine jit). */
    uint64_t jit_insns;        /* instructions run in translated code */
    uint64_t jit_blocks;       /* blocks translated */
    uint64_t jit_failed;       /* blocks that could not be translated */
    uint64_t jit_translate_ns; /* host time spent translating */
    uint64_t jit_cache_bytes;  /* code cache in use (bytes) */
    uint64_t jit_cache_size;
    uint64_t jit_cache_flushes;
    uint64_t jit_helper_insns; /* insns translated code handed to the interpreter */
    uint64_t jit_slow_insns;   /* memory insns whose inline path missed (TLB, MMIO, page cross) */
    uint64_t jit_guard_misses; /* translations not run: EIP or segment state differed */
    uint64_t jit_exits[6];     /* by how translated code ended (translate.h JIT_END_*) */
};

#define TRACE_EXITS      0x1u
#define TRACE_INTERRUPTS 0x2u  /* interrupts and exceptions: vector, EIP, error code */
#define TRACE_INSNS      0x4u  /* one line per instruction (first trace_insn_limit) */
#define TRACE_UNKNOWN    0x8u  /* a one-time warning per unknown opcode */

struct engine_config {
    const struct guest_memory *mem;
    const struct exit_policy *policy;
    unsigned trace;              /* TRACE_* */
    uint64_t trace_insn_limit;
    void *trace_stream;          /* FILE *, stderr when NULL */
    /* Soft CPU: a block is translated to host code after it ran this many
     * times; 0 runs the interpreter alone. */
    unsigned jit_threshold;
    size_t jit_cache_size;       /* bytes of translated code before a flush; 0: default */
};

/* ---- guest time ----------------------------------------------------------
 * The engine is the machine's clock.  For the soft CPU, guest time runs on
 * executed instructions:
 *     now_ns = instructions * ps_per_insn / 1000 + idle_ns
 * so the TSC, the PIT and the RTC advance together and exactly in step with
 * the guest's work, whatever the host's load (deterministic, the base for
 * reproducible runs).  While the CPU is halted the monitor advances idle_ns
 * with the wall clock, so an idle guest keeps up with real time.  (A KVM
 * engine would report host time instead.) */
struct engine_time {
    uint32_t ps_per_insn;     /* picoseconds of guest time per instruction */
    uint64_t idle_ns;         /* guest time spent outside instructions: halted,
                                 or stalled on a port access (monitor's choice) */
};

/* ---- ops ---------------------------------------------------------------- */

struct engine;

struct engine_ops {
    const char *name;
    /* Returns NULL and writes a one-line reason into err on failure. */
    struct engine *(*create)(const struct engine_config *cfg, char *err, size_t errlen);
    void (*destroy)(struct engine *e);
    /* Run until an exit.  A read exit (IO in, MMIO read, CPUID, RDMSR, RDTSC)
     * is completed by the handler writing into *exit; the next run finishes
     * the instruction with that value.  Returns the exit reason. */
    enum exit_reason (*run)(struct engine *e, struct vm_exit *exit);
    void (*get_state)(struct engine *e, struct cpu_state *s);
    void (*set_state)(struct engine *e, const struct cpu_state *s);
    /* True when an external interrupt can be delivered right now
     * (IF set, no interrupt shadow, no event in progress). */
    bool (*interrupt_ready)(struct engine *e);
    /* Deliver external interrupt `vector` at the next instruction boundary;
     * only valid when interrupt_ready().  Wakes a halted CPU. */
    void (*inject_interrupt)(struct engine *e, uint8_t vector);
    /* Ask run to return EXIT_IRQ_WINDOW as soon as interrupt_ready() holds. */
    void (*request_interrupt_window)(struct engine *e, bool on);
    void (*inject_nmi)(struct engine *e);
    /* Thread-safe: make the current or next run return EXIT_KICKED soon. */
    void (*kick)(struct engine *e);
    void (*get_stats)(struct engine *e, struct engine_stats *out);
    /* The CPU's FERR# output: an unmasked x87 exception is pending while
     * CR0.NE = 0 (a PC routes it to IRQ 13).  Polled after each run. */
    bool (*fpu_error_pending)(struct engine *e);
    /* Guest time (see struct engine_time).  vCPU thread only. */
    void (*set_time)(struct engine *e, const struct engine_time *t);
    uint64_t (*now_ns)(struct engine *e);
    /* run returns EXIT_KICKED once guest time reaches deadline_ns (the next
     * device timer); UINT64_MAX: no deadline. */
    void (*set_deadline)(struct engine *e, uint64_t deadline_ns);
    /* The A20 gate (on a PC: the keyboard controller's output port bit 1 OR
     * port 0x92 bit 1).  Disabled, bit 20 of every guest-physical address
     * the CPU puts out (code fetch, data, page-table walks) is 0, so
     * real-mode addresses wrap at 1 MiB.  Enabled after create; set_state
     * leaves it alone.  vCPU thread, between runs.  NULL: always enabled. */
    void (*set_a20)(struct engine *e, bool enabled);
    /* The last interrupts and exceptions the CPU took, oldest first, as
     * text for a report: a header line, then one line each (kind, vector,
     * CS:EIP, error code, CR2 of a #PF, instructions retired before it).
     * Writes at most cap bytes including the NUL; returns the length.
     * vCPU thread, between runs.  NULL: the engine keeps no such record. */
    size_t (*recent_events)(struct engine *e, char *buf, size_t cap);
};

extern const struct engine_ops soft_engine_ops;

const char *exit_reason_name(enum exit_reason r);

#endif

/* except.c - faults, exits, and exception/interrupt delivery through the
 * IVT (real mode) and IDT (protected mode), with double and triple fault
 * detection per the SDM's table (vol. 3, 6.15, "Interrupt 8"). */
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include "engine/soft/mem.h"
#include "engine/soft/soft_priv.h"

#define DESC_S(d)     (((d) >> 44) & 1)
#define DESC_TYPE(d)  ((unsigned)(((d) >> 40) & 0xf))
#define DESC_DPL(d)   ((unsigned)(((d) >> 45) & 3))
#define DESC_P(d)     (((d) >> 47) & 1)
#define SEL_ERR(sel)  ((uint32_t)((sel) & 0xfffcu))

/* How an event is delivered: DELIVER_EXC (fault/trap, error >= 0 pushes an
 * error code), DELIVER_EXT (external interrupt or NMI), DELIVER_SOFT (INT n
 * / INT3 / INTO: gate DPL checked). */
enum deliver_kind { DELIVER_EXC, DELIVER_EXT, DELIVER_SOFT };

/* ---- raising faults and ending the run ---- */

static void forget_instruction(struct cpu *c)
{
    c->s.eip = c->insn_eip;
    c->log.count = 0;
    c->log.pos = 0;
    c->log.pending = false;
}

_Noreturn void cpu_raise(struct cpu *c, int vector, int64_t error)
{
    forget_instruction(c);
    c->s.events.exception_pending = true;
    c->s.events.exception_vector = (uint8_t)vector;
    c->s.events.exception_has_error = error >= 0;
    c->s.events.exception_error = error >= 0 ? (uint32_t)error : 0;
    c->fault_pending = true;
    longjmp(*c->fault_jmp, 1);
}

_Noreturn void cpu_exit_now(struct cpu *c)
{
    if (c->delivering_vector >= 0 && c->exit->reason != EXIT_INTERNAL_ERROR)
        cpu_internal_error(c, "delivering vector %d touched MMIO or needed an exit",
                           c->delivering_vector);
    c->s.eip = c->insn_eip;
    c->exit_pending = true;
    longjmp(*c->fault_jmp, 1);
}

_Noreturn void cpu_internal_error(struct cpu *c, const char *fmt, ...)
{
    struct vm_exit *x = c->exit;
    memset(x, 0, sizeof(*x));
    x->reason = EXIT_INTERNAL_ERROR;
    x->internal.eip = c->insn_eip;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->internal.reason, sizeof(x->internal.reason), fmt, ap);
    va_end(ap);
    /* Instruction bytes, as far as they are readable RAM. */
    uint32_t lin = c->s.seg[SEG_CS].base + c->insn_eip;
    unsigned n = 0;
    for (; n < sizeof(x->internal.bytes); n++) {
        uint32_t a = lin + n;
        const struct tlb_entry *e = cpu_tlb_entry(c, a);
        if (e->read_tag != (a & ~0xfffu))
            break;
        x->internal.bytes[n] = e->host_base[a & 0xfffu];
    }
    x->internal.nbytes = (uint8_t)n;
    c->log.count = 0;
    c->log.pos = 0;
    c->log.pending = false;
    c->s.eip = c->insn_eip;
    c->exit_pending = true;
    longjmp(*c->fault_jmp, 1);
}

/* ---- the event ring and trace ---- */

static const char *const vector_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS", "#NP",
    "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
};

/* Record an interrupt/exception in the ring and the trace. */
static void except_note(struct cpu *c, uint8_t vector, int64_t error, enum deliver_kind kind)
{
    struct soft_engine *se = c->engine;
    struct soft_event_record *r = &se->ring[se->ring_next];
    r->vector = vector;
    r->kind = kind == DELIVER_EXC ? SOFT_EVENT_EXCEPTION
            : kind == DELIVER_EXT ? SOFT_EVENT_EXTERNAL : SOFT_EVENT_SOFTWARE;
    r->has_error = error >= 0;
    r->error = error >= 0 ? (uint32_t)error : 0;
    r->cs = c->s.seg[SEG_CS].selector;
    r->eip = c->s.eip;
    r->cr2 = c->s.cr2;
    r->instructions = c->stats.instructions;
    se->ring_next = (se->ring_next + 1) % SOFT_EVENT_RING;
    if (se->ring_count < SOFT_EVENT_RING)
        se->ring_count++;
    if (kind == DELIVER_EXC)
        c->stats.exceptions++;
    else if (kind == DELIVER_EXT)
        c->stats.interrupts++;
    if (c->trace & TRACE_INTERRUPTS) {
        const char *name = vector < 32 && vector_names[vector] ? vector_names[vector] : "";
        fprintf(c->trace_out, "%s vector 0x%02x %s at %04x:%08x",
                kind == DELIVER_EXC ? "exception" : kind == DELIVER_EXT ? "interrupt" : "int",
                vector, name, r->cs, r->eip);
        if (error >= 0)
            fprintf(c->trace_out, " error 0x%x", (uint32_t)error);
        if (vector == EXC_PF && kind == DELIVER_EXC)
            fprintf(c->trace_out, " cr2 0x%08x", c->s.cr2);
        fputc('\n', c->trace_out);
    }
}

/* ---- delivery ---- */

static void deliver_real(struct cpu *c, uint8_t vector)
{
    uint32_t entry = (uint32_t)vector * 4;
    if (entry + 3 > c->s.idtr.limit)
        cpu_gp(c, 0);
    uint32_t target = cpu_lin_read(c, c->s.idtr.base + entry, 4, true);
    uint32_t flags = cpu_get_eflags(c);
    cpu_stack_poke(c, 2, 2, flags);
    cpu_stack_poke(c, 4, 2, c->s.seg[SEG_CS].selector);
    cpu_stack_poke(c, 6, 2, c->s.eip);
    cpu_stack_adjust(c, -6);
    c->s.seg[SEG_CS].selector = (uint16_t)(target >> 16);
    c->s.seg[SEG_CS].base = (target >> 16) << 4;
    c->s.eip = target & 0xffffu;
    cpu_set_eflags(c, 0, EFL_IF | EFL_TF | EFL_AC | EFL_RF);
    cpu_mode_changed(c);
}

static void deliver_protected(struct cpu *c, uint8_t vector, int64_t error, enum deliver_kind kind)
{
    uint32_t ext = kind == DELIVER_SOFT ? 0 : 1;
    uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
    if ((uint32_t)vector * 8 + 7 > c->s.idtr.limit)
        cpu_gp(c, idt_err);
    uint32_t lo = cpu_lin_read(c, c->s.idtr.base + vector * 8u, 4, true);
    uint32_t hi = cpu_lin_read(c, c->s.idtr.base + vector * 8u + 4, 4, true);
    uint64_t gate = lo | ((uint64_t)hi << 32);
    unsigned type = (unsigned)((gate >> 40) & 0x1f);
    if (type != 0x0e && type != 0x0f && type != 0x06 && type != 0x07 && type != 0x05)
        cpu_gp(c, idt_err);
    if (kind == DELIVER_SOFT && DESC_DPL(gate) < c->cpl)
        cpu_gp(c, idt_err);
    if (!DESC_P(gate))
        cpu_np(c, idt_err);
    if (type == 0x05) {
        uint16_t tss = (uint16_t)(lo >> 16);
        uint64_t td;
        if ((tss & 4) || !seg_read_descriptor(c, tss, &td))
            cpu_gp(c, SEL_ERR(tss) | ext);
        task_switch(c, tss, td, kind == DELIVER_SOFT ? TASK_SOFT : TASK_EXT, error);
        return;
    }
    bool gate32 = (type & 8) != 0;
    bool trap_gate = (type & 1) != 0;
    unsigned size = gate32 ? 4 : 2;
    uint16_t sel = (uint16_t)(lo >> 16);
    uint32_t offset = (lo & 0xffffu) | (gate32 ? (hi & 0xffff0000u) : 0);

    if ((sel & ~3u) == 0)
        cpu_gp(c, ext);
    uint64_t d;
    if (!seg_read_descriptor(c, sel, &d))
        cpu_gp(c, SEL_ERR(sel) | ext);
    if (!DESC_S(d) || !(DESC_TYPE(d) & 8) || DESC_DPL(d) > c->cpl)
        cpu_gp(c, SEL_ERR(sel) | ext);
    if (!DESC_P(d))
        cpu_np(c, SEL_ERR(sel) | ext);
    bool conforming = (DESC_TYPE(d) & 4) != 0;
    unsigned new_cpl = conforming ? c->cpl : DESC_DPL(d);
    struct seg_cache cs;
    seg_from_descriptor(&cs, (uint16_t)((sel & ~3u) | new_cpl), d | (1ull << 40));
    if (offset > cs.limit)
        cpu_gp(c, ext);

    uint32_t flags = cpu_get_eflags(c);
    struct stack_build sb;
    bool from_v86 = c->v86;
    if (from_v86 && (conforming || new_cpl != 0))
        cpu_gp(c, SEL_ERR(sel) | ext);   /* a v86 interrupt must go to ring 0 */
    bool switch_stack = new_cpl < c->cpl;
    uint64_t ss_d = 0;
    if (switch_stack) {
        uint16_t ss_sel;
        uint32_t esp;
        seg_tss_stack(c, new_cpl, &ss_sel, &esp, ext);
        seg_check_stack(c, ss_sel, new_cpl, EXC_TS, ext, &sb.ss, &ss_d);
        sb.esp = esp;
        sb.system = true;
        sb.fault_err = SEL_ERR(ss_sel) | ext;
        if (from_v86) {
            stack_build_push(c, &sb, c->s.seg[SEG_GS].selector, size);
            stack_build_push(c, &sb, c->s.seg[SEG_FS].selector, size);
            stack_build_push(c, &sb, c->s.seg[SEG_DS].selector, size);
            stack_build_push(c, &sb, c->s.seg[SEG_ES].selector, size);
        }
        stack_build_push(c, &sb, c->s.seg[SEG_SS].selector, size);
        stack_build_push(c, &sb, c->s.gpr[REG_ESP], size);
    } else {
        sb.ss = c->s.seg[SEG_SS];
        sb.esp = c->s.gpr[REG_ESP];
        sb.system = c->cpl < 3;
        sb.fault_err = ext;
    }
    stack_build_push(c, &sb, flags, size);
    stack_build_push(c, &sb, c->s.seg[SEG_CS].selector, size);
    stack_build_push(c, &sb, c->s.eip, size);
    if (error >= 0)
        stack_build_push(c, &sb, (uint32_t)error, size);

    /* Everything that can fault is done: commit. */
    seg_set_accessed(c, sel, d);
    if (switch_stack) {
        seg_set_accessed(c, sb.ss.selector, ss_d);
        sb.ss.attr |= SEGA_ACCESSED;
        c->s.seg[SEG_SS] = sb.ss;
    }
    c->s.gpr[REG_ESP] = sb.esp;
    c->s.seg[SEG_CS] = cs;
    c->s.eip = offset;
    if (from_v86) {
        static const int data_regs[] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
        for (unsigned k = 0; k < 4; k++)
            c->s.seg[data_regs[k]] = (struct seg_cache){ .attr = SEGA_UNUSABLE };
    }
    cpu_set_eflags(c, 0, EFL_TF | EFL_NT | EFL_RF | EFL_VM | (trap_gate ? 0 : EFL_IF));
    cpu_mode_changed(c);
}

/* Deliver exception/interrupt `vector` now (s.eip = the return address).
 * Nested faults are classified (double fault, triple fault -> shutdown
 * exit) by the caller's loop in soft_engine.c. */
static void except_deliver(struct cpu *c, uint8_t vector, int64_t error, enum deliver_kind kind)
{
    except_note(c, vector, error, kind);
    int saved = c->delivering_vector;
    c->delivering_vector = vector;
    if (!c->pe)
        deliver_real(c, vector);
    else
        deliver_protected(c, vector, error, kind);
    c->delivering_vector = saved;
    c->s.events.interrupt_shadow = 0;
}

static bool contributory(unsigned v)
{
    return v == EXC_DE || v == EXC_TS || v == EXC_NP || v == EXC_SS || v == EXC_GP;
}

static const char *vname(unsigned v)
{
    return v < 32 && vector_names[v] ? vector_names[v] : "vector";
}

bool except_deliver_pending(struct cpu *c)
{
    jmp_buf jb;
    jmp_buf *outer = c->fault_jmp;
    volatile int prev = -1;
    volatile int depth = 0;
    c->fault_jmp = &jb;
    setjmp(jb);
    c->delivering_vector = -1;
    if (c->exit_pending) {
        c->fault_jmp = outer;
        longjmp(*outer, 1);
    }
    unsigned vec = c->s.events.exception_vector;
    int64_t err = c->s.events.exception_has_error ? (int64_t)c->s.events.exception_error : -1;
    c->s.events.exception_pending = false;
    c->fault_pending = false;
    if (prev >= 0) {
        if (prev == EXC_DF || ++depth > 4) {
            c->fault_jmp = outer;
            soft_engine_shutdown(c, (uint8_t)vec, "triple fault: %s (error 0x%x) while delivering %s",
                                 vname(vec), (uint32_t)(err < 0 ? 0 : err), vname((unsigned)prev));
            return false;
        }
        bool df = (contributory((unsigned)prev) && contributory(vec)) ||
                  (prev == EXC_PF && (contributory(vec) || vec == EXC_PF));
        if (df) {
            vec = EXC_DF;
            err = 0;
        }
    }
    prev = (int)vec;
    except_deliver(c, (uint8_t)vec, err, DELIVER_EXC);
    c->fault_jmp = outer;
    return true;
}

/* ---- software and external interrupts ---- */

void cpu_soft_interrupt(struct cpu *c, uint8_t vector, int kind)
{
    if (kind == 2 && !cpu_get_of(c))
        return;
    if (c->v86 && kind != 3 && ((c->eflags_rest & EFL_IOPL) >> 12) < 3)
        cpu_gp(c, 0);
    except_deliver(c, vector, -1, kind == 3 ? DELIVER_EXC : DELIVER_SOFT);
}

void cpu_deliver_external(struct cpu *c, uint8_t vector, bool nmi)
{
    if (nmi)
        c->s.events.nmi_blocked = true;
    except_deliver(c, vector, -1, DELIVER_EXT);
}

/* run_loop.c - process 400: run the engine, dispatch each exit through a
 * table indexed by exit reason, resume (see machine.h for the locking). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host/terminal.h"
#include "monitor/crash_report.h"
#include "monitor/machine.h"
#include "monitor/machine_virtio.h"

enum { RUN_CONTINUE, RUN_STOP };

typedef int (*exit_handler)(struct machine *m, struct vm_exit *x);

static void add_range_time(struct bus *b, uint64_t addr, uint64_t t0)
{
    struct bus_range *r = bus_find(b, addr);
    if (r)
        r->handler_ns += host_monotonic_ns() - t0;
}

static int on_io(struct machine *m, struct vm_exit *x)
{
    uint64_t t0 = m->opts->stats ? host_monotonic_ns() : 0;
    if (x->io.in) {
        uint64_t v;
        bus_read(&m->io, x->io.port, x->io.size, &v);
        x->io.data = (uint32_t)v;
    } else {
        bus_write(&m->io, x->io.port, x->io.size, x->io.data);
    }
    if (m->opts->stats)
        add_range_time(&m->io, x->io.port, t0);
    guest_clock_stall(&m->clock, GUEST_CLOCK_PORT_ACCESS_NS);
    return RUN_CONTINUE;
}

static int on_mmio(struct machine *m, struct vm_exit *x)
{
    uint64_t t0 = m->opts->stats ? host_monotonic_ns() : 0;
    if (x->mmio.write)
        bus_write(&m->mmio, x->mmio.gpa, x->mmio.size, x->mmio.data);
    else
        bus_read(&m->mmio, x->mmio.gpa, x->mmio.size, &x->mmio.data);
    if (m->opts->stats)
        add_range_time(&m->mmio, x->mmio.gpa, t0);
    return RUN_CONTINUE;
}

/* The engine prefilled its own CPUID answer; the monitor has nothing to add yet. */
static int on_cpuid(struct machine *m, struct vm_exit *x)
{
    (void)m;
    (void)x;
    return RUN_CONTINUE;
}

/* No MSR is solicited yet: one that exits anyway is unknown to the machine. */
static int on_msr(struct machine *m, struct vm_exit *x)
{
    (void)m;
    x->msr.value = 0;
    x->msr.fault = true;
    return RUN_CONTINUE;
}

/* The engine prefilled the TSC (1 GHz on guest time plus tsc_offset). */
static int on_rdtsc(struct machine *m, struct vm_exit *x)
{
    (void)m;
    (void)x;
    return RUN_CONTINUE;
}

static void print_code_at(struct machine *m, const struct cpu_state *s, uint32_t eip)
{
    uint8_t bytes[16];
    size_t n = guest_read_code(&m->ram, s, eip, bytes, sizeof(bytes));
    fprintf(stderr, "morph:   bytes at EIP: ");
    crash_print_bytes(stderr, s, eip, bytes, n);
    fputc('\n', stderr);
}

/* The engine's record of the last interrupts and exceptions, each line
 * after `indent` (nothing when the engine keeps none). */
static void print_recent_events(struct machine *m, const char *indent)
{
    if (!m->engine_ops->recent_events)
        return;
    char text[4096];
    m->engine_ops->recent_events(m->engine, text, sizeof(text));
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        int len = end ? (int)(end - line) : (int)strlen(line);
        fprintf(stderr, "%s%.*s\n", indent, len, line);
        line += len + (end != NULL);
    }
}

/* Ctrl-A d: the CPU state on stderr while the guest goes on (vCPU thread,
 * between runs, lock held). */
static void dump_cpu_state(struct machine *m)
{
    struct cpu_state s;
    struct engine_stats es;
    memset(&es, 0, sizeof(es));
    m->engine_ops->get_state(m->engine, &s);
    m->engine_ops->get_stats(m->engine, &es);
    fprintf(stderr, "\nmorph: CPU state (Ctrl-A d) after %llu instructions, guest time %.3f s%s\n",
            (unsigned long long)es.instructions, (double)guest_clock_now(&m->clock) / 1e9,
            s.events.halted ? ", halted" : "");
    print_code_at(m, &s, s.eip);
    crash_print_registers(stderr, &s);
    fprintf(stderr, "  DR6=%08x DR7=%08x TSS=%08x/%x LDT=%08x/%x\n", s.dr[6], s.dr[7],
            s.tr.base, s.tr.limit, s.ldtr.base, s.ldtr.limit);
    print_recent_events(m, "  ");
}

/* A dump requested from the console is done here, where the engine is
 * not running: after every run and while the CPU is halted. */
static void serve_dump_request(struct machine *m)
{
    if (!m->dump_requested)
        return;
    m->dump_requested = false;
    dump_cpu_state(m);
}

/* Device timers fire here only, on the vCPU thread, at guest time: after
 * every exit (the engine ends a run with EXIT_KICKED when the next deadline
 * is reached) and while halted. */
static void fire_due_timers(struct machine *m)
{
    uint64_t next = timer_next_deadline(&m->timers);
    if (next == TIMER_NEVER)
        return;
    uint64_t now = timer_now(&m->timers);
    if (next > now)
        return;
    timer_run_expired(&m->timers, now);
}

/* The halted CPU waits (lock held) until the next timer deadline comes in
 * wall time, or INTR rises or the machine stops meanwhile (irq_cond), and
 * then guest time moves on by the time that passed. */
static void idle_until_next_event(struct machine *m)
{
    uint64_t next = timer_next_deadline(&m->timers);
    uint64_t wake = guest_clock_wake_at(&m->clock, next, host_monotonic_ns());
    if (wake == GUEST_CLOCK_NEVER) {
        pthread_cond_wait(&m->irq_cond, &m->lock.mutex);
    } else if (wake > host_monotonic_ns()) {
        struct timespec ts = { .tv_sec = (time_t)(wake / 1000000000u),
                               .tv_nsec = (long)(wake % 1000000000u) };
        pthread_cond_timedwait(&m->irq_cond, &m->lock.mutex, &ts);
    }
    guest_clock_idle(&m->clock, next, host_monotonic_ns());
}

/* --deterministic: the halted CPU does not wait for the wall clock; guest
 * time jumps to the next timer deadline (only a host event, e.g. console
 * input, can end a wait when no timer is armed). */
static void skip_to_next_event(struct machine *m)
{
    uint64_t next = timer_next_deadline(&m->timers);
    if (next == TIMER_NEVER)
        pthread_cond_wait(&m->irq_cond, &m->lock.mutex);
    else
        guest_clock_skip_to(&m->clock, next);
}

/* The CPU halted.  With interrupts disabled nothing can wake it (no NMI
 * source exists): the machine has stopped.  Otherwise sleep until the PIC
 * raises INTR; the loop's top then delivers the interrupt, which resumes it. */
static int on_hlt(struct machine *m, struct vm_exit *x)
{
    (void)x;
    struct cpu_state s;
    m->engine_ops->get_state(m->engine, &s);
    if (!(s.eflags & EFL_IF)) {
        char note[128];
        snprintf(note, sizeof(note),
                 "morph: the guest halted with interrupts disabled at EIP=0x%08x; stopping",
                 s.eip);
        machine_stop_locked(m, 0, note);
        return RUN_STOP;
    }
    m->vcpu_dispatching = false;
    while (!pic_intr(&m->dev.pic) && !m->stop) {
        if (m->opts->deterministic)
            skip_to_next_event(m);
        else
            idle_until_next_event(m);
        fire_due_timers(m);
        serve_dump_request(m);
        machine_service(m);
    }
    m->vcpu_dispatching = true;
    return RUN_CONTINUE;
}

/* Interrupt window and kicks (another thread's, or the timer deadline:
 * dispatch fires due timers) need nothing more: the loop's top looks at INTR. */
static int on_nothing(struct machine *m, struct vm_exit *x)
{
    (void)m;
    (void)x;
    return RUN_CONTINUE;
}

static int on_shutdown(struct machine *m, struct vm_exit *x)
{
    struct cpu_state s;
    m->engine_ops->get_state(m->engine, &s);
    terminal_restore();
    fprintf(stderr, "morph: guest triple fault at EIP=0x%08x (%s)\n", x->shutdown.eip,
            x->shutdown.reason[0] ? x->shutdown.reason : "unknown reason");
    print_code_at(m, &s, x->shutdown.eip);
    crash_print_registers(stderr, &s);
    print_recent_events(m, "  ");
    machine_stop_locked(m, 1, NULL);
    return RUN_STOP;
}

static int on_internal_error(struct machine *m, struct vm_exit *x)
{
    struct cpu_state s;
    m->engine_ops->get_state(m->engine, &s);
    terminal_restore();
    fprintf(stderr, "morph: internal error at EIP=0x%08x: %s\n", x->internal.eip,
            x->internal.reason);
    fprintf(stderr, "morph:   bytes at EIP: ");
    size_t n = x->internal.nbytes <= sizeof(x->internal.bytes) ? x->internal.nbytes : 0;
    crash_print_bytes(stderr, &s, x->internal.eip, x->internal.bytes, n);
    fputc('\n', stderr);
    crash_print_registers(stderr, &s);
    machine_stop_locked(m, 1, NULL);
    return RUN_STOP;
}

static const exit_handler exit_handlers[EXIT_REASON_COUNT] = {
    [EXIT_NONE] = on_nothing,
    [EXIT_IO] = on_io,
    [EXIT_MMIO] = on_mmio,
    [EXIT_CPUID] = on_cpuid,
    [EXIT_RDMSR] = on_msr,
    [EXIT_WRMSR] = on_msr,
    [EXIT_RDTSC] = on_rdtsc,
    [EXIT_HLT] = on_hlt,
    [EXIT_IRQ_WINDOW] = on_nothing,
    [EXIT_KICKED] = on_nothing,
    [EXIT_SHUTDOWN] = on_shutdown,
    [EXIT_INTERNAL_ERROR] = on_internal_error,
};

/* Before each run (lock held): hand a pending PIC interrupt to the CPU, or
 * ask to be told when it can take one. */
static void deliver_interrupt(struct machine *m)
{
    const struct engine_ops *ops = m->engine_ops;
    if (!pic_intr(&m->dev.pic)) {
        if (m->irq_window_requested) {
            ops->request_interrupt_window(m->engine, false);
            m->irq_window_requested = false;
        }
        return;
    }
    if (ops->interrupt_ready(m->engine)) {
        ops->inject_interrupt(m->engine, pic_acknowledge(&m->dev.pic));
        if (m->irq_window_requested) {
            ops->request_interrupt_window(m->engine, false);
            m->irq_window_requested = false;
        }
    } else if (!m->irq_window_requested) {
        ops->request_interrupt_window(m->engine, true);
        m->irq_window_requested = true;
    }
}

/* --trace lockstep: one line per exit with what two engines running the
 * same guest deterministically must agree on (tests/system/lockstep.sh):
 * the exit's number, the instruction count, the exit (after its handler,
 * so an IN shows the data it got), CS:EIP, EFLAGS, the GPRs, CR0/CR3. */
static void trace_lockstep(struct machine *m, const struct vm_exit *x)
{
    struct engine_stats es;
    struct cpu_state s;
    char what[256];
    memset(&es, 0, sizeof(es));
    m->engine_ops->get_stats(m->engine, &es);
    m->engine_ops->get_state(m->engine, &s);
    stats_describe_exit(what, sizeof(what), x);
    fprintf(stderr, "lockstep %" PRIu64 " insns %" PRIu64 " %s | cs:eip %04x:%08x efl %08x "
            "eax %08x ecx %08x edx %08x ebx %08x esp %08x ebp %08x esi %08x edi %08x "
            "cr0 %08x cr3 %08x\n", m->exits, es.instructions, what, s.seg[SEG_CS].selector,
            s.eip, s.eflags, s.gpr[REG_EAX], s.gpr[REG_ECX], s.gpr[REG_EDX], s.gpr[REG_EBX],
            s.gpr[REG_ESP], s.gpr[REG_EBP], s.gpr[REG_ESI], s.gpr[REG_EDI], s.cr0, s.cr3);
}

static void dispatch(struct machine *m, struct vm_exit *x)
{
    enum exit_reason r = x->reason;
    if ((unsigned)r >= EXIT_REASON_COUNT) {
        snprintf(x->internal.reason, sizeof(x->internal.reason),
                 "the engine returned an unknown exit reason %u", (unsigned)r);
        x->reason = r = EXIT_INTERNAL_ERROR;
    }
    uint64_t t0 = m->opts->stats ? host_monotonic_ns() : 0;
    exit_handlers[r](m, x);
    if (m->opts->stats)
        m->stats.handler_ns[r] += host_monotonic_ns() - t0;
    m->stats.count[r]++;
    if (m->opts->trace & TRACE_EXITS)
        stats_trace_exit(stderr, x);
    m->exits++;
    if (m->opts->trace & TRACE_LOCKSTEP)
        trace_lockstep(m, x);
    if (m->opts->exit_limit && m->exits >= m->opts->exit_limit)
        machine_stop_locked(m, 0, "morph: --exit-limit reached; stopping");
    fire_due_timers(m);
}

static void vcpu_loop(struct machine *m)
{
    struct vm_exit x;
    memset(&x, 0, sizeof(x));
    device_lock_vcpu(&m->lock);
    m->vcpu_dispatching = true;
    while (!m->stop) {
        machine_service(m);             /* disk completions raise their IRQs here */
        deliver_interrupt(m);
        if (m->engine_ops->set_deadline)
            m->engine_ops->set_deadline(m->engine, timer_next_deadline(&m->timers));
        m->vcpu_dispatching = false;
        device_unlock(&m->lock);

        x.reason = m->engine_ops->run(m->engine, &x);

        device_lock_vcpu(&m->lock);
        m->vcpu_dispatching = true;
        /* FERR# (x87 errors with CR0.NE = 0) drives IRQ 13 on a PC. */
        if (m->engine_ops->fpu_error_pending)
            fpu_error_set_ferr(&m->dev.fpu_error, m->engine_ops->fpu_error_pending(m->engine));
        dispatch(m, &x);
        serve_dump_request(m);
    }
    m->vcpu_dispatching = false;
    device_unlock(&m->lock);
}

/* --stats: guest time against wall time (engine.h "guest time"). */
static void print_guest_time(struct machine *m, double wall_seconds)
{
    double guest = (double)guest_clock_now(&m->clock) / 1e9;
    double idle = (double)m->clock.time.idle_ns / 1e9;
    fprintf(stderr, "guest time %.3f s (%.3f s of it halted or in port accesses), wall %.3f s; "
            "%.0f M instructions per guest second\n", guest, idle, wall_seconds,
            m->clock.time.ps_per_insn ? 1e6 / m->clock.time.ps_per_insn : 0.0);
}

int machine_run(struct machine *m)
{
    char err[200];
    if (terminal_enter_raw(STDIN_FILENO, err, sizeof(err)))
        fprintf(stderr, "morph: warning: %s\n", err);
    m->started_ns = host_monotonic_ns();
    device_lock_vcpu(&m->lock);
    m->vcpu_thread = pthread_self();   /* device DMA from this thread needs no deferral */
    m->vcpu_thread_known = true;
    device_unlock(&m->lock);
    if (event_loop_start(m->loop, err, sizeof(err))) {
        terminal_restore();
        fprintf(stderr, "morph: %s\n", err);
        return 1;
    }
    vcpu_loop(m);
    event_loop_stop(m->loop);
    terminal_restore();
    double seconds = (double)(host_monotonic_ns() - m->started_ns) / 1e9;

    if (m->stop_note[0])
        fprintf(stderr, "%s\n", m->stop_note);
    if (m->events_at_stop)
        print_recent_events(m, "morph:   ");
    if (m->opts->stats) {
        struct engine_stats es;
        memset(&es, 0, sizeof(es));
        m->engine_ops->get_stats(m->engine, &es);
        stats_report(stderr, &m->stats, &es, seconds, &m->io, &m->mmio);
        print_guest_time(m, seconds);
    }
    return m->exit_status;
}

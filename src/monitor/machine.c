/* machine.c - building and tearing down the PC (see machine.h). */
#include "monitor/machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "monitor/machine_virtio.h"

void machine_stop_locked(struct machine *m, int status, const char *note)
{
    if (m->stop)
        return;
    m->stop = true;
    m->exit_status = status;
    snprintf(m->stop_note, sizeof(m->stop_note), "%s", note ? note : "");
    pthread_cond_broadcast(&m->irq_cond);
    if (!m->vcpu_dispatching && m->engine)
        m->engine_ops->kick(m->engine);
}

void machine_request_stop(struct machine *m, int status, const char *note)
{
    device_lock_host(&m->lock);
    machine_stop_locked(m, status, note);
    device_unlock(&m->lock);
}

/* ---- wiring callbacks (all called with the device lock held) ---- */

/* The PIC's INTR output changed.  The vCPU thread looks at INTR before every
 * run, so only another thread's change needs to kick it out of run or wake
 * it from HLT. */
static void on_intr_changed(void *opaque, bool level)
{
    struct machine *m = opaque;
    if (!level || m->vcpu_dispatching)
        return;
    pthread_cond_broadcast(&m->irq_cond);
    if (m->engine)
        m->engine_ops->kick(m->engine);
}

static void on_debug_exit(void *opaque, int status)
{
    machine_stop_locked(opaque, status, NULL);
}

/* Port 0x92 or the keyboard controller: how Linux ends after a panic
 * (panic=N), so the last interrupts and exceptions follow the note. */
static void on_reset_request(void *opaque)
{
    struct machine *m = opaque;
    if (m->stop)
        return;
    machine_stop_locked(m, 0, "morph: the guest requested a reset; stopping");
    m->events_at_stop = true;
}

/* Either gate bit enables A20 (a PC ORs the keyboard controller's output
 * port with port 0x92), so the new level is computed from both devices.
 * Called from their port handlers, on the vCPU thread between runs. */
static void on_a20(void *opaque, bool enabled)
{
    struct machine *m = opaque;
    (void)enabled;
    bool a20 = i8042_a20(&m->dev.kbc) || port92_a20(&m->dev.port92);
    if (m->engine && m->engine_ops->set_a20)
        m->engine_ops->set_a20(m->engine, a20);
}

static void on_console_quit(void *opaque)
{
    machine_request_stop(opaque, 0, "morph: quit (Ctrl-A x)");
}

/* Ctrl-A d (event-loop thread): the vCPU thread dumps the CPU state
 * between runs, so the running engine is asked to return soon and a
 * halted one is woken. */
static void on_console_dump(void *opaque)
{
    struct machine *m = opaque;
    device_lock_host(&m->lock);
    m->dump_requested = true;
    pthread_cond_broadcast(&m->irq_cond);
    if (!m->vcpu_dispatching && m->engine)
        m->engine_ops->kick(m->engine);
    device_unlock(&m->lock);
}

/* The event loop's tick: the terminal only.  Device timers run on guest
 * time and fire on the vCPU thread (run_loop.c), so the loop arms no timer. */
static void machine_tick(void *opaque)
{
    struct machine *m = opaque;
    console_tick(&m->console);
    machine_virtio_tick(m);
}

/* ---- building ---- */

static struct irq_line pic_line(struct machine *m, unsigned irq)
{
    return (struct irq_line){ .set = pic_set_irq, .opaque = &m->dev.pic, .irq = irq };
}

/* A device's look at its own line on the PIC pair (for the lost-tick
 * policy).  Slave lines are masked too when the master masks the cascade.
 * The CPU refuses while the vCPU waits for an interrupt window (IF clear). */
static struct irq_line_status pic_line_status(void *opaque, unsigned irq)
{
    const struct machine *m = opaque;
    const struct pic *p = &m->dev.pic;
    const struct pic_chip *c = &p->chip[irq >> 3 & 1];
    uint8_t bit = (uint8_t)(1u << (irq & 7));
    return (struct irq_line_status){
        .requested = c->irr & bit,
        .masked = (c->imr & bit) || (irq >= 8 && (p->chip[0].imr & 0x04)),
        .in_service = c->isr & bit,
        .cpu_refuses = m->irq_window_requested,
    };
}

static struct irq_probe pic_probe(struct machine *m, unsigned irq)
{
    return (struct irq_probe){ .status = pic_line_status, .opaque = m, .irq = irq };
}

static int init_devices(struct machine *m, char *err, size_t errlen)
{
    struct machine_devices *d = &m->dev;
    if (pic_init(&d->pic, &m->io, err, errlen))
        return -1;
    pic_set_intr_callback(&d->pic, on_intr_changed, m);
    if (pit_init(&d->pit, &m->io, &m->timers, pic_line(m, 0), err, errlen))
        return -1;
    /* Ticks the guest missed reach it late rather than never.  (On guest
     * time no tick is lost to the host's scheduling any more; the policy
     * stays for a guest that keeps IRQ 0 pending or masked.) */
    pit_set_lost_tick_policy(&d->pit, LOST_TICKS_DELIVER, pic_probe(m, 0));
    if (uart_init(&d->com1, &m->io, UART_COM1_BASE, pic_line(m, UART_COM1_IRQ),
                  console_tx, console_rx_space, &m->console, err, errlen))
        return -1;
    /* --deterministic: the RTC starts at 2020-01-01 00:00:00 UTC, not now. */
    int64_t rtc_start = m->opts->deterministic ? 1577836800 : (int64_t)time(NULL);
    if (rtc_init(&d->rtc, &m->io, &m->timers, pic_line(m, 8), rtc_start,
                 err, errlen))
        return -1;
    rtc_set_lost_tick_policy(&d->rtc, LOST_TICKS_DELIVER, pic_probe(m, 8));
    rtc_set_memory_size(&d->rtc, m->ram.ram_size);
    if (i8042_init(&d->kbc, &m->io, pic_line(m, 1), pic_line(m, 12), on_reset_request,
                   on_a20, m, err, errlen))
        return -1;
    if (pci_init(&d->pci, &m->io, err, errlen))
        return -1;
    if (port80_init(&d->port80, &m->io, err, errlen))
        return -1;
    if (port92_init(&d->port92, &m->io, on_reset_request, on_a20, m, err, errlen))
        return -1;
    if (fpu_error_init(&d->fpu_error, &m->io, pic_line(m, FPU_ERROR_IRQ), err, errlen))
        return -1;
    if (m->opts->debug_exit &&
        debug_exit_init(&d->debug_exit, &m->io, on_debug_exit, m, err, errlen))
        return -1;
    return machine_virtio_init(m, err, errlen);
}

/* Puts the kernel or the firmware into guest memory; *st gets the entry state. */
static int load_guest(struct machine *m, struct cpu_state *st, char *err, size_t errlen)
{
    const struct morph_options *o = m->opts;
    if (o->bios) {
        uint8_t *rom;
        size_t len;
        struct firmware_layout layout;
        if (boot_load_firmware(o->bios, &rom, &len, &layout, st, err, errlen))
            return -1;
        int r = guest_ram_add_rom(&m->ram, rom, len, &layout, err, errlen);
        free(rom);
        return r;
    }
    enum boot_kind kind;
    return boot_load_kernel(m->ram.ram, m->ram.ram_size, o->kernel, o->initrd, o->append,
                            st, &kind, err, errlen);
}

static int create_engine(struct machine *m, const struct cpu_state *st, char *err, size_t errlen)
{
    /* Every port exits, so the buses count unclaimed accesses exactly. */
    memset(m->policy.port_bitmap, 0xff, sizeof(m->policy.port_bitmap));
    struct engine_config cfg = {
        .mem = &m->ram.mem,
        .policy = &m->policy,
        .trace = m->opts->trace & ~TRACE_LOCKSTEP,
        .trace_insn_limit = m->opts->trace_insn_limit,
        .trace_stream = stderr,
        .jit_threshold = m->opts->jit_threshold,
        .jit_cache_size = m->opts->jit_cache_size,
    };
    m->engine = m->engine_ops->create(&cfg, err, errlen);
    if (!m->engine)
        return -1;
    m->engine_ops->set_state(m->engine, st);
    on_a20(m, true);            /* the devices' power-on gate: enabled */
    guest_clock_attach(&m->clock, m->engine_ops, m->engine, host_monotonic_ns());
    return 0;
}

int machine_create(struct machine *m, const struct morph_options *o,
                   const struct engine_ops *engine, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    m->engine_ops = engine;
    m->ram.memfd = -1;
    m->opts = o;
    device_lock_init(&m->lock);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* halted waits are on wall time */
    pthread_cond_init(&m->irq_cond, &ca);
    pthread_condattr_destroy(&ca);
    guest_clock_init(&m->clock, (uint32_t)(PS_PER_SECOND / o->ips));
    timer_set_init(&m->timers, guest_clock_now, &m->clock);
    console_init(&m->console, STDIN_FILENO, STDOUT_FILENO, &m->lock, on_console_quit,
                 on_console_dump, m);

    if (bus_init(&m->io, "port", true) || bus_init(&m->mmio, "mmio", false)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (guest_ram_create(&m->ram, o->mem_size, err, errlen))
        return -1;
    if (init_devices(m, err, errlen))
        return -1;
    struct cpu_state st;
    if (load_guest(m, &st, err, errlen))
        return -1;
    if (create_engine(m, &st, err, errlen))
        return -1;
    m->loop = event_loop_create(machine_tick, m, err, errlen);
    if (!m->loop)
        return -1;
    console_attach(&m->console, &m->dev.com1, m->loop);
    return machine_virtio_start(m, err, errlen);
}

void machine_destroy(struct machine *m)
{
    /* The loop thread stops first (it feeds devices), then the devices'
     * host ends close while the loop still exists, then the loop goes. */
    if (m->loop)
        event_loop_stop(m->loop);
    machine_virtio_destroy(m);
    if (m->loop)
        event_loop_destroy(m->loop);
    m->loop = NULL;
    if (m->engine)
        m->engine_ops->destroy(m->engine);
    m->engine = NULL;
    guest_ram_destroy(&m->ram);
    bus_free(&m->io);
    bus_free(&m->mmio);
    pthread_cond_destroy(&m->irq_cond);
    device_lock_destroy(&m->lock);
}

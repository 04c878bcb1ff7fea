/* machine.h - the PC morph runs: RAM and ROM, the buses, the devices, the
 * engine, the event loop and the run loop (process 400 in ARCHITECTURE.md).
 *
 * Threads and locking: the vCPU thread (the caller of machine_run) runs the
 * engine without any lock and takes `lock` to dispatch each exit; the
 * event-loop thread takes it to feed terminal input.  Everything a device
 * touches is guarded by `lock`.
 *
 * Time: the engine is the machine's clock (monitor/guest_clock.h).  Device
 * timers fire on the vCPU thread only: before each run the engine is given
 * the next timer deadline and ends the run (EXIT_KICKED) when guest time
 * reaches it.  A halted vCPU sleeps on `irq_cond` until the next deadline
 * in wall time, or until the PIC raises INTR (console input) or the machine
 * stops, and then moves guest time on by the time that passed.
 */
#ifndef MORPH_MACHINE_H
#define MORPH_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/debug_exit.h"
#include "devices/fpu_error.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/port80.h"
#include "devices/port92.h"
#include "devices/rtc.h"
#include "devices/timer.h"
#include "devices/uart16550.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "engine/engine.h"
#include "host/clock.h"
#include "host/event_loop.h"
#include "monitor/console.h"
#include "monitor/device_lock.h"
#include "monitor/guest_clock.h"
#include "monitor/guest_ram.h"
#include "monitor/options.h"
#include "monitor/stats.h"

struct machine_devices {
    struct pic pic;
    struct pit pit;
    struct uart16550 com1;
    struct rtc rtc;
    struct i8042 kbc;
    struct pci_bus pci;
    struct port80 port80;
    struct port92 port92;
    struct debug_exit debug_exit;
    struct fpu_error fpu_error;
    /* virtio on PCI (machine_virtio.c) */
    struct guest_dma dma;              /* the devices' view of guest RAM */
    struct virtio_rng rng;
    struct virtio_blk blk[MAX_DRIVES];
    struct block_file blk_file[MAX_DRIVES];
    unsigned drives;
    struct virtio_net net;
    bool has_net;
    struct net_backend *net_backend;
    uint32_t intx_asserted[16];        /* per PIC line: the PCI slots driving it high */
};

/* Device-written guest ranges waiting for the vCPU thread to drop decoded
 * code there (machine_virtio.c); past the last slot everything is dropped. */
#define DMA_DIRTY_SLOTS 32

struct dma_dirty {
    uint64_t gpa[DMA_DIRTY_SLOTS], len[DMA_DIRTY_SLOTS];
    unsigned count;
    bool all;
};

struct machine {
    const struct morph_options *opts;
    struct device_lock lock;           /* the device lock */
    pthread_cond_t irq_cond;           /* INTR raised or stop requested */

    struct guest_ram ram;
    struct bus io, mmio;
    struct timer_set timers;
    struct guest_clock clock;
    struct machine_devices dev;
    struct console console;

    struct exit_policy policy;
    const struct engine_ops *engine_ops;
    struct engine *engine;
    struct event_loop *loop;

    /* guarded by lock */
    bool vcpu_dispatching;             /* the vCPU thread holds the lock */
    bool irq_window_requested;
    bool stop;                         /* end the run loop */
    int exit_status;
    char stop_note[200];               /* printed to stderr at the end, if any */
    bool events_at_stop;               /* print the last interrupts/exceptions after it */
    bool dump_requested;               /* Ctrl-A d: the vCPU thread dumps the CPU state */
    bool service_pending;              /* host I/O finished: machine_service on the vCPU */
    bool net_rx_resume;                /* the event loop asks the backend again */
    struct dma_dirty dma_dirty;
    pthread_t vcpu_thread;             /* set by machine_run */
    bool vcpu_thread_known;

    struct exit_stats stats;
    uint64_t exits;                    /* exits dispatched (--exit-limit, --trace lockstep) */
    uint64_t started_ns;
};

/* Builds the machine from the options: RAM, devices, the loaded kernel or
 * ROM, and an engine of the given kind (&soft_engine_ops; tests pass a
 * scripted one).  Returns 0, or -1 with a one-line reason in err (the
 * machine may be partly built: call machine_destroy anyway). */
int machine_create(struct machine *m, const struct morph_options *o,
                   const struct engine_ops *engine, char *err, size_t errlen);

/* Runs the guest until it stops; returns morph's exit status.  Reports
 * (stop note, crash report, --stats) go to stderr. */
int machine_run(struct machine *m);

void machine_destroy(struct machine *m);

/* Ends the run loop with status; note (may be NULL) is printed at the end.
 * The first request wins.  machine_request_stop: any thread, lock not held;
 * machine_stop_locked: lock held (device callbacks, exit handlers). */
void machine_request_stop(struct machine *m, int status, const char *note);
void machine_stop_locked(struct machine *m, int status, const char *note);

#endif

/* machine_virtio.h - the machine's virtio devices on PCI: building them
 * from the options, their interrupt and DMA wiring, and the host work
 * (disk completions, network frames) that reaches them.
 *
 * Threads: disk I/O finishes on the image's worker threads, which only
 * call machine_request_service; the vCPU thread then completes requests in
 * machine_service (lock held, engine stopped), after dropping decoded code
 * in every guest range a device wrote, so a guest never executes stale
 * instructions from a page a disk read refilled.  Network frames arrive on
 * the event-loop thread (virtio_net_receive under the lock); the ranges
 * they wrote are queued for the vCPU thread likewise.
 */
#ifndef MORPH_MACHINE_VIRTIO_H
#define MORPH_MACHINE_VIRTIO_H

#include <stddef.h>

struct machine;

/* Slots: drives 1-4, network card 5, entropy 6 (00:0s.0). */
#define PCI_SLOT_DRIVE0 1
#define PCI_SLOT_NET 5
#define PCI_SLOT_RNG 6

/* Opens the images and builds the devices (after the PCI bus exists),
 * then does the firmware's PCI set-up.  Returns 0, or -1 with a one-line
 * reason in err. */
int machine_virtio_init(struct machine *m, char *err, size_t errlen);
/* Starts the disk threads and opens the network backend (needs the event
 * loop).  Returns 0, or -1 with a reason in err. */
int machine_virtio_start(struct machine *m, char *err, size_t errlen);
void machine_virtio_destroy(struct machine *m);

/* vCPU thread, lock held, engine not running: finish host work. */
void machine_service(struct machine *m);
/* Event-loop tick (lock not held). */
void machine_virtio_tick(struct machine *m);

#endif

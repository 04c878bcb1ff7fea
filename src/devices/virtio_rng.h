/* virtio_rng.h - virtio entropy device (virtio 1.1 section 5.4).
 *
 * One request queue; every writable buffer the driver offers is filled
 * from the host's getrandom (host/host_random.h) at once, on the vCPU
 * thread, at most VIRTIO_RNG_CHUNK bytes per buffer chain (drivers ask for
 * less).  Present on every machine, so a guest never waits for entropy.
 * No features, no configuration.
 */
#ifndef MORPH_VIRTIO_RNG_H
#define MORPH_VIRTIO_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_pci.h"

#define VIRTIO_ID_RNG 4
#define VIRTIO_RNG_QUEUE_SIZE 64
#define VIRTIO_RNG_CHUNK 4096

struct virtio_rng {
    struct virtio_pci vp;
    struct vq_chain chain;          /* scratch for one popped chain */
};

/* The caller adds rng->vp.pci to the PCI bus. */
void virtio_rng_init(struct virtio_rng *rng, const char *name, struct bus *mmio,
                     const struct guest_dma *dma, struct irq_line irq);

void virtio_rng_reset(void *rng);
size_t virtio_rng_save(void *rng, uint8_t *buf, size_t cap);
int virtio_rng_restore(void *rng, const uint8_t *buf, size_t len);

#endif

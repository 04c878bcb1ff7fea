/* virtio_rng.c - virtio entropy device (see virtio_rng.h). */
#include "devices/virtio_rng.h"

#include <string.h>

#include "host/host_random.h"

#define PCI_CLASS_OTHER 0x00ff00

static void rng_notify(struct virtio_pci *vp, unsigned q)
{
    struct virtio_rng *rng = vp->owner;
    struct virtqueue *vq = &vp->vq[q];
    uint8_t bytes[VIRTIO_RNG_CHUNK];
    bool pushed = false;
    for (;;) {
        enum vq_result r = vq_pop(vq, &rng->chain);
        if (r == VQ_EMPTY)
            break;
        if (r == VQ_BROKEN) {
            virtio_pci_needs_reset(vp);
            return;
        }
        size_t want = rng->chain.in_len < sizeof(bytes) ? rng->chain.in_len : sizeof(bytes);
        size_t got = host_random(bytes, want);
        size_t put = vq_chain_write(&rng->chain, vq->dma, 0, bytes, got);
        vq_push_chain(vq, &rng->chain, (uint32_t)put);
        pushed = true;
    }
    if (pushed)
        virtio_pci_queue_interrupt(vp, q);
}

static const struct virtio_ops rng_ops = { .notify = rng_notify };

void virtio_rng_init(struct virtio_rng *rng, const char *name, struct bus *mmio,
                     const struct guest_dma *dma, struct irq_line irq)
{
    memset(rng, 0, sizeof(*rng));
    struct virtio_pci_config cfg = {
        .name = name, .device_id = VIRTIO_ID_RNG, .class_code = PCI_CLASS_OTHER,
        .num_queues = 1, .queue_size = VIRTIO_RNG_QUEUE_SIZE, .ops = &rng_ops, .owner = rng,
    };
    virtio_pci_init(&rng->vp, &cfg, mmio, dma, irq);
}

void virtio_rng_reset(void *opaque)
{
    struct virtio_rng *rng = opaque;
    virtio_pci_reset(&rng->vp);
}

size_t virtio_rng_save(void *opaque, uint8_t *buf, size_t cap)
{
    struct virtio_rng *rng = opaque;
    return virtio_pci_save(&rng->vp, buf, cap);
}

int virtio_rng_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_rng *rng = opaque;
    return virtio_pci_restore(&rng->vp, buf, len);
}

/* virtio_net.h - virtio network device (virtio 1.1 section 5.1).
 *
 * Queues: 0 receive, 1 transmit (no control queue, one pair).  Features:
 * MAC (the address in config space), STATUS (link always up) and
 * INDIRECT_DESC.  No
 * offloads and no mergeable rx buffers: every frame gets the 12-byte
 * virtio_net_hdr (zeroed, num_buffers 1) and must fit one rx chain; a frame
 * that does not fit is dropped and the chain returned with length 0.
 *
 * Transmit runs on the vCPU thread when the driver notifies queue 1: each
 * chain's readable bytes after the header go to net_backend_send as one
 * frame.  Receive: virtio_net_receive (the backend's rx callback, which the
 * monitor calls on the event-loop thread with the device lock held) copies
 * the frame into the next rx chain.  With no rx buffer it refuses the frame
 * (the backend holds it); when the driver adds buffers the device asks for
 * them again through `rx_resume` (the monitor calls net_backend_rx_resume
 * from the event loop, not under the device lock).
 */
#ifndef MORPH_VIRTIO_NET_H
#define MORPH_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_pci.h"
#include "host/net_backend.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_CONFIG_LEN 10
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_NET_F_STATUS (1ull << 16)
#define VIRTIO_NET_S_LINK_UP 1
enum { VIRTIO_NET_RXQ = 0, VIRTIO_NET_TXQ = 1 };

struct virtio_net {
    struct virtio_pci vp;
    struct net_backend *backend;    /* may be NULL: frames are dropped */
    uint8_t config[VIRTIO_NET_CONFIG_LEN];
    bool rx_refused;                /* a frame was refused for want of buffers */
    /* Wiring: ask the backend for held frames again (any thread, lock held). */
    void (*rx_resume)(void *opaque);
    void *rx_resume_opaque;
    struct vq_chain chain;          /* scratch */
    struct iovec iov[VQ_MAX_SIZE];
};

/* The caller adds net->vp.pci to the PCI bus and wires backend/rx_resume. */
void virtio_net_init(struct virtio_net *net, const char *name, const uint8_t mac[6],
                     struct bus *mmio, const struct guest_dma *dma, struct irq_line irq);

/* A frame from the host (device lock held).  False: no rx buffer now. */
bool virtio_net_receive(struct virtio_net *net, const uint8_t *frame, size_t len);

void virtio_net_reset(void *net);
size_t virtio_net_save(void *net, uint8_t *buf, size_t cap);
int virtio_net_restore(void *net, const uint8_t *buf, size_t len);

#endif

/* virtio_net.c - virtio network device (see virtio_net.h). */
#include "devices/virtio_net.h"

#include <string.h>

#define PCI_CLASS_NETWORK_ETHERNET 0x020000

/* ---- transmit ---- */

static void transmit(struct virtio_net *net)
{
    struct virtqueue *vq = &net->vp.vq[VIRTIO_NET_TXQ];
    bool pushed = false;
    for (;;) {
        enum vq_result r = vq_pop(vq, &net->chain);
        if (r == VQ_EMPTY)
            break;
        if (r == VQ_BROKEN) {
            virtio_pci_needs_reset(&net->vp);
            return;
        }
        const struct vq_chain *c = &net->chain;
        if (c->out_len > VIRTIO_NET_HDR_LEN && net->backend) {
            int n = vq_chain_iov(c, vq->dma, false, VIRTIO_NET_HDR_LEN,
                                 c->out_len - VIRTIO_NET_HDR_LEN, net->iov, VQ_MAX_SIZE);
            if (n > 0)
                net_backend_send(net->backend, net->iov, n);
        }
        vq_push(vq, c->head, 0);
        pushed = true;
    }
    if (pushed)
        virtio_pci_queue_interrupt(&net->vp, VIRTIO_NET_TXQ);
}

/* ---- receive ---- */

bool virtio_net_receive(struct virtio_net *net, const uint8_t *frame, size_t len)
{
    struct virtqueue *vq = &net->vp.vq[VIRTIO_NET_RXQ];
    if (!virtio_pci_queue_live(&net->vp, VIRTIO_NET_RXQ)) {
        net->rx_refused = true;
        return false;
    }
    enum vq_result r = vq_pop(vq, &net->chain);
    if (r == VQ_EMPTY) {
        net->rx_refused = true;
        return false;
    }
    if (r == VQ_BROKEN) {
        virtio_pci_needs_reset(&net->vp);
        return true;                    /* dropped: the device is dead until reset */
    }
    const struct vq_chain *c = &net->chain;
    uint32_t used = 0;
    if (len <= c->in_len && c->in_len - len >= VIRTIO_NET_HDR_LEN) {
        uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 };
        hdr[10] = 1;                    /* num_buffers */
        vq_chain_write(c, vq->dma, 0, hdr, sizeof(hdr));
        vq_chain_write(c, vq->dma, VIRTIO_NET_HDR_LEN, frame, len);
        used = (uint32_t)(VIRTIO_NET_HDR_LEN + len);
    }
    vq_push_chain(vq, c, used);         /* too big: the buffer comes back empty */
    virtio_pci_queue_interrupt(&net->vp, VIRTIO_NET_RXQ);
    return true;
}

static void net_notify(struct virtio_pci *vp, unsigned q)
{
    struct virtio_net *net = vp->owner;
    if (q == VIRTIO_NET_TXQ) {
        transmit(net);
    } else if (q == VIRTIO_NET_RXQ && net->rx_refused) {
        net->rx_refused = false;        /* new buffers: fetch what the backend held */
        if (net->rx_resume)
            net->rx_resume(net->rx_resume_opaque);
    }
}

static const struct virtio_ops net_ops = { .notify = net_notify };

void virtio_net_init(struct virtio_net *net, const char *name, const uint8_t mac[6],
                     struct bus *mmio, const struct guest_dma *dma, struct irq_line irq)
{
    memset(net, 0, sizeof(*net));
    memcpy(net->config, mac, 6);
    net->config[6] = VIRTIO_NET_S_LINK_UP;      /* status, le16 */
    net->config[8] = 1;                         /* max_virtqueue_pairs, le16 */
    struct virtio_pci_config cfg = {
        .name = name, .device_id = VIRTIO_ID_NET, .class_code = PCI_CLASS_NETWORK_ETHERNET,
        .features = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_F_INDIRECT_DESC, .num_queues = 2,
        .queue_size = VIRTIO_NET_QUEUE_SIZE, .config = net->config,
        .config_len = sizeof(net->config), .ops = &net_ops, .owner = net,
    };
    virtio_pci_init(&net->vp, &cfg, mmio, dma, irq);
}

void virtio_net_reset(void *opaque)
{
    struct virtio_net *net = opaque;
    virtio_pci_reset(&net->vp);
}

size_t virtio_net_save(void *opaque, uint8_t *buf, size_t cap)
{
    struct virtio_net *net = opaque;
    return virtio_pci_save(&net->vp, buf, cap);
}

int virtio_net_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_net *net = opaque;
    int r = virtio_pci_restore(&net->vp, buf, len);
    net->rx_refused = true;             /* ask the backend again at the next rx notify */
    return r;
}

/* virtio_pci.c - the virtio 1.x PCI transport (see virtio_pci.h). */
#include "devices/virtio_pci.h"

#include <stdio.h>
#include <string.h>

#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CAPABILITY_LIST 0x34
#define PCI_COMMAND_INTX_DISABLE 0x0400

/* virtio_pci_cap.cfg_type */
enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4 };

#define CAP_FIRST 0x40

/* ---- config space ---- */

/* One vendor capability at `at`; returns the offset after it. */
static unsigned add_cap(struct pci_device *d, unsigned at, unsigned next, uint8_t type,
                        uint32_t offset, uint32_t length, bool notify)
{
    unsigned len = notify ? 20 : 16;
    pci_set8(d, at + 0, 0x09);              /* PCI_CAP_ID_VNDR */
    pci_set8(d, at + 1, (uint8_t)next);
    pci_set8(d, at + 2, (uint8_t)len);
    pci_set8(d, at + 3, type);
    pci_set8(d, at + 4, 0);                 /* BAR 0 */
    pci_set32(d, at + 8, offset);
    pci_set32(d, at + 12, length);
    if (notify)
        pci_set32(d, at + 16, VIRTIO_PCI_NOTIFY_MULTIPLIER);
    return at + len;
}

static void add_caps(struct virtio_pci *vp)
{
    struct pci_device *d = &vp->pci;
    unsigned notify_at = CAP_FIRST + 16, isr_at = notify_at + 20, dev_at = isr_at + 16;
    add_cap(d, CAP_FIRST, notify_at, CAP_COMMON, VIRTIO_PCI_COMMON, VPCI_COMMON_LEN, false);
    add_cap(d, notify_at, isr_at, CAP_NOTIFY, VIRTIO_PCI_NOTIFY,
            VIRTIO_PCI_NOTIFY_MULTIPLIER * vp->num_queues, true);
    add_cap(d, isr_at, dev_at, CAP_ISR, VIRTIO_PCI_ISR, 1, false);
    add_cap(d, dev_at, 0, CAP_DEVICE, VIRTIO_PCI_DEVICE_CFG,
            vp->config_len ? (uint32_t)vp->config_len : 1, false);
    pci_set8(d, PCI_CAPABILITY_LIST, CAP_FIRST);
    pci_set16(d, PCI_STATUS, PCI_STATUS_CAP_LIST);
}

/* ---- the interrupt line ---- */

static void update_irq(struct virtio_pci *vp)
{
    bool pending = vp->s.isr != 0;
    uint16_t status = pci_get16(&vp->pci, PCI_STATUS);
    pci_set16(&vp->pci, PCI_STATUS, pending ? status | PCI_STATUS_INTERRUPT
                                            : status & ~PCI_STATUS_INTERRUPT);
    bool level = pending && !(pci_get16(&vp->pci, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
    if (level != vp->irq_level) {
        vp->irq_level = level;
        irq_set_level(&vp->irq, level);
    }
}

void virtio_pci_queue_interrupt(struct virtio_pci *vp, unsigned q)
{
    if (q >= vp->num_queues || !vq_wants_interrupt(&vp->vq[q]))
        return;
    vp->s.isr |= VIRTIO_ISR_QUEUE;
    update_irq(vp);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
    vp->s.config_generation++;
    vp->s.isr |= VIRTIO_ISR_CONFIG;
    update_irq(vp);
}

void virtio_pci_needs_reset(struct virtio_pci *vp)
{
    if (vp->s.status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    vp->s.status |= VIRTIO_STATUS_NEEDS_RESET;
    virtio_pci_config_changed(vp);
}

bool virtio_pci_has_feature(const struct virtio_pci *vp, uint64_t f)
{
    return (vp->s.driver_features & f) == f;
}

bool virtio_pci_queue_live(const struct virtio_pci *vp, unsigned q)
{
    uint8_t st = vp->s.status;
    return q < vp->num_queues && vp->vq[q].s.enabled && (st & VIRTIO_STATUS_DRIVER_OK) &&
           !(st & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- common configuration ---- */

static struct virtqueue *selected_queue(struct virtio_pci *vp)
{
    return vp->s.queue_select < vp->num_queues ? &vp->vq[vp->s.queue_select] : NULL;
}

/* The common configuration as the driver reads it, little-endian. */
static void common_image(struct virtio_pci *vp, uint8_t img[VPCI_COMMON_LEN])
{
    memset(img, 0, VPCI_COMMON_LEN);
    const struct virtqueue *q = selected_queue(vp);
    uint32_t df = vp->s.dfselect == 0 ? (uint32_t)vp->device_features
                : vp->s.dfselect == 1 ? (uint32_t)(vp->device_features >> 32) : 0;
    uint32_t gf = vp->s.gfselect == 0 ? (uint32_t)vp->s.driver_features
                : vp->s.gfselect == 1 ? (uint32_t)(vp->s.driver_features >> 32) : 0;
    uint16_t msix = VIRTIO_MSI_NO_VECTOR, numq = (uint16_t)vp->num_queues;
    memcpy(img + VPCI_DFSELECT, &vp->s.dfselect, 4);
    memcpy(img + VPCI_DF, &df, 4);
    memcpy(img + VPCI_GFSELECT, &vp->s.gfselect, 4);
    memcpy(img + VPCI_GF, &gf, 4);
    memcpy(img + VPCI_MSIX, &msix, 2);
    memcpy(img + VPCI_NUMQ, &numq, 2);
    img[VPCI_STATUS] = vp->s.status;
    img[VPCI_CFGGEN] = vp->s.config_generation;
    memcpy(img + VPCI_Q_SELECT, &vp->s.queue_select, 2);
    if (!q)
        return;                         /* a queue that does not exist reads size 0 */
    uint16_t noff = vp->s.queue_select;
    memcpy(img + VPCI_Q_SIZE, &q->s.size, 2);
    memcpy(img + VPCI_Q_MSIX, &msix, 2);
    memcpy(img + VPCI_Q_ENABLE, &q->s.enabled, 2);
    memcpy(img + VPCI_Q_NOFF, &noff, 2);
    memcpy(img + VPCI_Q_DESCLO, &q->s.desc, 8);
    memcpy(img + VPCI_Q_AVAILLO, &q->s.avail, 8);
    memcpy(img + VPCI_Q_USEDLO, &q->s.used, 8);
}

static uint64_t common_read(struct virtio_pci *vp, uint64_t offset, unsigned size)
{
    uint8_t img[VPCI_COMMON_LEN];
    common_image(vp, img);
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        v |= (uint64_t)(offset + i < VPCI_COMMON_LEN ? img[offset + i] : 0) << (8 * i);
    return v;
}

static void device_reset(struct virtio_pci *vp)
{
    if (vp->ops->reset)
        vp->ops->reset(vp);
    uint8_t gen = vp->s.config_generation;
    memset(&vp->s, 0, sizeof(vp->s));
    vp->s.config_generation = gen;
    for (unsigned q = 0; q < vp->num_queues; q++)
        vq_reset(&vp->vq[q]);
    update_irq(vp);
}

static void write_status(struct virtio_pci *vp, uint8_t v)
{
    if (v == 0) {
        device_reset(vp);
        return;
    }
    uint8_t old = vp->s.status;
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        uint64_t g = vp->s.driver_features;
        if (!(g & VIRTIO_F_VERSION_1) || (g & ~vp->device_features))
            v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    }
    /* NEEDS_RESET is the device's to set; only a reset clears it. */
    vp->s.status = (uint8_t)((v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET));
}

static void write_driver_features(struct virtio_pci *vp, uint32_t v)
{
    if (vp->s.status & VIRTIO_STATUS_FEATURES_OK || vp->s.gfselect > 1)
        return;
    unsigned shift = vp->s.gfselect * 32;
    vp->s.driver_features &= ~((uint64_t)UINT32_MAX << shift);
    vp->s.driver_features |= (uint64_t)v << shift;
}

static void write_queue_enable(struct virtio_pci *vp, struct virtqueue *q, uint16_t v)
{
    if (v != 1 || q->s.enabled)
        return;                         /* disabling is not a virtio 1.1 operation */
    if (!vq_layout_ok(q)) {
        virtio_pci_needs_reset(vp);
        return;
    }
    q->s.enabled = 1;
    q->s.last_avail = 0;
    q->s.used_idx = 0;
    q->indirect = virtio_pci_has_feature(vp, VIRTIO_F_INDIRECT_DESC);
}

/* Half of a 64-bit ring address (hi: bits 63:32). */
static void set_half(uint64_t *field, bool hi, uint32_t v)
{
    unsigned shift = hi ? 32 : 0;
    *field = (*field & ~((uint64_t)UINT32_MAX << shift)) | (uint64_t)v << shift;
}

/* Writes to the selected queue's fields: only while it is disabled. */
static void write_queue_field(struct virtio_pci *vp, unsigned off, unsigned size, uint64_t v)
{
    struct virtqueue *q = selected_queue(vp);
    if (!q)
        return;
    if (off == VPCI_Q_ENABLE && size == 2) {
        write_queue_enable(vp, q, (uint16_t)v);
        return;
    }
    if (q->s.enabled)
        return;
    if (off == VPCI_Q_SIZE && size == 2) {
        q->s.size = (uint16_t)v;
        return;
    }
    uint64_t *field = off >= VPCI_Q_USEDLO ? &q->s.used
                    : off >= VPCI_Q_AVAILLO ? &q->s.avail
                    : off >= VPCI_Q_DESCLO ? &q->s.desc : NULL;
    if (!field || (off & 3))
        return;
    if (size == 8 && !(off & 7))
        *field = v;
    else if (size == 4)
        set_half(field, off & 4, (uint32_t)v);
}

static void common_write(struct virtio_pci *vp, uint64_t offset, unsigned size, uint64_t v)
{
    unsigned off = (unsigned)offset;
    switch (off) {
    case VPCI_DFSELECT: if (size == 4) vp->s.dfselect = (uint32_t)v; return;
    case VPCI_GFSELECT: if (size == 4) vp->s.gfselect = (uint32_t)v; return;
    case VPCI_GF: if (size == 4) write_driver_features(vp, (uint32_t)v); return;
    case VPCI_STATUS: if (size == 1) write_status(vp, (uint8_t)v); return;
    case VPCI_Q_SELECT: if (size == 2) vp->s.queue_select = (uint16_t)v; return;
    case VPCI_DF: case VPCI_MSIX: case VPCI_NUMQ: case VPCI_CFGGEN:
    case VPCI_Q_MSIX: case VPCI_Q_NOFF:
        return;                         /* read-only, or no MSI-X */
    default:
        if (off >= VPCI_Q_SIZE && off < VPCI_COMMON_LEN)
            write_queue_field(vp, off, size, v);
    }
}

/* ---- BAR 0 ---- */

static uint8_t isr_read(struct virtio_pci *vp)
{
    uint8_t v = vp->s.isr;
    vp->s.isr = 0;
    update_irq(vp);
    return v;
}

uint64_t virtio_pci_bar_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_pci *vp = opaque;
    if (offset < VIRTIO_PCI_ISR)
        return common_read(vp, offset - VIRTIO_PCI_COMMON, size);
    if (offset < VIRTIO_PCI_DEVICE_CFG)
        return offset == VIRTIO_PCI_ISR ? isr_read(vp) : 0;
    if (offset < VIRTIO_PCI_NOTIFY) {
        uint64_t off = offset - VIRTIO_PCI_DEVICE_CFG, v = 0;
        for (unsigned i = 0; i < size && i < 8; i++)
            v |= (uint64_t)(off + i < vp->config_len ? vp->config[off + i] : 0) << (8 * i);
        return v;
    }
    return 0;
}

void virtio_pci_bar_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct virtio_pci *vp = opaque;
    if (offset < VIRTIO_PCI_ISR) {
        common_write(vp, offset - VIRTIO_PCI_COMMON, size, value);
    } else if (offset >= VIRTIO_PCI_NOTIFY) {
        uint64_t q = (offset - VIRTIO_PCI_NOTIFY) / VIRTIO_PCI_NOTIFY_MULTIPLIER;
        if (q < vp->num_queues && virtio_pci_queue_live(vp, (unsigned)q) && vp->ops->notify)
            vp->ops->notify(vp, (unsigned)q);
    }
    /* ISR and the device config are read-only. */
}

/* Map BAR 0 where the guest put it while memory decoding is on. */
static void update_mapping(struct virtio_pci *vp)
{
    uint32_t base = pci_bar_address(&vp->pci, 0);
    bool want = (pci_get16(&vp->pci, PCI_COMMAND) & PCI_COMMAND_MEMORY) && base != 0 &&
                base <= UINT32_MAX - (VIRTIO_PCI_BAR_SIZE - 1);
    if (vp->mapped && (!want || base != vp->mapped_base)) {
        bus_unregister(vp->mmio, vp->mapped_base, vp);
        vp->mapped = false;
    }
    if (want && !vp->mapped) {
        char err[160];
        /* A BAR placed over another range stays unmapped, as a real bus
         * would leave the conflict undecoded. */
        if (bus_register(vp->mmio, base, VIRTIO_PCI_BAR_SIZE, vp->name, vp,
                         virtio_pci_bar_read, virtio_pci_bar_write, err, sizeof(err)) == 0) {
            vp->mapped = true;
            vp->mapped_base = base;
        }
    }
}

static void config_written(struct pci_device *d, unsigned offset, unsigned len)
{
    struct virtio_pci *vp = d->opaque;
    (void)offset;
    (void)len;
    update_mapping(vp);
    update_irq(vp);
}

void virtio_pci_init(struct virtio_pci *vp, const struct virtio_pci_config *cfg,
                     struct bus *mmio, const struct guest_dma *dma, struct irq_line irq)
{
    memset(vp, 0, sizeof(*vp));
    snprintf(vp->name, sizeof(vp->name), "%s", cfg->name);
    vp->num_queues = cfg->num_queues < VIRTIO_PCI_MAX_QUEUES ? cfg->num_queues
                                                             : VIRTIO_PCI_MAX_QUEUES;
    vp->device_features = cfg->features | VIRTIO_F_VERSION_1;
    vp->config = cfg->config;
    vp->config_len = cfg->config_len < 0x1000 ? cfg->config_len : 0x1000;
    vp->ops = cfg->ops;
    vp->owner = cfg->owner;
    vp->irq = irq;
    vp->mmio = mmio;
    for (unsigned q = 0; q < vp->num_queues; q++)
        vq_init(&vp->vq[q], cfg->queue_size, dma);

    struct pci_device *d = &vp->pci;
    pci_device_init(d, vp->name, VIRTIO_PCI_VENDOR,
                    (uint16_t)(VIRTIO_PCI_DEVICE_BASE + cfg->device_id), 0x01,
                    cfg->class_code, 0x00);
    pci_set16(d, PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR);
    pci_set16(d, PCI_SUBSYSTEM_ID, 0x1100);
    pci_set_bar(d, 0, VIRTIO_PCI_BAR_SIZE, 0);
    pci_set8(d, PCI_INTERRUPT_PIN, 1);      /* INTA */
    add_caps(vp);
    d->config_written = config_written;
    d->opaque = vp;
}

/* ---- lifecycle ---- */

void virtio_pci_reset(struct virtio_pci *vp)
{
    device_reset(vp);
    vp->s.config_generation = 0;
}

static const uint8_t save_tag[4] = { 'V', 'P', 'C', '1' };

size_t virtio_pci_save(const struct virtio_pci *vp, uint8_t *buf, size_t cap)
{
    size_t need = sizeof(save_tag) + sizeof(vp->s) + vp->num_queues * sizeof(struct vq_state);
    if (cap < need)
        return need;
    uint8_t *p = buf;
    memcpy(p, save_tag, sizeof(save_tag));
    p += sizeof(save_tag);
    memcpy(p, &vp->s, sizeof(vp->s));
    p += sizeof(vp->s);
    for (unsigned q = 0; q < vp->num_queues; q++, p += sizeof(struct vq_state))
        memcpy(p, &vp->vq[q].s, sizeof(struct vq_state));
    return need;
}

int virtio_pci_restore(struct virtio_pci *vp, const uint8_t *buf, size_t len)
{
    size_t need = sizeof(save_tag) + sizeof(vp->s) + vp->num_queues * sizeof(struct vq_state);
    if (len != need || memcmp(buf, save_tag, sizeof(save_tag)) != 0)
        return -1;
    struct virtio_pci_state s;
    memcpy(&s, buf + sizeof(save_tag), sizeof(s));
    if (s.driver_features & ~vp->device_features)
        return -1;
    struct vq_state qs[VIRTIO_PCI_MAX_QUEUES];
    const uint8_t *p = buf + sizeof(save_tag) + sizeof(s);
    for (unsigned q = 0; q < vp->num_queues; q++, p += sizeof(struct vq_state)) {
        memcpy(&qs[q], p, sizeof(qs[q]));
        struct virtqueue probe = vp->vq[q];
        probe.s = qs[q];
        if (qs[q].enabled > 1 || (qs[q].enabled && !vq_layout_ok(&probe)))
            return -1;
    }
    vp->s = s;
    for (unsigned q = 0; q < vp->num_queues; q++) {
        vp->vq[q].s = qs[q];
        vp->vq[q].indirect = virtio_pci_has_feature(vp, VIRTIO_F_INDIRECT_DESC);
    }
    update_mapping(vp);
    update_irq(vp);
    return 0;
}

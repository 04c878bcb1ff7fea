/* virtio_pci.h - the virtio 1.x PCI transport ("modern", non-transitional).
 *
 * A virtio device model embeds a struct virtio_pci and fills in its ops.
 * PCI side: vendor 0x1af4, device 0x1040 + virtio id, revision 1, one
 * 32-bit memory BAR 0 of 16 KiB, INTA.  Vendor capabilities in config
 * space point into BAR 0, one 4 KiB page each:
 *     0x0000 common configuration   (virtio 1.1 4.1.4.3)
 *     0x1000 ISR status             (4.1.4.5)
 *     0x2000 device-specific config (4.1.4.6; read-only here)
 *     0x3000 notifications          (4.1.4.4; queue q at 4 * q)
 * The BAR is registered on the MMIO bus where the guest puts it while the
 * COMMAND register's memory-space bit is set, and moved or removed when
 * either changes.
 *
 * Decisions:
 * - No MSI-X: msix_config and queue_msix_vector read VIRTIO_MSI_NO_VECTOR
 *   and writes are dropped, so drivers fall back to INTx.  The INTA line
 *   is level: high while ISR is non-zero and COMMAND's interrupt-disable
 *   bit is clear (STATUS bit 3 mirrors it); reading ISR clears it.
 * - FEATURES_OK sticks only if the driver accepted VIRTIO_F_VERSION_1 and
 *   nothing the device did not offer; driver feature writes after it are
 *   dropped.  Queue fields can be written only while the queue is not
 *   enabled; enabling checks the layout (virtqueue.h).
 * - When a queue breaks the rules, the device sets NEEDS_RESET (0x40),
 *   stops serving queues and raises a configuration-change interrupt
 *   (4.1.4.5), until the driver writes status 0 (reset).
 * - Fields are written with their natural width (64-bit ones as two
 *   32-bit halves or at once); other writes are dropped.  Reads of any
 *   width and offset see the registers' little-endian bytes.
 * - No VIRTIO_PCI_CAP_PCI_CFG window (Linux does not use it).
 */
#ifndef MORPH_VIRTIO_PCI_H
#define MORPH_VIRTIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/guest_dma.h"
#include "devices/irq.h"
#include "devices/pci.h"
#include "devices/virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_BAR_SIZE 0x4000
#define VIRTIO_PCI_COMMON 0x0000
#define VIRTIO_PCI_ISR 0x1000
#define VIRTIO_PCI_DEVICE_CFG 0x2000
#define VIRTIO_PCI_NOTIFY 0x3000
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 4
#define VIRTIO_PCI_MAX_QUEUES 4
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_F_VERSION_1 (1ull << 32)

#define VIRTIO_ISR_QUEUE 0x1
#define VIRTIO_ISR_CONFIG 0x2

/* Common configuration offsets. */
enum {
    VPCI_DFSELECT = 0x00, VPCI_DF = 0x04, VPCI_GFSELECT = 0x08, VPCI_GF = 0x0c,
    VPCI_MSIX = 0x10, VPCI_NUMQ = 0x12, VPCI_STATUS = 0x14, VPCI_CFGGEN = 0x15,
    VPCI_Q_SELECT = 0x16, VPCI_Q_SIZE = 0x18, VPCI_Q_MSIX = 0x1a, VPCI_Q_ENABLE = 0x1c,
    VPCI_Q_NOFF = 0x1e, VPCI_Q_DESCLO = 0x20, VPCI_Q_DESCHI = 0x24, VPCI_Q_AVAILLO = 0x28,
    VPCI_Q_AVAILHI = 0x2c, VPCI_Q_USEDLO = 0x30, VPCI_Q_USEDHI = 0x34, VPCI_COMMON_LEN = 0x38,
};

struct virtio_pci;

/* What the device model supplies; all called with the device lock held. */
struct virtio_ops {
    /* The driver reset the device (status 0), or the machine did: forget
     * queued work (requests still on the host complete and are dropped). */
    void (*reset)(struct virtio_pci *vp);
    /* The driver notified queue q (enabled, DRIVER_OK, not NEEDS_RESET). */
    void (*notify)(struct virtio_pci *vp, unsigned q);
};

/* Transport state the guest programs: what save/restore copies. */
struct virtio_pci_state {
    uint64_t driver_features;
    uint32_t dfselect, gfselect;
    uint16_t queue_select;
    uint8_t status;
    uint8_t isr;
    uint8_t config_generation;
    uint8_t pad[3];
};

struct virtio_pci {
    struct pci_device pci;
    struct virtio_pci_state s;
    struct virtqueue vq[VIRTIO_PCI_MAX_QUEUES];
    /* Wiring and constants (not state). */
    unsigned num_queues;
    uint64_t device_features;
    const uint8_t *config;          /* device-specific config, owned by the model */
    size_t config_len;
    const struct virtio_ops *ops;
    void *owner;                    /* the device model */
    struct irq_line irq;
    bool irq_level;
    struct bus *mmio;
    bool mapped;
    uint32_t mapped_base;
    char name[24];
};

struct virtio_pci_config {
    const char *name;               /* copied; bus range and PCI name */
    unsigned device_id;             /* virtio device id (2 block, 1 net, 4 rng) */
    uint32_t class_code;
    uint64_t features;              /* VIRTIO_F_VERSION_1 is added */
    unsigned num_queues;            /* 1..VIRTIO_PCI_MAX_QUEUES */
    uint16_t queue_size;            /* maximum, a power of two <= VQ_MAX_SIZE */
    const uint8_t *config;
    size_t config_len;              /* at most 4 KiB */
    const struct virtio_ops *ops;
    void *owner;
};

/* Fills config space and the queues; the caller adds vp->pci to the PCI
 * bus.  dma and mmio must outlive the device. */
void virtio_pci_init(struct virtio_pci *vp, const struct virtio_pci_config *cfg,
                     struct bus *mmio, const struct guest_dma *dma, struct irq_line irq);

/* The driver accepted feature f (a mask). */
bool virtio_pci_has_feature(const struct virtio_pci *vp, uint64_t f);
/* Queue q is enabled and the device is live (DRIVER_OK, not NEEDS_RESET). */
bool virtio_pci_queue_live(const struct virtio_pci *vp, unsigned q);
/* After pushing used entries on queue q: a queue interrupt unless the
 * driver suppressed it. */
void virtio_pci_queue_interrupt(struct virtio_pci *vp, unsigned q);
/* The device config changed: new generation, configuration interrupt. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* The guest broke a queue's rules: NEEDS_RESET and a config interrupt. */
void virtio_pci_needs_reset(struct virtio_pci *vp);

/* Device lifecycle for the model's reset/save/restore (PCI config space is
 * saved by the PCI bus): transport and queue state. */
void virtio_pci_reset(struct virtio_pci *vp);
size_t virtio_pci_save(const struct virtio_pci *vp, uint8_t *buf, size_t cap);
int virtio_pci_restore(struct virtio_pci *vp, const uint8_t *buf, size_t len);

/* The MMIO handlers for BAR 0 (offsets within it); for tests. */
uint64_t virtio_pci_bar_read(void *opaque, uint64_t offset, unsigned size);
void virtio_pci_bar_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

#endif

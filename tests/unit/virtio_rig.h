/* virtio_rig.h - what the virtio unit tests share: a guest RAM buffer with
 * a bounds-checked DMA view, split rings at fixed addresses, and a driver
 * that programs a struct virtio_pci through its BAR handlers the way
 * Linux's virtio_pci_modern does.  static inline: every non-test_*.c file
 * here is linked into every test binary, headers are not. */
#ifndef MORPH_VIRTIO_RIG_H
#define MORPH_VIRTIO_RIG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/guest_dma.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"

#define RIG_RAM (1u << 20)
#define RIG_DESC 0x1000u
#define RIG_AVAIL 0x2000u
#define RIG_USED 0x3000u
#define RIG_QSIZE 8u

struct ram_rig {
    uint8_t *ram;
    struct guest_dma dma;
    unsigned written_calls;
    uint64_t written_bytes;
};

static inline void rig_note_written(void *opaque, uint64_t gpa, uint64_t len)
{
    struct ram_rig *r = opaque;
    (void)gpa;
    r->written_calls++;
    r->written_bytes += len;
}

static inline void ram_rig_init(struct ram_rig *r)
{
    memset(r, 0, sizeof(*r));
    r->ram = calloc(1, RIG_RAM);
    assert_non_null(r->ram);
    r->dma = (struct guest_dma){ .ram = r->ram, .size = RIG_RAM, .written = rig_note_written,
                                 .opaque = r };
}

static inline void ram_rig_free(struct ram_rig *r)
{
    free(r->ram);
}

static inline void put16(struct ram_rig *r, uint64_t gpa, uint16_t v) { memcpy(r->ram + gpa, &v, 2); }
static inline void put32le(struct ram_rig *r, uint64_t gpa, uint32_t v) { memcpy(r->ram + gpa, &v, 4); }
static inline uint16_t get16(struct ram_rig *r, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, r->ram + gpa, 2);
    return v;
}
static inline uint32_t get32le(struct ram_rig *r, uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, r->ram + gpa, 4);
    return v;
}

/* Descriptor i of the table at RIG_DESC. */
static inline void put_desc(struct ram_rig *r, unsigned i, uint64_t addr, uint32_t len,
                            uint16_t flags, uint16_t next)
{
    uint8_t *d = r->ram + RIG_DESC + 16 * i;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

/* Makes head available in the next avail slot and bumps avail idx. */
static inline void offer(struct ram_rig *r, uint16_t head)
{
    uint16_t idx = get16(r, RIG_AVAIL + 2);
    put16(r, RIG_AVAIL + 4 + 2 * (idx % RIG_QSIZE), head);
    put16(r, RIG_AVAIL + 2, (uint16_t)(idx + 1));
}

/* ---- a driver for struct virtio_pci, through BAR 0 ---- */

static inline uint64_t vp_rd(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    return virtio_pci_bar_read(vp, off, size);
}

static inline void vp_wr(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t v)
{
    virtio_pci_bar_write(vp, off, size, v);
}

static inline uint64_t vp_device_features(struct virtio_pci *vp)
{
    vp_wr(vp, VPCI_DFSELECT, 4, 0);
    uint64_t lo = vp_rd(vp, VPCI_DF, 4);
    vp_wr(vp, VPCI_DFSELECT, 4, 1);
    return lo | vp_rd(vp, VPCI_DF, 4) << 32;
}

static inline void vp_driver_features(struct virtio_pci *vp, uint64_t f)
{
    vp_wr(vp, VPCI_GFSELECT, 4, 0);
    vp_wr(vp, VPCI_GF, 4, (uint32_t)f);
    vp_wr(vp, VPCI_GFSELECT, 4, 1);
    vp_wr(vp, VPCI_GF, 4, (uint32_t)(f >> 32));
}

/* Queue q on the rig's rings (size RIG_QSIZE); returns the enable readback. */
static inline uint16_t vp_setup_queue(struct virtio_pci *vp, unsigned q)
{
    vp_wr(vp, VPCI_Q_SELECT, 2, q);
    vp_wr(vp, VPCI_Q_SIZE, 2, RIG_QSIZE);
    vp_wr(vp, VPCI_Q_DESCLO, 4, RIG_DESC);
    vp_wr(vp, VPCI_Q_DESCHI, 4, 0);
    vp_wr(vp, VPCI_Q_AVAILLO, 4, RIG_AVAIL);
    vp_wr(vp, VPCI_Q_AVAILHI, 4, 0);
    vp_wr(vp, VPCI_Q_USEDLO, 4, RIG_USED);
    vp_wr(vp, VPCI_Q_USEDHI, 4, 0);
    vp_wr(vp, VPCI_Q_ENABLE, 2, 1);
    return (uint16_t)vp_rd(vp, VPCI_Q_ENABLE, 2);
}

/* The whole bring-up: reset, ACK, DRIVER, features (all offered), queue 0,
 * DRIVER_OK.  Returns the final status. */
static inline uint8_t vp_bring_up(struct virtio_pci *vp, uint64_t features)
{
    vp_wr(vp, VPCI_STATUS, 1, 0);
    vp_wr(vp, VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    vp_wr(vp, VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vp_driver_features(vp, features);
    uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    vp_wr(vp, VPCI_STATUS, 1, st);
    assert_int_equal(vp_rd(vp, VPCI_STATUS, 1), st);
    assert_int_equal(vp_setup_queue(vp, 0), 1);
    vp_wr(vp, VPCI_STATUS, 1, st | VIRTIO_STATUS_DRIVER_OK);
    return (uint8_t)vp_rd(vp, VPCI_STATUS, 1);
}

static inline void vp_notify(struct virtio_pci *vp, unsigned q)
{
    vp_wr(vp, VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULTIPLIER * q, 2, q);
}

#endif

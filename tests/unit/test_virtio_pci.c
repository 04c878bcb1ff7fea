/* test_virtio_pci.c - the virtio 1.x PCI transport: config space and its
 * capabilities, BAR sizing and placement on the MMIO bus, feature
 * negotiation, queue set-up, notifications, ISR and the INTx line,
 * NEEDS_RESET, save/restore; plus the firmware-style PCI set-up. */
#include "virtio_rig.h"

#include "devices/bus.h"
#include "devices/pci.h"
#include "devices/pic.h"
#include "monitor/pci_setup.h"

struct fix {
    struct ram_rig r;
    struct bus io, mmio;
    struct pci_bus pci;
    struct virtio_pci vp;
    uint8_t devcfg[8];
    unsigned notifies, last_q, resets;
    int line;                               /* the INTx level */
};

static void set_line(void *opaque, unsigned irq, int level)
{
    struct fix *f = opaque;
    (void)irq;
    f->line = level;
}

static void on_notify(struct virtio_pci *vp, unsigned q)
{
    struct fix *f = vp->owner;
    f->notifies++;
    f->last_q = q;
}

static void on_reset(struct virtio_pci *vp)
{
    struct fix *f = vp->owner;
    f->resets++;
}

static const struct virtio_ops ops = { .reset = on_reset, .notify = on_notify };

#define FEATURE_A (1ull << 5)

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    char err[160];
    ram_rig_init(&f->r);
    assert_int_equal(bus_init(&f->io, "port", true), 0);
    assert_int_equal(bus_init(&f->mmio, "mmio", false), 0);
    assert_int_equal(pci_init(&f->pci, &f->io, err, sizeof(err)), 0);
    memcpy(f->devcfg, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    struct virtio_pci_config cfg = {
        .name = "vtest", .device_id = 2, .class_code = 0x010000, .features = FEATURE_A,
        .num_queues = 2, .queue_size = 64, .config = f->devcfg, .config_len = 8,
        .ops = &ops, .owner = f,
    };
    virtio_pci_init(&f->vp, &cfg, &f->mmio, &f->r.dma,
                    (struct irq_line){ .set = set_line, .opaque = f, .irq = 10 });
    f->vp.owner = f;
    assert_int_equal(pci_add_device(&f->pci, PCI_DEVFN(3, 0), &f->vp.pci, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    bus_free(&f->io);
    bus_free(&f->mmio);
    ram_rig_free(&f->r);
    free(f);
    return 0;
}

/* Config cycles through ports 0xCF8/0xCFC, as a guest's scan does. */
static uint32_t cfg_rd(struct fix *f, unsigned reg, unsigned size)
{
    uint64_t v;
    bus_write(&f->io, 0xCF8, 4, 0x80000000u | 3u << 11 | (reg & 0xFC));
    bus_read(&f->io, 0xCFC + (reg & 3), size, &v);
    return (uint32_t)v;
}

static void cfg_wr(struct fix *f, unsigned reg, unsigned size, uint32_t v)
{
    bus_write(&f->io, 0xCF8, 4, 0x80000000u | 3u << 11 | (reg & 0xFC));
    bus_write(&f->io, 0xCFC + (reg & 3), size, v);
}

static void ids_and_capabilities(void **state)
{
    struct fix *f = *state;
    assert_int_equal(cfg_rd(f, 0, 4), 0x10421af4);          /* 1af4:1040+2 */
    assert_true(cfg_rd(f, 0x08, 1) >= 1);                   /* revision >= 1 */
    assert_int_equal(cfg_rd(f, 0x3D, 1), 1);                /* INTA */
    assert_true(cfg_rd(f, 0x06, 2) & 0x10);                 /* capability list */
    unsigned seen = 0, at = cfg_rd(f, 0x34, 1);
    for (unsigned n = 0; at && n < 16; n++) {
        assert_int_equal(cfg_rd(f, at, 1), 0x09);           /* vendor-specific */
        unsigned type = cfg_rd(f, at + 3, 1);
        assert_int_equal(cfg_rd(f, at + 4, 1), 0);          /* BAR 0 */
        uint32_t off = cfg_rd(f, at + 8, 4), len = cfg_rd(f, at + 12, 4);
        assert_true(off + len <= VIRTIO_PCI_BAR_SIZE);
        if (type == 2)
            assert_int_equal(cfg_rd(f, at + 16, 4), VIRTIO_PCI_NOTIFY_MULTIPLIER);
        seen |= 1u << type;
        at = cfg_rd(f, at + 1, 1);
    }
    assert_int_equal(seen, 0x1E);                           /* common, notify, ISR, device */
}

static void bar_sizing_and_placement(void **state)
{
    struct fix *f = *state;
    cfg_wr(f, 0x10, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_rd(f, 0x10, 4), (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1));  /* 32-bit mem */
    cfg_wr(f, 0x10, 4, 0xC0004000);
    assert_null(bus_find(&f->mmio, 0xC0004000));            /* memory decode still off */
    cfg_wr(f, 0x04, 2, PCI_COMMAND_MEMORY);
    assert_non_null(bus_find(&f->mmio, 0xC0004000));
    assert_non_null(bus_find(&f->mmio, 0xC0007FFF));
    uint64_t v;
    assert_true(bus_read(&f->mmio, 0xC0004000 + VPCI_NUMQ, 2, &v));
    assert_int_equal(v, 2);
    cfg_wr(f, 0x10, 4, 0xD0000000);                         /* moved */
    assert_null(bus_find(&f->mmio, 0xC0004000));
    assert_non_null(bus_find(&f->mmio, 0xD0000000));
    cfg_wr(f, 0x04, 2, 0);                                  /* decode off: gone */
    assert_null(bus_find(&f->mmio, 0xD0000000));
    assert_int_equal(f->mmio.count, 0);
}

static void feature_negotiation(void **state)
{
    struct fix *f = *state;
    struct virtio_pci *vp = &f->vp;
    assert_int_equal(vp_device_features(vp), FEATURE_A | VIRTIO_F_VERSION_1);
    vp_wr(vp, VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    /* Without VERSION_1, FEATURES_OK does not stick. */
    vp_driver_features(vp, FEATURE_A);
    vp_wr(vp, VPCI_STATUS, 1, 0x0B);
    assert_int_equal(vp_rd(vp, VPCI_STATUS, 1), 0x03);
    /* Nor with a feature the device did not offer. */
    vp_driver_features(vp, VIRTIO_F_VERSION_1 | (1ull << 7));
    vp_wr(vp, VPCI_STATUS, 1, 0x0B);
    assert_int_equal(vp_rd(vp, VPCI_STATUS, 1), 0x03);
    vp_driver_features(vp, VIRTIO_F_VERSION_1 | FEATURE_A);
    vp_wr(vp, VPCI_STATUS, 1, 0x0B);
    assert_int_equal(vp_rd(vp, VPCI_STATUS, 1), 0x0B);
    assert_true(virtio_pci_has_feature(vp, FEATURE_A));
    /* After FEATURES_OK the driver features are frozen. */
    vp_driver_features(vp, VIRTIO_F_VERSION_1);
    assert_true(virtio_pci_has_feature(vp, FEATURE_A));
    vp_wr(vp, VPCI_GFSELECT, 4, 0);
    assert_int_equal(vp_rd(vp, VPCI_GF, 4), (uint32_t)FEATURE_A);
}

static void queue_setup_and_notify(void **state)
{
    struct fix *f = *state;
    struct virtio_pci *vp = &f->vp;
    vp_wr(vp, VPCI_Q_SELECT, 2, 1);
    assert_int_equal(vp_rd(vp, VPCI_Q_SIZE, 2), 64);        /* the maximum */
    assert_int_equal(vp_rd(vp, VPCI_Q_NOFF, 2), 1);
    assert_int_equal(vp_rd(vp, VPCI_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    vp_wr(vp, VPCI_Q_SELECT, 2, 2);
    assert_int_equal(vp_rd(vp, VPCI_Q_SIZE, 2), 0);         /* no such queue */
    assert_int_equal(vp_bring_up(vp, VIRTIO_F_VERSION_1), 0x0F);
    assert_int_equal(vp->vq[0].s.desc, RIG_DESC);
    assert_int_equal(vp_rd(vp, VPCI_Q_DESCLO, 4), RIG_DESC);
    /* An enabled queue's fields are frozen. */
    vp_wr(vp, VPCI_Q_DESCLO, 4, 0x8000);
    assert_int_equal(vp->vq[0].s.desc, RIG_DESC);
    vp_notify(vp, 0);
    assert_int_equal(f->notifies, 1);
    assert_int_equal(f->last_q, 0);
    vp_notify(vp, 1);                                       /* queue 1 is not enabled */
    vp_notify(vp, 7);                                       /* nor does it exist */
    assert_int_equal(f->notifies, 1);
}

static void notify_needs_driver_ok(void **state)
{
    struct fix *f = *state;
    struct virtio_pci *vp = &f->vp;
    vp_wr(vp, VPCI_STATUS, 1, 0x03);
    vp_driver_features(vp, VIRTIO_F_VERSION_1);
    vp_wr(vp, VPCI_STATUS, 1, 0x0B);
    assert_int_equal(vp_setup_queue(vp, 0), 1);
    vp_notify(vp, 0);
    assert_int_equal(f->notifies, 0);
}

static void isr_and_level_interrupt(void **state)
{
    struct fix *f = *state;
    struct virtio_pci *vp = &f->vp;
    vp_bring_up(vp, VIRTIO_F_VERSION_1);
    virtio_pci_queue_interrupt(vp, 0);
    assert_int_equal(f->line, 1);
    assert_true(cfg_rd(f, 0x06, 2) & 0x08);                 /* interrupt status */
    /* COMMAND's interrupt disable masks the line, not the ISR. */
    cfg_wr(f, 0x04, 2, 0x0400);
    assert_int_equal(f->line, 0);
    cfg_wr(f, 0x04, 2, 0);
    assert_int_equal(f->line, 1);
    assert_int_equal(vp_rd(vp, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
    assert_int_equal(f->line, 0);                           /* read clears */
    assert_int_equal(vp_rd(vp, VIRTIO_PCI_ISR, 1), 0);
    /* The driver may suppress queue interrupts. */
    put16(&f->r, RIG_AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
    virtio_pci_queue_interrupt(vp, 0);
    assert_int_equal(f->line, 0);
    virtio_pci_config_changed(vp);
    assert_int_equal(f->line, 1);
    assert_int_equal(vp_rd(vp, VPCI_CFGGEN, 1), 1);
    assert_int_equal(vp_rd(vp, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_CONFIG);
}

static void bad_layout_needs_reset(void **state)
{
    struct fix *f = *state;
    struct virtio_pci *vp = &f->vp;
    vp_wr(vp, VPCI_STATUS, 1, 0x03);
    vp_driver_features(vp, VIRTIO_F_VERSION_1);
    vp_wr(vp, VPCI_STATUS, 1, 0x0B);
    vp_wr(vp, VPCI_Q_SELECT, 2, 0);
    vp_wr(vp, VPCI_Q_SIZE, 2, 3);                           /* not a power of two */
    vp_wr(vp, VPCI_Q_ENABLE, 2, 1);
    assert_int_equal(vp_rd(vp, VPCI_Q_ENABLE, 2), 0);
    assert_true(vp_rd(vp, VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(f->line, 1);
    assert_int_equal(vp_rd(vp, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_CONFIG);
    /* The driver cannot clear it; only a reset does. */
    vp_wr(vp, VPCI_STATUS, 1, 0x0F);
    assert_true(vp_rd(vp, VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    vp_notify(vp, 0);
    assert_int_equal(f->notifies, 0);
    unsigned resets = f->resets;
    vp_wr(vp, VPCI_STATUS, 1, 0);
    assert_int_equal(f->resets, resets + 1);
    assert_int_equal(vp_rd(vp, VPCI_STATUS, 1), 0);
    assert_int_equal(vp_rd(vp, VPCI_Q_SIZE, 2), 64);
}

static void ring_outside_ram_needs_reset(void **state)
{
    struct fix *f = *state;
    struct virtio_pci *vp = &f->vp;
    vp_wr(vp, VPCI_STATUS, 1, 0x03);
    vp_driver_features(vp, VIRTIO_F_VERSION_1);
    vp_wr(vp, VPCI_STATUS, 1, 0x0B);
    vp_wr(vp, VPCI_Q_SELECT, 2, 0);
    vp_wr(vp, VPCI_Q_USEDLO, 4, 0);
    vp_wr(vp, VPCI_Q_USEDHI, 4, 1);                         /* 4 GiB: no RAM there */
    vp_wr(vp, VPCI_Q_ENABLE, 2, 1);
    assert_true(vp_rd(vp, VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
}

static void odd_accesses_are_harmless(void **state)
{
    struct fix *f = *state;
    struct virtio_pci *vp = &f->vp;
    vp_wr(vp, VPCI_STATUS, 2, 0xFFFF);                      /* wrong width: dropped */
    assert_int_equal(vp_rd(vp, VPCI_STATUS, 1), 0);
    vp_wr(vp, VPCI_NUMQ, 2, 9);                             /* read-only */
    assert_int_equal(vp_rd(vp, VPCI_NUMQ, 2), 2);
    vp_wr(vp, 0x0FFF, 4, 0xFFFFFFFF);
    vp_wr(vp, VIRTIO_PCI_DEVICE_CFG + 2, 1, 0xFF);          /* device config is read-only */
    assert_int_equal(vp_rd(vp, VIRTIO_PCI_DEVICE_CFG + 1, 4), 0x05040302);
    assert_int_equal(vp_rd(vp, VIRTIO_PCI_DEVICE_CFG + 6, 4), 0x0807);  /* past the end: 0 */
    assert_int_equal(vp_rd(vp, VPCI_Q_DESCLO - 1, 8), 0);   /* unaligned reads are fine */
}

static void save_restore_round_trip(void **state)
{
    struct fix *f = *state;
    struct virtio_pci *vp = &f->vp;
    vp_bring_up(vp, VIRTIO_F_VERSION_1 | FEATURE_A);
    vp->vq[0].s.last_avail = 5;
    size_t n = virtio_pci_save(vp, NULL, 0);
    uint8_t *blob = malloc(n);
    assert_int_equal(virtio_pci_save(vp, blob, n), n);
    vp_wr(vp, VPCI_STATUS, 1, 0);
    assert_int_equal(vp->vq[0].s.enabled, 0);
    assert_int_equal(virtio_pci_restore(vp, blob, n), 0);
    assert_int_equal(vp_rd(vp, VPCI_STATUS, 1), 0x0F);
    assert_int_equal(vp->vq[0].s.last_avail, 5);
    assert_true(virtio_pci_has_feature(vp, FEATURE_A));
    assert_int_equal(virtio_pci_restore(vp, blob, n - 1), -1);
    blob[0] ^= 1;
    assert_int_equal(virtio_pci_restore(vp, blob, n), -1);
    free(blob);
}

/* The firmware's part: BAR addresses, interrupt line, memory decode, ELCR. */
static void firmware_setup(void **state)
{
    struct fix *f = *state;
    struct pic pic;
    char err[160];
    assert_int_equal(pic_init(&pic, &f->io, err, sizeof(err)), 0);
    assert_int_equal(pci_setup_assign(&f->pci, &f->io), 0);
    assert_int_equal(cfg_rd(f, 0x10, 4), PCI_SETUP_MMIO_BASE);
    assert_int_equal(cfg_rd(f, 0x3C, 1), pci_setup_irq(3));
    assert_true(cfg_rd(f, 0x04, 2) & PCI_COMMAND_MEMORY);
    assert_non_null(bus_find(&f->mmio, PCI_SETUP_MMIO_BASE));
    uint64_t lo, hi;
    bus_read(&f->io, 0x4D0, 1, &lo);
    bus_read(&f->io, 0x4D1, 1, &hi);
    assert_int_equal(lo | hi << 8, pci_setup_level_lines());
    assert_int_equal(pci_setup_level_lines(), 1u << 5 | 1u << 9 | 1u << 10 | 1u << 11);
    /* A level line on the PIC: IRR follows the line, no edge needed. */
    bus_write(&f->io, 0xA1, 1, 0);                          /* unmask the slave... */
    pic_set_irq(&pic, 10, 1);
    assert_true(pic.chip[1].irr & 0x04);
    pic_set_irq(&pic, 10, 0);
    assert_false(pic.chip[1].irr & 0x04);
}

/* Several devices: each BAR naturally aligned, none overlapping, memory
 * type kept (a wrong size once gave the second device an odd address that
 * read back as an I/O BAR). */
static void firmware_setup_several_devices(void **state)
{
    struct fix *f = *state;
    static struct virtio_pci more[3];
    char err[160];
    for (unsigned i = 0; i < 3; i++) {
        struct virtio_pci_config cfg = { .name = "more", .device_id = 4, .num_queues = 1,
                                         .queue_size = 8, .ops = &ops, .owner = f };
        virtio_pci_init(&more[i], &cfg, &f->mmio, &f->r.dma, (struct irq_line){ 0 });
        assert_int_equal(pci_add_device(&f->pci, PCI_DEVFN(5 + i, 0), &more[i].pci, err,
                                        sizeof(err)), 0);
    }
    assert_int_equal(pci_setup_assign(&f->pci, &f->io), 0);
    uint32_t bars[4] = { pci_get32(&f->vp.pci, PCI_BAR0) };
    for (unsigned i = 0; i < 3; i++) {
        bars[i + 1] = pci_get32(&more[i].pci, PCI_BAR0);
        assert_int_equal(pci_get8(&more[i].pci, PCI_INTERRUPT_LINE), pci_setup_irq(5 + i));
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(bars[i] & 0xF, 0);                 /* 32-bit memory */
        assert_int_equal(bars[i] % VIRTIO_PCI_BAR_SIZE, 0);
        assert_true(bars[i] >= PCI_SETUP_MMIO_BASE);
        for (unsigned j = 0; j < i; j++)
            assert_true(bars[i] >= bars[j] + VIRTIO_PCI_BAR_SIZE ||
                        bars[j] >= bars[i] + VIRTIO_PCI_BAR_SIZE);
        assert_non_null(bus_find(&f->mmio, bars[i]));
    }
    assert_int_equal(f->mmio.count, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(ids_and_capabilities),
        T(bar_sizing_and_placement),
        T(feature_negotiation),
        T(queue_setup_and_notify),
        T(notify_needs_driver_ok),
        T(isr_and_level_interrupt),
        T(bad_layout_needs_reset),
        T(ring_outside_ram_needs_reset),
        T(odd_accesses_are_harmless),
        T(save_restore_round_trip),
        T(firmware_setup),
        T(firmware_setup_several_devices),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

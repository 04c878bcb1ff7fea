/* test_virtio_net.c - virtio-net transmit and receive against a recording
 * test double of net_backend.h (defined here, so this binary links without
 * a real backend), and virtio-rng filling buffers. */
#include "virtio_rig.h"

#include "devices/bus.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "host/net_backend.h"

/* ---- the test double ---- */

struct net_backend {
    uint8_t last[2048];
    size_t last_len;
    unsigned sent, resumed;
};

static struct net_backend double_backend;

struct net_backend *net_backend_open(const char *spec, struct event_loop *loop, net_rx_fn rx,
                                     void *opaque, char *err, size_t errlen)
{
    (void)spec; (void)loop; (void)rx; (void)opaque; (void)err; (void)errlen;
    return &double_backend;
}

void net_backend_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    nb->last_len = 0;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(nb->last + nb->last_len, iov[i].iov_base, iov[i].iov_len);
        nb->last_len += iov[i].iov_len;
    }
    nb->sent++;
}

void net_backend_rx_resume(struct net_backend *nb) { nb->resumed++; }
void net_backend_close(struct net_backend *nb) { (void)nb; }

/* ---- fixture: rx queue 0 on the rig's rings, tx queue 1 on a second set ---- */

#define TX_DESC 0x5000u
#define TX_AVAIL 0x6000u
#define TX_USED 0x7000u

struct fix {
    struct ram_rig r;
    struct bus mmio;
    struct virtio_net net;
    struct virtio_rng rng;
    int line;
    unsigned resume_calls;
};

static void set_line(void *opaque, unsigned irq, int level)
{
    struct fix *f = opaque;
    (void)irq;
    f->line = level;
}

static void on_resume(void *opaque)
{
    struct fix *f = opaque;
    f->resume_calls++;
    net_backend_rx_resume(f->net.backend);
}

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF };

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    ram_rig_init(&f->r);
    memset(&double_backend, 0, sizeof(double_backend));
    assert_int_equal(bus_init(&f->mmio, "mmio", false), 0);
    virtio_net_init(&f->net, "vnet", mac, &f->mmio, &f->r.dma,
                    (struct irq_line){ .set = set_line, .opaque = f });
    char err[100];
    f->net.backend = net_backend_open("user", NULL, NULL, NULL, err, sizeof(err));
    f->net.rx_resume = on_resume;
    f->net.rx_resume_opaque = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    bus_free(&f->mmio);
    ram_rig_free(&f->r);
    free(f);
    return 0;
}

static void bring_up_net(struct fix *f)
{
    uint64_t feat = vp_device_features(&f->net.vp);
    assert_true(feat & VIRTIO_NET_F_MAC);
    assert_true(feat & VIRTIO_NET_F_STATUS);
    assert_int_equal(vp_bring_up(&f->net.vp, feat), 0x0F);
    struct virtio_pci *vp = &f->net.vp;
    vp_wr(vp, VPCI_Q_SELECT, 2, 1);
    vp_wr(vp, VPCI_Q_SIZE, 2, RIG_QSIZE);
    vp_wr(vp, VPCI_Q_DESCLO, 4, TX_DESC);
    vp_wr(vp, VPCI_Q_AVAILLO, 4, TX_AVAIL);
    vp_wr(vp, VPCI_Q_USEDLO, 4, TX_USED);
    vp_wr(vp, VPCI_Q_ENABLE, 2, 1);
    assert_int_equal(vp_rd(vp, VPCI_Q_ENABLE, 2), 1);
}

static void config_has_mac_and_link(void **state)
{
    struct fix *f = *state;
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(vp_rd(&f->net.vp, VIRTIO_PCI_DEVICE_CFG + i, 1), mac[i]);
    assert_int_equal(vp_rd(&f->net.vp, VIRTIO_PCI_DEVICE_CFG + 6, 2), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(pci_get16(&f->net.vp.pci, PCI_DEVICE_ID), 0x1041);
}

static void transmit_sends_frame_without_header(void **state)
{
    struct fix *f = *state;
    bring_up_net(f);
    uint8_t *d = f->r.ram + TX_DESC;
    /* Header in one descriptor, the frame split over two. */
    uint64_t addr[3] = { 0x10000, 0x11000, 0x12000 };
    uint32_t len[3] = { VIRTIO_NET_HDR_LEN, 10, 50 };
    for (unsigned i = 0; i < 3; i++) {
        uint16_t flags = i < 2 ? VRING_DESC_F_NEXT : 0, next = (uint16_t)(i + 1);
        memcpy(d + 16 * i, &addr[i], 8);
        memcpy(d + 16 * i + 8, &len[i], 4);
        memcpy(d + 16 * i + 12, &flags, 2);
        memcpy(d + 16 * i + 14, &next, 2);
    }
    memset(f->r.ram + 0x11000, 0xAA, 10);
    memset(f->r.ram + 0x12000, 0xBB, 50);
    put16(&f->r, TX_AVAIL + 4, 0);
    put16(&f->r, TX_AVAIL + 2, 1);
    vp_notify(&f->net.vp, 1);
    assert_int_equal(double_backend.sent, 1);
    assert_int_equal(double_backend.last_len, 60);
    assert_int_equal(double_backend.last[0], 0xAA);
    assert_int_equal(double_backend.last[10], 0xBB);
    assert_int_equal(get16(&f->r, TX_USED + 2), 1);
    assert_int_equal(f->line, 1);
}

static void receive_fills_rx_buffer(void **state)
{
    struct fix *f = *state;
    uint8_t frame[64];
    memset(frame, 0x42, sizeof(frame));
    /* Not ready: refused, the backend keeps the frame. */
    assert_false(virtio_net_receive(&f->net, frame, sizeof(frame)));
    bring_up_net(f);
    assert_false(virtio_net_receive(&f->net, frame, sizeof(frame)));   /* no buffers */
    put_desc(&f->r, 0, 0x20000, 1526, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    vp_notify(&f->net.vp, 0);                   /* buffers: ask the backend again */
    assert_int_equal(f->resume_calls, 1);
    assert_true(virtio_net_receive(&f->net, frame, sizeof(frame)));
    assert_int_equal(get16(&f->r, RIG_USED + 2), 1);
    assert_int_equal(get32le(&f->r, RIG_USED + 8), VIRTIO_NET_HDR_LEN + 64);
    assert_int_equal(get16(&f->r, 0x20000 + 10), 1);                    /* num_buffers */
    assert_int_equal(f->r.ram[0x20000 + VIRTIO_NET_HDR_LEN], 0x42);
    assert_int_equal(f->line, 1);
}

static void oversize_frame_is_dropped(void **state)
{
    struct fix *f = *state;
    bring_up_net(f);
    uint8_t frame[200] = { 0 };
    put_desc(&f->r, 0, 0x20000, 100, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    assert_true(virtio_net_receive(&f->net, frame, sizeof(frame)));    /* taken, dropped */
    assert_int_equal(get32le(&f->r, RIG_USED + 8), 0);
}

static void broken_rx_ring_needs_reset(void **state)
{
    struct fix *f = *state;
    bring_up_net(f);
    uint8_t frame[60] = { 0 };
    put_desc(&f->r, 0, RIG_RAM - 10, 100, VRING_DESC_F_WRITE, 0);      /* past RAM */
    offer(&f->r, 0);
    assert_true(virtio_net_receive(&f->net, frame, sizeof(frame)));
    assert_true(vp_rd(&f->net.vp, VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(get16(&f->r, RIG_USED + 2), 0);
    assert_false(virtio_net_receive(&f->net, frame, sizeof(frame)));   /* dead until reset */
}

static void rng_fills_buffers(void **state)
{
    struct fix *f = *state;
    virtio_rng_init(&f->rng, "vrng", &f->mmio, &f->r.dma,
                    (struct irq_line){ .set = set_line, .opaque = f });
    assert_int_equal(pci_get16(&f->rng.vp.pci, PCI_DEVICE_ID), 0x1044);
    assert_int_equal(vp_bring_up(&f->rng.vp, VIRTIO_F_VERSION_1), 0x0F);
    put_desc(&f->r, 0, 0x30000, 64, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    vp_notify(&f->rng.vp, 0);
    assert_int_equal(get16(&f->r, RIG_USED + 2), 1);
    assert_int_equal(get32le(&f->r, RIG_USED + 8), 64);
    static const uint8_t zero[64];
    assert_memory_not_equal(f->r.ram + 0x30000, zero, 64);
    assert_int_equal(f->line, 1);
    /* A huge buffer gets at most one chunk. */
    put_desc(&f->r, 1, 0x40000, 0x10000, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 1);
    vp_notify(&f->rng.vp, 0);
    assert_int_equal(get32le(&f->r, RIG_USED + 16), VIRTIO_RNG_CHUNK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(config_has_mac_and_link),
        T(transmit_sends_frame_without_header),
        T(receive_fills_rx_buffer),
        T(oversize_frame_is_dropped),
        T(broken_rx_ring_needs_reset),
        T(rng_fills_buffers),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

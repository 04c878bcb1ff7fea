/* test_virtio_blk.c - virtio-blk requests end to end on a real image file:
 * IN, OUT, FLUSH, GET_ID, DISCARD, unsupported types, requests outside the
 * image, read-only images, malformed chains; image opening errors.  The
 * host I/O runs on the test thread (block_file_drain with no workers). */
#include "virtio_rig.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/bus.h"
#include "devices/virtio_blk.h"
#include "host/block_file.h"

#define IMAGE_SECTORS 64
#define HDR 0x10000u
#define DATA 0x20000u
#define STATUS 0x30000u

struct fix {
    struct ram_rig r;
    struct bus mmio;
    char path[64];
    struct block_file bf;
    struct virtio_blk blk;
    int line;
};

static void set_line(void *opaque, unsigned irq, int level)
{
    struct fix *f = opaque;
    (void)irq;
    f->line = level;
}

static void make_image(struct fix *f)
{
    snprintf(f->path, sizeof(f->path), "/tmp/morph-test-blk-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    uint8_t sector[512];
    for (unsigned s = 0; s < IMAGE_SECTORS; s++) {
        memset(sector, (int)s, sizeof(sector));
        assert_int_equal(write(fd, sector, sizeof(sector)), sizeof(sector));
    }
    close(fd);
}

static void open_device(struct fix *f, bool readonly)
{
    char err[200];
    assert_int_equal(block_file_open(&f->bf, f->path, readonly, err, sizeof(err)), 0);
    assert_int_equal(virtio_blk_init(&f->blk, "vblk", &f->bf, "morph-test-serial-number-long",
                                     &f->mmio, &f->r.dma,
                                     (struct irq_line){ .set = set_line, .opaque = f },
                                     err, sizeof(err)), 0);
    assert_int_equal(vp_bring_up(&f->blk.vp, vp_device_features(&f->blk.vp)), 0x0F);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    ram_rig_init(&f->r);
    assert_int_equal(bus_init(&f->mmio, "mmio", false), 0);
    make_image(f);
    open_device(f, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    virtio_blk_destroy(&f->blk);
    block_file_close(&f->bf);
    unlink(f->path);
    bus_free(&f->mmio);
    ram_rig_free(&f->r);
    free(f);
    return 0;
}

/* Descriptors 0 header, 1 data (if len), 2 status; runs it to completion.
 * Returns the status byte. */
static uint8_t request(struct fix *f, uint32_t type, uint64_t sector, uint32_t len,
                       bool data_writable)
{
    uint8_t hdr[16] = { 0 };
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    memcpy(f->r.ram + HDR, hdr, 16);
    f->r.ram[STATUS] = 0xEE;
    put_desc(&f->r, 0, HDR, 16, VRING_DESC_F_NEXT, len ? 1 : 2);
    put_desc(&f->r, 1, DATA, len, VRING_DESC_F_NEXT | (data_writable ? VRING_DESC_F_WRITE : 0), 2);
    put_desc(&f->r, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    uint16_t used_before = get16(&f->r, RIG_USED + 2);
    vp_notify(&f->blk.vp, 0);
    block_file_drain(&f->bf);
    virtio_blk_service(&f->blk);
    assert_int_equal(get16(&f->r, RIG_USED + 2), (uint16_t)(used_before + 1));
    return f->r.ram[STATUS];
}

static void read_sectors(void **state)
{
    struct fix *f = *state;
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 5, 1024, true), VIRTIO_BLK_S_OK);
    assert_int_equal(f->r.ram[DATA], 5);
    assert_int_equal(f->r.ram[DATA + 511], 5);
    assert_int_equal(f->r.ram[DATA + 512], 6);
    assert_int_equal(get32le(&f->r, RIG_USED + 8), 1025);  /* data and status */
    assert_int_equal(f->line, 1);
    assert_int_equal(vp_rd(&f->blk.vp, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
    assert_int_equal(f->line, 0);
}

static void write_then_read_back(void **state)
{
    struct fix *f = *state;
    memset(f->r.ram + DATA, 0xA5, 512);
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 63, 512, false), VIRTIO_BLK_S_OK);
    uint8_t b[512];
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(pread(fd, b, 512, 63 * 512), 512);
    close(fd);
    assert_int_equal(b[0], 0xA5);
    assert_int_equal(b[511], 0xA5);
    memset(f->r.ram + DATA, 0, 512);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 63, 512, true), VIRTIO_BLK_S_OK);
    assert_int_equal(f->r.ram[DATA + 100], 0xA5);
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
}

static void outside_the_image_is_ioerr(void **state)
{
    struct fix *f = *state;
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 63, 1024, true), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 64, 512, true), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, UINT64_MAX / 512, 512, false),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 100, true), VIRTIO_BLK_S_IOERR); /* partial */
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 63, 512, true), VIRTIO_BLK_S_OK);  /* the last */
}

static void get_id_and_unsupported(void **state)
{
    struct fix *f = *state;
    assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 20, true), VIRTIO_BLK_S_OK);
    assert_memory_equal(f->r.ram + DATA, "morph-test-serial-nu", 20);
    assert_int_equal(request(f, 99, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(request(f, 13, 0, 0, false), VIRTIO_BLK_S_UNSUPP);   /* write zeroes */
}

static void discard_punches(void **state)
{
    struct fix *f = *state;
    assert_true(vp_device_features(&f->blk.vp) & VIRTIO_BLK_F_DISCARD);
    uint8_t seg[16] = { 0 };
    uint64_t sector = 8;
    uint32_t n = 8;
    memcpy(seg, &sector, 8);
    memcpy(seg + 8, &n, 4);
    memcpy(f->r.ram + DATA, seg, 16);
    assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_OK);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 8, 512, true), VIRTIO_BLK_S_OK);
    assert_int_equal(f->r.ram[DATA + 7], 0);                /* reads back zero */
    sector = 60;                                            /* runs past the end */
    memcpy(f->r.ram + DATA, &sector, 8);
    assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_IOERR);
}

static void config_space(void **state)
{
    struct fix *f = *state;
    uint64_t cap = vp_rd(&f->blk.vp, VIRTIO_PCI_DEVICE_CFG, 4) |
                   vp_rd(&f->blk.vp, VIRTIO_PCI_DEVICE_CFG + 4, 4) << 32;
    assert_int_equal(cap, IMAGE_SECTORS);
    uint32_t seg_max = (uint32_t)vp_rd(&f->blk.vp, VIRTIO_PCI_DEVICE_CFG + 12, 4);
    assert_true(seg_max >= 1 && seg_max <= VIRTIO_BLK_QUEUE_SIZE - 2);
    assert_int_equal(vp_rd(&f->blk.vp, VIRTIO_PCI_DEVICE_CFG + 20, 4), 512);
    uint64_t feat = vp_device_features(&f->blk.vp);
    assert_true(feat & VIRTIO_BLK_F_FLUSH);
    assert_false(feat & VIRTIO_BLK_F_RO);
}

static void readonly_image(void **state)
{
    struct fix *f = *state;
    virtio_blk_destroy(&f->blk);
    block_file_close(&f->bf);
    open_device(f, true);
    uint64_t feat = vp_device_features(&f->blk.vp);
    assert_true(feat & VIRTIO_BLK_F_RO);
    assert_false(feat & VIRTIO_BLK_F_DISCARD);
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 1, 512, false), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 1, 512, true), VIRTIO_BLK_S_OK);
}

static void chain_without_status_byte_needs_reset(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, HDR, 16, 0, 0);                      /* header only */
    offer(&f->r, 0);
    vp_notify(&f->blk.vp, 0);
    assert_true(vp_rd(&f->blk.vp, VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(get16(&f->r, RIG_USED + 2), 0);
    /* A reset brings it back. */
    memset(f->r.ram + RIG_AVAIL, 0, 0x2000);
    assert_int_equal(vp_bring_up(&f->blk.vp, VIRTIO_F_VERSION_1), 0x0F);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
}

static void hostile_rings_need_reset(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, HDR, 16, VRING_DESC_F_NEXT, 1);      /* 0 -> 1 -> 0 ... */
    put_desc(&f->r, 1, STATUS, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    vp_notify(&f->blk.vp, 0);
    assert_true(vp_rd(&f->blk.vp, VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(f->line, 1);                           /* configuration interrupt */
    assert_int_equal(vp_rd(&f->blk.vp, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_CONFIG);
    assert_int_equal(get16(&f->r, RIG_USED + 2), 0);

    memset(f->r.ram + RIG_AVAIL, 0, 0x2000);
    assert_int_equal(vp_bring_up(&f->blk.vp, VIRTIO_F_VERSION_1), 0x0F);
    put16(&f->r, RIG_AVAIL + 2, 1000);                      /* avail idx far ahead */
    vp_notify(&f->blk.vp, 0);
    assert_true(vp_rd(&f->blk.vp, VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);

    memset(f->r.ram + RIG_AVAIL, 0, 0x2000);
    assert_int_equal(vp_bring_up(&f->blk.vp, VIRTIO_F_VERSION_1), 0x0F);
    put_desc(&f->r, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
    put_desc(&f->r, 1, (uint64_t)RIG_RAM + 0x1000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    put_desc(&f->r, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);                                        /* data beyond guest RAM */
    vp_notify(&f->blk.vp, 0);
    assert_true(vp_rd(&f->blk.vp, VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(get16(&f->r, RIG_USED + 2), 0);
}

static void short_header_is_ioerr(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, HDR, 8, VRING_DESC_F_NEXT, 2);
    put_desc(&f->r, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    vp_notify(&f->blk.vp, 0);
    assert_int_equal(f->r.ram[STATUS], VIRTIO_BLK_S_IOERR);
}

static void reset_drops_requests_in_flight(void **state)
{
    struct fix *f = *state;
    uint32_t type = VIRTIO_BLK_T_IN;
    memcpy(f->r.ram + HDR, &type, 4);
    put_desc(&f->r, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
    put_desc(&f->r, 1, DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    put_desc(&f->r, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    vp_notify(&f->blk.vp, 0);                               /* queued on the host */
    vp_wr(&f->blk.vp, VPCI_STATUS, 1, 0);                   /* driver reset */
    block_file_drain(&f->bf);
    virtio_blk_service(&f->blk);
    assert_int_equal(get16(&f->r, RIG_USED + 2), 0);        /* nothing published */
    assert_int_equal(f->line, 0);
}

/* Save finishes what is on the host first: the saved state has the
 * request completed, and restoring it gives the same queue position. */
static void save_completes_in_flight_and_restores(void **state)
{
    struct fix *f = *state;
    uint32_t type = VIRTIO_BLK_T_IN;
    memcpy(f->r.ram + HDR, &type, 4);
    memset(f->r.ram + HDR + 8, 0, 8);
    put_desc(&f->r, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
    put_desc(&f->r, 1, DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    put_desc(&f->r, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    vp_notify(&f->blk.vp, 0);                               /* on the host, not reaped */
    size_t n = virtio_blk_save(&f->blk, NULL, 0);
    uint8_t *blob = malloc(n);
    assert_int_equal(virtio_blk_save(&f->blk, blob, n), n);
    assert_int_equal(get16(&f->r, RIG_USED + 2), 1);        /* completed by the save */
    assert_int_equal(f->r.ram[STATUS], VIRTIO_BLK_S_OK);
    virtio_blk_reset(&f->blk);
    assert_int_equal(vp_rd(&f->blk.vp, VPCI_STATUS, 1), 0);
    assert_int_equal(virtio_blk_restore(&f->blk, blob, n), 0);
    assert_int_equal(vp_rd(&f->blk.vp, VPCI_STATUS, 1), 0x0F);
    assert_int_equal(f->blk.vp.vq[0].s.last_avail, 1);
    assert_int_equal(f->blk.vp.vq[0].s.used_idx, 1);
    assert_int_equal(virtio_blk_restore(&f->blk, blob, n - 2), -1);
    free(blob);
    /* The restored device goes on serving. */
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 2, 512, true), VIRTIO_BLK_S_OK);
    assert_int_equal(f->r.ram[DATA], 2);
}

/* ---- opening images ---- */

static void open_errors(void **state)
{
    struct fix *f = *state;
    struct block_file bf;
    char err[300];
    assert_int_equal(block_file_open(&bf, "/nonexistent/morph.img", false, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/morph.img"));
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(block_file_open(&bf, "/tmp", false, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is a directory"));
    /* The fixture holds the image read-write: another user is refused. */
    assert_int_equal(block_file_open(&bf, f->path, false, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "locked"));
    assert_int_equal(block_file_open(&bf, f->path, true, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "locked"));
    assert_null(strchr(err, '\n'));
}

static void shared_readonly_opens(void **state)
{
    struct fix *f = *state;
    virtio_blk_destroy(&f->blk);
    block_file_close(&f->bf);
    open_device(f, true);
    struct block_file other;
    char err[300];
    assert_int_equal(block_file_open(&other, f->path, true, err, sizeof(err)), 0);
    block_file_close(&other);
}

static void threads_complete_requests(void **state)
{
    struct fix *f = *state;
    char err[200];
    assert_int_equal(block_file_start(&f->bf, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 3, 512, true), VIRTIO_BLK_S_OK);
    assert_int_equal(f->r.ram[DATA + 300], 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(read_sectors),
        T(write_then_read_back),
        T(outside_the_image_is_ioerr),
        T(get_id_and_unsupported),
        T(discard_punches),
        T(config_space),
        T(readonly_image),
        T(chain_without_status_byte_needs_reset),
        T(hostile_rings_need_reset),
        T(short_header_is_ioerr),
        T(reset_drops_requests_in_flight),
        T(save_completes_in_flight_and_restores),
        T(open_errors),
        T(shared_readonly_opens),
        T(threads_complete_requests),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* virtio_blk.h - virtio block device (virtio 1.1 section 5.2) on a raw image.
 *
 * One request queue of VIRTIO_BLK_QUEUE_SIZE.  Offered features: SIZE_MAX,
 * SEG_MAX, BLK_SIZE (512), FLUSH, INDIRECT_DESC, RO for a read-only image,
 * DISCARD for a writable regular file (one range per request, punched with
 * fallocate).
 * Request types IN, OUT, FLUSH, GET_ID and DISCARD; any other gets
 * VIRTIO_BLK_S_UNSUPP.  A request outside the image, with a length that is
 * not whole sectors, or a write to a read-only image gets VIRTIO_BLK_S_IOERR,
 * as does a host I/O error.  A chain with no writable byte for the status
 * (or a broken ring, virtqueue.h) puts the device into NEEDS_RESET.
 *
 * IN/OUT/FLUSH/DISCARD run on the image's host threads (host/block_file.h)
 * straight to and from guest RAM.  Their completion is collected on the
 * vCPU thread by virtio_blk_service (the monitor calls it when the image's
 * notify fires), which writes the status, publishes the used entry and
 * raises the interrupt, all under the device lock.  A driver reset while
 * requests are on the host drops their completions (generation count).
 * Save waits for requests on the host to finish and completes them first,
 * so a saved state has none in flight.
 */
#ifndef MORPH_VIRTIO_BLK_H
#define MORPH_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_pci.h"
#include "host/block_file.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_QUEUE_SIZE 128
#define VIRTIO_BLK_CONFIG_LEN 60
#define VIRTIO_BLK_ID_BYTES 20

#define VIRTIO_BLK_F_SIZE_MAX (1ull << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define VIRTIO_BLK_F_DISCARD (1ull << 13)

enum {
    VIRTIO_BLK_T_IN = 0, VIRTIO_BLK_T_OUT = 1, VIRTIO_BLK_T_FLUSH = 4,
    VIRTIO_BLK_T_GET_ID = 8, VIRTIO_BLK_T_DISCARD = 11,
};
enum { VIRTIO_BLK_S_OK = 0, VIRTIO_BLK_S_IOERR = 1, VIRTIO_BLK_S_UNSUPP = 2 };

struct virtio_blk_req {
    struct virtio_blk *blk;
    bool busy;                      /* popped and not yet completed or dropped */
    uint64_t generation;            /* the device's when popped */
    uint32_t data_written;          /* bytes of data the request puts in the guest */
    struct block_job job;
    struct vq_chain chain;
    struct iovec iov[VQ_MAX_SIZE];
};

struct virtio_blk {
    struct virtio_pci vp;
    struct block_file *file;        /* opened and started by the monitor */
    uint8_t config[VIRTIO_BLK_CONFIG_LEN];
    char serial[VIRTIO_BLK_ID_BYTES];
    uint64_t generation;
    struct virtio_blk_req *req;     /* VIRTIO_BLK_QUEUE_SIZE slots */
};

/* Builds the device over an open image (file outlives it); the caller adds
 * blk->vp.pci to the PCI bus.  `serial` (GET_ID) is cut to 20 bytes.
 * Returns 0, or -1 with a reason in err. */
int virtio_blk_init(struct virtio_blk *blk, const char *name, struct block_file *file,
                    const char *serial, struct bus *mmio, const struct guest_dma *dma,
                    struct irq_line irq, char *err, size_t errlen);
void virtio_blk_destroy(struct virtio_blk *blk);

/* Completes what the host threads finished (vCPU thread, device lock held). */
void virtio_blk_service(struct virtio_blk *blk);

void virtio_blk_reset(void *blk);
size_t virtio_blk_save(void *blk, uint8_t *buf, size_t cap);
int virtio_blk_restore(void *blk, const uint8_t *buf, size_t len);

#endif

/* virtio_blk.c - virtio block device (see virtio_blk.h). */
#include "devices/virtio_blk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512u
#define HEADER_BYTES 16u
#define DISCARD_SEG_BYTES 16u
#define SIZE_MAX_BYTES (1u << 20)
#define MAX_DISCARD_SECTORS (1u << 22)      /* 2 GiB per request */
#define PCI_CLASS_STORAGE_SCSI 0x010000     /* what virtio block devices report */

struct blk_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct discard_seg {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};

static struct virtio_blk *blk_of(struct virtio_pci *vp) { return vp->owner; }

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* ---- completing a request ---- */

/* Writes the status byte (the last writable byte), publishes the chain and
 * frees the slot. */
static void finish(struct virtio_blk_req *r, uint8_t status)
{
    struct virtio_blk *blk = r->blk;
    struct vq_chain *c = &r->chain;
    vq_chain_write(c, blk->vp.vq[0].dma, c->in_len - 1, &status, 1);
    vq_push_chain(&blk->vp.vq[0], c, r->data_written + 1);
    r->busy = false;
    virtio_pci_queue_interrupt(&blk->vp, 0);
}

/* ---- parsing a request ---- */

/* True if [sector, sector + bytes/512) lies inside the image. */
static bool in_image(const struct virtio_blk *blk, uint64_t sector, uint64_t bytes)
{
    uint64_t sectors = blk->file->size / SECTOR;
    return bytes % SECTOR == 0 && sector <= sectors && bytes / SECTOR <= sectors - sector;
}

static void submit(struct virtio_blk_req *r, enum block_op op, uint64_t offset, uint64_t len,
                   int iovcnt)
{
    r->job = (struct block_job){ .op = op, .offset = offset, .len = len, .iov = r->iov,
                                 .iovcnt = iovcnt, .opaque = r };
    block_file_submit(r->blk->file, &r->job);
}

/* Data transfer: IN reads the writable area but its last byte, OUT writes
 * the readable area after the header.  Returns a status, or -1 when
 * submitted. */
static int start_rw(struct virtio_blk_req *r, const struct blk_header *h, bool write)
{
    struct virtio_blk *blk = r->blk;
    const struct vq_chain *c = &r->chain;
    uint64_t len = write ? c->out_len - HEADER_BYTES : c->in_len - 1u;
    if (write && blk->file->readonly)
        return VIRTIO_BLK_S_IOERR;
    if (!in_image(blk, h->sector, len))
        return VIRTIO_BLK_S_IOERR;
    if (len == 0)
        return VIRTIO_BLK_S_OK;
    int n = vq_chain_iov(c, blk->vp.vq[0].dma, !write, write ? HEADER_BYTES : 0, len,
                         r->iov, VQ_MAX_SIZE);
    if (n < 0)
        return VIRTIO_BLK_S_IOERR;
    r->data_written = write ? 0 : (uint32_t)len;
    submit(r, write ? BLOCK_WRITE : BLOCK_READ, h->sector * SECTOR, len, n);
    return -1;
}

static int start_discard(struct virtio_blk_req *r)
{
    struct virtio_blk *blk = r->blk;
    struct discard_seg seg;
    if (!virtio_pci_has_feature(&blk->vp, VIRTIO_BLK_F_DISCARD) || !blk->file->can_discard)
        return VIRTIO_BLK_S_UNSUPP;
    /* One segment (max_discard_seg is 1). */
    if (r->chain.out_len != HEADER_BYTES + DISCARD_SEG_BYTES ||
        vq_chain_read(&r->chain, blk->vp.vq[0].dma, HEADER_BYTES, &seg, sizeof(seg)) !=
            sizeof(seg))
        return VIRTIO_BLK_S_IOERR;
    uint64_t bytes = (uint64_t)seg.num_sectors * SECTOR;
    if (seg.num_sectors > MAX_DISCARD_SECTORS || !in_image(blk, seg.sector, bytes))
        return VIRTIO_BLK_S_IOERR;
    submit(r, BLOCK_DISCARD, seg.sector * SECTOR, bytes, 0);
    return -1;
}

static int get_id(struct virtio_blk_req *r)
{
    struct virtio_blk *blk = r->blk;
    size_t n = r->chain.in_len - 1u;
    if (n > VIRTIO_BLK_ID_BYTES)
        n = VIRTIO_BLK_ID_BYTES;
    vq_chain_write(&r->chain, blk->vp.vq[0].dma, 0, blk->serial, n);
    r->data_written = (uint32_t)n;
    return VIRTIO_BLK_S_OK;
}

/* Starts or answers the request in r->chain.  Returns a status to finish
 * with now, or -1 when it went to the host threads. */
static int start_request(struct virtio_blk_req *r)
{
    struct blk_header h;
    r->data_written = 0;
    if (r->chain.out_len < HEADER_BYTES ||
        vq_chain_read(&r->chain, r->blk->vp.vq[0].dma, 0, &h, sizeof(h)) != sizeof(h))
        return VIRTIO_BLK_S_IOERR;
    switch (h.type) {
    case VIRTIO_BLK_T_IN: return start_rw(r, &h, false);
    case VIRTIO_BLK_T_OUT: return start_rw(r, &h, true);
    case VIRTIO_BLK_T_FLUSH:
        submit(r, BLOCK_FLUSH, 0, 0, 0);
        return -1;
    case VIRTIO_BLK_T_GET_ID: return get_id(r);
    case VIRTIO_BLK_T_DISCARD: return start_discard(r);
    default: return VIRTIO_BLK_S_UNSUPP;
    }
}

static struct virtio_blk_req *free_slot(struct virtio_blk *blk)
{
    for (unsigned i = 0; i < VIRTIO_BLK_QUEUE_SIZE; i++)
        if (!blk->req[i].busy)
            return &blk->req[i];
    return NULL;
}

/* Pops and starts requests while slots are free (a guest that reuses
 * descriptors can have more chains out than the queue has entries: the
 * rest wait for completions). */
static void process_queue(struct virtio_blk *blk)
{
    if (!virtio_pci_queue_live(&blk->vp, 0))
        return;
    struct virtio_blk_req *r;
    while ((r = free_slot(blk))) {
        enum vq_result got = vq_pop(&blk->vp.vq[0], &r->chain);
        if (got == VQ_EMPTY)
            return;
        if (got == VQ_BROKEN || r->chain.in_len == 0) {
            virtio_pci_needs_reset(&blk->vp);   /* no room even for a status */
            return;
        }
        r->busy = true;
        r->generation = blk->generation;
        int status = start_request(r);
        if (status >= 0)
            finish(r, (uint8_t)status);
    }
}

static void blk_notify(struct virtio_pci *vp, unsigned q)
{
    (void)q;
    process_queue(blk_of(vp));
}

void virtio_blk_service(struct virtio_blk *blk)
{
    struct block_job *job;
    bool freed = false;
    while ((job = block_file_reap(blk->file))) {
        struct virtio_blk_req *r = job->opaque;
        freed = true;
        if (r->generation != blk->generation || !virtio_pci_queue_live(&blk->vp, 0)) {
            r->busy = false;            /* the driver reset the device meanwhile */
            continue;
        }
        finish(r, job->result == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
    }
    if (freed)
        process_queue(blk);             /* requests that waited for a slot */
}

/* The driver reset the device: requests on the host are dropped when they
 * come back. */
static void blk_transport_reset(struct virtio_pci *vp)
{
    blk_of(vp)->generation++;
}

static const struct virtio_ops blk_ops = { .reset = blk_transport_reset, .notify = blk_notify };

/* ---- set-up ---- */

static void fill_config(struct virtio_blk *blk)
{
    uint8_t *c = blk->config;
    memset(c, 0, sizeof(blk->config));
    put64(c + 0, blk->file->size / SECTOR);            /* capacity */
    put32(c + 8, SIZE_MAX_BYTES);                       /* size_max */
    put32(c + 12, VIRTIO_BLK_QUEUE_SIZE - 2);           /* seg_max: header and status */
    put32(c + 20, SECTOR);                              /* blk_size */
    put32(c + 36, MAX_DISCARD_SECTORS);                 /* max_discard_sectors */
    put32(c + 40, 1);                                   /* max_discard_seg */
    put32(c + 44, 8);                                   /* discard_sector_alignment: 4 KiB */
}

int virtio_blk_init(struct virtio_blk *blk, const char *name, struct block_file *file,
                    const char *serial, struct bus *mmio, const struct guest_dma *dma,
                    struct irq_line irq, char *err, size_t errlen)
{
    memset(blk, 0, sizeof(*blk));
    blk->file = file;
    blk->req = calloc(VIRTIO_BLK_QUEUE_SIZE, sizeof(*blk->req));
    if (!blk->req) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    for (unsigned i = 0; i < VIRTIO_BLK_QUEUE_SIZE; i++)
        blk->req[i].blk = blk;
    /* NUL-padded, not terminated when 20 bytes long (5.2.6). */
    size_t slen = strlen(serial);
    memcpy(blk->serial, serial, slen < sizeof(blk->serial) ? slen : sizeof(blk->serial));
    fill_config(blk);
    uint64_t features = VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
                        VIRTIO_BLK_F_FLUSH | VIRTIO_F_INDIRECT_DESC;
    if (file->readonly)
        features |= VIRTIO_BLK_F_RO;
    if (file->can_discard)
        features |= VIRTIO_BLK_F_DISCARD;
    struct virtio_pci_config cfg = {
        .name = name, .device_id = VIRTIO_ID_BLOCK, .class_code = PCI_CLASS_STORAGE_SCSI,
        .features = features, .num_queues = 1, .queue_size = VIRTIO_BLK_QUEUE_SIZE,
        .config = blk->config, .config_len = sizeof(blk->config), .ops = &blk_ops,
        .owner = blk,
    };
    virtio_pci_init(&blk->vp, &cfg, mmio, dma, irq);
    return 0;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
    free(blk->req);
    blk->req = NULL;
}

/* ---- lifecycle ---- */

void virtio_blk_reset(void *opaque)
{
    struct virtio_blk *blk = opaque;
    virtio_pci_reset(&blk->vp);
}

/* Nothing may be in flight in a saved state: finish it first. */
static void quiesce(struct virtio_blk *blk)
{
    block_file_drain(blk->file);
    virtio_blk_service(blk);
}

size_t virtio_blk_save(void *opaque, uint8_t *buf, size_t cap)
{
    struct virtio_blk *blk = opaque;
    if (cap)
        quiesce(blk);
    return virtio_pci_save(&blk->vp, buf, cap);
}

int virtio_blk_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_blk *blk = opaque;
    blk->generation++;                  /* what is on the host now is from before */
    quiesce(blk);
    return virtio_pci_restore(&blk->vp, buf, len);
}

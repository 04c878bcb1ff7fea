/* virtqueue.h - split virtqueues (virtio 1.1 section 2.6) over guest RAM.
 *
 * The guest owns the rings; everything read from them is hostile until
 * checked.  vq_pop walks one descriptor chain and checks every index,
 * address, length and `next` it reads: head and next below the queue size,
 * at most `size` descriptors (so a loop ends as "too long"), every buffer
 * inside guest RAM, readable buffers before writable ones, byte sums below
 * 4 GiB, and the avail index never more than `size` ahead of what was
 * consumed.  Indirect descriptors (only when the driver accepted
 * VIRTIO_F_INDIRECT_DESC) get the same checks: a table inside RAM of whole
 * descriptors, at most VQ_MAX_SIZE of them, no NEXT on the indirect
 * descriptor, no indirect inside indirect, at most VQ_MAX_SIZE buffers in
 * all.  A check
 * that fails returns VQ_BROKEN: the transport then marks the device
 * NEEDS_RESET; nothing outside guest RAM is ever read or written.
 *
 * Each descriptor is copied out of guest memory once and the copy is what
 * gets checked and used, so a guest rewriting the table concurrently
 * cannot slip a value past the checks.  The host is little-endian like the
 * rings (virtio 1.x), so fields are copied as they are.
 *
 * Not offered, so not implemented: VIRTIO_F_RING_EVENT_IDX (the guest's
 * VRING_AVAIL_F_NO_INTERRUPT flag is honoured instead), packed rings.
 */
#ifndef MORPH_VIRTQUEUE_H
#define MORPH_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/guest_dma.h"

#define VQ_MAX_SIZE 256

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VIRTIO_F_INDIRECT_DESC (1ull << 28)

/* Guest-programmed state of one queue: what save/restore copies. */
struct vq_state {
    uint64_t desc, avail, used;     /* guest-physical ring addresses */
    uint16_t size;                  /* queue_size as the driver set it */
    uint16_t enabled;               /* queue_enable */
    uint16_t last_avail;            /* avail entries consumed (free-running) */
    uint16_t used_idx;              /* used entries published (free-running) */
};

struct virtqueue {
    struct vq_state s;
    uint16_t max_size;              /* the device's maximum (a power of two) */
    bool indirect;                  /* VIRTIO_F_INDIRECT_DESC negotiated (set at enable) */
    const struct guest_dma *dma;
};

/* One buffer of a chain: guest-physical and checked to be in RAM. */
struct vq_buf {
    uint64_t gpa;
    uint32_t len;
};

/* A popped chain: `nout` device-readable buffers, then `nin` writable ones. */
struct vq_chain {
    uint16_t head;
    unsigned nout, nin;
    uint32_t out_len, in_len;       /* byte sums */
    struct vq_buf buf[VQ_MAX_SIZE];
};

enum vq_result { VQ_BROKEN = -1, VQ_EMPTY = 0, VQ_OK = 1 };

/* Sets the power-on values: size max_size, not enabled, no rings. */
void vq_init(struct virtqueue *vq, uint16_t max_size, const struct guest_dma *dma);
void vq_reset(struct virtqueue *vq);

/* Whether the layout the driver programmed is usable: size a power of two
 * up to max_size, rings aligned (16/2/4) and inside guest RAM.  Called
 * when the driver enables the queue. */
bool vq_layout_ok(const struct virtqueue *vq);

/* The next available chain into *c.  VQ_EMPTY: nothing new; VQ_BROKEN:
 * the guest broke the rules (c is then unusable). */
enum vq_result vq_pop(struct virtqueue *vq, struct vq_chain *c);

/* Publishes a used element for chain head `head` with `written` bytes.
 * Returns false if the queue is not usable. */
bool vq_push(struct virtqueue *vq, uint16_t head, uint32_t written);

/* Publishes c with used length `written`, after noting all its writable
 * buffers as written by the device (guest_dma.h `written`: a device may
 * write more than it reports, e.g. a status byte after short data). */
bool vq_push_chain(struct virtqueue *vq, const struct vq_chain *c, uint32_t written);

/* False while the driver asks not to be interrupted for this queue. */
bool vq_wants_interrupt(const struct virtqueue *vq);

/* Copies up to len bytes from the chain's readable buffers starting at
 * byte `offset` of their concatenation; returns the bytes copied. */
size_t vq_chain_read(const struct vq_chain *c, const struct guest_dma *dma, size_t offset,
                     void *buf, size_t len);
/* Copies up to len bytes into the writable buffers at byte `offset` of their
 * concatenation (not noted as written: vq_push_chain does); returns the
 * bytes copied. */
size_t vq_chain_write(const struct vq_chain *c, const struct guest_dma *dma, size_t offset,
                      const void *buf, size_t len);
/* Host iovecs for `len` bytes of the readable (in == false) or writable
 * buffers from byte `offset`; at most max entries.  Returns the count, or
 * -1 if the buffers hold fewer bytes or max is too small. */
int vq_chain_iov(const struct vq_chain *c, const struct guest_dma *dma, bool in,
                 size_t offset, size_t len, struct iovec *iov, int max);

#endif

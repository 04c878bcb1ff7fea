/* virtqueue.c - split virtqueues with every guest value checked (see virtqueue.h). */
#include "devices/virtqueue.h"

#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x rings are little-endian");

/* Ring layouts (virtio 1.1 2.6): descriptor 16 bytes; avail: flags, idx,
 * ring[size] (2 bytes each); used: flags, idx, ring[size] of {id, len}. */
#define DESC_BYTES 16u
#define AVAIL_RING 4u
#define USED_RING 4u
#define USED_ELEM_BYTES 8u

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

void vq_init(struct virtqueue *vq, uint16_t max_size, const struct guest_dma *dma)
{
    vq->max_size = max_size;
    vq->dma = dma;
    vq_reset(vq);
}

void vq_reset(struct virtqueue *vq)
{
    memset(&vq->s, 0, sizeof(vq->s));
    vq->s.size = vq->max_size;
}

static uint64_t avail_bytes(uint16_t size) { return AVAIL_RING + 2ull * size + 2; }
static uint64_t used_bytes(uint16_t size) { return USED_RING + USED_ELEM_BYTES * size + 2; }

bool vq_layout_ok(const struct virtqueue *vq)
{
    const struct vq_state *s = &vq->s;
    if (s->size == 0 || s->size > vq->max_size || (s->size & (s->size - 1)))
        return false;
    if ((s->desc & 15) || (s->avail & 1) || (s->used & 3))
        return false;
    return dma_range_ok(vq->dma, s->desc, (uint64_t)DESC_BYTES * s->size) &&
           dma_range_ok(vq->dma, s->avail, avail_bytes(s->size)) &&
           dma_range_ok(vq->dma, s->used, used_bytes(s->size));
}

/* Ring fields the guest writes concurrently are read atomically, and the
 * avail index with acquire so entries it covers are read after it. */
static uint16_t load16(const struct virtqueue *vq, uint64_t gpa, int order)
{
    const uint16_t *p = (const uint16_t *)dma_ptr(vq->dma, gpa, 2);
    return __atomic_load_n(p, order);
}

/* Descriptor i of the table at gpa (the ring's, or an indirect one). */
static bool read_desc(const struct virtqueue *vq, uint64_t table, uint16_t i,
                      struct vring_desc *d)
{
    return dma_read(vq->dma, table + (uint64_t)i * DESC_BYTES, d, sizeof(*d));
}

/* Appends one checked buffer to the chain. */
static enum vq_result add_buf(const struct virtqueue *vq, struct vq_chain *c,
                              const struct vring_desc *d, uint64_t sum[2])
{
    unsigned n = c->nout + c->nin;
    if (n >= VQ_MAX_SIZE || !dma_range_ok(vq->dma, d->addr, d->len))
        return VQ_BROKEN;
    bool writable = d->flags & VRING_DESC_F_WRITE;
    if (!writable && c->nin)
        return VQ_BROKEN;               /* readable after writable (2.6.4.2) */
    sum[writable] += d->len;
    if (sum[writable] > UINT32_MAX)
        return VQ_BROKEN;
    if (writable)
        c->nin++;
    else
        c->nout++;
    c->buf[n] = (struct vq_buf){ .gpa = d->addr, .len = d->len };
    return VQ_OK;
}

/* Follows `next` through a table of `count` descriptors from index `first`.
 * At most `count` steps, so a loop ends as broken.  An indirect descriptor
 * (only if negotiated, only in the ring's table, never with NEXT: 2.6.5.3)
 * continues the chain in its own table from entry 0. */
static enum vq_result walk_table(const struct virtqueue *vq, uint64_t table, unsigned count,
                                 uint16_t first, bool in_indirect, struct vq_chain *c,
                                 uint64_t sum[2])
{
    uint16_t i = first;
    for (unsigned steps = 0;; steps++) {
        struct vring_desc d;
        if (i >= count || steps >= count || !read_desc(vq, table, i, &d))
            return VQ_BROKEN;           /* out of range, or a loop */
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (!vq->indirect || in_indirect || (d.flags & VRING_DESC_F_NEXT) ||
                d.len == 0 || d.len % DESC_BYTES || d.len / DESC_BYTES > VQ_MAX_SIZE ||
                !dma_range_ok(vq->dma, d.addr, d.len))
                return VQ_BROKEN;
            return walk_table(vq, d.addr, d.len / DESC_BYTES, 0, true, c, sum);
        }
        if (add_buf(vq, c, &d, sum) != VQ_OK)
            return VQ_BROKEN;
        if (!(d.flags & VRING_DESC_F_NEXT))
            return VQ_OK;
        i = d.next;
    }
}

/* Walks the chain from head, checking as it goes. */
static enum vq_result walk_chain(const struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
    uint64_t sum[2] = { 0, 0 };         /* readable, writable bytes */
    c->head = head;
    c->nout = c->nin = 0;
    if (walk_table(vq, vq->s.desc, vq->s.size, head, false, c, sum) != VQ_OK)
        return VQ_BROKEN;
    c->out_len = (uint32_t)sum[0];
    c->in_len = (uint32_t)sum[1];
    return VQ_OK;
}

enum vq_result vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
    struct vq_state *s = &vq->s;
    if (!s->enabled)
        return VQ_EMPTY;
    uint16_t avail_idx = load16(vq, s->avail + 2, __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(avail_idx - s->last_avail);
    if (pending == 0)
        return VQ_EMPTY;
    if (pending > s->size)
        return VQ_BROKEN;               /* the index jumped past the ring */
    uint16_t slot = s->last_avail & (uint16_t)(s->size - 1);
    uint16_t head = load16(vq, s->avail + AVAIL_RING + 2ull * slot, __ATOMIC_RELAXED);
    enum vq_result r = walk_chain(vq, head, c);
    if (r == VQ_OK)
        s->last_avail++;
    return r;
}

bool vq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
    struct vq_state *s = &vq->s;
    if (!s->enabled)
        return false;
    uint16_t slot = s->used_idx & (uint16_t)(s->size - 1);
    uint64_t elem = s->used + USED_RING + (uint64_t)USED_ELEM_BYTES * slot;
    uint32_t e[2] = { head, written };
    if (!dma_write(vq->dma, elem, e, sizeof(e)))
        return false;
    s->used_idx++;
    uint16_t *idx = (uint16_t *)dma_ptr(vq->dma, s->used + 2, 2);
    /* The element is visible before the index that covers it. */
    __atomic_store_n(idx, s->used_idx, __ATOMIC_RELEASE);
    dma_note_written(vq->dma, s->used + 2, 2);
    return true;
}

bool vq_push_chain(struct virtqueue *vq, const struct vq_chain *c, uint32_t written)
{
    for (unsigned k = c->nout; k < c->nout + c->nin; k++)
        dma_note_written(vq->dma, c->buf[k].gpa, c->buf[k].len);
    return vq_push(vq, c->head, written);
}

bool vq_wants_interrupt(const struct virtqueue *vq)
{
    if (!vq->s.enabled)
        return false;
    /* Order our used index store before reading the driver's flags. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return !(load16(vq, vq->s.avail, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
}

/* Visits the bytes [offset, offset+len) of the readable or writable buffers. */
typedef void (*span_fn)(void *ctx, uint8_t *host, size_t done, size_t n);

static size_t chain_spans(const struct vq_chain *c, const struct guest_dma *dma, bool in,
                          size_t offset, size_t len, span_fn fn, void *ctx)
{
    unsigned first = in ? c->nout : 0, end = in ? c->nout + c->nin : c->nout;
    size_t done = 0;
    for (unsigned k = first; k < end && done < len; k++) {
        size_t blen = c->buf[k].len;
        if (offset >= blen) {
            offset -= blen;
            continue;
        }
        size_t n = blen - offset;
        if (n > len - done)
            n = len - done;
        uint8_t *host = dma_ptr(dma, c->buf[k].gpa + offset, n);
        if (!host)
            break;                      /* checked at pop; RAM never shrinks */
        fn(ctx, host, done, n);
        done += n;
        offset = 0;
    }
    return done;
}

static void copy_out(void *ctx, uint8_t *host, size_t done, size_t n)
{
    memcpy((uint8_t *)ctx + done, host, n);
}

static void copy_in(void *ctx, uint8_t *host, size_t done, size_t n)
{
    memcpy(host, (const uint8_t *)ctx + done, n);
}

size_t vq_chain_read(const struct vq_chain *c, const struct guest_dma *dma, size_t offset,
                     void *buf, size_t len)
{
    return chain_spans(c, dma, false, offset, len, copy_out, buf);
}

size_t vq_chain_write(const struct vq_chain *c, const struct guest_dma *dma, size_t offset,
                      const void *buf, size_t len)
{
    return chain_spans(c, dma, true, offset, len, copy_in, (void *)buf);
}

struct iov_ctx {
    struct iovec *iov;
    int max, n;
    bool overflow;
};

static void add_iov(void *ctx, uint8_t *host, size_t done, size_t n)
{
    struct iov_ctx *x = ctx;
    (void)done;
    if (x->n == x->max) {
        x->overflow = true;
        return;
    }
    x->iov[x->n++] = (struct iovec){ .iov_base = host, .iov_len = n };
}

int vq_chain_iov(const struct vq_chain *c, const struct guest_dma *dma, bool in,
                 size_t offset, size_t len, struct iovec *iov, int max)
{
    struct iov_ctx x = { .iov = iov, .max = max };
    size_t got = chain_spans(c, dma, in, offset, len, add_iov, &x);
    if (got != len || x.overflow)
        return -1;
    return x.n;
}

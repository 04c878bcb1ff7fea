/* net_queue.c - frames from the vCPU thread to the event loop (net_queue.h). */
#include "host/net_queue.h"

#include <stdlib.h>
#include <string.h>

void net_queue_init(struct net_queue *q, size_t limit_bytes)
{
    pthread_mutex_init(&q->lock, NULL);
    q->head = NULL;
    q->tail = &q->head;
    q->bytes = 0;
    q->limit = limit_bytes;
    q->dropped = 0;
}

void net_queue_destroy(struct net_queue *q)
{
    struct net_frame *f = net_queue_take_all(q);
    while (f) {
        struct net_frame *next = f->next;
        free(f);
        f = next;
    }
    pthread_mutex_destroy(&q->lock);
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++)
        n += iov[i].iov_len;
    return n;
}

static struct net_frame *frame_from_iov(const struct iovec *iov, int iovcnt, size_t len)
{
    struct net_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return NULL;
    f->next = NULL;
    f->len = len;
    size_t at = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len)
            memcpy(f->data + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    return f;
}

bool net_queue_push(struct net_queue *q, const struct iovec *iov, int iovcnt, bool *was_empty)
{
    *was_empty = false;
    size_t len = iov_total(iov, iovcnt);
    struct net_frame *f = len && len <= NET_FRAME_MAX ? frame_from_iov(iov, iovcnt, len) : NULL;
    pthread_mutex_lock(&q->lock);
    bool ok = f && q->bytes + len <= q->limit;
    if (ok) {
        *was_empty = q->head == NULL;
        *q->tail = f;
        q->tail = &f->next;
        q->bytes += len;
    } else {
        q->dropped++;
    }
    pthread_mutex_unlock(&q->lock);
    if (!ok)
        free(f);
    return ok;
}

struct net_frame *net_queue_take_all(struct net_queue *q)
{
    pthread_mutex_lock(&q->lock);
    struct net_frame *f = q->head;
    q->head = NULL;
    q->tail = &q->head;
    q->bytes = 0;
    pthread_mutex_unlock(&q->lock);
    return f;
}

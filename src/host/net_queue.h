/* net_queue.h - a bounded queue of frames handed from any thread to the
 * event-loop thread (the guest's transmit path into libslirp, which must
 * only ever be called on the loop thread). */
#ifndef MORPH_HOST_NET_QUEUE_H
#define MORPH_HOST_NET_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Largest frame accepted: a 64 KiB segment (GSO) and its Ethernet header. */
#define NET_FRAME_MAX (65536 + 14)

struct net_frame {
    struct net_frame *next;
    size_t len;
    uint8_t data[];
};

struct net_queue {
    pthread_mutex_t lock;
    struct net_frame *head, **tail;
    size_t bytes, limit;
    uint64_t dropped;
};

void net_queue_init(struct net_queue *q, size_t limit_bytes);
void net_queue_destroy(struct net_queue *q);
/* Copies the gathered frame in.  Returns false (and drops it) when it is
 * empty, too large or the queue is full; *was_empty tells the caller
 * whether the consumer needs a wake-up. */
bool net_queue_push(struct net_queue *q, const struct iovec *iov, int iovcnt, bool *was_empty);
/* Takes every queued frame (a list to free with free()), or NULL. */
struct net_frame *net_queue_take_all(struct net_queue *q);

#endif

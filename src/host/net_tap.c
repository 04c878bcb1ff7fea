/* net_tap.c - TAP backend (see net_tap.h). */
#include "host/net_tap.h"

#include "host/event_loop.h"
#include "host/net_backend_priv.h"
#include "host/net_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define TAP_READS_PER_WAKE 64   /* then let the loop serve others */

struct net_tap {
    struct net_backend base;
    int fd;
    struct event_loop *loop;
    net_rx_fn rx;
    void *opaque;
    uint8_t frame[NET_FRAME_MAX];
    size_t held;                /* length of a refused frame kept in frame[] */
    atomic_bool resume;         /* the device has room again */
};

/* Offers the held frame again; true when it went (or there was none). */
static bool deliver_held(struct net_tap *t)
{
    if (!t->held)
        return true;
    if (!t->rx(t->opaque, t->frame, t->held))
        return false;
    t->held = 0;
    return true;
}

static void on_tap_readable(void *opaque, int fd)
{
    struct net_tap *t = opaque;
    for (int i = 0; i < TAP_READS_PER_WAKE; i++) {
        ssize_t n = read(fd, t->frame, sizeof(t->frame));
        if (n <= 0)
            return;   /* EAGAIN, or the interface went down */
        t->held = (size_t)n;
        if (!deliver_held(t)) {
            event_loop_enable_fd(t->loop, fd, false);
            return;
        }
    }
}

static int tap_prepare(void *opaque)
{
    struct net_tap *t = opaque;
    if (atomic_exchange(&t->resume, false) && t->held && deliver_held(t))
        event_loop_enable_fd(t->loop, t->fd, true);
    return -1;
}

static void tap_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    struct net_tap *t = (struct net_tap *)nb;
    ssize_t r = writev(t->fd, iov, iovcnt);
    (void)r;   /* EAGAIN (queue full) or a down interface: the frame is lost */
}

static void tap_rx_resume(struct net_backend *nb)
{
    struct net_tap *t = (struct net_tap *)nb;
    atomic_store(&t->resume, true);
    event_loop_wake(t->loop);
}

static void tap_close(struct net_backend *nb)
{
    struct net_tap *t = (struct net_tap *)nb;
    event_loop_remove_prepare(t->loop, tap_prepare, t);
    if (t->fd >= 0) {
        event_loop_remove_fd(t->loop, t->fd);
        close(t->fd);
    }
    free(t);
}

static const struct net_backend_ops tap_ops = {
    .send = tap_send,
    .rx_resume = tap_rx_resume,
    .close = tap_close,
};

static int tap_attach(const char *ifname, char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "--net tap: cannot open /dev/net/tun: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "--net tap: cannot attach to %s: %s%s", ifname, strerror(errno),
                 errno == EPERM ? " (create it for this user: ip tuntap add NAME mode tap user USER)"
                                : "");
        close(fd);
        return -1;
    }
    return fd;
}

struct net_backend *net_tap_open(const char *ifname, struct event_loop *loop,
                                 net_rx_fn rx, void *opaque, char *err, size_t errlen)
{
    struct net_tap *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->base.ops = &tap_ops;
    t->loop = loop;
    t->rx = rx;
    t->opaque = opaque;
    atomic_init(&t->resume, false);
    t->fd = tap_attach(ifname, err, errlen);
    if (t->fd < 0) {
        free(t);
        return NULL;
    }
    if (event_loop_add_fd(loop, t->fd, on_tap_readable, t) < 0 ||
        event_loop_add_prepare(loop, tap_prepare, t) < 0) {
        snprintf(err, errlen, "--net tap: cannot watch %s: %s", ifname, strerror(errno));
        tap_close(&t->base);
        return NULL;
    }
    return &t->base;
}

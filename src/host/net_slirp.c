/* net_slirp.c - user networking through libslirp (see net_slirp.h).
 *
 * One loop iteration, all on the event-loop thread (the prepare hook):
 *   1. if slirp's fds were handed out last time, read which are ready from
 *      the private epoll set and let slirp serve them (slirp_pollfds_poll,
 *      which also runs its TCP timers);
 *   2. fire slirp's expired timers;
 *   3. feed the frames the guest queued (slirp_input);
 *   4. ask slirp which fds to watch and for how long it may sleep
 *      (slirp_pollfds_fill), mirror that into the private epoll set.
 * The private epoll fd is itself one fd of the event loop: any slirp socket
 * becoming ready wakes the loop, which runs the hook again.
 */
#include "host/net_slirp.h"

#include "host/event_loop.h"
#include "host/net_backend_priv.h"
#include "host/net_queue.h"

#include <errno.h>
#include <libslirp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define TXQ_LIMIT (4u << 20)   /* guest frames waiting for the loop */

struct slirp_timer {
    struct slirp_timer *next;
    SlirpTimerCb cb;            /* timer_new style, or NULL: by id */
    SlirpTimerId id;
    void *cb_opaque;
    int64_t expire_ms;          /* -1: not armed */
};

struct slirp_pollfd {
    int fd;
    int events, revents;        /* SLIRP_POLL_* */
};

struct net_slirp {
    struct net_backend base;
    Slirp *slirp;
    struct event_loop *loop;
    net_rx_fn rx;
    void *opaque;
    struct net_queue txq;
    int epfd;                   /* slirp's sockets */
    struct slirp_pollfd *polls; /* this round's, by slirp's index */
    int npolls, cap;
    struct slirp_pollfd *prev;  /* the round before (its fds may be gone) */
    int nprev, prev_cap;
    bool filled;                /* polls are valid for slirp_pollfds_poll */
    struct slirp_timer *timers;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---------------------------------------------------------------- callbacks */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_slirp *ns = opaque;
    ns->rx(ns->opaque, buf, len);   /* no room: dropped, TCP retransmits */
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    (void)msg;
    (void)opaque;   /* the guest's own business; nothing for the user to fix */
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return now_ns();
}

static struct slirp_timer *timer_add(struct net_slirp *ns, SlirpTimerCb cb, SlirpTimerId id,
                                     void *cb_opaque)
{
    struct slirp_timer *t = calloc(1, sizeof(*t));
    if (!t)
        abort();   /* libslirp itself aborts on allocation failure */
    *t = (struct slirp_timer){ .next = ns->timers, .cb = cb, .id = id,
                               .cb_opaque = cb_opaque, .expire_ms = -1 };
    ns->timers = t;
    return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, cb, SLIRP_TIMER_NUM, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, NULL, id, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct net_slirp *ns = opaque;
    for (struct slirp_timer **p = &ns->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = ((struct slirp_timer *)timer)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    (void)opaque;
    ((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

static void cb_poll_fd_ignored(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;   /* fds are handed out every round by slirp_pollfds_fill */
}

static void cb_notify(void *opaque)
{
    (void)opaque;   /* only called on the loop thread, which refills next */
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_poll_fd_ignored,
    .unregister_poll_fd = cb_poll_fd_ignored,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---------------------------------------------------------------- polling */

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *ns = opaque;
    if (ns->npolls == ns->cap) {
        int cap = ns->cap ? ns->cap * 2 : 16;
        struct slirp_pollfd *p = realloc(ns->polls, (size_t)cap * sizeof(*p));
        if (!p)
            abort();
        ns->polls = p;
        ns->cap = cap;
    }
    ns->polls[ns->npolls] = (struct slirp_pollfd){ .fd = fd, .events = events };
    return ns->npolls++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct net_slirp *ns = opaque;
    return idx >= 0 && idx < ns->npolls ? ns->polls[idx].revents : 0;
}

static uint32_t to_epoll(int ev)
{
    return (ev & SLIRP_POLL_IN ? EPOLLIN : 0) | (ev & SLIRP_POLL_OUT ? EPOLLOUT : 0) |
           (ev & SLIRP_POLL_PRI ? EPOLLPRI : 0);
}

static int from_epoll(uint32_t ev)
{
    return (ev & EPOLLIN ? SLIRP_POLL_IN : 0) | (ev & EPOLLOUT ? SLIRP_POLL_OUT : 0) |
           (ev & EPOLLPRI ? SLIRP_POLL_PRI : 0) | (ev & EPOLLERR ? SLIRP_POLL_ERR : 0) |
           (ev & EPOLLHUP ? SLIRP_POLL_HUP : 0);
}

/* Mirrors this round's fds into the epoll set.  MOD every time (its data
 * is the round's index); ENOENT means slirp closed the fd since (epoll
 * forgot it) and the number is new: ADD.  Fds of the last round that are
 * gone are deleted (an error just means they were closed). */
static void sync_epoll(struct net_slirp *ns, const struct slirp_pollfd *old, int nold)
{
    for (int i = 0; i < ns->npolls; i++) {
        struct epoll_event ev = { .events = to_epoll(ns->polls[i].events), .data.u64 = (uint64_t)i };
        if (epoll_ctl(ns->epfd, EPOLL_CTL_MOD, ns->polls[i].fd, &ev) < 0 && errno == ENOENT)
            epoll_ctl(ns->epfd, EPOLL_CTL_ADD, ns->polls[i].fd, &ev);
    }
    for (int j = 0; j < nold; j++) {
        bool kept = false;
        for (int i = 0; i < ns->npolls && !kept; i++)
            kept = ns->polls[i].fd == old[j].fd;
        if (!kept)
            epoll_ctl(ns->epfd, EPOLL_CTL_DEL, old[j].fd, NULL);
    }
}

static void serve_fds(struct net_slirp *ns)
{
    struct epoll_event ev[64];
    for (int i = 0; i < ns->npolls; i++)
        ns->polls[i].revents = 0;
    int n = epoll_wait(ns->epfd, ev, 64, 0);
    for (int i = 0; i < n; i++) {
        uint64_t idx = ev[i].data.u64;
        if (idx < (uint64_t)ns->npolls)
            ns->polls[idx].revents = from_epoll(ev[i].events);
    }
    slirp_pollfds_poll(ns->slirp, n < 0, cb_get_revents, ns);
}

/* Fires expired timers; returns ms until the next one (-1: none). */
static int64_t run_timers(struct net_slirp *ns)
{
    int64_t now = now_ns() / 1000000;
    for (;;) {
        struct slirp_timer *due = NULL;
        int64_t next = -1;
        for (struct slirp_timer *t = ns->timers; t; t = t->next) {
            if (t->expire_ms < 0)
                continue;
            if (t->expire_ms <= now) {
                due = t;
                break;
            }
            if (next < 0 || t->expire_ms - now < next)
                next = t->expire_ms - now;
        }
        if (!due)
            return next;
        due->expire_ms = -1;   /* the callback may re-arm or free it */
        if (due->cb)
            due->cb(due->cb_opaque);
        else
            slirp_handle_timer(ns->slirp, due->id, due->cb_opaque);
    }
}

static void feed_guest_frames(struct net_slirp *ns)
{
    struct net_frame *f = net_queue_take_all(&ns->txq);
    while (f) {
        struct net_frame *next = f->next;
        slirp_input(ns->slirp, f->data, (int)f->len);
        free(f);
        f = next;
    }
}

/* This round's table becomes the previous one; the new one starts empty. */
static void swap_rounds(struct net_slirp *ns)
{
    struct slirp_pollfd *p = ns->prev;
    int cap = ns->prev_cap;
    ns->prev = ns->polls;
    ns->prev_cap = ns->cap;
    ns->nprev = ns->npolls;
    ns->polls = p;
    ns->cap = cap;
    ns->npolls = 0;
}

static int slirp_prepare(void *opaque)
{
    struct net_slirp *ns = opaque;
    if (ns->filled)
        serve_fds(ns);
    int64_t next = run_timers(ns);
    feed_guest_frames(ns);

    swap_rounds(ns);
    uint32_t timeout = next >= 0 && next < INT32_MAX ? (uint32_t)next : UINT32_MAX;
    slirp_pollfds_fill(ns->slirp, &timeout, cb_add_poll, ns);
    sync_epoll(ns, ns->prev, ns->nprev);
    ns->filled = true;
    return timeout > INT32_MAX ? -1 : (int)timeout;
}

static void on_slirp_fds(void *opaque, int fd)
{
    (void)opaque;
    (void)fd;   /* the prepare hook, run after this wake-up, serves them */
}

/* ---------------------------------------------------------------- backend */

static void slirp_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    struct net_slirp *ns = (struct net_slirp *)nb;
    bool was_empty;
    if (net_queue_push(&ns->txq, iov, iovcnt, &was_empty) && was_empty)
        event_loop_wake(ns->loop);
}

static void slirp_rx_resume(struct net_backend *nb)
{
    (void)nb;   /* frames the device refused were dropped */
}

static void slirp_close(struct net_backend *nb)
{
    struct net_slirp *ns = (struct net_slirp *)nb;
    event_loop_remove_prepare(ns->loop, slirp_prepare, ns);
    if (ns->epfd >= 0) {
        event_loop_remove_fd(ns->loop, ns->epfd);
        close(ns->epfd);
    }
    if (ns->slirp)
        slirp_cleanup(ns->slirp);   /* frees its timers through cb_timer_free */
    while (ns->timers)
        cb_timer_free(ns->timers, ns);
    net_queue_destroy(&ns->txq);
    free(ns->polls);
    free(ns->prev);
    free(ns);
}

static const struct net_backend_ops slirp_ops = {
    .send = slirp_send,
    .rx_resume = slirp_rx_resume,
    .close = slirp_close,
};

static Slirp *new_slirp(struct net_slirp *ns)
{
    SlirpConfig cfg = { .version = 4, .in_enabled = true, .if_mtu = 1500, .if_mru = 1500 };
    inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
    inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
    return slirp_new(&cfg, &slirp_callbacks, ns);
}

static int add_hostfwds(struct net_slirp *ns, const struct net_spec *spec, char *err, size_t errlen)
{
    for (int i = 0; i < spec->nhostfwd; i++) {
        const struct net_hostfwd *f = &spec->hostfwd[i];
        errno = 0;
        if (slirp_add_hostfwd(ns->slirp, f->udp, f->host_addr, f->host_port,
                              f->guest_addr, f->guest_port) < 0) {
            char name[64];
            net_hostfwd_name(f, name, sizeof(name));
            snprintf(err, errlen, "--net user: hostfwd: cannot listen on %s: %s", name,
                     errno == EADDRINUSE ? "port already in use"
                     : errno ? strerror(errno) : "refused by libslirp");
            return -1;
        }
    }
    return 0;
}

struct net_backend *net_slirp_open(const struct net_spec *spec, struct event_loop *loop,
                                   net_rx_fn rx, void *opaque, char *err, size_t errlen)
{
    struct net_slirp *ns = calloc(1, sizeof(*ns));
    if (!ns) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ns->base.ops = &slirp_ops;
    ns->loop = loop;
    ns->rx = rx;
    ns->opaque = opaque;
    net_queue_init(&ns->txq, TXQ_LIMIT);
    ns->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ns->epfd < 0 || event_loop_add_fd(loop, ns->epfd, on_slirp_fds, ns) < 0) {
        snprintf(err, errlen, "--net user: cannot watch its sockets: %s", strerror(errno));
        goto fail;
    }
    if (event_loop_add_prepare(loop, slirp_prepare, ns) < 0) {
        snprintf(err, errlen, "--net user: too many event-loop hooks");
        goto fail;
    }
    ns->slirp = new_slirp(ns);
    if (!ns->slirp) {
        snprintf(err, errlen, "--net user: libslirp could not start");
        goto fail;
    }
    if (add_hostfwds(ns, spec, err, errlen) < 0)
        goto fail;
    return &ns->base;
fail:
    slirp_close(&ns->base);
    return NULL;
}

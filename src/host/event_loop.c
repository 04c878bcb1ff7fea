/* event_loop.c - epoll + eventfd thread (see event_loop.h). */
#include "host/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EL_MAX_FDS 8
#define EL_MAX_PREPARE 4

struct el_watch {
    int fd;
    event_loop_fd_fn fn;
    void *opaque;
};

struct el_prepare {
    event_loop_prepare_fn fn;
    void *opaque;
};

struct event_loop {
    int epfd, wakefd;
    event_loop_tick_fn tick;
    void *tick_opaque;
    struct el_watch watch[EL_MAX_FDS];
    unsigned nwatch;
    struct el_prepare prepare[EL_MAX_PREPARE];
    pthread_t thread;
    bool running;
    atomic_bool stop;
};

/* epoll data for the loop's own fds; watched fds use their index. */
#define TAG_WAKE   (EL_MAX_FDS + 1)

static int epoll_add(int epfd, int fd, uint64_t tag)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct event_loop *event_loop_create(event_loop_tick_fn tick, void *opaque,
                                     char *err, size_t errlen)
{
    struct event_loop *el = calloc(1, sizeof(*el));
    if (!el) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    el->tick = tick;
    el->tick_opaque = opaque;
    el->epfd = epoll_create1(EPOLL_CLOEXEC);
    el->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (el->epfd < 0 || el->wakefd < 0 ||
        epoll_add(el->epfd, el->wakefd, TAG_WAKE) < 0) {
        snprintf(err, errlen, "cannot create the event loop: %s", strerror(errno));
        event_loop_destroy(el);
        return NULL;
    }
    return el;
}

void event_loop_destroy(struct event_loop *el)
{
    if (!el)
        return;
    event_loop_stop(el);
    if (el->epfd >= 0)
        close(el->epfd);
    if (el->wakefd >= 0)
        close(el->wakefd);
    free(el);
}

int event_loop_add_fd(struct event_loop *el, int fd, event_loop_fd_fn fn, void *opaque)
{
    if (el->nwatch == EL_MAX_FDS) {
        errno = ENOSPC;
        return -1;
    }
    if (epoll_add(el->epfd, fd, el->nwatch) < 0)
        return -1;
    el->watch[el->nwatch++] = (struct el_watch){ .fd = fd, .fn = fn, .opaque = opaque };
    return 0;
}

static int find_watch(struct event_loop *el, int fd)
{
    for (unsigned i = 0; i < el->nwatch; i++)
        if (el->watch[i].fd == fd)
            return (int)i;
    return -1;
}

int event_loop_enable_fd(struct event_loop *el, int fd, bool enable)
{
    int i = find_watch(el, fd);
    if (i < 0)
        return -1;
    struct epoll_event ev = { .events = enable ? EPOLLIN : 0, .data.u64 = (uint64_t)i };
    return epoll_ctl(el->epfd, EPOLL_CTL_MOD, fd, &ev);
}

int event_loop_remove_fd(struct event_loop *el, int fd)
{
    int i = find_watch(el, fd);
    if (i < 0)
        return -1;
    epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL);
    el->watch[i].fd = -1;   /* keep indices stable: they are the epoll tags */
    return 0;
}

int event_loop_add_prepare(struct event_loop *el, event_loop_prepare_fn fn, void *opaque)
{
    for (unsigned i = 0; i < EL_MAX_PREPARE; i++) {
        if (!el->prepare[i].fn) {
            el->prepare[i] = (struct el_prepare){ .fn = fn, .opaque = opaque };
            return 0;
        }
    }
    errno = ENOSPC;
    return -1;
}

void event_loop_remove_prepare(struct event_loop *el, event_loop_prepare_fn fn, void *opaque)
{
    for (unsigned i = 0; i < EL_MAX_PREPARE; i++)
        if (el->prepare[i].fn == fn && el->prepare[i].opaque == opaque)
            el->prepare[i] = (struct el_prepare){ 0 };
}

/* Runs the prepare hooks; the smallest sleep limit they ask for (-1: none). */
static int run_prepare(struct event_loop *el)
{
    int timeout = -1;
    for (unsigned i = 0; i < EL_MAX_PREPARE; i++) {
        if (!el->prepare[i].fn)
            continue;
        int t = el->prepare[i].fn(el->prepare[i].opaque);
        if (t >= 0 && (timeout < 0 || t < timeout))
            timeout = t;
    }
    return timeout;
}

void event_loop_wake(struct event_loop *el)
{
    uint64_t one = 1;
    ssize_t r = write(el->wakefd, &one, sizeof(one));
    (void)r;   /* EAGAIN: the counter is saturated, a wake-up is pending anyway */
}

static void drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r;
}

static void *loop_thread(void *arg)
{
    struct event_loop *el = arg;
    struct epoll_event ev[EL_MAX_FDS + 1];
    while (!atomic_load(&el->stop)) {
        el->tick(el->tick_opaque);
        int n = epoll_wait(el->epfd, ev, EL_MAX_FDS + 1, run_prepare(el));
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            uint64_t tag = ev[i].data.u64;
            if (tag == TAG_WAKE) {
                drain(el->wakefd);
            } else if (tag < el->nwatch && el->watch[tag].fd >= 0) {
                el->watch[tag].fn(el->watch[tag].opaque, el->watch[tag].fd);
            }
        }
    }
    return NULL;
}

int event_loop_start(struct event_loop *el, char *err, size_t errlen)
{
    int r = pthread_create(&el->thread, NULL, loop_thread, el);
    if (r) {
        snprintf(err, errlen, "cannot start the event loop thread: %s", strerror(r));
        return -1;
    }
    el->running = true;
    return 0;
}

void event_loop_stop(struct event_loop *el)
{
    if (!el->running)
        return;
    atomic_store(&el->stop, true);
    event_loop_wake(el);
    pthread_join(el->thread, NULL);
    el->running = false;
}

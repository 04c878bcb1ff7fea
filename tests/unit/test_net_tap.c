/* test_net_tap.c - the TAP backend in a private network namespace: the
 * kernel's ARP request for a neighbour reaches the device through the TAP,
 * the device's ARP reply goes back, and the datagram that waited for it
 * follows.  The namespace (unshare CLONE_NEWNET) has no route anywhere: no
 * host interface is touched.  Skipped without the privilege to make one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "host/event_loop.h"
#include "host/net_backend.h"

#define IFNAME "morphtap0"

struct rx_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint8_t last_arp[64], last_udp[128];
    size_t arp_len, udp_len;
    int refusals;       /* refuse this many frames first (flow control) */
};

static bool rx(void *opaque, const uint8_t *f, size_t len)
{
    struct rx_state *s = opaque;
    pthread_mutex_lock(&s->lock);
    if (s->refusals > 0) {
        s->refusals--;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    if (len >= 42 && f[12] == 0x08 && f[13] == 0x06 && len <= sizeof(s->last_arp)) {
        memcpy(s->last_arp, f, len);
        s->arp_len = len;
    } else if (len >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 &&
               len <= sizeof(s->last_udp)) {
        memcpy(s->last_udp, f, len);
        s->udp_len = len;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return true;
}

static bool wait_len(struct rx_state *s, size_t *len)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&s->lock);
    while (!*len && pthread_cond_timedwait(&s->cond, &s->lock, &deadline) != ETIMEDOUT)
        ;
    bool ok = *len != 0;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/* Waits until the device has refused its frame. */
static bool wait_refused(struct rx_state *s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&s->lock);
    while (s->refusals && pthread_cond_timedwait(&s->cond, &s->lock, &deadline) != ETIMEDOUT)
        ;
    bool ok = s->refusals == 0;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void tick_none(void *opaque)
{
    (void)opaque;
}

/* Address 10.9.0.1/24 on IFNAME, up. */
static int configure_if(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), IFNAME);
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, "10.9.0.1", &a->sin_addr);
    int r = ioctl(s, SIOCSIFADDR, &ifr);
    inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
    r |= ioctl(s, SIOCSIFNETMASK, &ifr);
    r |= ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    r |= ioctl(s, SIOCSIFFLAGS, &ifr);
    close(s);
    return r;
}

static void tap_round_trip(void **state)
{
    (void)state;
    if (unshare(CLONE_NEWNET) != 0)
        skip();   /* needs CAP_SYS_ADMIN: nothing else is safe to test on */
    char err[256] = "";
    struct rx_state s = { .refusals = 1 };
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    struct event_loop *el = event_loop_create(tick_none, NULL, err, sizeof(err));
    assert_non_null(el);
    /* As root in a fresh namespace, attaching creates the interface. */
    struct net_backend *nb = net_backend_open("tap,ifname=" IFNAME, el, rx, &s, err, sizeof(err));
    if (!nb)
        fail_msg("net_backend_open: %s", err);
    assert_int_equal(configure_if(), 0);
    assert_int_equal(event_loop_start(el, err, sizeof(err)), 0);

    /* A datagram to a neighbour: the kernel asks who has 10.9.0.2.  The
     * device refuses the first frame it is offered (that ARP request or an
     * IPv6 frame of the interface coming up); the backend keeps it and
     * stops reading until rx_resume. */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9999) };
    inet_pton(AF_INET, "10.9.0.2", &to.sin_addr);
    assert_int_equal(sendto(u, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
    assert_true(wait_refused(&s));
    usleep(100 * 1000);   /* more frames wait in the TAP meanwhile */
    net_backend_rx_resume(nb);
    assert_true(wait_len(&s, &s.arp_len));
    uint8_t want_tip[4];
    inet_pton(AF_INET, "10.9.0.2", want_tip);
    assert_memory_equal(s.last_arp + 38, want_tip, 4);

    /* The reply, from 52:54:00:00:00:02, lets the datagram go. */
    uint8_t reply[42], mac[6] = { 0x52, 0x54, 0, 0, 0, 2 };
    const uint8_t *req = s.last_arp;
    memcpy(reply, req + 6, 6);
    memcpy(reply + 6, mac, 6);
    memcpy(reply + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x02", 10);
    memcpy(reply + 22, mac, 6);
    memcpy(reply + 28, want_tip, 4);
    memcpy(reply + 32, req + 22, 10);   /* target: the asker's MAC and IP */
    struct iovec iov = { reply, sizeof(reply) };
    net_backend_send(nb, &iov, 1);
    assert_true(wait_len(&s, &s.udp_len));
    assert_memory_equal(s.last_udp, mac, 6);
    assert_memory_equal(s.last_udp + 42, "hello", 5);

    close(u);
    event_loop_stop(el);
    net_backend_close(nb);
    event_loop_destroy(el);
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.lock);
}

static void tap_missing_name_is_an_error(void **state)
{
    (void)state;
    char err[256] = "";
    struct event_loop *el = event_loop_create(tick_none, NULL, err, sizeof(err));
    assert_null(net_backend_open("tap,ifname=a/b", el, rx, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "bad interface name 'a/b'"));
    event_loop_destroy(el);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tap_missing_name_is_an_error),
        cmocka_unit_test(tap_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

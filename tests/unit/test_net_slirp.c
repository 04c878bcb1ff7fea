/* test_net_slirp.c - the libslirp backend's packet path, on the real event
 * loop: ARP for the gateway, DHCP DISCOVER -> OFFER of 10.0.2.15, a hostfwd
 * rule taking a loopback connection to the guest, a port already in use.
 * Loopback only; every wait is bounded (5 s). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "host/event_loop.h"
#include "host/net_backend.h"

#define WAIT_MS 5000

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- frames the fake NIC received, handed over from the loop thread ---- */

struct rx_frame {
    struct rx_frame *next;
    size_t len;
    uint8_t data[];
};

struct rig {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct rx_frame *head, **tail;
    struct event_loop *el;
    struct net_backend *nb;
};

static bool rx(void *opaque, const uint8_t *frame, size_t len)
{
    struct rig *r = opaque;
    struct rx_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return false;
    f->next = NULL;
    f->len = len;
    memcpy(f->data, frame, len);
    pthread_mutex_lock(&r->lock);
    *r->tail = f;
    r->tail = &f->next;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return true;
}

static void tick_none(void *opaque)
{
    (void)opaque;
}

static void rig_open(struct rig *r, const char *spec)
{
    char err[256] = "";
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->tail = &r->head;
    r->el = event_loop_create(tick_none, NULL, err, sizeof(err));
    assert_non_null(r->el);
    r->nb = net_backend_open(spec, r->el, rx, r, err, sizeof(err));
    if (!r->nb)
        fail_msg("net_backend_open(%s): %s", spec, err);
    assert_int_equal(event_loop_start(r->el, err, sizeof(err)), 0);
}

static void rig_close(struct rig *r)
{
    event_loop_stop(r->el);
    net_backend_close(r->nb);
    event_loop_destroy(r->el);
    while (r->head) {
        struct rx_frame *f = r->head;
        r->head = f->next;
        free(f);
    }
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
}

typedef bool (*frame_pred)(const uint8_t *f, size_t len, void *arg);

/* Waits up to WAIT_MS for a received frame matching pred (others are
 * dropped); returns it (free() it) or NULL. */
static struct rx_frame *wait_frame(struct rig *r, frame_pred pred, void *arg)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->head) {
            struct rx_frame *f = r->head;
            r->head = f->next;
            if (!r->head)
                r->tail = &r->head;
            if (pred(f->data, f->len, arg)) {
                pthread_mutex_unlock(&r->lock);
                return f;
            }
            free(f);
        }
        if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT && !r->head)
            break;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void send_frame(struct rig *r, const uint8_t *f, size_t len)
{
    /* Two pieces, like a NIC gathering from descriptors. */
    struct iovec iov[2] = { { (void *)f, 14 }, { (void *)(f + 14), len - 14 } };
    net_backend_send(r->nb, iov, 2);
}

/* ---- building frames ---- */

static size_t put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void ip4(uint8_t *p, const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    memcpy(p, &a, 4);
}

static size_t eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, type);
    return 14;
}

static uint16_t ip_checksum(const uint8_t *h, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(h + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static size_t arp_request(uint8_t *f, const char *sender, const char *target)
{
    size_t n = eth_header(f, broadcast, 0x0806);
    uint8_t *a = f + n;
    put16(a, 1);                /* Ethernet */
    put16(a + 2, 0x0800);       /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);            /* request */
    memcpy(a + 8, guest_mac, 6);
    ip4(a + 14, sender);
    memset(a + 18, 0, 6);
    ip4(a + 24, target);
    return n + 28;
}

static size_t dhcp_discover(uint8_t *f, uint32_t xid)
{
    memset(f, 0, 400);
    size_t n = eth_header(f, broadcast, 0x0800);
    uint8_t *ip = f + n, *udp = ip + 20, *b = udp + 8;
    /* BOOTP: op, htype, hlen, hops, xid, secs, flags, 4 addresses, chaddr... */
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    memcpy(b + 4, &xid, 4);
    put16(b + 10, 0x8000);      /* broadcast reply */
    memcpy(b + 28, guest_mac, 6);
    uint8_t *opt = b + 236;
    const uint8_t opts[] = { 99, 130, 83, 99, 53, 1, 1, 255 };   /* cookie, DISCOVER, end */
    memcpy(opt, opts, sizeof(opts));
    size_t blen = 236 + 64;     /* options padded with zeros */
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, (uint16_t)(8 + blen));
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + 8 + blen));
    ip[8] = 64;
    ip[9] = 17;                 /* UDP, checksum 0: none */
    ip4(ip + 12, "0.0.0.0");
    ip4(ip + 16, "255.255.255.255");
    put16(ip + 10, ip_checksum(ip, 20));
    return n + 20 + 8 + blen;
}

/* ---- predicates ---- */

static bool is_arp_reply_from(const uint8_t *f, size_t len, void *arg)
{
    uint8_t want[4];
    ip4(want, arg);
    return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 &&
           memcmp(f + 28, want, 4) == 0 && memcmp(f + 32, guest_mac, 6) == 0;
}

static bool is_dhcp_reply(const uint8_t *f, size_t len, void *arg)
{
    (void)arg;
    if (len < 14 + 20 + 8 + 240 || get16(f + 12) != 0x0800 || f[14 + 9] != 17)
        return false;
    const uint8_t *udp = f + 14 + (f[14] & 15) * 4;
    return get16(udp) == 67 && get16(udp + 2) == 68;
}

struct tcp_want {
    uint16_t dport;
};

static bool is_syn_to_guest(const uint8_t *f, size_t len, void *arg)
{
    struct tcp_want *w = arg;
    uint8_t guest[4];
    ip4(guest, "10.0.2.15");
    if (len < 14 + 20 + 20 || get16(f + 12) != 0x0800 || f[14 + 9] != 6 ||
        memcmp(f + 14 + 16, guest, 4) != 0)
        return false;
    const uint8_t *tcp = f + 14 + (f[14] & 15) * 4;
    return get16(tcp + 2) == w->dport && (tcp[13] & 0x12) == 0x02;   /* SYN, no ACK */
}

/* The DHCP message type option (53) of a BOOTP reply, or 0. */
static int dhcp_type(const uint8_t *b, size_t len)
{
    for (size_t i = 240; i + 1 < len && b[i] != 255;) {
        if (b[i] == 0) {
            i++;
            continue;
        }
        if (b[i] == 53 && i + 2 < len)
            return b[i + 2];
        i += 2u + b[i + 1];
    }
    return 0;
}

/* A loopback TCP port nobody listens on right now. */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* ---- tests ---- */

static void arp_for_gateway_is_answered(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, "user");
    uint8_t f[64] = { 0 };
    size_t n = arp_request(f, "10.0.2.15", "10.0.2.2");
    send_frame(&r, f, n < 60 ? 60 : n);
    struct rx_frame *got = wait_frame(&r, is_arp_reply_from, "10.0.2.2");
    assert_non_null(got);
    free(got);
    /* The DNS address answers too. */
    n = arp_request(f, "10.0.2.15", "10.0.2.3");
    send_frame(&r, f, n < 60 ? 60 : n);
    got = wait_frame(&r, is_arp_reply_from, "10.0.2.3");
    assert_non_null(got);
    free(got);
    rig_close(&r);
}

static void dhcp_discover_gets_offer(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, "user");
    uint8_t f[600];
    uint32_t xid = 0x1234abcd;
    size_t n = dhcp_discover(f, xid);
    send_frame(&r, f, n);
    struct rx_frame *got = wait_frame(&r, is_dhcp_reply, NULL);
    assert_non_null(got);
    const uint8_t *ip = got->data + 14;
    const uint8_t *b = ip + (ip[0] & 15) * 4 + 8;
    size_t blen = got->len - (size_t)(b - got->data);
    uint8_t want[4];
    assert_int_equal(b[0], 2);                      /* BOOTREPLY */
    assert_memory_equal(b + 4, &xid, 4);
    ip4(want, "10.0.2.15");
    assert_memory_equal(b + 16, want, 4);           /* yiaddr */
    ip4(want, "10.0.2.2");
    assert_memory_equal(ip + 12, want, 4);          /* from the gateway */
    assert_int_equal(dhcp_type(b, blen), 2);        /* DHCPOFFER */
    free(got);
    rig_close(&r);
}

static void hostfwd_takes_loopback_connection(void **state)
{
    (void)state;
    int port = free_port();
    char spec[96];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%d-:22", port);
    struct rig r;
    rig_open(&r, spec);
    /* slirp learns the guest's MAC from its ARP request. */
    uint8_t f[64] = { 0 };
    size_t n = arp_request(f, "10.0.2.15", "10.0.2.2");
    send_frame(&r, f, n < 60 ? 60 : n);
    struct rx_frame *got = wait_frame(&r, is_arp_reply_from, "10.0.2.2");
    assert_non_null(got);
    free(got);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
    struct tcp_want w = { .dport = 22 };
    got = wait_frame(&r, is_syn_to_guest, &w);   /* slirp opens the guest side */
    assert_non_null(got);
    free(got);
    close(s);
    rig_close(&r);
}

static void hostfwd_port_in_use(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 1), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    int port = ntohs(a.sin_port);

    char spec[96], err[256] = "", want[64];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp::%d-:22", port);
    struct event_loop *el = event_loop_create(tick_none, NULL, err, sizeof(err));
    assert_non_null(el);
    assert_null(net_backend_open(spec, el, rx, NULL, err, sizeof(err)));
    snprintf(want, sizeof(want), "tcp 127.0.0.1:%d", port);
    if (!strstr(err, want) || !strstr(err, "in use") || strchr(err, '\n'))
        fail_msg("want one line naming '%s' and 'in use': %s", want, err);
    event_loop_destroy(el);
    close(s);
}

/* UDP rules and several rules at once open too. */
static void hostfwd_udp_and_several(void **state)
{
    (void)state;
    char spec[128];
    snprintf(spec, sizeof(spec), "user,hostfwd=udp::%d-:53,hostfwd=tcp::%d-:80,hostfwd=tcp::%d-:22",
             free_port(), free_port(), free_port());
    struct rig r;
    rig_open(&r, spec);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arp_for_gateway_is_answered),
        cmocka_unit_test(dhcp_discover_gets_offer),
        cmocka_unit_test(hostfwd_takes_loopback_connection),
        cmocka_unit_test(hostfwd_port_in_use),
        cmocka_unit_test(hostfwd_udp_and_several),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_net_backend.c - the --net spec (good and bad), the backend's
 * dispatch and errors, the frame queue, the event loop's prepare hooks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdatomic.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "host/event_loop.h"
#include "host/net_backend.h"
#include "host/net_queue.h"
#include "host/net_spec.h"

static struct net_spec parse_ok(const char *s)
{
    struct net_spec spec;
    char err[256] = "";
    if (net_spec_parse(s, &spec, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", s, err);
    return spec;
}

/* The spec is refused with a message containing every given word. */
static void parse_bad(const char *s, const char *w1, const char *w2)
{
    struct net_spec spec;
    char err[256] = "";
    assert_int_equal(net_spec_parse(s, &spec, err, sizeof(err)), -1);
    assert_null(strchr(err, '\n'));
    if (!strstr(err, w1) || (w2 && !strstr(err, w2)))
        fail_msg("error for '%s' lacks '%s'/'%s': %s", s, w1, w2 ? w2 : "", err);
}

static const char *addr(struct in_addr a)
{
    static char buf[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a, buf, sizeof(buf));
}

static void user_plain(void **state)
{
    (void)state;
    struct net_spec s = parse_ok("user");
    assert_int_equal(s.kind, NET_USER);
    assert_int_equal(s.nhostfwd, 0);
}

static void user_hostfwd_forms(void **state)
{
    (void)state;
    struct net_spec s = parse_ok("user,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp::8080-10.0.2.16:80,"
                                 "hostfwd=udp:0.0.0.0:5353-:53");
    assert_int_equal(s.nhostfwd, 3);
    assert_false(s.hostfwd[0].udp);
    assert_string_equal(addr(s.hostfwd[0].host_addr), "127.0.0.1");
    assert_int_equal(s.hostfwd[0].host_port, 2222);
    assert_string_equal(addr(s.hostfwd[0].guest_addr), "10.0.2.15");
    assert_int_equal(s.hostfwd[0].guest_port, 22);
    assert_string_equal(addr(s.hostfwd[1].host_addr), "127.0.0.1");   /* the default */
    assert_int_equal(s.hostfwd[1].host_port, 8080);
    assert_string_equal(addr(s.hostfwd[1].guest_addr), "10.0.2.16");
    assert_true(s.hostfwd[2].udp);
    assert_string_equal(addr(s.hostfwd[2].host_addr), "0.0.0.0");
    char name[64];
    net_hostfwd_name(&s.hostfwd[2], name, sizeof(name));
    assert_string_equal(name, "udp 0.0.0.0:5353");
}

static void tap_forms(void **state)
{
    (void)state;
    struct net_spec s = parse_ok("tap,ifname=tap0");
    assert_int_equal(s.kind, NET_TAP);
    assert_string_equal(s.ifname, "tap0");
}

static void bad_specs(void **state)
{
    (void)state;
    parse_bad("", "unknown network kind ''", "user or tap");
    parse_bad("bridge", "unknown network kind 'bridge'", NULL);
    parse_bad("user,foo=1", "unknown option 'foo=1'", "hostfwd");
    parse_bad("user,hostfwd=tcp:127.0.0.1:2222", "bad hostfwd 'tcp:127.0.0.1:2222'", NULL);
    parse_bad("user,hostfwd=sctp::1-:2", "bad hostfwd 'sctp::1-:2'", NULL);
    parse_bad("user,hostfwd=tcp::0-:22", "bad hostfwd", NULL);
    parse_bad("user,hostfwd=tcp::65536-:22", "bad hostfwd", NULL);
    parse_bad("user,hostfwd=tcp::22x-:22", "bad hostfwd", NULL);
    parse_bad("user,hostfwd=tcp:300.1.1.1:22-:22", "bad hostfwd", NULL);
    parse_bad("user,hostfwd=tcp::2222-:", "bad hostfwd", NULL);
    parse_bad("user,hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:23", "repeats a host port", NULL);
    parse_bad("tap", "needs ifname=NAME", NULL);
    parse_bad("tap,ifname=", "bad interface name ''", NULL);
    parse_bad("tap,ifname=abcdefghijklmnopq", "bad interface name", NULL);
    parse_bad("tap,ifname=tap0,vhost=on", "unknown option 'vhost=on'", NULL);
}

static bool rx_ignore(void *opaque, const uint8_t *frame, size_t len)
{
    (void)opaque, (void)frame, (void)len;
    return true;
}

static void tick_none(void *opaque)
{
    (void)opaque;
}

static void open_refuses_bad_specs(void **state)
{
    (void)state;
    char err[256] = "";
    struct event_loop *el = event_loop_create(tick_none, NULL, err, sizeof(err));
    assert_non_null(el);
    assert_null(net_backend_open("socket,listen=:1234", el, rx_ignore, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown network kind 'socket'"));
    assert_null(net_backend_open("user,hostfwd=tcp::x-:22", el, rx_ignore, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "bad hostfwd"));
    event_loop_destroy(el);
}

static void queue_bounds(void **state)
{
    (void)state;
    struct net_queue q;
    net_queue_init(&q, 100);
    uint8_t a[60] = { 1 }, b[30] = { 2 };
    struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    bool empty;
    assert_true(net_queue_push(&q, iov, 2, &empty));
    assert_true(empty);
    assert_false(net_queue_push(&q, iov, 1, &empty));   /* 90 + 60 > 100: dropped */
    assert_true(net_queue_push(&q, &iov[1], 0, &empty) == false);   /* empty frame */
    struct net_frame *f = net_queue_take_all(&q);
    assert_non_null(f);
    assert_int_equal(f->len, 90);
    assert_int_equal(f->data[0], 1);
    assert_int_equal(f->data[60], 2);
    assert_null(f->next);
    free(f);
    assert_null(net_queue_take_all(&q));
    assert_true(net_queue_push(&q, iov, 1, &empty));   /* room again */
    assert_int_equal(q.dropped, 2);
    net_queue_destroy(&q);
}

struct hook_count {
    atomic_int calls;
};

static int prepare_50ms(void *opaque)
{
    atomic_fetch_add(&((struct hook_count *)opaque)->calls, 1);
    return 50;
}

/* A hook's sleep limit wakes the loop with nothing else happening. */
static void prepare_hook_bounds_sleep(void **state)
{
    (void)state;
    char err[256] = "";
    struct hook_count hc = { 0 };
    struct event_loop *el = event_loop_create(tick_none, NULL, err, sizeof(err));
    assert_non_null(el);
    assert_int_equal(event_loop_add_prepare(el, prepare_50ms, &hc), 0);
    assert_int_equal(event_loop_start(el, err, sizeof(err)), 0);
    usleep(500 * 1000);
    event_loop_stop(el);
    int n = atomic_load(&hc.calls);
    if (n < 4 || n > 30)
        fail_msg("a 50 ms hook ran %d times in 500 ms", n);
    event_loop_remove_prepare(el, prepare_50ms, &hc);
    event_loop_destroy(el);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(user_plain),
        cmocka_unit_test(user_hostfwd_forms),
        cmocka_unit_test(tap_forms),
        cmocka_unit_test(bad_specs),
        cmocka_unit_test(open_refuses_bad_specs),
        cmocka_unit_test(queue_bounds),
        cmocka_unit_test(prepare_hook_bounds_sleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

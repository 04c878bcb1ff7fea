/* test_misc_devices.c - port 0x92, port 0x80 and the debug-exit device,
 * driven through the port bus as a guest would. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/bus.h"
#include "devices/debug_exit.h"
#include "devices/port80.h"
#include "devices/port92.h"

/* What the machine would see through the callbacks. */
struct host_log {
    unsigned resets;
    unsigned a20_calls;
    bool a20;
    unsigned exits;
    int status;
};

static void log_reset(void *opaque) { ((struct host_log *)opaque)->resets++; }

static void log_a20(void *opaque, bool enabled)
{
    struct host_log *h = opaque;
    h->a20_calls++;
    h->a20 = enabled;
}

static void log_exit(void *opaque, int status)
{
    struct host_log *h = opaque;
    h->exits++;
    h->status = status;
}

static uint64_t in(struct bus *b, uint16_t port, unsigned size)
{
    uint64_t v = 0;
    assert_true(bus_read(b, port, size, &v));
    return v;
}

static void out(struct bus *b, uint16_t port, unsigned size, uint64_t v)
{
    assert_true(bus_write(b, port, size, v));
}

static void setup_bus(struct bus *b)
{
    assert_int_equal(bus_init(b, "port", true), 0);
}

/* ---- port 0x92 ---- */

static void port92_a20_bit_calls_back_on_change_only(void **state)
{
    (void)state;
    struct bus b;
    struct port92 p;
    struct host_log h = { 0 };
    char err[128];
    setup_bus(&b);
    assert_int_equal(port92_init(&p, &b, log_reset, log_a20, &h, err, sizeof err), 0);

    assert_int_equal(in(&b, 0x92, 1), 0);
    assert_false(port92_a20(&p));
    out(&b, 0x92, 1, 0x02);
    assert_int_equal(h.a20_calls, 1);
    assert_true(h.a20);
    assert_true(port92_a20(&p));
    assert_int_equal(in(&b, 0x92, 1), 0x02);
    out(&b, 0x92, 1, 0x02);                 /* no change, no call */
    assert_int_equal(h.a20_calls, 1);
    out(&b, 0x92, 1, 0x00);
    assert_int_equal(h.a20_calls, 2);
    assert_false(h.a20);
    assert_int_equal(h.resets, 0);
    bus_free(&b);
}

static void port92_bit0_requests_reset_and_reads_back_clear(void **state)
{
    (void)state;
    struct bus b;
    struct port92 p;
    struct host_log h = { 0 };
    char err[128];
    setup_bus(&b);
    assert_int_equal(port92_init(&p, &b, log_reset, log_a20, &h, err, sizeof err), 0);

    out(&b, 0x92, 1, 0x03);
    assert_int_equal(h.resets, 1);
    assert_true(h.a20);
    assert_int_equal(in(&b, 0x92, 1), 0x02);   /* bit 0 is not stored */
    out(&b, 0x92, 1, 0x03);                    /* every write with bit 0 set */
    assert_int_equal(h.resets, 2);
    bus_free(&b);
}

static void port92_reset_and_save_restore(void **state)
{
    (void)state;
    struct bus b;
    struct port92 p;
    struct host_log h = { 0 };
    char err[128];
    uint8_t blob[16];
    setup_bus(&b);
    assert_int_equal(port92_init(&p, &b, NULL, NULL, NULL, err, sizeof err), 0);

    out(&b, 0x92, 1, 0x03);                    /* NULL callbacks are fine */
    size_t n = port92_save(&p, NULL, 0);
    assert_true(n > 0 && n <= sizeof blob);
    assert_int_equal(port92_save(&p, blob, sizeof blob), n);
    port92_reset(&p);
    assert_int_equal(in(&b, 0x92, 1), 0);
    assert_int_equal(port92_restore(&p, blob, n), 0);
    assert_int_equal(in(&b, 0x92, 1), 0x02);
    assert_int_equal(port92_restore(&p, blob, n - 1), -1);
    blob[0] ^= 0xff;
    assert_int_equal(port92_restore(&p, blob, n), -1);
    assert_int_equal(h.resets, 0);
    bus_free(&b);
}

/* ---- port 0x80 ---- */

static void port80_keeps_last_post_code(void **state)
{
    (void)state;
    struct bus b;
    struct port80 p;
    char err[128];
    uint8_t blob[16];
    setup_bus(&b);
    assert_int_equal(port80_init(&p, &b, err, sizeof err), 0);

    assert_int_equal(in(&b, 0x80, 1), 0);
    out(&b, 0x80, 1, 0x55);
    out(&b, 0x80, 1, 0xa7);
    assert_int_equal(in(&b, 0x80, 1), 0xa7);
    assert_int_equal(b.unclaimed_writes, 0);

    size_t n = port80_save(&p, blob, sizeof blob);
    port80_reset(&p);
    assert_int_equal(in(&b, 0x80, 1), 0);
    assert_int_equal(port80_restore(&p, blob, n), 0);
    assert_int_equal(in(&b, 0x80, 1), 0xa7);
    assert_int_equal(port80_restore(&p, blob, n + 1), -1);
    bus_free(&b);
}

static void port80_refuses_overlap(void **state)
{
    (void)state;
    struct bus b;
    struct port80 p1, p2;
    char err[128] = "";
    setup_bus(&b);
    assert_int_equal(port80_init(&p1, &b, err, sizeof err), 0);
    assert_int_equal(port80_init(&p2, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "port80"));
    bus_free(&b);
}

/* ---- debug-exit ---- */

static void debug_exit_status_is_v_shifted_or_one(void **state)
{
    (void)state;
    struct bus b;
    struct debug_exit d;
    struct host_log h = { 0 };
    char err[128];
    setup_bus(&b);
    assert_int_equal(debug_exit_init(&d, &b, log_exit, &h, err, sizeof err), 0);

    out(&b, 0xf4, 1, 0);
    assert_int_equal(h.exits, 1);
    assert_int_equal(h.status, 1);
    out(&b, 0xf4, 1, 0x10);
    assert_int_equal(h.status, 0x21);
    out(&b, 0xf4, 1, 0xff);
    assert_int_equal(h.status, 0x1ff);
    /* A wider write uses its low byte. */
    out(&b, 0xf4, 4, 0x12345603);
    assert_int_equal(h.status, 7);
    assert_int_equal(h.exits, 4);
    assert_int_equal(in(&b, 0xf4, 1), 0);

    uint8_t blob[8];
    size_t n = debug_exit_save(&d, blob, sizeof blob);
    assert_int_equal(debug_exit_restore(&d, blob, n), 0);
    assert_int_equal(debug_exit_restore(&d, blob, 0), -1);
    bus_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port92_a20_bit_calls_back_on_change_only),
        cmocka_unit_test(port92_bit0_requests_reset_and_reads_back_clear),
        cmocka_unit_test(port92_reset_and_save_restore),
        cmocka_unit_test(port80_keeps_last_post_code),
        cmocka_unit_test(port80_refuses_overlap),
        cmocka_unit_test(debug_exit_status_is_v_shifted_or_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_bus.c - the port and MMIO buses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/bus.h"

struct fake_dev {
    uint64_t last_offset;
    unsigned last_size;
    uint64_t last_value;
    unsigned writes;
    uint64_t read_value;
};

static uint64_t fake_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fake_dev *d = opaque;
    d->last_offset = offset;
    d->last_size = size;
    return d->read_value;
}

static void fake_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct fake_dev *d = opaque;
    d->last_offset = offset;
    d->last_size = size;
    d->last_value = value;
    d->writes++;
}

static void port_handlers_see_offsets(void **state)
{
    (void)state;
    struct bus b;
    struct fake_dev d = { .read_value = 0x5a };
    char err[128];
    assert_int_equal(bus_init(&b, "port", true), 0);
    assert_int_equal(bus_register(&b, 0x3f8, 8, "uart", &d, fake_read, fake_write,
                                  err, sizeof(err)), 0);
    uint64_t v = 0;
    assert_true(bus_read(&b, 0x3fd, 1, &v));
    assert_int_equal(v, 0x5a);
    assert_int_equal(d.last_offset, 5);
    assert_int_equal(d.last_size, 1);
    assert_true(bus_write(&b, 0x3f8, 1, 0x41));
    assert_int_equal(d.last_offset, 0);
    assert_int_equal(d.last_value, 0x41);
    assert_int_equal(b.range[0].reads, 1);
    assert_int_equal(b.range[0].writes, 1);
    bus_free(&b);
}

static void overlap_is_refused(void **state)
{
    (void)state;
    struct bus b;
    char err[128] = "";
    assert_int_equal(bus_init(&b, "port", true), 0);
    assert_int_equal(bus_register(&b, 0x40, 4, "pit", NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(bus_register(&b, 0x43, 2, "other", NULL, NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "overlaps"));
    assert_non_null(strstr(err, "pit"));
    assert_int_equal(bus_register(&b, 0x3c, 5, "below", NULL, NULL, NULL, err, sizeof(err)), -1);
    /* adjacent ranges are fine */
    assert_int_equal(bus_register(&b, 0x44, 1, "next", NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(bus_register(&b, 0x3f, 1, "prev", NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(b.count, 3);
    /* the refused ranges left no trace in the flat table */
    assert_null(bus_find(&b, 0x3c));
    assert_string_equal(bus_find(&b, 0x43)->name, "pit");
    bus_free(&b);
}

static void bad_ranges_are_refused(void **state)
{
    (void)state;
    struct bus b;
    char err[128];
    assert_int_equal(bus_init(&b, "port", true), 0);
    assert_int_equal(bus_register(&b, 0x10, 0, "empty", NULL, NULL, NULL, err, sizeof(err)), -1);
    assert_int_equal(bus_register(&b, 0xffff, 2, "wrap", NULL, NULL, NULL, err, sizeof(err)), -1);
    assert_int_equal(bus_register(&b, 0xffff, 1, "last", NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_non_null(bus_find(&b, 0xffff));
    assert_null(bus_find(&b, 0x10000));
    bus_free(&b);
}

static void unclaimed_reads_are_all_ones_and_counted(void **state)
{
    (void)state;
    struct bus b;
    assert_int_equal(bus_init(&b, "port", true), 0);
    uint64_t v = 0;
    assert_false(bus_read(&b, 0x1234, 1, &v));
    assert_int_equal(v, 0xff);
    assert_false(bus_read(&b, 0x1234, 2, &v));
    assert_int_equal(v, 0xffff);
    assert_false(bus_read(&b, 0x1234, 4, &v));
    assert_int_equal(v, 0xffffffffu);
    assert_false(bus_write(&b, 0x1234, 1, 7));
    assert_int_equal(b.unclaimed_reads, 3);
    assert_int_equal(b.unclaimed_writes, 1);
    bus_free(&b);

    struct bus m;
    assert_int_equal(bus_init(&m, "mmio", false), 0);
    assert_false(bus_read(&m, 0xfee00000, 8, &v));
    assert_true(v == UINT64_MAX);
    assert_int_equal(m.unclaimed_reads, 1);
    bus_free(&m);
}

static void read_values_are_masked_to_size(void **state)
{
    (void)state;
    struct bus b;
    struct fake_dev d = { .read_value = 0x12345678 };
    char err[128];
    assert_int_equal(bus_init(&b, "port", true), 0);
    assert_int_equal(bus_register(&b, 0x60, 1, "kbd", &d, fake_read, fake_write, err, sizeof(err)), 0);
    uint64_t v;
    assert_true(bus_read(&b, 0x60, 1, &v));
    assert_int_equal(v, 0x78);
    assert_true(bus_read(&b, 0x60, 2, &v));
    assert_int_equal(v, 0x5678);
    bus_free(&b);
}

static void null_handlers_read_ones_and_drop_writes(void **state)
{
    (void)state;
    struct bus b;
    char err[128];
    assert_int_equal(bus_init(&b, "port", true), 0);
    assert_int_equal(bus_register(&b, 0x80, 1, "post", NULL, NULL, NULL, err, sizeof(err)), 0);
    uint64_t v = 0;
    assert_true(bus_read(&b, 0x80, 1, &v));
    assert_int_equal(v, 0xff);
    assert_true(bus_write(&b, 0x80, 1, 0x12));
    assert_int_equal(b.unclaimed_reads, 0);
    assert_int_equal(b.unclaimed_writes, 0);
    bus_free(&b);
}

static void flat_port_table_maps_every_port(void **state)
{
    (void)state;
    struct bus b;
    char err[128];
    struct fake_dev d1 = { .read_value = 1 }, d2 = { .read_value = 2 };
    assert_int_equal(bus_init(&b, "port", true), 0);
    assert_int_equal(bus_register(&b, 0x20, 2, "pic1", &d1, fake_read, NULL, err, sizeof(err)), 0);
    assert_int_equal(bus_register(&b, 0xa0, 2, "pic2", &d2, fake_read, NULL, err, sizeof(err)), 0);
    for (unsigned p = 0; p < 65536; p++) {
        struct bus_range *r = bus_find(&b, p);
        if (p == 0x20 || p == 0x21)
            assert_ptr_equal(r, &b.range[0]);
        else if (p == 0xa0 || p == 0xa1)
            assert_ptr_equal(r, &b.range[1]);
        else
            assert_null(r);
    }
    uint64_t v;
    bus_read(&b, 0xa1, 1, &v);
    assert_int_equal(v, 2);
    assert_int_equal(d2.last_offset, 1);
    bus_free(&b);
}

static void mmio_bus_finds_large_ranges(void **state)
{
    (void)state;
    struct bus m;
    char err[128];
    struct fake_dev d = { .read_value = 0xdeadbeefcafef00dull };
    assert_int_equal(bus_init(&m, "mmio", false), 0);
    assert_null(m.port_index);
    assert_int_equal(bus_register(&m, 0xfec00000, 0x1000, "ioapic", &d, fake_read, fake_write,
                                  err, sizeof(err)), 0);
    assert_int_equal(bus_register(&m, 0xfec00800, 0x10, "clash", NULL, NULL, NULL,
                                  err, sizeof(err)), -1);
    uint64_t v;
    assert_true(bus_read(&m, 0xfec00010, 8, &v));
    assert_true(v == 0xdeadbeefcafef00dull);
    assert_int_equal(d.last_offset, 0x10);
    assert_true(bus_write(&m, 0xfec00ffc, 4, 0x1122334455ull));
    assert_int_equal(d.last_value, 0x22334455);
    assert_int_equal(d.last_offset, 0xffc);
    assert_false(bus_read(&m, 0xfec01000, 4, &v));
    assert_false(bus_read(&m, 0xfebfffff, 1, &v));
    bus_free(&m);
}

static void registry_is_bounded(void **state)
{
    (void)state;
    struct bus b;
    char err[128];
    assert_int_equal(bus_init(&b, "port", true), 0);
    for (unsigned i = 0; i < BUS_MAX_RANGES; i++)
        assert_int_equal(bus_register(&b, 0x1000 + i, 1, "dev", NULL, NULL, NULL,
                                      err, sizeof(err)), 0);
    assert_int_equal(bus_register(&b, 0x2000, 1, "onemore", NULL, NULL, NULL,
                                  err, sizeof(err)), -1);
    assert_non_null(strstr(err, "onemore"));
    /* the last range is reachable through the table (index 64 fits) */
    assert_ptr_equal(bus_find(&b, 0x1000 + BUS_MAX_RANGES - 1), &b.range[BUS_MAX_RANGES - 1]);
    bus_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_handlers_see_offsets),
        cmocka_unit_test(overlap_is_refused),
        cmocka_unit_test(bad_ranges_are_refused),
        cmocka_unit_test(unclaimed_reads_are_all_ones_and_counted),
        cmocka_unit_test(read_values_are_masked_to_size),
        cmocka_unit_test(null_handlers_read_ones_and_drop_writes),
        cmocka_unit_test(flat_port_table_maps_every_port),
        cmocka_unit_test(mmio_bus_finds_large_ranges),
        cmocka_unit_test(registry_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_fpu_error.c - FERR# to IRQ 13, cleared through port 0xF0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "devices/bus.h"
#include "devices/fpu_error.h"

struct rig {
    struct bus io;
    struct fpu_error f;
    int level;
    int raises;
};

static void set_line(void *opaque, unsigned irq, int level)
{
    struct rig *r = opaque;
    assert_int_equal(irq, FPU_ERROR_IRQ);
    if (level && !r->level)
        r->raises++;
    r->level = level;
}

static int setup(void **state)
{
    static struct rig r;    /* cmocka state; reinitialised for each test */
    char err[128];
    r = (struct rig){ 0 };
    assert_int_equal(bus_init(&r.io, "port", true), 0);
    struct irq_line l = { .set = set_line, .opaque = &r, .irq = FPU_ERROR_IRQ };
    assert_int_equal(fpu_error_init(&r.f, &r.io, l, err, sizeof(err)), 0);
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    bus_free(&r->io);
    return 0;
}

static void test_ferr_raises_irq13_once(void **state)
{
    struct rig *r = *state;
    fpu_error_set_ferr(&r->f, true);
    assert_int_equal(r->level, 1);
    fpu_error_set_ferr(&r->f, true);      /* same error: no new edge */
    assert_int_equal(r->raises, 1);
}

static void test_port_f0_clears_until_ferr_drops(void **state)
{
    struct rig *r = *state;
    fpu_error_set_ferr(&r->f, true);
    assert_true(bus_write(&r->io, 0xF0, 1, 0));
    assert_int_equal(r->level, 0);
    fpu_error_set_ferr(&r->f, true);      /* still the same FERR#: ignored */
    assert_int_equal(r->level, 0);
    fpu_error_set_ferr(&r->f, false);     /* FNCLEX */
    fpu_error_set_ferr(&r->f, true);      /* a new error */
    assert_int_equal(r->level, 1);
    assert_int_equal(r->raises, 2);
}

static void test_ferr_drop_lowers_line(void **state)
{
    struct rig *r = *state;
    fpu_error_set_ferr(&r->f, true);
    fpu_error_set_ferr(&r->f, false);
    assert_int_equal(r->level, 0);
}

static void test_save_restore(void **state)
{
    struct rig *r = *state;
    uint8_t blob[16];
    fpu_error_set_ferr(&r->f, true);
    size_t n = fpu_error_save(&r->f, blob, sizeof(blob));
    assert_true(n <= sizeof(blob));
    fpu_error_reset(&r->f);
    assert_int_equal(r->level, 0);
    assert_int_equal(fpu_error_restore(&r->f, blob, n), 0);
    assert_int_equal(r->level, 1);
    blob[0] = 'X';
    assert_int_equal(fpu_error_restore(&r->f, blob, n), -1);
    assert_int_equal(fpu_error_restore(&r->f, blob, n - 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ferr_raises_irq13_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_f0_clears_until_ferr_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ferr_drop_lowers_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

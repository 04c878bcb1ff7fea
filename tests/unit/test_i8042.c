/* test_i8042.c - the keyboard controller driven through ports 0x60/0x64 as a
 * guest driver would, with IRQ lines and host callbacks recorded. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "device_rig.h"
#include "devices/bus.h"
#include "devices/i8042.h"

struct rig {
    struct bus bus;
    struct i8042 k;
    int level[16];
    unsigned rises[16];
    unsigned resets;
    unsigned a20_calls;
    bool a20;
};

static void rig_irq(void *opaque, unsigned irq, int level)
{
    struct rig *r = opaque;
    assert_true(irq == I8042_KBD_IRQ || irq == I8042_AUX_IRQ);
    if (level && !r->level[irq])
        r->rises[irq]++;
    r->level[irq] = level;
}

static void rig_reset(void *opaque) { ((struct rig *)opaque)->resets++; }

static void rig_a20(void *opaque, bool enabled)
{
    struct rig *r = opaque;
    r->a20_calls++;
    r->a20 = enabled;
}

static int rig_setup(void **state)
{
    static struct rig r;
    char err[128];
    memset(&r, 0, sizeof r);
    assert_int_equal(bus_init(&r.bus, "port", true), 0);
    struct irq_line kbd = { .set = rig_irq, .opaque = &r, .irq = I8042_KBD_IRQ };
    struct irq_line aux = { .set = rig_irq, .opaque = &r, .irq = I8042_AUX_IRQ };
    assert_int_equal(i8042_init(&r.k, &r.bus, kbd, aux, rig_reset, rig_a20, &r,
                                err, sizeof err), 0);
    *state = &r;
    return 0;
}

static int rig_teardown(void **state)
{
    struct rig *r = *state;
    bus_free(&r->bus);
    return 0;
}

static uint8_t status(struct rig *r) { return rig_in8(&r->bus, I8042_CMD_PORT); }
static void command(struct rig *r, uint8_t cmd) { rig_out8(&r->bus, I8042_CMD_PORT, cmd); }
static void data_out(struct rig *r, uint8_t v) { rig_out8(&r->bus, I8042_DATA_PORT, v); }
static uint8_t data_in(struct rig *r) { return rig_in8(&r->bus, I8042_DATA_PORT); }

/* Read one byte the way Linux's i8042 does: wait for OBF, then read. */
static uint8_t expect_byte(struct rig *r)
{
    assert_int_equal(status(r) & I8042_STR_OBF, I8042_STR_OBF);
    return data_in(r);
}

static void expect_empty(struct rig *r)
{
    assert_int_equal(status(r) & I8042_STR_OBF, 0);
}

/* ---- controller ---- */

static void self_test_replies_55(void **state)
{
    struct rig *r = *state;
    expect_empty(r);
    command(r, 0xAA);
    assert_int_equal(status(r) & I8042_STR_CMD, I8042_STR_CMD);
    assert_int_equal(status(r) & I8042_STR_IBF, 0);
    assert_int_equal(expect_byte(r), 0x55);
    expect_empty(r);
    assert_int_equal(data_in(r), 0x55);       /* stale buffer reads again */
    expect_empty(r);
}

static void interface_tests_pass(void **state)
{
    struct rig *r = *state;
    command(r, 0xAB);
    assert_int_equal(expect_byte(r), 0x00);
    command(r, 0xA9);
    assert_int_equal(expect_byte(r), 0x00);
    command(r, 0xA4);
    assert_int_equal(expect_byte(r), 0xF1);
    expect_empty(r);
}

static void command_byte_round_trip(void **state)
{
    struct rig *r = *state;
    command(r, 0x20);
    assert_int_equal(expect_byte(r), I8042_CCB_KBDINT | I8042_CCB_SYS | I8042_CCB_XLATE);
    assert_int_equal(status(r) & I8042_STR_SYS, I8042_STR_SYS);
    command(r, 0x60);
    data_out(r, 0x70);
    assert_int_equal(status(r) & I8042_STR_CMD, 0);
    expect_empty(r);                          /* the data byte went nowhere else */
    command(r, 0x20);
    assert_int_equal(expect_byte(r), 0x70);
    assert_int_equal(status(r) & I8042_STR_SYS, 0);

    /* Disable/enable commands edit the command byte. */
    command(r, 0xAE);
    command(r, 0xA8);
    command(r, 0x20);
    assert_int_equal(expect_byte(r), 0x40);
    command(r, 0xAD);
    command(r, 0xA7);
    command(r, 0x20);
    assert_int_equal(expect_byte(r), 0x70);

    /* Other controller RAM bytes. */
    command(r, 0x65);
    data_out(r, 0x9c);
    command(r, 0x25);
    assert_int_equal(expect_byte(r), 0x9c);
}

/* ---- keyboard ---- */

static void keyboard_reset_sequence_and_irq_edges(void **state)
{
    struct rig *r = *state;
    data_out(r, 0xFF);
    assert_int_equal(r->level[I8042_KBD_IRQ], 1);
    assert_int_equal(status(r) & I8042_STR_AUXDATA, 0);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(r->level[I8042_KBD_IRQ], 1);
    assert_int_equal(expect_byte(r), 0xAA);
    expect_empty(r);
    assert_int_equal(r->level[I8042_KBD_IRQ], 0);
    /* One rising edge per byte, for an edge-triggered PIC. */
    assert_int_equal(r->rises[I8042_KBD_IRQ], 2);
    assert_int_equal(r->rises[I8042_AUX_IRQ], 0);
}

static void keyboard_identify(void **state)
{
    struct rig *r = *state;
    data_out(r, 0xF2);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xAB);
    assert_int_equal(expect_byte(r), 0x83);
    expect_empty(r);
}

static void keyboard_commands_with_parameters(void **state)
{
    struct rig *r = *state;
    data_out(r, 0xED);                        /* LEDs */
    assert_int_equal(expect_byte(r), 0xFA);
    data_out(r, 0x07);
    assert_int_equal(expect_byte(r), 0xFA);
    data_out(r, 0xF0);                        /* get scan code set */
    data_out(r, 0x00);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0x02);
    data_out(r, 0xF0);                        /* set 1, then read back */
    data_out(r, 0x01);
    data_out(r, 0xF0);
    data_out(r, 0x00);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0x01);
    data_out(r, 0xF0);                        /* no set 5 */
    data_out(r, 0x05);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xFE);
    data_out(r, 0xF3);                        /* typematic */
    data_out(r, 0x20);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xFA);
    data_out(r, 0xED);                        /* a command instead of a parameter */
    data_out(r, 0xF2);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xFA);
    assert_int_equal(expect_byte(r), 0xAB);
    assert_int_equal(expect_byte(r), 0x83);
    data_out(r, 0xEE);                        /* echo */
    assert_int_equal(expect_byte(r), 0xEE);
    data_out(r, 0x12);                        /* unknown */
    assert_int_equal(expect_byte(r), 0xFE);
    data_out(r, 0xFE);                        /* resend the last byte */
    assert_int_equal(expect_byte(r), 0xFE);
    expect_empty(r);
}

static void scanning_and_interface_disable(void **state)
{
    struct rig *r = *state;
    i8042_key(&r->k, 0x1e);                   /* 'a' make, set 1 */
    assert_int_equal(r->level[I8042_KBD_IRQ], 1);
    assert_int_equal(expect_byte(r), 0x1e);

    data_out(r, 0xF5);                        /* scanning off: keys dropped */
    assert_int_equal(expect_byte(r), 0xFA);
    i8042_key(&r->k, 0x1f);
    expect_empty(r);
    data_out(r, 0xF4);
    assert_int_equal(expect_byte(r), 0xFA);

    /* Interface disabled: keyboard bytes wait, controller replies don't. */
    command(r, 0xAD);
    i8042_key(&r->k, 0x30);
    i8042_key(&r->k, 0xb0);
    expect_empty(r);
    command(r, 0xAA);
    assert_int_equal(expect_byte(r), 0x55);
    expect_empty(r);
    command(r, 0xAE);
    assert_int_equal(expect_byte(r), 0x30);
    assert_int_equal(expect_byte(r), 0xb0);
    expect_empty(r);
}

static void irq1_follows_command_byte(void **state)
{
    struct rig *r = *state;
    command(r, 0x60);
    data_out(r, I8042_CCB_XLATE);             /* keyboard interrupt off */
    i8042_key(&r->k, 0x1e);
    assert_int_equal(status(r) & I8042_STR_OBF, I8042_STR_OBF);
    assert_int_equal(r->level[I8042_KBD_IRQ], 0);
    command(r, 0x60);                         /* turning it on raises the line */
    data_out(r, I8042_CCB_XLATE | I8042_CCB_KBDINT);
    assert_int_equal(r->level[I8042_KBD_IRQ], 1);
    assert_int_equal(data_in(r), 0x1e);
    assert_int_equal(r->level[I8042_KBD_IRQ], 0);
}

/* ---- reset line and A20 ---- */

static void pulse_fe_requests_reset(void **state)
{
    struct rig *r = *state;
    command(r, 0xFF);                         /* pulses nothing */
    assert_int_equal(r->resets, 0);
    command(r, 0xFE);
    assert_int_equal(r->resets, 1);
    command(r, 0xF0);                         /* pulses all four, reset too */
    assert_int_equal(r->resets, 2);
    expect_empty(r);
}

static void output_port_a20_and_reset(void **state)
{
    struct rig *r = *state;
    assert_true(i8042_a20(&r->k));
    command(r, 0xD0);
    uint8_t port = expect_byte(r);
    assert_int_equal(port & (I8042_OUT_A20 | I8042_OUT_RESET), I8042_OUT_A20 | I8042_OUT_RESET);

    command(r, 0xD1);
    data_out(r, port & (uint8_t)~I8042_OUT_A20);
    assert_int_equal(r->a20_calls, 1);
    assert_false(r->a20);
    assert_false(i8042_a20(&r->k));
    command(r, 0xD0);
    assert_int_equal(expect_byte(r) & I8042_OUT_A20, 0);
    command(r, 0xD1);
    data_out(r, 0xDF);                        /* the classic "A20 on" */
    assert_int_equal(r->a20_calls, 2);
    assert_true(r->a20);
    assert_int_equal(r->resets, 0);
    expect_empty(r);                          /* D1's data is not a keyboard command */

    command(r, 0xD1);
    data_out(r, 0xDE);                        /* reset bit low */
    assert_int_equal(r->resets, 1);
    assert_int_equal(r->a20_calls, 2);
}

/* ---- aux port without a mouse ---- */

static void aux_loop_and_absent_mouse(void **state)
{
    struct rig *r = *state;
    command(r, 0x60);
    data_out(r, I8042_CCB_XLATE | I8042_CCB_SYS | I8042_CCB_KBDINT | I8042_CCB_AUXINT);

    command(r, 0xD3);                         /* aux loop, as Linux probes */
    data_out(r, 0x5a);
    assert_int_equal(status(r) & (I8042_STR_OBF | I8042_STR_AUXDATA),
                     I8042_STR_OBF | I8042_STR_AUXDATA);
    assert_int_equal(r->level[I8042_AUX_IRQ], 1);
    assert_int_equal(r->level[I8042_KBD_IRQ], 0);
    assert_int_equal(data_in(r), 0x5a);
    assert_int_equal(r->level[I8042_AUX_IRQ], 0);

    command(r, 0xD4);                         /* GETID to the mouse */
    data_out(r, 0xF2);
    uint8_t st = status(r);
    assert_int_equal(st & (I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT),
                     I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
    assert_int_equal(data_in(r), 0xFE);
    assert_int_equal(status(r) & (I8042_STR_TIMEOUT | I8042_STR_AUXDATA), 0);
    expect_empty(r);

    command(r, 0xD2);                         /* fake keyboard byte */
    data_out(r, 0x2c);
    assert_int_equal(status(r) & I8042_STR_AUXDATA, 0);
    assert_int_equal(r->level[I8042_KBD_IRQ], 1);
    assert_int_equal(data_in(r), 0x2c);
    assert_int_equal(r->rises[I8042_AUX_IRQ], 2);
}

/* ---- save, restore, reset ---- */

static void save_restore_round_trip(void **state)
{
    struct rig *r = *state;
    command(r, 0x60);
    data_out(r, 0x47);
    data_out(r, 0xF2);                        /* FA AB 83 waiting */
    assert_int_equal(expect_byte(r), 0xFA);
    command(r, 0xD1);                         /* a command awaiting its data */

    uint8_t blob[256];
    size_t n = i8042_save(&r->k, NULL, 0);
    assert_true(n <= sizeof blob);
    assert_int_equal(i8042_save(&r->k, blob, sizeof blob), n);

    i8042_reset(&r->k);
    assert_int_equal(r->level[I8042_KBD_IRQ], 0);
    expect_empty(r);

    assert_int_equal(i8042_restore(&r->k, blob, n), 0);
    assert_int_equal(r->level[I8042_KBD_IRQ], 1);
    assert_int_equal(expect_byte(r), 0xAB);
    assert_int_equal(expect_byte(r), 0x83);
    data_out(r, 0xDF);                        /* completes the pending 0xD1 */
    assert_int_equal(r->resets, 0);
    expect_empty(r);
    command(r, 0x20);
    assert_int_equal(expect_byte(r), 0x47);

    assert_int_equal(i8042_restore(&r->k, blob, n + 1), -1);
    blob[1] ^= 1;
    assert_int_equal(i8042_restore(&r->k, blob, n), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(self_test_replies_55),
        T(interface_tests_pass),
        T(command_byte_round_trip),
        T(keyboard_reset_sequence_and_irq_edges),
        T(keyboard_identify),
        T(keyboard_commands_with_parameters),
        T(scanning_and_interface_disable),
        T(irq1_follows_command_byte),
        T(pulse_fe_requests_reset),
        T(output_port_a20_and_reset),
        T(aux_loop_and_absent_mouse),
        T(save_restore_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

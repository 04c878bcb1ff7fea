/* test_pic.c - the 8259A pair, driven through its ports on a port bus. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "device_rig.h"
#include "devices/bus.h"
#include "devices/pic.h"

struct fixture {
    struct bus io;
    struct pic pic;
    unsigned intr_changes;
    bool intr_level;
};

static void note_intr(void *opaque, bool level)
{
    struct fixture *f = opaque;
    f->intr_changes++;
    f->intr_level = level;
}

static void out8(struct fixture *f, uint16_t port, uint8_t v) { rig_out8(&f->io, port, v); }
static uint8_t in8(struct fixture *f, uint16_t port) { return rig_in8(&f->io, port); }

static void pulse(struct fixture *f, unsigned irq)
{
    pic_set_irq(&f->pic, irq, 1);
    pic_set_irq(&f->pic, irq, 0);
}

/* Linux's init_8259A: ICW1 0x11, vectors 0x20/0x28, cascade on 2, 8086 mode. */
static void linux_init(struct fixture *f, uint8_t icw4)
{
    out8(f, 0x21, 0xFF);
    out8(f, 0xA1, 0xFF);
    out8(f, 0x20, 0x11);
    out8(f, 0x21, 0x20);
    out8(f, 0x21, 0x04);
    out8(f, 0x21, icw4);
    out8(f, 0xA0, 0x11);
    out8(f, 0xA1, 0x28);
    out8(f, 0xA1, 0x02);
    out8(f, 0xA1, icw4);
    out8(f, 0x21, 0x00);
    out8(f, 0xA1, 0x00);
}

static uint8_t read_isr(struct fixture *f, uint16_t cmd)
{
    out8(f, cmd, 0x0B);
    return in8(f, cmd);
}

static uint8_t read_irr(struct fixture *f, uint16_t cmd)
{
    out8(f, cmd, 0x0A);
    return in8(f, cmd);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[128];
    assert_non_null(f);
    assert_int_equal(bus_init(&f->io, "port", true), 0);
    assert_int_equal(pic_init(&f->pic, &f->io, err, sizeof(err)), 0);
    pic_set_intr_callback(&f->pic, note_intr, f);
    linux_init(f, 0x01);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bus_free(&f->io);
    free(f);
    return 0;
}

static void init_sequence_and_eoi(void **state)
{
    struct fixture *f = *state;
    assert_false(pic_intr(&f->pic));
    pulse(f, 0);
    assert_true(pic_intr(&f->pic));
    assert_true(f->intr_level);
    assert_int_equal(read_irr(f, 0x20), 0x01);
    assert_int_equal(pic_acknowledge(&f->pic), 0x20);
    assert_false(pic_intr(&f->pic));
    assert_false(f->intr_level);
    assert_int_equal(read_isr(f, 0x20), 0x01);
    assert_int_equal(read_irr(f, 0x20), 0x00);
    out8(f, 0x20, 0x20);                            /* non-specific EOI */
    assert_int_equal(read_isr(f, 0x20), 0x00);
    /* The slave's vectors come from its own ICW2. */
    pulse(f, 14);
    assert_int_equal(pic_acknowledge(&f->pic), 0x2E);
}

static void masks(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x21, 0x02);
    assert_int_equal(in8(f, 0x21), 0x02);
    pulse(f, 1);
    assert_false(pic_intr(&f->pic));
    assert_int_equal(read_irr(f, 0x20), 0x02);      /* requested, only masked */
    out8(f, 0x21, 0x00);
    assert_true(pic_intr(&f->pic));
    assert_int_equal(pic_acknowledge(&f->pic), 0x21);
    /* Masking the cascade line hides every slave interrupt. */
    out8(f, 0x20, 0x20);
    out8(f, 0x21, 0x04);
    pulse(f, 9);
    assert_false(pic_intr(&f->pic));
    out8(f, 0x21, 0x00);
    assert_int_equal(pic_acknowledge(&f->pic), 0x29);
}

static void priority_and_nesting(void **state)
{
    struct fixture *f = *state;
    pulse(f, 5);
    pulse(f, 3);
    assert_int_equal(pic_acknowledge(&f->pic), 0x23);
    assert_false(pic_intr(&f->pic));                /* 5 waits behind 3 */
    pulse(f, 1);
    assert_true(pic_intr(&f->pic));                 /* 1 nests above 3 */
    assert_int_equal(pic_acknowledge(&f->pic), 0x21);
    assert_int_equal(read_isr(f, 0x20), 0x0A);
    out8(f, 0x20, 0x20);                            /* clears the highest: 1 */
    assert_int_equal(read_isr(f, 0x20), 0x08);
    assert_false(pic_intr(&f->pic));
    out8(f, 0x20, 0x20);
    assert_true(pic_intr(&f->pic));
    assert_int_equal(pic_acknowledge(&f->pic), 0x25);
}

static void specific_eoi(void **state)
{
    struct fixture *f = *state;
    pulse(f, 5);
    assert_int_equal(pic_acknowledge(&f->pic), 0x25);
    pulse(f, 3);
    assert_int_equal(pic_acknowledge(&f->pic), 0x23);
    assert_int_equal(read_isr(f, 0x20), 0x28);
    out8(f, 0x20, 0x65);                            /* specific EOI for 5 */
    assert_int_equal(read_isr(f, 0x20), 0x08);
    out8(f, 0x20, 0x63);
    assert_int_equal(read_isr(f, 0x20), 0x00);
}

static void automatic_eoi(void **state)
{
    struct fixture *f = *state;
    linux_init(f, 0x03);
    pulse(f, 3);
    assert_int_equal(pic_acknowledge(&f->pic), 0x23);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    pulse(f, 6);                                    /* not blocked: nothing in service */
    assert_true(pic_intr(&f->pic));
    assert_int_equal(pic_acknowledge(&f->pic), 0x26);
}

static void rotation(void **state)
{
    struct fixture *f = *state;
    /* Rotate on non-specific EOI: the line just served drops to lowest. */
    pulse(f, 0);
    assert_int_equal(pic_acknowledge(&f->pic), 0x20);
    out8(f, 0x20, 0xA0);
    pulse(f, 7);
    pulse(f, 0);
    assert_int_equal(pic_acknowledge(&f->pic), 0x27);
    out8(f, 0x20, 0x20);
    assert_int_equal(pic_acknowledge(&f->pic), 0x20);
    out8(f, 0x20, 0x20);

    /* Set priority: bottom = 4, so 5 is highest and 3 is below 6. */
    out8(f, 0x20, 0xC4);
    pulse(f, 3);
    pulse(f, 6);
    assert_int_equal(pic_acknowledge(&f->pic), 0x26);
    out8(f, 0x20, 0x20);
    assert_int_equal(pic_acknowledge(&f->pic), 0x23);

    /* Rotate on specific EOI: clears 3 and makes 3 the lowest. */
    out8(f, 0x20, 0xE3);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    pulse(f, 3);
    pulse(f, 4);
    assert_int_equal(pic_acknowledge(&f->pic), 0x24);
    out8(f, 0x20, 0x20);
    assert_int_equal(pic_acknowledge(&f->pic), 0x23);
    out8(f, 0x20, 0x20);
}

static void rotate_in_automatic_eoi(void **state)
{
    struct fixture *f = *state;
    linux_init(f, 0x03);
    out8(f, 0x20, 0x80);                            /* set rotate in AEOI */
    pulse(f, 4);
    assert_int_equal(pic_acknowledge(&f->pic), 0x24);
    pulse(f, 4);
    pulse(f, 5);
    assert_int_equal(pic_acknowledge(&f->pic), 0x25);   /* 4 is lowest now */
    assert_int_equal(pic_acknowledge(&f->pic), 0x24);
    out8(f, 0x20, 0x00);                            /* clear rotate in AEOI */
    out8(f, 0x20, 0xC7);                            /* back to 0 highest */
    pulse(f, 4);
    assert_int_equal(pic_acknowledge(&f->pic), 0x24);
    pulse(f, 4);
    pulse(f, 5);
    assert_int_equal(pic_acknowledge(&f->pic), 0x24);
}

static void level_mode_through_elcr(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x4D0, 0xFF);
    assert_int_equal(in8(f, 0x4D0), 0xF8);          /* 0-2 are always edge */
    out8(f, 0x4D0, 0x00);
    out8(f, 0x4D1, 0x04);                           /* IRQ 10 level-triggered */
    assert_int_equal(in8(f, 0x4D1), 0x04);

    pic_set_irq(&f->pic, 10, 1);                    /* held high */
    assert_int_equal(pic_acknowledge(&f->pic), 0x2A);
    out8(f, 0xA0, 0x20);
    out8(f, 0x20, 0x20);
    assert_true(pic_intr(&f->pic));                 /* still asserted: again */
    assert_int_equal(pic_acknowledge(&f->pic), 0x2A);
    pic_set_irq(&f->pic, 10, 0);                    /* the device is served */
    out8(f, 0xA0, 0x20);
    out8(f, 0x20, 0x20);
    assert_false(pic_intr(&f->pic));
    assert_int_equal(read_irr(f, 0xA0), 0x00);

    /* The same held line in edge mode interrupts once only. */
    pic_set_irq(&f->pic, 11, 1);
    assert_int_equal(pic_acknowledge(&f->pic), 0x2B);
    out8(f, 0xA0, 0x20);
    out8(f, 0x20, 0x20);
    assert_false(pic_intr(&f->pic));
    pic_set_irq(&f->pic, 11, 0);
    assert_false(pic_intr(&f->pic));
}

static void level_line_dropping_before_ack_is_spurious(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x4D0, 0x08);                           /* IRQ 3 level */
    pic_set_irq(&f->pic, 3, 1);
    assert_true(pic_intr(&f->pic));
    pic_set_irq(&f->pic, 3, 0);
    assert_false(pic_intr(&f->pic));
    assert_int_equal(pic_acknowledge(&f->pic), 0x27);
    assert_int_equal(read_isr(f, 0x20), 0x00);      /* a spurious 7 sets no ISR bit */
}

static void spurious_master_and_slave(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(pic_acknowledge(&f->pic), 0x27);
    pulse(f, 3);
    out8(f, 0x21, 0x08);                            /* masked between INTR and INTA */
    assert_int_equal(pic_acknowledge(&f->pic), 0x27);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    out8(f, 0x21, 0x00);
    assert_int_equal(pic_acknowledge(&f->pic), 0x23);
    out8(f, 0x20, 0x20);

    /* The slave's request goes away after the master latched the cascade edge. */
    pulse(f, 12);
    out8(f, 0xA1, 0x10);
    assert_true(pic_intr(&f->pic));
    assert_int_equal(pic_acknowledge(&f->pic), 0x2F);
    assert_int_equal(read_isr(f, 0x20), 0x04);      /* the master did take IRQ2 */
    assert_int_equal(read_isr(f, 0xA0), 0x00);
    out8(f, 0x20, 0x20);
}

static void poll_mode(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x20, 0x0C);
    assert_int_equal(in8(f, 0x20), 0x00);           /* nothing pending */
    pulse(f, 4);
    out8(f, 0x20, 0x0C);
    assert_int_equal(in8(f, 0x20), 0x84);
    assert_int_equal(read_isr(f, 0x20), 0x10);      /* the poll acknowledged it */
    assert_int_equal(read_irr(f, 0x20), 0x00);
    out8(f, 0x20, 0x20);
    /* Polling the slave. */
    pulse(f, 13);
    out8(f, 0xA0, 0x0C);
    assert_int_equal(in8(f, 0xA1), 0x85);
    assert_int_equal(read_isr(f, 0xA0), 0x20);
    assert_int_equal(in8(f, 0xA1), 0x00);           /* back to the IMR */
}

static void special_mask_mode(void **state)
{
    struct fixture *f = *state;
    pulse(f, 3);
    assert_int_equal(pic_acknowledge(&f->pic), 0x23);
    pulse(f, 5);
    assert_false(pic_intr(&f->pic));
    out8(f, 0x21, 0x08);                            /* mask 3: still in service */
    assert_false(pic_intr(&f->pic));
    out8(f, 0x20, 0x68);                            /* set special mask mode */
    assert_true(pic_intr(&f->pic));
    assert_int_equal(pic_acknowledge(&f->pic), 0x25);
    out8(f, 0x20, 0x65);
    out8(f, 0x20, 0x48);                            /* reset special mask mode */
    out8(f, 0x21, 0x00);
    pulse(f, 6);
    assert_false(pic_intr(&f->pic));                /* 3 blocks again */
    out8(f, 0x20, 0x63);
    assert_int_equal(pic_acknowledge(&f->pic), 0x26);
}

static void cascade(void **state)
{
    struct fixture *f = *state;
    pulse(f, 12);
    assert_true(pic_intr(&f->pic));
    assert_int_equal(read_irr(f, 0x20), 0x04);
    assert_int_equal(pic_acknowledge(&f->pic), 0x2C);
    assert_int_equal(read_isr(f, 0x20), 0x04);
    assert_int_equal(read_isr(f, 0xA0), 0x10);
    /* A master line above the cascade nests; a slave line waits. */
    pulse(f, 8);
    assert_false(pic_intr(&f->pic));
    pulse(f, 1);
    assert_int_equal(pic_acknowledge(&f->pic), 0x21);
    out8(f, 0x20, 0x20);
    assert_false(pic_intr(&f->pic));
    out8(f, 0xA0, 0x20);
    out8(f, 0x20, 0x20);
    assert_true(pic_intr(&f->pic));
    assert_int_equal(pic_acknowledge(&f->pic), 0x28);
    out8(f, 0xA0, 0x20);
    out8(f, 0x20, 0x20);
    assert_false(pic_intr(&f->pic));
    assert_int_equal(read_isr(f, 0x20), 0x00);
    assert_int_equal(read_isr(f, 0xA0), 0x00);
}

static void special_fully_nested(void **state)
{
    struct fixture *f = *state;
    linux_init(f, 0x11);                            /* SFNM on both */
    pulse(f, 12);
    assert_int_equal(pic_acknowledge(&f->pic), 0x2C);
    pulse(f, 8);                                    /* higher slave line may nest */
    assert_true(pic_intr(&f->pic));
    assert_int_equal(pic_acknowledge(&f->pic), 0x28);
    pulse(f, 3);                                    /* lower master line still waits */
    assert_false(pic_intr(&f->pic));
}

static void icw1_resets_and_edge_sense(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x21, 0x5A);
    pic_set_irq(&f->pic, 4, 1);                     /* high across the re-init */
    linux_init(f, 0x01);
    assert_int_equal(in8(f, 0x21), 0x00);
    assert_false(pic_intr(&f->pic));                /* needs a new rising edge */
    pic_set_irq(&f->pic, 4, 0);
    pic_set_irq(&f->pic, 4, 1);
    assert_int_equal(pic_acknowledge(&f->pic), 0x24);
}

static void wide_access_and_unprogrammed_reset(void **state)
{
    struct fixture *f = *state;
    uint64_t v;
    out8(f, 0x21, 0x12);
    out8(f, 0xA1, 0x34);
    out8(f, 0x20, 0x0A);
    pulse(f, 0);
    assert_true(bus_read(&f->io, 0x20, 2, &v));     /* IRR then IMR */
    assert_int_equal(v, 0x1201);
    pic_reset(&f->pic);
    assert_false(pic_intr(&f->pic));
    assert_int_equal(in8(f, 0x21), 0xFF);
    assert_int_equal(in8(f, 0xA1), 0xFF);
}

static void save_and_restore(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x4D1, 0x08);
    out8(f, 0x21, 0x40);
    pulse(f, 5);
    pulse(f, 3);
    assert_int_equal(pic_acknowledge(&f->pic), 0x23);
    uint8_t buf[64];
    size_t n = pic_save(&f->pic, NULL, 0);
    assert_true(n > 0 && n <= sizeof(buf));
    assert_int_equal(pic_save(&f->pic, buf, sizeof(buf)), n);

    pic_reset(&f->pic);
    assert_int_equal(pic_restore(&f->pic, buf, n), 0);
    assert_int_equal(in8(f, 0x21), 0x40);
    assert_int_equal(in8(f, 0x4D1), 0x08);
    assert_int_equal(read_isr(f, 0x20), 0x08);
    out8(f, 0x20, 0x20);
    assert_int_equal(pic_acknowledge(&f->pic), 0x25);

    assert_int_equal(pic_restore(&f->pic, buf, n - 1), -1);
    buf[4 + 7] = 9;                                 /* priority out of range */
    assert_int_equal(pic_restore(&f->pic, buf, n), -1);
    buf[0] = 'X';
    assert_int_equal(pic_restore(&f->pic, buf, n), -1);
}

static void overlapping_registration_is_refused(void **state)
{
    struct fixture *f = *state;
    struct pic other;
    char err[128] = "";
    assert_int_equal(pic_init(&other, &f->io, err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(init_sequence_and_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(masks, setup, teardown),
        cmocka_unit_test_setup_teardown(priority_and_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(specific_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(automatic_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(rotate_in_automatic_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(level_mode_through_elcr, setup, teardown),
        cmocka_unit_test_setup_teardown(level_line_dropping_before_ack_is_spurious, setup, teardown),
        cmocka_unit_test_setup_teardown(spurious_master_and_slave, setup, teardown),
        cmocka_unit_test_setup_teardown(poll_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(special_mask_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(special_fully_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(icw1_resets_and_edge_sense, setup, teardown),
        cmocka_unit_test_setup_teardown(wide_access_and_unprogrammed_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(save_and_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(overlapping_registration_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

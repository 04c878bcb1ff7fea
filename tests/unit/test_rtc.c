/* test_rtc.c - the MC146818 RTC/CMOS through ports 0x70-0x71, on a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "device_rig.h"
#include "devices/bus.h"
#include "devices/rtc.h"
#include "devices/timer.h"

#define SEC 1000000000ull
#define EPOCH_LEAP_EVE 1709251198       /* 2024-02-29 23:59:58 UTC, a Thursday */

struct fixture {
    struct bus io;
    struct timer_set ts;
    uint64_t now;
    struct rtc rtc;
    unsigned irq_edges;
    int irq_level;
    uint8_t c_seen;          /* OR of register C values read while serving */
    /* A one-line interrupt controller for the lost-tick policy. */
    bool irr;
    bool masked;
};

static uint64_t fake_now(void *opaque) { return ((struct fixture *)opaque)->now; }

static void record_irq(void *opaque, unsigned irq, int level)
{
    struct fixture *f = opaque;
    assert_int_equal(irq, 8);
    if (level && !f->irq_level) {
        f->irq_edges++;
        f->irr = true;
    }
    f->irq_level = level;
}

static void out8(struct fixture *f, uint16_t port, uint8_t v) { rig_out8(&f->io, port, v); }
static uint8_t in8(struct fixture *f, uint16_t port) { return rig_in8(&f->io, port); }

static uint8_t cmos_read(struct fixture *f, uint8_t reg)
{
    out8(f, 0x70, reg);
    return in8(f, 0x71);
}

static void cmos_write(struct fixture *f, uint8_t reg, uint8_t v)
{
    out8(f, 0x70, reg);
    out8(f, 0x71, v);
}

/* Move the clock to `ns`, firing timers at their deadlines; `serve` plays an
 * interrupt handler that reads register C whenever IRQ 8 is up. */
static void serve_irq8(void *opaque)
{
    struct fixture *f = opaque;
    if (f->irq_level)
        f->c_seen |= cmos_read(f, 0x0C);
}

static void advance_to(struct fixture *f, uint64_t ns, bool serve)
{
    rig_advance_to(&f->ts, &f->now, ns, serve ? serve_irq8 : NULL, f);
}

static struct fixture *make_fixture(int64_t epoch)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[128];
    assert_non_null(f);
    assert_int_equal(bus_init(&f->io, "port", true), 0);
    timer_set_init(&f->ts, fake_now, f);
    struct irq_line irq8 = { .set = record_irq, .opaque = f, .irq = 8 };
    assert_int_equal(rtc_init(&f->rtc, &f->io, &f->ts, irq8, epoch, err, sizeof(err)), 0);
    return f;
}

static struct irq_line_status fake_pic_status(void *opaque, unsigned irq)
{
    struct fixture *f = opaque;
    assert_int_equal(irq, 8);
    return (struct irq_line_status){ .requested = f->irr, .masked = f->masked };
}

static void deliver_late(struct fixture *f)
{
    struct irq_probe probe = { .status = fake_pic_status, .opaque = f, .irq = 8 };
    rtc_set_lost_tick_policy(&f->rtc, LOST_TICKS_DELIVER, probe);
}

static int setup(void **state)
{
    *state = make_fixture(EPOCH_LEAP_EVE);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bus_free(&f->io);
    free(f);
    return 0;
}

static void time_in_bcd_24h(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cmos_read(f, 0x00), 0x58);
    assert_int_equal(cmos_read(f, 0x02), 0x59);
    assert_int_equal(cmos_read(f, 0x04), 0x23);
    assert_int_equal(cmos_read(f, 0x06), 5);        /* Thursday; Sunday is 1 */
    assert_int_equal(cmos_read(f, 0x07), 0x29);
    assert_int_equal(cmos_read(f, 0x08), 0x02);
    assert_int_equal(cmos_read(f, 0x09), 0x24);
    assert_int_equal(cmos_read(f, 0x32), 0x20);
    f->now = 2 * SEC;                               /* into March */
    assert_int_equal(cmos_read(f, 0x00), 0x00);
    assert_int_equal(cmos_read(f, 0x02), 0x00);
    assert_int_equal(cmos_read(f, 0x04), 0x00);
    assert_int_equal(cmos_read(f, 0x06), 6);
    assert_int_equal(cmos_read(f, 0x07), 0x01);
    assert_int_equal(cmos_read(f, 0x08), 0x03);
    f->now = 3 * SEC + 999999999;
    assert_int_equal(cmos_read(f, 0x00), 0x01);
}

static void binary_and_12_hour_modes(void **state)
{
    struct fixture *f = *state;
    cmos_write(f, 0x0B, 0x06);                      /* binary, 24 h */
    assert_int_equal(cmos_read(f, 0x00), 58);
    assert_int_equal(cmos_read(f, 0x04), 23);
    assert_int_equal(cmos_read(f, 0x07), 29);
    assert_int_equal(cmos_read(f, 0x09), 24);
    assert_int_equal(cmos_read(f, 0x32), 20);
    cmos_write(f, 0x0B, 0x04);                      /* binary, 12 h */
    assert_int_equal(cmos_read(f, 0x04), 0x80 | 11);
    cmos_write(f, 0x0B, 0x00);                      /* BCD, 12 h */
    assert_int_equal(cmos_read(f, 0x04), 0x91);
    f->now = 2 * SEC;
    assert_int_equal(cmos_read(f, 0x04), 0x12);     /* midnight is 12 AM */
    assert_int_equal(cmos_read(f, 0x00), 0x00);     /* the mode change kept time */
    assert_int_equal(cmos_read(f, 0x0B), 0x00);

    struct fixture *g = make_fixture(1709296200);   /* 2024-03-01 12:30:00 */
    cmos_write(g, 0x0B, 0x00);
    assert_int_equal(cmos_read(g, 0x04), 0x92);     /* 12 PM */
    assert_int_equal(cmos_read(g, 0x02), 0x30);
    teardown((void **)&g);
}

static void update_in_progress_window(void **state)
{
    struct fixture *f = *state;
    f->now = SEC - 244001;
    assert_int_equal(cmos_read(f, 0x0A), 0x26);
    f->now = SEC - 244000;
    assert_int_equal(cmos_read(f, 0x0A), 0xA6);
    assert_int_equal(cmos_read(f, 0x00), 0x58);     /* not updated yet */
    f->now = SEC - 1;
    assert_int_equal(cmos_read(f, 0x0A) & 0x80, 0x80);
    f->now = SEC;
    assert_int_equal(cmos_read(f, 0x0A) & 0x80, 0);
    assert_int_equal(cmos_read(f, 0x00), 0x59);
    /* Writing A cannot set UIP. */
    cmos_write(f, 0x0A, 0xA6);
    assert_int_equal(cmos_read(f, 0x0A), 0x26);
}

static void periodic_interrupt_rates(void **state)
{
    struct fixture *f = *state;
    cmos_write(f, 0x0B, 0x42);                      /* PIE, 24 h, BCD */
    advance_to(f, SEC, true);
    assert_int_equal(f->irq_edges, 1024);           /* A = 0x26: 1024 Hz */
    assert_int_equal(f->c_seen & 0xC0, 0xC0);       /* IRQF | PF (UF sets too, unenabled) */

    f->irq_edges = 0;
    cmos_write(f, 0x0A, 0x2F);                      /* 2 Hz */
    advance_to(f, 4 * SEC, true);
    assert_int_equal(f->irq_edges, 6);
    f->irq_edges = 0;
    cmos_write(f, 0x0A, 0x23);                      /* 8192 Hz */
    advance_to(f, 5 * SEC, true);
    assert_int_equal(f->irq_edges, 8192);
    f->irq_edges = 0;
    cmos_write(f, 0x0A, 0x21);                      /* rate 1 is 256 Hz */
    advance_to(f, 6 * SEC, true);
    assert_int_equal(f->irq_edges, 256);

    /* Not served: the line stays up, no further edges, PF still latched. */
    f->irq_edges = 0;
    advance_to(f, 7 * SEC, false);
    assert_int_equal(f->irq_edges, 1);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(cmos_read(f, 0x0C) & 0xC0, 0xC0);
    assert_int_equal(f->irq_level, 0);

    /* Without PIE the flag is still there for polling, but no interrupt. */
    cmos_write(f, 0x0B, 0x02);
    f->irq_edges = 0;
    advance_to(f, 8 * SEC, false);
    assert_int_equal(f->irq_edges, 0);
    assert_int_equal(cmos_read(f, 0x0C) & 0xC0, 0x40);
}

static void register_c_clears_on_read(void **state)
{
    struct fixture *f = *state;
    cmos_write(f, 0x0B, 0x12);                      /* UIE */
    advance_to(f, SEC, false);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(cmos_read(f, 0x0C) & 0x90, 0x90);  /* IRQF | UF; PF, AF may be up too */
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(cmos_read(f, 0x0C), 0x00);
    cmos_write(f, 0x0C, 0xFF);                      /* read-only */
    assert_int_equal(cmos_read(f, 0x0C), 0x00);
}

static void update_ended_interrupt(void **state)
{
    struct fixture *f = *state;
    cmos_write(f, 0x0B, 0x12);
    advance_to(f, 10 * SEC + 1, true);
    assert_int_equal(f->irq_edges, 10);
    assert_int_equal(f->c_seen & 0x90, 0x90);
}

static void alarm_interrupt(void **state)
{
    struct fixture *f = *state;
    cmos_write(f, 0x01, 0x05);                      /* 00:00:05 */
    cmos_write(f, 0x03, 0x00);
    cmos_write(f, 0x05, 0x00);
    cmos_write(f, 0x0B, 0x22);                      /* AIE */
    advance_to(f, 7 * SEC - 1, true);
    assert_int_equal(f->irq_edges, 0);
    advance_to(f, 7 * SEC, true);                   /* 23:59:58 + 7 s */
    assert_int_equal(f->irq_edges, 1);
    assert_int_equal(f->c_seen & 0xB0, 0xB0);       /* IRQF | AF, UF set alongside */
    advance_to(f, 100 * SEC, true);
    assert_int_equal(f->irq_edges, 1);

    /* Don't-care hours and minutes: every minute at :30. */
    cmos_write(f, 0x01, 0x30);
    cmos_write(f, 0x03, 0xC0);
    cmos_write(f, 0x05, 0xFF);
    f->irq_edges = 0;
    advance_to(f, 100 * SEC + 180 * SEC, true);
    assert_int_equal(f->irq_edges, 3);

    /* An alarm passed while nobody looked still shows in C. */
    cmos_write(f, 0x0B, 0x02);
    cmos_read(f, 0x0C);
    advance_to(f, 400 * SEC, false);
    assert_int_equal(cmos_read(f, 0x0C) & 0x20, 0x20);
}

static void set_bit_changes_the_time(void **state)
{
    struct fixture *f = *state;
    f->now = SEC / 3;
    cmos_write(f, 0x0B, 0x82 | 0x10);               /* SET (and UIE, which SET clears) */
    assert_int_equal(cmos_read(f, 0x0B), 0x82);
    cmos_write(f, 0x00, 0x00);
    cmos_write(f, 0x02, 0x00);
    cmos_write(f, 0x04, 0x08);
    cmos_write(f, 0x07, 0x15);
    cmos_write(f, 0x08, 0x06);
    cmos_write(f, 0x09, 0x30);
    f->now = 5 * SEC;                               /* frozen while SET */
    assert_int_equal(cmos_read(f, 0x04), 0x08);
    assert_int_equal(cmos_read(f, 0x00), 0x00);
    assert_int_equal(cmos_read(f, 0x0A) & 0x80, 0);
    f->now = 5 * SEC + SEC / 2;
    cmos_write(f, 0x0B, 0x02);                      /* run again */
    assert_int_equal(cmos_read(f, 0x00), 0x00);
    assert_int_equal(cmos_read(f, 0x06), 7);        /* 2030-06-15 is a Saturday */
    f->now = 6 * SEC;                               /* the divider kept its phase */
    assert_int_equal(cmos_read(f, 0x00), 0x01);
    assert_int_equal(cmos_read(f, 0x32), 0x20);
    assert_int_equal(cmos_read(f, 0x09), 0x30);

    /* A write without SET takes effect at once. */
    cmos_write(f, 0x02, 0x45);
    assert_int_equal(cmos_read(f, 0x02), 0x45);
    f->now = 7 * SEC;
    assert_int_equal(cmos_read(f, 0x02), 0x45);
    assert_int_equal(cmos_read(f, 0x00), 0x02);
    assert_int_equal(cmos_read(f, 0x04), 0x08);
}

static void divider_reset_holds_the_clock(void **state)
{
    struct fixture *f = *state;
    cmos_write(f, 0x0A, 0x76);                      /* divider in reset */
    f->now = 10 * SEC;
    assert_int_equal(cmos_read(f, 0x00), 0x58);
    cmos_write(f, 0x0A, 0x26);
    f->now = 10 * SEC + SEC / 2 - 1;
    assert_int_equal(cmos_read(f, 0x00), 0x58);
    f->now = 10 * SEC + SEC / 2;                    /* first update 500 ms later */
    assert_int_equal(cmos_read(f, 0x00), 0x59);
}

static void nmi_mask_and_status_d(void **state)
{
    struct fixture *f = *state;
    assert_false(rtc_nmi_masked(&f->rtc));
    out8(f, 0x70, 0x8D);
    assert_true(rtc_nmi_masked(&f->rtc));
    assert_int_equal(in8(f, 0x71), 0x80);           /* D: valid RAM and time */
    out8(f, 0x71, 0x00);
    assert_int_equal(in8(f, 0x71), 0x80);
    out8(f, 0x70, 0x0D);
    assert_false(rtc_nmi_masked(&f->rtc));
}

static void cmos_memory(void **state)
{
    struct fixture *f = *state;
    cmos_write(f, 0x40, 0xA5);
    cmos_write(f, 0x7F, 0x5A);
    assert_int_equal(cmos_read(f, 0x40), 0xA5);
    assert_int_equal(cmos_read(f, 0x7F), 0x5A);
    assert_int_equal(cmos_read(f, 0xC0), 0xA5);     /* bit 7 is the NMI mask */
}

static unsigned checksum(struct fixture *f)
{
    unsigned sum = 0;
    for (uint8_t i = 0x10; i <= 0x2D; i++)
        sum += cmos_read(f, i);
    return sum & 0xFFFF;
}

static unsigned word(struct fixture *f, uint8_t reg)
{
    return cmos_read(f, reg) | cmos_read(f, (uint8_t)(reg + 1)) << 8;
}

static void memory_size_bytes(void **state)
{
    struct fixture *f = *state;
    rtc_set_memory_size(&f->rtc, 256ull << 20);
    assert_int_equal(word(f, 0x15), 640);
    assert_int_equal(word(f, 0x17), 0xFFFF);        /* 255 MiB in KiB, capped */
    assert_int_equal(word(f, 0x30), 0xFFFF);
    assert_int_equal(word(f, 0x34), (256 - 16) * 16);
    assert_int_equal(cmos_read(f, 0x2E) << 8 | cmos_read(f, 0x2F), checksum(f));

    rtc_set_memory_size(&f->rtc, 16ull << 20);
    assert_int_equal(word(f, 0x17), 15 * 1024);
    assert_int_equal(word(f, 0x30), 15 * 1024);
    assert_int_equal(word(f, 0x34), 0);
    assert_int_equal(cmos_read(f, 0x2E) << 8 | cmos_read(f, 0x2F), checksum(f));

    rtc_set_memory_size(&f->rtc, 3ull << 30);
    assert_int_equal(word(f, 0x34), 0xBF00);
    assert_int_equal(cmos_read(f, 0x2E) << 8 | cmos_read(f, 0x2F), checksum(f));
}

static void reset_save_and_restore(void **state)
{
    struct fixture *f = *state;
    cmos_write(f, 0x0B, 0x52);                      /* PIE | UIE */
    cmos_write(f, 0x50, 0x77);
    cmos_write(f, 0x0A, 0x2F);
    advance_to(f, SEC, false);
    assert_int_equal(f->irq_level, 1);
    uint8_t buf[512];
    size_t n = rtc_save(&f->rtc, NULL, 0);
    assert_true(n <= sizeof(buf));
    assert_int_equal(rtc_save(&f->rtc, buf, sizeof(buf)), n);

    rtc_reset(&f->rtc);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(cmos_read(f, 0x0B), 0x02);     /* enables cleared */
    assert_int_equal(cmos_read(f, 0x0C), 0x00);
    assert_int_equal(cmos_read(f, 0x00), 0x59);     /* time kept */

    assert_int_equal(rtc_restore(&f->rtc, buf, n), 0);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(cmos_read(f, 0x50), 0x77);
    assert_int_equal(cmos_read(f, 0x0B), 0x52);
    assert_int_equal(cmos_read(f, 0x0C) & 0xD0, 0xD0);
    assert_true(timer_next_deadline(&f->ts) != TIMER_NEVER);

    assert_int_equal(rtc_restore(&f->rtc, buf, n + 1), -1);
    buf[0] = 'X';
    assert_int_equal(rtc_restore(&f->rtc, buf, n), -1);
}


/* --- the lost-tick policy --- */

/* Periodic tick j at 1024 Hz (the divider started at virtual time 0). */
static uint64_t tick_1024_ns(uint64_t j)
{
    return (j * SEC + 1023) / 1024;
}

static void fire_late_to(struct fixture *f, uint64_t ns)
{
    f->now = ns;
    timer_run_expired(&f->ts, ns);
}

/* The guest's handler: the CPU takes the interrupt, reads C. */
static void take_and_serve(struct fixture *f)
{
    f->irr = false;
    f->c_seen |= cmos_read(f, 0x0C);
}

/* 1024 Hz with PIE, served on time up to tick 10; then the host runs us
 * only just after tick 20. */
static void ten_ticks_late(struct fixture *f)
{
    cmos_write(f, 0x0B, 0x42);
    advance_to(f, tick_1024_ns(10) + 1000, true);
    take_and_serve(f);
    f->irq_edges = 0;
    fire_late_to(f, tick_1024_ns(20) + 1000);
    assert_int_equal(f->irq_edges, 1);
}

static void late_periodic_ticks_are_delivered(void **state)
{
    struct fixture *f = *state;
    deliver_late(f);
    ten_ticks_late(f);
    for (unsigned n = 2; n <= 10; n++) {
        take_and_serve(f);
        assert_int_equal(f->irq_level, 0);
        /* Raised again a moment after the guest acknowledged, not at once. */
        assert_int_equal(timer_next_deadline(&f->ts), f->now + LOST_TICKS_RETRY_NS);
        fire_late_to(f, timer_next_deadline(&f->ts));
        assert_int_equal(f->irq_edges, n);
        assert_int_equal(f->irq_level, 1);
    }
    take_and_serve(f);
    assert_int_equal(f->rtc.s.periodic_owed, 0);
    assert_int_equal(f->c_seen & 0xC0, 0xC0);
    assert_int_equal(timer_next_deadline(&f->ts), tick_1024_ns(21));
}

static void periodic_backlog_is_capped(void **state)
{
    struct fixture *f = *state;
    deliver_late(f);
    cmos_write(f, 0x0B, 0x42);
    advance_to(f, tick_1024_ns(10) + 1000, true);
    take_and_serve(f);
    fire_late_to(f, tick_1024_ns(10 + 5 * 1024) + 1000);       /* 5 s late */
    assert_int_equal(f->rtc.s.periodic_owed, 1024);             /* 1 s of ticks */
}

static void discard_policy_merges_late_ticks(void **state)
{
    struct fixture *f = *state;
    ten_ticks_late(f);                              /* LOST_TICKS_DISCARD by default */
    take_and_serve(f);
    assert_int_equal(timer_next_deadline(&f->ts), tick_1024_ns(21));
    advance_to(f, tick_1024_ns(21) - 1, true);
    assert_int_equal(f->irq_edges, 1);
}

static void refused_or_disabled_ticks_lapse(void **state)
{
    struct fixture *f = *state;
    deliver_late(f);
    f->masked = true;                               /* the guest masked IRQ 8 */
    ten_ticks_late(f);
    assert_int_equal(f->rtc.s.periodic_owed, 0);
    f->masked = false;
    take_and_serve(f);
    fire_late_to(f, tick_1024_ns(30) + 1000);
    assert_int_equal(f->rtc.s.periodic_owed, 9);
    cmos_write(f, 0x0B, 0x02);                      /* PIE off */
    assert_int_equal(f->rtc.s.periodic_owed, 0);
    cmos_write(f, 0x0B, 0x42);
    take_and_serve(f);
    fire_late_to(f, tick_1024_ns(40) + 1000);
    assert_int_equal(f->rtc.s.periodic_owed, 9);
    cmos_write(f, 0x0A, 0x2A);                      /* another rate */
    assert_int_equal(f->rtc.s.periodic_owed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(time_in_bcd_24h, setup, teardown),
        cmocka_unit_test_setup_teardown(binary_and_12_hour_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(update_in_progress_window, setup, teardown),
        cmocka_unit_test_setup_teardown(periodic_interrupt_rates, setup, teardown),
        cmocka_unit_test_setup_teardown(register_c_clears_on_read, setup, teardown),
        cmocka_unit_test_setup_teardown(update_ended_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(alarm_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(set_bit_changes_the_time, setup, teardown),
        cmocka_unit_test_setup_teardown(divider_reset_holds_the_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(nmi_mask_and_status_d, setup, teardown),
        cmocka_unit_test_setup_teardown(cmos_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(memory_size_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_save_and_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(late_periodic_ticks_are_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(periodic_backlog_is_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(discard_policy_merges_late_ticks, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_or_disabled_ticks_lapse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

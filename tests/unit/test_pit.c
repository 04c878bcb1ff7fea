/* test_pit.c - the 8254 PIT and port 0x61, through their ports, on a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "device_rig.h"
#include "devices/bus.h"
#include "devices/pit.h"
#include "devices/timer.h"

struct fixture {
    struct bus io;
    struct timer_set ts;
    uint64_t now;
    struct pit pit;
    unsigned irq_edges;
    int irq_level;
    unsigned last_irq;
    /* A one-line interrupt controller for the lost-tick policy. */
    bool irr;                 /* a rising edge latched, not yet taken by the "CPU" */
    bool masked;
    bool cpu_refuses;
};

static uint64_t fake_now(void *opaque) { return ((struct fixture *)opaque)->now; }

static void record_irq(void *opaque, unsigned irq, int level)
{
    struct fixture *f = opaque;
    if (level && !f->irq_level) {
        f->irq_edges++;
        f->irr = true;
    }
    f->irq_level = level;
    f->last_irq = irq;
}

/* The first nanosecond of PIT tick n (the device's own rounding). */
static uint64_t tick_ns(uint64_t n)
{
    return (uint64_t)(((unsigned __int128)n * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

/* Move the clock to `ns`, firing every timer at its exact deadline. */
static void advance_to(struct fixture *f, uint64_t ns)
{
    rig_advance_to(&f->ts, &f->now, ns, NULL, NULL);
}

static void out8(struct fixture *f, uint16_t port, uint8_t v) { rig_out8(&f->io, port, v); }
static uint8_t in8(struct fixture *f, uint16_t port) { return rig_in8(&f->io, port); }

static uint16_t in16_lsb_msb(struct fixture *f, uint16_t port)
{
    uint8_t lo = in8(f, port);
    return (uint16_t)(in8(f, port) << 8 | lo);
}

static void load(struct fixture *f, unsigned ch, uint8_t control, uint16_t count)
{
    out8(f, 0x43, control);
    out8(f, (uint16_t)(0x40 + ch), (uint8_t)count);
    out8(f, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static uint8_t status_of(struct fixture *f, unsigned ch)
{
    out8(f, 0x43, (uint8_t)(0xE0 | 2u << ch));      /* read-back, status only */
    return in8(f, (uint16_t)(0x40 + ch));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[128];
    assert_non_null(f);
    f->now = 5000000;                               /* not zero: starts mid-tick */
    assert_int_equal(bus_init(&f->io, "port", true), 0);
    timer_set_init(&f->ts, fake_now, f);
    struct irq_line irq0 = { .set = record_irq, .opaque = f, .irq = 0 };
    assert_int_equal(pit_init(&f->pit, &f->io, &f->ts, irq0, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

static struct irq_line_status fake_pic_status(void *opaque, unsigned irq)
{
    struct fixture *f = opaque;
    assert_int_equal(irq, 0);
    return (struct irq_line_status){ .requested = f->irr, .masked = f->masked,
                                     .cpu_refuses = f->cpu_refuses };
}

static void deliver_late(struct fixture *f)
{
    struct irq_probe probe = { .status = fake_pic_status, .opaque = f, .irq = 0 };
    pit_set_lost_tick_policy(&f->pit, LOST_TICKS_DELIVER, probe);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bus_free(&f->io);
    free(f);
    return 0;
}

static uint64_t start_tick(struct fixture *f)
{
    return (uint64_t)((unsigned __int128)f->now * PIT_HZ / 1000000000u);
}

static void mode0_counts_down_and_raises_once(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_tick(f);
    load(f, 0, 0x30, 1000);
    assert_int_equal(status_of(f, 0) & 0x80, 0);    /* OUT low while counting */
    advance_to(f, tick_ns(t0 + 400));
    assert_int_equal(in16_lsb_msb(f, 0x40), 600);
    advance_to(f, tick_ns(t0 + 999));
    assert_int_equal(f->irq_edges, 0);
    assert_int_equal(status_of(f, 0) & 0x80, 0);
    advance_to(f, tick_ns(t0 + 1000));
    assert_int_equal(f->irq_edges, 1);
    assert_int_equal(f->last_irq, 0);
    assert_int_equal(f->irq_level, 0);              /* pulsed: raised then lowered */
    assert_int_equal(status_of(f, 0) & 0x80, 0x80);
    advance_to(f, tick_ns(t0 + 1010));
    assert_int_equal(in16_lsb_msb(f, 0x40), 0xFFF6);   /* keeps counting, wrapped */
    advance_to(f, tick_ns(t0 + 200000));
    assert_int_equal(f->irq_edges, 1);              /* one shot */
    assert_int_equal(pit_irq_count(&f->pit), 1);
}

static void mode2_rate_1000hz(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_tick(f), ns0 = f->now;
    load(f, 0, 0x34, 1193);
    advance_to(f, tick_ns(t0 + 100));
    assert_int_equal(in16_lsb_msb(f, 0x40), 1093);
    advance_to(f, tick_ns(t0 + 1192));
    assert_int_equal(status_of(f, 0) & 0x80, 0);    /* the one low tick */
    advance_to(f, ns0 + 1000000000u);
    assert_int_equal(f->irq_edges, 1000);           /* 1193182 / 1193 = 1000.15 */
    /* Every deadline lies on the grid of the programming time. */
    assert_int_equal(timer_next_deadline(&f->ts), tick_ns(t0 + 1001 * 1193));
}

static void mode2_count_zero_is_18_2_hz(void **state)
{
    struct fixture *f = *state;
    uint64_t ns0 = f->now;
    load(f, 0, 0x34, 0);
    advance_to(f, ns0 + 1000000000u);
    assert_int_equal(f->irq_edges, 18);
    advance_to(f, ns0 + 10000000000u);
    assert_int_equal(f->irq_edges, 182);            /* 18.2065 Hz */
}

static void late_timers_do_not_drift(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_tick(f), ns0 = f->now;
    load(f, 0, 0x34, 1193);
    /* The host fires late: every 0.7 ms, after several missed edges. */
    for (uint64_t t = ns0; t < ns0 + 50000000u; t += 700000) {
        f->now = t;
        timer_run_expired(&f->ts, t);
    }
    uint64_t next = timer_next_deadline(&f->ts);
    uint64_t k = ((unsigned __int128)next * PIT_HZ / 1000000000u - t0) / 1193;
    assert_int_equal(next, tick_ns(t0 + k * 1193));
    assert_true(next > f->now);
}

static void mode3_square_wave(void **state)
{
    struct fixture *f = *state;
    uint64_t ns0 = f->now;
    load(f, 0, 0x36, 11931);                        /* ~100 Hz */
    advance_to(f, ns0 + 1000000000u);
    assert_int_equal(f->irq_edges, 100);

    /* Counter 2's output shows in port 0x61 bit 5. */
    out8(f, 0x61, 0x01);
    uint64_t t0 = start_tick(f);
    load(f, 2, 0xB6, 100);
    advance_to(f, tick_ns(t0 + 10));
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
    assert_int_equal(in16_lsb_msb(f, 0x42), 80);    /* decrements by two */
    advance_to(f, tick_ns(t0 + 49));
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
    advance_to(f, tick_ns(t0 + 50));
    assert_int_equal(in8(f, 0x61) & 0x20, 0);
    advance_to(f, tick_ns(t0 + 99));
    assert_int_equal(in8(f, 0x61) & 0x20, 0);
    advance_to(f, tick_ns(t0 + 100));
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
    /* Gate low forces the output high and holds the count. */
    advance_to(f, tick_ns(t0 + 160));
    out8(f, 0x61, 0x00);
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
}

static void latch_holds_until_read(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_tick(f);
    load(f, 0, 0x34, 10000);
    advance_to(f, tick_ns(t0 + 100));
    out8(f, 0x43, 0x00);                            /* counter latch, counter 0 */
    advance_to(f, tick_ns(t0 + 600));
    out8(f, 0x43, 0x00);                            /* ignored: already latched */
    assert_int_equal(in8(f, 0x40), (uint8_t)9900);
    advance_to(f, tick_ns(t0 + 700));
    assert_int_equal(in8(f, 0x40), 9900 >> 8);      /* the MSB of the same latch */
    assert_int_equal(in16_lsb_msb(f, 0x40), 9300);  /* released: live again */

    /* LSB-only access: one read releases the latch. */
    load(f, 1, 0x54, 0);                            /* counter 1, LSB, mode 2 */
    out8(f, 0x41, 200);
    t0 = start_tick(f);
    advance_to(f, tick_ns(t0 + 50));
    out8(f, 0x43, 0x40);
    advance_to(f, tick_ns(t0 + 60));
    assert_int_equal(in8(f, 0x41), 150);
    assert_int_equal(in8(f, 0x41), 140);
}

static void read_back_status_and_count(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_tick(f), t00 = t0;
    load(f, 0, 0x34, 5000);
    assert_int_equal(status_of(f, 0), 0xC0 | 0x34);     /* OUT high, null count */
    advance_to(f, tick_ns(t0 + 20));
    out8(f, 0x43, 0xC2);                            /* count and status, counter 0 */
    advance_to(f, tick_ns(t0 + 40));
    assert_int_equal(in8(f, 0x40), 0x80 | 0x34);    /* status first */
    assert_int_equal(in16_lsb_msb(f, 0x40), 4980);  /* then the latched count */

    /* One command latches several counters. */
    out8(f, 0x61, 0x01);                            /* counter 2's gate */
    load(f, 2, 0xB0, 3000);
    t0 = start_tick(f);
    advance_to(f, tick_ns(t0 + 7));
    out8(f, 0x43, 0xD0 | 0x08 | 0x02);              /* count only, counters 0 and 2 */
    advance_to(f, tick_ns(t0 + 500));
    assert_int_equal(in16_lsb_msb(f, 0x42), 2993);
    assert_int_equal(in16_lsb_msb(f, 0x40), 5000 - (t0 + 7 - t00) % 5000);
    out8(f, 0x43, 0xE8);                            /* status only, counter 2 */
    assert_int_equal(in8(f, 0x42), 0x30);           /* mode 0, OUT low, loaded */
}

static void bcd_counting(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_tick(f);
    load(f, 0, 0x31, 0x1000);                       /* mode 0, BCD 1000 */
    advance_to(f, tick_ns(t0 + 1));
    assert_int_equal(in16_lsb_msb(f, 0x40), 0x0999);
    advance_to(f, tick_ns(t0 + 999));
    assert_int_equal(in16_lsb_msb(f, 0x40), 0x0001);
    assert_int_equal(f->irq_edges, 0);
    advance_to(f, tick_ns(t0 + 1000));
    assert_int_equal(f->irq_edges, 1);
    advance_to(f, tick_ns(t0 + 1001));
    assert_int_equal(in16_lsb_msb(f, 0x40), 0x9999);    /* wraps in decimal */

    /* Count 0 in BCD is 10000: 119.3 Hz. */
    uint64_t ns0 = f->now;
    f->irq_edges = 0;
    load(f, 0, 0x35, 0);
    advance_to(f, ns0 + 1000000000u);
    assert_int_equal(f->irq_edges, 119);
}

/* Linux's pit_calibrate_tsc and quick_pit_calibrate on counter 2. */
static void linux_tsc_calibration_pattern(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x61, (uint8_t)((in8(f, 0x61) & ~0x02) | 0x01));
    uint64_t t0 = start_tick(f);
    out8(f, 0x43, 0xB0);
    out8(f, 0x42, 0xFF);
    out8(f, 0x42, 0xFF);
    assert_int_equal(in8(f, 0x42), 0xFF);           /* LSB ... */
    assert_int_equal(in8(f, 0x42), 0xFF);           /* ... MSB, just loaded */
    uint64_t polls = 0;
    while ((in8(f, 0x61) & 0x20) == 0) {
        f->now += 1000;
        polls++;
        assert_true(polls < 100000);
    }
    uint64_t ticks = start_tick(f) - t0;
    assert_true(ticks >= 0xFFFF && ticks <= 0xFFFF + 2);
    /* The MSB steps down once every 256 ticks. */
    out8(f, 0x43, 0xB0);
    out8(f, 0x42, 0xFF);
    out8(f, 0x42, 0xFF);
    t0 = start_tick(f);
    f->now = tick_ns(t0 + 256 * 10 + 5);
    in8(f, 0x42);
    assert_int_equal(in8(f, 0x42), 0xFF - 10);

    /* Gate low holds a mode 0 count; gate high resumes it. */
    out8(f, 0x61, 0x00);
    f->now = tick_ns(t0 + 256 * 10 + 5 + 5000);
    in8(f, 0x42);
    assert_int_equal(in8(f, 0x42), 0xFF - 10);
    out8(f, 0x61, 0x01);
    f->now = tick_ns(start_tick(f) + 256);
    in8(f, 0x42);
    assert_int_equal(in8(f, 0x42), 0xFF - 11);
}

static void gate_triggered_modes(void **state)
{
    struct fixture *f = *state;
    /* Mode 1: a one-shot started by the gate's rising edge. */
    load(f, 2, 0xB2, 100);
    f->now += 1000000;
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);    /* waits for its trigger */
    out8(f, 0x61, 0x01);
    uint64_t t0 = start_tick(f);
    assert_int_equal(in8(f, 0x61) & 0x20, 0);
    f->now = tick_ns(t0 + 99);
    assert_int_equal(in8(f, 0x61) & 0x20, 0);
    f->now = tick_ns(t0 + 100);
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
    out8(f, 0x61, 0x00);                            /* retrigger */
    out8(f, 0x61, 0x01);
    t0 = start_tick(f);
    assert_int_equal(in8(f, 0x61) & 0x20, 0);
    f->now = tick_ns(t0 + 100);
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);

    /* Mode 5: a strobe one tick long, N ticks after the trigger. */
    load(f, 2, 0xBA, 30);
    out8(f, 0x61, 0x00);
    out8(f, 0x61, 0x01);
    t0 = start_tick(f);
    f->now = tick_ns(t0 + 29);
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
    f->now = tick_ns(t0 + 30);
    assert_int_equal(in8(f, 0x61) & 0x20, 0);
    f->now = tick_ns(t0 + 31);
    assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
}

static void mode4_software_strobe(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_tick(f);
    load(f, 0, 0x38, 50);
    assert_int_equal(status_of(f, 0) & 0x80, 0x80);
    advance_to(f, tick_ns(t0 + 50));
    assert_int_equal(status_of(f, 0) & 0x80, 0);
    assert_int_equal(f->irq_edges, 0);
    advance_to(f, tick_ns(t0 + 51));
    assert_int_equal(f->irq_edges, 1);              /* the strobe's rising edge */
    advance_to(f, tick_ns(t0 + 100000));
    assert_int_equal(f->irq_edges, 1);
}

static void port61_bits(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x61, 0xFF);
    assert_int_equal(in8(f, 0x61) & 0xCF, 0x0F);    /* 0-3 kept, 6-7 read 0 */
    out8(f, 0x61, 0x02);
    assert_int_equal(in8(f, 0x61) & 0x0F, 0x02);    /* speaker bit, no sound */
    uint8_t a = in8(f, 0x61) & 0x10;
    f->now += 15085;
    uint8_t b = in8(f, 0x61) & 0x10;
    f->now += 15085;
    uint8_t c = in8(f, 0x61) & 0x10;
    assert_true(a != b && a == c);                  /* the refresh toggle */
}

static void reprogramming_stops_irq0(void **state)
{
    struct fixture *f = *state;
    load(f, 0, 0x34, 1193);
    assert_true(timer_next_deadline(&f->ts) != TIMER_NEVER);
    out8(f, 0x43, 0x30);                            /* control word, no count yet */
    assert_true(timer_next_deadline(&f->ts) == TIMER_NEVER);
    advance_to(f, f->now + 100000000u);
    assert_int_equal(f->irq_edges, 0);
}

static void save_and_restore(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_tick(f);
    load(f, 0, 0x34, 1193);
    out8(f, 0x61, 0x03);
    advance_to(f, tick_ns(t0 + 5000));
    uint8_t buf[512];
    size_t n = pit_save(&f->pit, NULL, 0);
    assert_true(n <= sizeof(buf));
    assert_int_equal(pit_save(&f->pit, buf, sizeof(buf)), n);
    pit_reset(&f->pit);
    assert_true(timer_next_deadline(&f->ts) == TIMER_NEVER);
    assert_int_equal(in8(f, 0x61) & 0x03, 0);
    assert_int_equal(pit_restore(&f->pit, buf, n), 0);
    assert_int_equal(in8(f, 0x61) & 0x03, 0x03);
    assert_int_equal(in16_lsb_msb(f, 0x40), 1193 - 5000 % 1193);
    assert_int_equal(timer_next_deadline(&f->ts), tick_ns(t0 + 5 * 1193));

    assert_int_equal(pit_restore(&f->pit, buf, n - 1), -1);
    buf[4] = 9;                                     /* counter 0 mode 9 */
    assert_int_equal(pit_restore(&f->pit, buf, n), -1);
}


/* --- the lost-tick policy --- */

/* Channel 0 at 1000 Hz; the first edge delivered and taken on time.  Returns
 * its start tick. */
static uint64_t start_1000hz_first_edge_taken(struct fixture *f)
{
    uint64_t t0 = start_tick(f);
    load(f, 0, 0x34, 1193);
    advance_to(f, tick_ns(t0 + 1193));
    assert_int_equal(f->irq_edges, 1);
    f->irr = false;
    return t0;
}

/* The host runs the PIT's timer once, `ns` after the deadline it had. */
static void fire_late_to(struct fixture *f, uint64_t ns)
{
    f->now = ns;
    timer_run_expired(&f->ts, ns);
}

static void late_timer_delivers_every_missed_tick(void **state)
{
    struct fixture *f = *state;
    deliver_late(f);
    uint64_t t0 = start_1000hz_first_edge_taken(f);
    /* Edges 2..11 pass while the host does not run us. */
    fire_late_to(f, tick_ns(t0 + 11 * 1193) + 5000);
    assert_int_equal(f->irq_edges, 2);              /* one now, nine owed */
    uint64_t last = f->now;
    for (unsigned n = 3; n <= 11; n++) {
        /* Not taken yet: the next owed tick waits, however often we look. */
        uint64_t d = timer_next_deadline(&f->ts);
        assert_true(d < tick_ns(t0 + 12 * 1193));
        fire_late_to(f, d);
        assert_int_equal(f->irq_edges, n - 1);
        f->irr = false;                             /* the CPU takes it */
        d = timer_next_deadline(&f->ts);
        assert_true(d - f->now <= LOST_TICKS_RETRY_MAX_NS);
        fire_late_to(f, d);
        assert_int_equal(f->irq_edges, n);          /* the next, spaced */
        assert_true(f->now - last >= LOST_TICKS_RETRY_NS);
        last = f->now;
    }
    f->irr = false;
    /* Paid off: the timer waits for edge 12, on the grid. */
    assert_int_equal(f->pit.s.irq_owed, 0);
    assert_int_equal(timer_next_deadline(&f->ts), tick_ns(t0 + 12 * 1193));
    advance_to(f, tick_ns(t0 + 12 * 1193));
    assert_int_equal(f->irq_edges, 12);
    assert_int_equal(pit_irq_count(&f->pit), 12);
}

/* The CPU takes each pulse at once: owed ticks arrive LOST_TICKS_RETRY_NS apart. */
static unsigned drain_taking_each(struct fixture *f, uint64_t until_ns)
{
    unsigned before = f->irq_edges;
    for (;;) {
        f->irr = false;
        uint64_t d = timer_next_deadline(&f->ts);
        if (d > until_ns)
            break;
        fire_late_to(f, d);
    }
    f->irr = false;
    return f->irq_edges - before;
}

static void backlog_is_capped_at_one_second(void **state)
{
    struct fixture *f = *state;
    deliver_late(f);
    uint64_t t0 = start_1000hz_first_edge_taken(f);
    fire_late_to(f, tick_ns(t0 + 5001 * 1193) + 1000);  /* 5000 edges late */
    assert_int_equal(f->irq_edges, 2);
    assert_int_equal(f->pit.s.irq_owed, 999);       /* 1000 Hz: 1 s = 1000 ticks */
    uint64_t from = f->now;
    unsigned n = drain_taking_each(f, from + 100000000u);
    /* The 999 owed (paid within ~20 ms) plus 100 ms of regular edges, not 5000. */
    assert_true(n >= 999 + 99 && n <= 999 + 101);
    assert_int_equal(f->pit.s.irq_owed, 0);
}

static void discard_policy_merges_missed_ticks(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = start_1000hz_first_edge_taken(f);  /* LOST_TICKS_DISCARD by default */
    fire_late_to(f, tick_ns(t0 + 11 * 1193) + 5000);
    assert_int_equal(f->irq_edges, 2);
    assert_int_equal(timer_next_deadline(&f->ts), tick_ns(t0 + 12 * 1193));
    assert_int_equal(drain_taking_each(f, tick_ns(t0 + 12 * 1193) - 1), 0);
    /* Choosing DELIVER later owes nothing for the past. */
    deliver_late(f);
    assert_int_equal(drain_taking_each(f, tick_ns(t0 + 12 * 1193) - 1), 0);
}

static void ticks_the_guest_refuses_are_merged(void **state)
{
    struct fixture *f = *state;
    deliver_late(f);
    uint64_t t0 = start_1000hz_first_edge_taken(f);
    /* Masked: the edge latches, nothing is owed. */
    f->masked = true;
    fire_late_to(f, tick_ns(t0 + 11 * 1193) + 5000);
    assert_int_equal(f->irq_edges, 2);
    assert_int_equal(f->pit.s.irq_owed, 0);
    f->masked = false;
    f->irr = false;
    /* The CPU saw the request with interrupts disabled: edges merge. */
    advance_to(f, tick_ns(t0 + 12 * 1193));
    assert_int_equal(f->irq_edges, 3);
    f->cpu_refuses = true;
    fire_late_to(f, tick_ns(t0 + 20 * 1193) + 5000);
    assert_int_equal(f->pit.s.irq_owed, 0);
    assert_int_equal(f->irq_edges, 3);
    /* A request still pending for a vCPU that did not run: owed. */
    f->cpu_refuses = false;
    fire_late_to(f, tick_ns(t0 + 25 * 1193) + 5000);
    assert_int_equal(f->pit.s.irq_owed, 5);
    /* Reprogramming lets ticks owed at the old rate lapse. */
    load(f, 0, 0x34, 11932);
    assert_int_equal(f->pit.s.irq_owed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mode0_counts_down_and_raises_once, setup, teardown),
        cmocka_unit_test_setup_teardown(mode2_rate_1000hz, setup, teardown),
        cmocka_unit_test_setup_teardown(mode2_count_zero_is_18_2_hz, setup, teardown),
        cmocka_unit_test_setup_teardown(late_timers_do_not_drift, setup, teardown),
        cmocka_unit_test_setup_teardown(mode3_square_wave, setup, teardown),
        cmocka_unit_test_setup_teardown(latch_holds_until_read, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back_status_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(bcd_counting, setup, teardown),
        cmocka_unit_test_setup_teardown(linux_tsc_calibration_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_triggered_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(mode4_software_strobe, setup, teardown),
        cmocka_unit_test_setup_teardown(port61_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(reprogramming_stops_irq0, setup, teardown),
        cmocka_unit_test_setup_teardown(save_and_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(late_timer_delivers_every_missed_tick, setup, teardown),
        cmocka_unit_test_setup_teardown(backlog_is_capped_at_one_second, setup, teardown),
        cmocka_unit_test_setup_teardown(discard_policy_merges_missed_ticks, setup, teardown),
        cmocka_unit_test_setup_teardown(ticks_the_guest_refuses_are_merged, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

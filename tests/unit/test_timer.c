/* test_timer.c - device timers on the virtual clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/timer.h"

struct fake_clock { uint64_t now; };

static uint64_t fake_now(void *opaque) { return ((struct fake_clock *)opaque)->now; }

struct counter {
    unsigned fired;
    uint64_t last_now;
    struct timer_set *ts;
    struct dev_timer *self;
    uint64_t period;      /* non-zero: re-arm periodically */
};

static void count_fire(void *opaque, uint64_t now)
{
    struct counter *c = opaque;
    c->fired++;
    c->last_now = now;
    if (c->period)
        timer_arm(c->ts, c->self, now + c->period);
}

static void note_changed(void *opaque) { (*(unsigned *)opaque)++; }

static void clock_and_next_deadline(void **state)
{
    (void)state;
    struct fake_clock clk = { .now = 1234 };
    struct timer_set ts;
    timer_set_init(&ts, fake_now, &clk);
    assert_int_equal(timer_now(&ts), 1234);
    assert_true(timer_next_deadline(&ts) == TIMER_NEVER);

    struct counter c1 = {0}, c2 = {0};
    struct dev_timer t1 = { .deadline_ns = TIMER_NEVER, .fire = count_fire, .opaque = &c1, .name = "a" };
    struct dev_timer t2 = { .deadline_ns = TIMER_NEVER, .fire = count_fire, .opaque = &c2, .name = "b" };
    assert_int_equal(timer_add(&ts, &t1), 0);
    assert_int_equal(timer_add(&ts, &t2), 0);
    assert_true(timer_next_deadline(&ts) == TIMER_NEVER);
    timer_arm(&ts, &t1, 5000);
    timer_arm(&ts, &t2, 3000);
    assert_int_equal(timer_next_deadline(&ts), 3000);
    timer_disarm(&t2);
    assert_int_equal(timer_next_deadline(&ts), 5000);
}

static void only_expired_timers_fire(void **state)
{
    (void)state;
    struct fake_clock clk = {0};
    struct timer_set ts;
    timer_set_init(&ts, fake_now, &clk);
    struct counter c1 = {0}, c2 = {0};
    struct dev_timer t1 = { .deadline_ns = TIMER_NEVER, .fire = count_fire, .opaque = &c1 };
    struct dev_timer t2 = { .deadline_ns = TIMER_NEVER, .fire = count_fire, .opaque = &c2 };
    timer_add(&ts, &t1);
    timer_add(&ts, &t2);
    timer_arm(&ts, &t1, 100);
    timer_arm(&ts, &t2, 200);
    assert_int_equal(timer_run_expired(&ts, 99), 0);
    assert_int_equal(timer_run_expired(&ts, 150), 1);
    assert_int_equal(c1.fired, 1);
    assert_int_equal(c1.last_now, 150);
    assert_int_equal(c2.fired, 0);
    /* a fired one-shot is disarmed */
    assert_true(t1.deadline_ns == TIMER_NEVER);
    assert_int_equal(timer_run_expired(&ts, 1000), 1);
    assert_int_equal(c1.fired, 1);
    assert_int_equal(c2.fired, 1);
    assert_int_equal(timer_run_expired(&ts, 5000), 0);
}

static void periodic_timer_rearms_itself(void **state)
{
    (void)state;
    struct fake_clock clk = {0};
    struct timer_set ts;
    timer_set_init(&ts, fake_now, &clk);
    struct dev_timer t = { .deadline_ns = TIMER_NEVER, .fire = count_fire };
    struct counter c = { .ts = &ts, .self = &t, .period = 1000 };
    t.opaque = &c;
    timer_add(&ts, &t);
    timer_arm(&ts, &t, 1000);
    for (uint64_t now = 1000; now <= 10000; now += 1000)
        assert_int_equal(timer_run_expired(&ts, now), 1);
    assert_int_equal(c.fired, 10);
    assert_int_equal(timer_next_deadline(&ts), 11000);
}

static void rearm_in_the_past_does_not_spin(void **state)
{
    (void)state;
    struct fake_clock clk = {0};
    struct timer_set ts;
    timer_set_init(&ts, fake_now, &clk);
    struct dev_timer t = { .deadline_ns = TIMER_NEVER, .fire = count_fire };
    struct counter c = { .ts = &ts, .self = &t, .period = 0 };
    t.opaque = &c;
    timer_add(&ts, &t);
    timer_arm(&ts, &t, 10);
    /* period 0 means: no re-arm in count_fire; emulate a zero period by hand */
    c.period = 1;  /* re-arms at now + 1, still in the past relative to 1000 */
    assert_int_equal(timer_run_expired(&ts, 1000), 1);
    assert_int_equal(c.fired, 1);
    assert_int_equal(timer_next_deadline(&ts), 1001);
}

static void changed_hook_only_for_earlier_deadlines(void **state)
{
    (void)state;
    struct fake_clock clk = {0};
    struct timer_set ts;
    unsigned changes = 0;
    timer_set_init(&ts, fake_now, &clk);
    ts.changed = note_changed;
    ts.changed_opaque = &changes;
    struct counter c = {0};
    struct dev_timer t1 = { .deadline_ns = TIMER_NEVER, .fire = count_fire, .opaque = &c };
    struct dev_timer t2 = { .deadline_ns = TIMER_NEVER, .fire = count_fire, .opaque = &c };
    timer_add(&ts, &t1);
    timer_add(&ts, &t2);
    timer_arm(&ts, &t1, 500);
    assert_int_equal(changes, 1);
    timer_arm(&ts, &t2, 900);      /* later than 500: the loop already wakes in time */
    assert_int_equal(changes, 1);
    timer_arm(&ts, &t2, 100);      /* earlier: the loop must re-arm */
    assert_int_equal(changes, 2);
}

static void set_is_bounded(void **state)
{
    (void)state;
    struct timer_set ts;
    struct dev_timer t[TIMER_SET_MAX + 1];
    timer_set_init(&ts, NULL, NULL);
    for (unsigned i = 0; i < TIMER_SET_MAX; i++) {
        t[i] = (struct dev_timer){ .deadline_ns = TIMER_NEVER };
        assert_int_equal(timer_add(&ts, &t[i]), 0);
    }
    t[TIMER_SET_MAX] = (struct dev_timer){ .deadline_ns = TIMER_NEVER };
    assert_int_equal(timer_add(&ts, &t[TIMER_SET_MAX]), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clock_and_next_deadline),
        cmocka_unit_test(only_expired_timers_fire),
        cmocka_unit_test(periodic_timer_rearms_itself),
        cmocka_unit_test(rearm_in_the_past_does_not_spin),
        cmocka_unit_test(changed_hook_only_for_earlier_deadlines),
        cmocka_unit_test(set_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

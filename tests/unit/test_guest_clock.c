/* test_guest_clock.c - the machine's clock on a fake engine that counts
 * instructions: guest time comes from the engine, a halted CPU's wait is
 * the next deadline pinned to wall time (shortened by the guest's lag,
 * lengthened when it ran ahead), the idle time it adds catches up with wall
 * time but never passes the deadline or goes back, the lag is bounded,
 * port accesses stall the clock, and --deterministic's skip jumps straight
 * to the deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "monitor/guest_clock.h"

#define MS 1000000ull
#define BASE (1000ull * 1000 * MS)     /* host monotonic time at attach: 1000 s */

struct fake_engine {
    uint64_t instructions;
    struct engine_time t;
    unsigned set_time_calls;
};

static uint64_t fake_now_ns(struct engine *e)
{
    struct fake_engine *f = (struct fake_engine *)e;
    return f->instructions * f->t.ps_per_insn / 1000 + f->t.idle_ns;
}

static void fake_set_time(struct engine *e, const struct engine_time *t)
{
    struct fake_engine *f = (struct fake_engine *)e;
    f->t = *t;
    f->set_time_calls++;
}

static const struct engine_ops fake_ops = {
    .name = "fake",
    .set_time = fake_set_time,
    .now_ns = fake_now_ns,
};

/* 1 ns per instruction keeps the arithmetic readable. */
static void setup(struct guest_clock *gc, struct fake_engine *f)
{
    *f = (struct fake_engine){ 0 };
    guest_clock_init(gc, 1000);
    guest_clock_attach(gc, &fake_ops, (struct engine *)f, BASE);
}

static void test_time_comes_from_the_engine(void **st)
{
    (void)st;
    struct guest_clock gc;
    struct fake_engine f = { .instructions = 0 };
    guest_clock_init(&gc, 1000);
    assert_int_equal(guest_clock_now(&gc), 0);          /* before attach */
    guest_clock_attach(&gc, &fake_ops, (struct engine *)&f, BASE);
    assert_int_equal(f.set_time_calls, 1);
    assert_int_equal(f.t.ps_per_insn, 1000);
    assert_int_equal(f.t.idle_ns, 0);
    f.instructions = 12345;
    assert_int_equal(guest_clock_now(&gc), 12345);
    assert_int_equal(guest_clock_lag(&gc, BASE + 20000), 20000 - 12345);
}

static void test_idle_until_deadline_in_step_with_wall(void **st)
{
    (void)st;
    struct guest_clock gc;
    struct fake_engine f;
    setup(&gc, &f);
    f.instructions = 1 * MS;                            /* guest at 1 ms, wall at 1 ms */
    assert_int_equal(guest_clock_wake_at(&gc, 5 * MS, BASE + 1 * MS), BASE + 5 * MS);
    assert_int_equal(guest_clock_idle(&gc, 5 * MS, BASE + 5 * MS), 4 * MS);
    assert_int_equal(guest_clock_now(&gc), 5 * MS);
    assert_int_equal(f.t.idle_ns, 4 * MS);
    /* Overslept (the host was late to wake us): never past the deadline. */
    assert_int_equal(guest_clock_idle(&gc, 6 * MS, BASE + 9 * MS), 1 * MS);
    assert_int_equal(guest_clock_now(&gc), 6 * MS);
}

static void test_lagging_guest_waits_less(void **st)
{
    (void)st;
    struct guest_clock gc;
    struct fake_engine f;
    setup(&gc, &f);
    f.instructions = 1 * MS;                            /* guest at 1 ms, wall at 3 ms */
    /* 4 ms of guest time to the deadline, but only 2 ms of real waiting. */
    assert_int_equal(guest_clock_wake_at(&gc, 5 * MS, BASE + 3 * MS), BASE + 5 * MS);
    assert_int_equal(guest_clock_idle(&gc, 5 * MS, BASE + 5 * MS), 4 * MS);
    assert_int_equal(guest_clock_lag(&gc, BASE + 5 * MS), 0);
    /* Far behind: the deadline is already due, no wait at all. */
    f.instructions += 1 * MS;                           /* guest 6 ms */
    assert_true(guest_clock_wake_at(&gc, 7 * MS, BASE + 20 * MS) <= BASE + 20 * MS);
}

static void test_guest_ahead_waits_longer(void **st)
{
    (void)st;
    struct guest_clock gc;
    struct fake_engine f;
    setup(&gc, &f);
    f.instructions = 10 * MS;                           /* guest at 10 ms, wall at 2 ms */
    assert_int_equal(guest_clock_wake_at(&gc, 12 * MS, BASE + 2 * MS), BASE + 12 * MS);
    /* Woken early (console input) at wall 5 ms: the guest is still ahead,
     * time does not go back and no idle time is added. */
    assert_int_equal(guest_clock_idle(&gc, 12 * MS, BASE + 5 * MS), 0);
    assert_int_equal(guest_clock_now(&gc), 10 * MS);
}

static void test_woken_early_catches_up_with_wall(void **st)
{
    (void)st;
    struct guest_clock gc;
    struct fake_engine f;
    setup(&gc, &f);
    f.instructions = 1 * MS;
    assert_int_equal(guest_clock_idle(&gc, 5 * MS, BASE + 2 * MS + MS / 2), 1 * MS + MS / 2);
    assert_int_equal(guest_clock_now(&gc), 2 * MS + MS / 2);
    /* No deadline at all: a wake-up still brings the guest to wall time. */
    assert_int_equal(guest_clock_wake_at(&gc, GUEST_CLOCK_NEVER, BASE + 3 * MS), GUEST_CLOCK_NEVER);
    assert_int_equal(guest_clock_idle(&gc, GUEST_CLOCK_NEVER, BASE + 8 * MS), 5 * MS + MS / 2);
    assert_int_equal(guest_clock_now(&gc), 8 * MS);
}

static void test_lag_is_bounded(void **st)
{
    (void)st;
    struct guest_clock gc;
    struct fake_engine f;
    setup(&gc, &f);
    /* 3 s behind: only GUEST_CLOCK_MAX_BEHIND_NS is made up. */
    uint64_t host = BASE + 3000 * MS;
    f.instructions = 0;
    guest_clock_wake_at(&gc, 1 * MS, host);
    assert_int_equal(guest_clock_lag(&gc, host), GUEST_CLOCK_MAX_BEHIND_NS);
    /* An idle wake at that moment brings guest time to the deadline only. */
    assert_int_equal(guest_clock_idle(&gc, 1 * MS, host), 1 * MS);
    /* 1 s ahead: the wait is the guest's own plus at most MAX_AHEAD. */
    setup(&gc, &f);
    f.instructions = 1000 * MS;
    uint64_t wake = guest_clock_wake_at(&gc, 1001 * MS, BASE);
    assert_int_equal(wake, BASE + 1 * MS + GUEST_CLOCK_MAX_AHEAD_NS);
}

static void test_port_access_stalls_the_clock(void **st)
{
    (void)st;
    struct guest_clock gc;
    struct fake_engine f;
    setup(&gc, &f);
    f.instructions = 500;
    guest_clock_stall(&gc, GUEST_CLOCK_PORT_ACCESS_NS);
    guest_clock_stall(&gc, GUEST_CLOCK_PORT_ACCESS_NS);
    assert_int_equal(f.t.idle_ns, 2 * GUEST_CLOCK_PORT_ACCESS_NS);
    assert_int_equal(guest_clock_now(&gc), 500 + 2 * GUEST_CLOCK_PORT_ACCESS_NS);
    /* Idle time adds on top of it. */
    assert_int_equal(guest_clock_idle(&gc, 1 * MS, BASE + 1 * MS), 1 * MS - 2500);
    assert_int_equal(guest_clock_now(&gc), 1 * MS);
}

/* An engine without time ops runs on the host's clock. */
static void test_skip_to_deadline(void **st)
{
    (void)st;
    struct guest_clock gc;
    struct fake_engine f;
    setup(&gc, &f);
    f.instructions = 3 * MS;
    /* No wall clock involved: guest time is the deadline exactly. */
    assert_int_equal(guest_clock_skip_to(&gc, 10 * MS + 7), 7 * MS + 7);
    assert_int_equal(guest_clock_now(&gc), 10 * MS + 7);
    /* A deadline already passed changes nothing (time never goes back). */
    f.instructions += 2 * MS;
    assert_int_equal(guest_clock_skip_to(&gc, 11 * MS), 0);
    assert_int_equal(guest_clock_now(&gc), 12 * MS + 7);
}

static void test_engine_without_time_ops(void **st)
{
    (void)st;
    static const struct engine_ops bare = { .name = "bare" };
    struct guest_clock gc;
    int dummy;
    guest_clock_init(&gc, 1000);
    guest_clock_attach(&gc, &bare, (struct engine *)&dummy, 0);
    assert_true(guest_clock_now(&gc) > 0);              /* host monotonic since 0 */
    assert_int_equal(guest_clock_idle(&gc, 5 * MS, 1 * MS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_comes_from_the_engine),
        cmocka_unit_test(test_idle_until_deadline_in_step_with_wall),
        cmocka_unit_test(test_lagging_guest_waits_less),
        cmocka_unit_test(test_guest_ahead_waits_longer),
        cmocka_unit_test(test_woken_early_catches_up_with_wall),
        cmocka_unit_test(test_lag_is_bounded),
        cmocka_unit_test(test_port_access_stalls_the_clock),
        cmocka_unit_test(test_skip_to_deadline),
        cmocka_unit_test(test_engine_without_time_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_vtime.c - the soft CPU's instruction-based guest time: now_ns from
 * the retired count and idle time, deadlines ending the run with
 * EXIT_KICKED at exactly the right instruction, RDTSC and the TSC MSR on
 * guest time, and independence from the host's clock. */
#include <time.h>

#include "soft_test_util.h"
#include "engine/soft/vtime.h"

static uint64_t retired(struct guest *g)
{
    return guest_stats(g).instructions;
}

static void set_time(struct guest *g, uint32_t ps_per_insn, uint64_t idle_ns)
{
    struct engine_time t = { .ps_per_insn = ps_per_insn, .idle_ns = idle_ns };
    soft_engine_ops.set_time(g->e, &t);
}

static uint64_t tsc_of(const struct cpu_state *s)
{
    return s->gpr[REG_EAX] | ((uint64_t)s->gpr[REG_EDX] << 32);
}

/* 1: inc eax / jmp 1b  - two instructions per round, forever.  Deadlines
 * below fall on even counts: the jump ends a block, so an engine that runs
 * blocks stops there exactly too. */
static const uint8_t prog_loop[] = { 0x40, 0xeb, 0xfd };

static void test_now_from_instruction_count(void **st)
{
    (void)st;
    struct vtime v;
    vtime_init(&v);
    assert_int_equal(v.t.ps_per_insn, VTIME_DEFAULT_PS_PER_INSN);
    assert_int_equal(vtime_now(&v, 0), 0);
    struct engine_time t = { .ps_per_insn = 2500, .idle_ns = 7 };
    vtime_set(&v, &t);
    assert_int_equal(vtime_now(&v, 4), 10 + 7);        /* 4 * 2.5 ns + idle */
    assert_int_equal(vtime_now(&v, 3), 7 + 7);         /* 7.5 ns rounds down */
    /* A rate of 0 keeps the current one. */
    t = (struct engine_time){ .ps_per_insn = 0, .idle_ns = 100 };
    vtime_set(&v, &t);
    assert_int_equal(v.t.ps_per_insn, 2500);
    assert_int_equal(vtime_now(&v, 4), 110);
    /* Far beyond 2^64 ps: saturates instead of wrapping. */
    t = (struct engine_time){ .ps_per_insn = 1000000, .idle_ns = 0 };
    vtime_set(&v, &t);
    assert_true(vtime_now(&v, UINT64_MAX / 1000) > UINT64_MAX / 2);
    assert_int_equal(vtime_now(&v, UINT64_MAX), UINT64_MAX);
}

static void test_engine_now_ns_follows_retired_instructions(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_loop, sizeof(prog_loop));
    guest_flat32_at(g, 0x1000);
    set_time(g, 10000, 0);                              /* 10 ns per instruction */
    assert_int_equal(soft_engine_ops.now_ns(g->e), 0);
    soft_engine_ops.set_deadline(g->e, 1000);
    assert_int_equal(guest_run(g), EXIT_KICKED);
    assert_int_equal(retired(g), 100);
    assert_int_equal(soft_engine_ops.now_ns(g->e), 1000);
    assert_int_equal(guest_state(g).gpr[REG_EAX], 50);  /* 100 insns = 50 rounds */
    /* Idle time adds on top. */
    set_time(g, 10000, 5000);
    assert_int_equal(soft_engine_ops.now_ns(g->e), 6000);
    guest_free(g);
}

static void test_deadline_ends_run_at_the_right_instruction(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_loop, sizeof(prog_loop));
    guest_flat32_at(g, 0x1000);
    set_time(g, 3000, 0);                               /* 3 ns per instruction */
    /* 100 ns is reached after ceil(100 / 3) = 34 instructions (102 ns). */
    soft_engine_ops.set_deadline(g->e, 100);
    assert_int_equal(guest_run(g), EXIT_KICKED);
    assert_int_equal(retired(g), 34);
    assert_true(soft_engine_ops.now_ns(g->e) >= 100);
    /* Running again without moving the deadline stops at once. */
    assert_int_equal(guest_run(g), EXIT_KICKED);
    assert_int_equal(retired(g), 34);
    /* The next deadline counts from the same absolute base. */
    soft_engine_ops.set_deadline(g->e, 300);
    assert_int_equal(guest_run(g), EXIT_KICKED);
    assert_int_equal(retired(g), 100);
    /* Idle time brings a deadline closer: 600 ns with 450 ns idle is
     * 150 ns of instructions = 50. */
    set_time(g, 3000, 450);
    soft_engine_ops.set_deadline(g->e, 600);
    assert_int_equal(guest_run(g), EXIT_KICKED);        /* already past: 100 insns */
    assert_int_equal(retired(g), 100);
    soft_engine_ops.set_deadline(g->e, 900);            /* 450 ns more: 150 insns */
    assert_int_equal(guest_run(g), EXIT_KICKED);
    assert_int_equal(retired(g), 150);
    guest_free(g);
}

/* nop x5 / hlt */
static const uint8_t prog_nops_hlt[] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0xf4 };

static void test_no_deadline_runs_to_hlt(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_nops_hlt, sizeof(prog_nops_hlt));
    guest_flat32_at(g, 0x1000);
    set_time(g, 10000, 0);
    soft_engine_ops.set_deadline(g->e, 1000);
    soft_engine_ops.set_deadline(g->e, UINT64_MAX);     /* cleared */
    assert_int_equal(guest_run(g), EXIT_HLT);
    assert_int_equal(retired(g), 6);
    /* A deadline at or before now stops before the first instruction. */
    guest_flat32_at(g, 0x1000);
    soft_engine_ops.set_deadline(g->e, 60);
    assert_int_equal(guest_run(g), EXIT_KICKED);
    assert_int_equal(retired(g), 6);
    assert_int_equal(guest_state(g).eip, 0x1000);
    guest_free(g);
}

/* nop x7 / rdtsc / hlt */
static const uint8_t prog_rdtsc[] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
                                      0x0f, 0x31, 0xf4 };

static void test_rdtsc_reads_guest_time(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_rdtsc, sizeof(prog_rdtsc));
    guest_flat32_at(g, 0x1000);
    set_time(g, 10000, 123456);
    assert_int_equal(guest_run(g), EXIT_HLT);
    /* 7 instructions retired before RDTSC: 70 ns, plus the idle time; the
     * TSC runs at 1 GHz. */
    struct cpu_state s = guest_state(g);
    assert_int_equal(tsc_of(&s), 70 + 123456);
    /* tsc_offset is added. */
    s.eip = 0x1000;
    s.events.halted = false;
    s.tsc_offset = 1000000;
    soft_engine_ops.set_state(g->e, &s);
    assert_int_equal(guest_run(g), EXIT_HLT);
    s = guest_state(g);
    /* 9 more retired before this RDTSC (7 + rdtsc + hlt of the first run). */
    assert_int_equal(tsc_of(&s), (9 + 7) * 10 + 123456 + 1000000);
    guest_free(g);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };
    while (nanosleep(&ts, &ts))
        ;
}

/* jmp $+2 x3 / rdtsc / hlt.  The jumps end blocks: an engine that runs
 * straight-line code as blocks sees the deadline only between them. */
static const uint8_t prog_jumps_rdtsc[] = { 0xeb, 0x00, 0xeb, 0x00, 0xeb, 0x00, 0x0f, 0x31, 0xf4 };

static void test_tsc_ignores_host_time(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_jumps_rdtsc, sizeof(prog_jumps_rdtsc));
    guest_flat32_at(g, 0x1000);
    set_time(g, 10000, 0);
    soft_engine_ops.set_deadline(g->e, 30);             /* stop after the 3 jumps */
    assert_int_equal(guest_run(g), EXIT_KICKED);
    assert_int_equal(retired(g), 3);
    sleep_ms(30);                                       /* the host's time moves on */
    soft_engine_ops.set_deadline(g->e, UINT64_MAX);
    assert_int_equal(guest_run(g), EXIT_HLT);
    struct cpu_state s = guest_state(g);
    assert_int_equal(tsc_of(&s), 30);
    guest_free(g);
}

/* mov ecx,0x10 / mov eax,0x1000 / xor edx,edx / wrmsr / nop / nop /
 * rdtsc / mov esi,eax / mov ecx,0x10 / rdmsr / hlt */
static const uint8_t prog_tsc_msr[] = {
    0xb9, 0x10, 0x00, 0x00, 0x00, 0xb8, 0x00, 0x10, 0x00, 0x00, 0x31, 0xd2,
    0x0f, 0x30, 0x90, 0x90, 0x0f, 0x31, 0x89, 0xc6, 0xb9, 0x10, 0x00, 0x00, 0x00,
    0x0f, 0x32, 0xf4,
};

static void test_tsc_msr_write_and_read(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_tsc_msr, sizeof(prog_tsc_msr));
    guest_flat32_at(g, 0x1000);
    set_time(g, 1000000, 0);                            /* 1 us per instruction */
    assert_int_equal(guest_run(g), EXIT_HLT);
    struct cpu_state s = guest_state(g);
    /* WRMSR ran after 3 instructions (3 us): the TSC became 0x1000 then.
     * RDTSC after 6: 3 us later; RDMSR after 9: 6 us later. */
    assert_int_equal(s.tsc_offset, 0x1000 - 3000);
    assert_int_equal(s.gpr[REG_ESI], 0x1000 + 3000);
    assert_int_equal(s.gpr[REG_EAX], 0x1000 + 6000);
    assert_int_equal(s.gpr[REG_EDX], 0);
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_from_instruction_count),
        cmocka_unit_test(test_engine_now_ns_follows_retired_instructions),
        cmocka_unit_test(test_deadline_ends_run_at_the_right_instruction),
        cmocka_unit_test(test_no_deadline_runs_to_hlt),
        cmocka_unit_test(test_rdtsc_reads_guest_time),
        cmocka_unit_test(test_tsc_ignores_host_time),
        cmocka_unit_test(test_tsc_msr_write_and_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

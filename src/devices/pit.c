/* pit.c - the 8254 PIT (Intel 82C54 datasheet) and port 0x61.
 *
 * Nothing ticks: a loaded counter remembers the absolute PIT tick at which it
 * started, and its count and output are pure functions of the ticks elapsed
 * since then ("d").  Ticks are floor(ns * 1193182 / 1e9) and tick n begins at
 * ceil(n * 1e9 / 1193182) ns, so edges computed from the start tick never
 * drift however late a timer fires.
 */
#include "devices/pit.h"

#include <stdio.h>
#include <string.h>

enum { PORT_CONTROL = 3 };
enum { P61_GATE2 = 0x01, P61_SPEAKER = 0x02, P61_WRITABLE = 0x0F,
       P61_REFRESH = 0x10, P61_OUT2 = 0x20 };
/* The refresh request toggles every 15.085 us (counter 1 as the BIOS programs it). */
#define REFRESH_HALF_PERIOD_NS 15085u
#define NO_EDGE UINT64_MAX

static uint64_t tick_at(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

static uint64_t ns_of_tick(uint64_t tick)
{
    unsigned __int128 scaled = (unsigned __int128)tick * 1000000000u;
    unsigned __int128 ns = (scaled + PIT_HZ - 1) / PIT_HZ;
    return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static uint64_t now_tick(const struct pit *p)
{
    return tick_at(timer_now(p->ts));
}

static uint32_t modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000 : 65536;
}

static bool waits_for_trigger(const struct pit_channel *c)
{
    return c->mode == 1 || c->mode == 5;
}

static bool is_periodic(const struct pit_channel *c)
{
    return c->mode == 2 || c->mode == 3;
}

/* Ticks counted since the count started. */
static uint64_t elapsed(const struct pit_channel *c, uint64_t tick)
{
    if (c->paused)
        return c->paused_ticks;
    return tick > c->start_tick ? tick - c->start_tick : 0;
}

/* Is the counter running (loaded, and triggered if it needs to be)? */
static bool running(const struct pit_channel *c)
{
    return c->loaded && (!waits_for_trigger(c) || c->triggered);
}

/* The counting element, 0 .. modulus-1 (binary value, even in BCD mode). */
static uint32_t count_at(const struct pit_channel *c, uint64_t tick)
{
    uint32_t n = c->reload, m = modulus(c);
    if (!running(c))
        return n % m;
    uint64_t d = elapsed(c, tick);
    if (c->mode == 2)
        return (uint32_t)(n - d % n) % m;
    if (c->mode == 3) {                 /* counts down by two, each half-period */
        uint64_t r = d % n, high = (n + 1) / 2;
        uint64_t in_half = r < high ? r : r - high;
        return (uint32_t)((n - 2 * in_half) % m);
    }
    return (uint32_t)((n + m - d % m) % m);     /* modes 0, 1, 4, 5: wraps after 0 */
}

static bool output_at(const struct pit_channel *c, uint64_t tick)
{
    if (!c->loaded)
        return c->mode != 0;
    if (!running(c))
        return true;                    /* modes 1, 5 before their trigger */
    uint64_t d = elapsed(c, tick), n = c->reload;
    switch (c->mode) {
    case 0:
    case 1: return d >= n;
    case 2: return c->paused || d % n != n - 1;
    case 3: return c->paused || d % n < (n + 1) / 2;
    default: return d != n;             /* modes 4, 5: one tick low at terminal count */
    }
}

/* The elapsed-tick value of the output's next rising edge after d, or NO_EDGE. */
static uint64_t next_rising_edge(const struct pit_channel *c, uint64_t tick)
{
    if (!running(c) || c->paused)
        return NO_EDGE;
    uint64_t d = elapsed(c, tick), n = c->reload;
    switch (c->mode) {
    case 0:
    case 1: return d < n ? n : NO_EDGE;
    case 2:
    case 3: return (d / n + 1) * n;
    default: return d < n + 1 ? n + 1 : NO_EDGE;
    }
}

/* --- IRQ0 --- */

/* The absolute tick of the output's next rising edge after `tick`, or NO_EDGE. */
static uint64_t edge_after(const struct pit_channel *c, uint64_t tick)
{
    uint64_t e = next_rising_edge(c, tick);
    return e == NO_EDGE ? NO_EDGE : c->start_tick + e;
}

/* How many IRQ0 edges up to `tick` were not counted yet; counts them. */
static uint64_t take_edges(struct pit *p, uint64_t tick)
{
    const struct pit_channel *c = &p->s.ch[0];
    uint64_t edge = p->s.irq_next_edge;
    if (edge == NO_EDGE || tick < edge)
        return 0;
    uint64_t n = is_periodic(c) ? (tick - edge) / c->reload + 1 : 1;
    p->s.irq_next_edge = edge_after(c, tick);
    return n;
}

static void pulse_irq0(struct pit *p)
{
    p->s.irq_count++;
    irq_pulse(&p->irq0);
}

/* The backlog cap: one second of ticks. */
static uint32_t ticks_per_second(const struct pit_channel *c)
{
    uint32_t n = PIT_HZ / c->reload;
    return n ? n : 1;
}

/* LOST_TICKS_DELIVER: new edges the guest does not refuse become owed ticks;
 * one is pulsed whenever the controller holds no request from us (the CPU
 * took the last), so each lands as its own interrupt. */
static void deliver_late(struct pit *p, uint64_t edges)
{
    struct pit_state *s = &p->s;
    struct irq_line_status line = lost_ticks_line(&p->lost);
    if (line.masked) {
        s->irq_owed = 0;                /* the guest turned the line off */
        if (edges)
            pulse_irq0(p);              /* the edge still latches in IRR */
        return;
    }
    if (!lost_ticks_refused(line))
        s->irq_owed = lost_ticks_add(s->irq_owed, edges, ticks_per_second(&s->ch[0]));
    if (!s->irq_owed)
        return;
    if (line.requested) {
        s->irq_retry_ns = lost_ticks_backoff(s->irq_retry_ns);
        return;
    }
    s->irq_owed--;
    s->irq_retry_ns = LOST_TICKS_RETRY_NS;
    pulse_irq0(p);
}

/* At the next edge, or sooner to offer an owed tick. */
static void arm_irq_timer(struct pit *p, uint64_t now_ns)
{
    uint64_t deadline = p->s.irq_next_edge == NO_EDGE ? TIMER_NEVER
                                                      : ns_of_tick(p->s.irq_next_edge);
    if (p->s.irq_owed && lost_ticks_delivering(&p->lost) && now_ns + p->s.irq_retry_ns < deadline)
        deadline = now_ns + p->s.irq_retry_ns;
    if (deadline == TIMER_NEVER || !p->irq0.set)
        timer_disarm(&p->irq_timer);
    else
        timer_arm(p->ts, &p->irq_timer, deadline);
}

static void irq_timer_fire(void *opaque, uint64_t now_ns)
{
    struct pit *p = opaque;
    uint64_t edges = take_edges(p, tick_at(now_ns));
    if (lost_ticks_delivering(&p->lost))
        deliver_late(p, edges);
    else if (edges)
        pulse_irq0(p);                  /* missed edges merge into one pulse */
    arm_irq_timer(p, now_ns);
}

/* Counter 0 was reprogrammed or regated: ticks owed at the old rate lapse. */
static void restart_irq0(struct pit *p, uint64_t tick)
{
    p->s.irq_next_edge = edge_after(&p->s.ch[0], tick);
    p->s.irq_owed = 0;
    p->s.irq_retry_ns = LOST_TICKS_RETRY_NS;
    arm_irq_timer(p, timer_now(p->ts));
}

static void channel_changed(struct pit *p, unsigned n, uint64_t tick)
{
    if (n == 0)
        restart_irq0(p, tick);
}

void pit_set_lost_tick_policy(struct pit *p, enum lost_tick_policy policy,
                              struct irq_probe probe)
{
    p->lost = (struct lost_ticks){ .policy = policy, .probe = probe };
    p->s.irq_owed = 0;
    arm_irq_timer(p, timer_now(p->ts));
}

/* --- the counters' port interface --- */

static uint16_t to_bcd(uint32_t v)
{
    return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static uint32_t from_bcd(uint16_t v)
{
    return (v >> 12 & 15) * 1000u + (v >> 8 & 15) * 100u + (v >> 4 & 15) * 10u + (v & 15);
}

/* The count as the guest reads it (BCD digits in BCD mode). */
static uint16_t visible_count(const struct pit_channel *c, uint64_t tick)
{
    uint32_t v = count_at(c, tick);
    return c->bcd ? to_bcd(v) : (uint16_t)v;
}

static void latch_count(struct pit_channel *c, uint64_t tick)
{
    if (c->count_latched)
        return;
    c->latched_count = visible_count(c, tick);
    c->count_latched = c->access == 3 ? 2 : 1;
}

static void latch_status(struct pit_channel *c, uint64_t tick)
{
    if (c->status_latched)
        return;
    bool null_count = !c->loaded || tick <= c->write_tick;
    c->status = (uint8_t)(output_at(c, tick) << 7 | null_count << 6 | c->access << 4 |
                          c->mode << 1 | c->bcd);
    c->status_latched = 1;
}

/* One byte of a 16-bit value by access mode; access 3 alternates LSB, MSB. */
static uint8_t next_byte(struct pit_channel *c, uint16_t v)
{
    bool msb = c->access == 2 || (c->access == 3 && c->read_msb_next);
    if (c->access == 3)
        c->read_msb_next = !c->read_msb_next;
    return (uint8_t)(msb ? v >> 8 : v);
}

static uint8_t read_counter(struct pit *p, unsigned n)
{
    struct pit_channel *c = &p->s.ch[n];
    if (c->status_latched) {
        c->status_latched = 0;
        return c->status;
    }
    if (c->count_latched) {
        c->count_latched--;
        return next_byte(c, c->latched_count);
    }
    return next_byte(c, visible_count(c, now_tick(p)));
}

static void load_count(struct pit *p, unsigned n, uint16_t raw)
{
    struct pit_channel *c = &p->s.ch[n];
    uint64_t tick = now_tick(p);
    uint32_t v = c->bcd ? from_bcd(raw) : raw;
    c->reload = v ? v : modulus(c);
    c->loaded = 1;
    c->write_tick = tick;
    c->start_tick = tick;
    c->paused_ticks = 0;
    c->triggered = 0;
    /* Modes 0, 2, 3, 4 count only while the gate is high. */
    c->paused = !c->gate && !waits_for_trigger(c);
    channel_changed(p, n, tick);
}

static void write_counter(struct pit *p, unsigned n, uint8_t v)
{
    struct pit_channel *c = &p->s.ch[n];
    switch (c->access) {
    case 1: load_count(p, n, v); break;
    case 2: load_count(p, n, (uint16_t)(v << 8)); break;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = v;
            c->write_msb_next = 1;
        } else {
            c->write_msb_next = 0;
            load_count(p, n, (uint16_t)(v << 8 | c->write_lsb));
        }
        break;
    }
}

static void read_back(struct pit *p, uint8_t v)
{
    uint64_t tick = now_tick(p);
    for (unsigned n = 0; n < 3; n++) {
        if (!(v & (2u << n)))
            continue;
        if (!(v & 0x20))
            latch_count(&p->s.ch[n], tick);
        if (!(v & 0x10))
            latch_status(&p->s.ch[n], tick);
    }
}

static void write_control(struct pit *p, uint8_t v)
{
    unsigned n = v >> 6;
    if (n == 3) {
        read_back(p, v);
        return;
    }
    struct pit_channel *c = &p->s.ch[n];
    unsigned access = (v >> 4) & 3;
    if (access == 0) {
        latch_count(c, now_tick(p));
        return;
    }
    unsigned mode = (v >> 1) & 7;
    c->mode = (uint8_t)(mode > 5 ? mode - 4 : mode);   /* 6, 7 alias 2, 3 */
    c->access = (uint8_t)access;
    c->bcd = v & 1;
    c->loaded = 0;
    c->paused = 0;
    c->triggered = 0;
    c->write_msb_next = 0;
    c->read_msb_next = 0;
    c->count_latched = 0;
    c->status_latched = 0;
    channel_changed(p, n, now_tick(p));
}

static uint64_t counters_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pit *p = opaque;
    (void)size;                 /* the 8254 is an 8-bit device: one port */
    return offset < 3 ? read_counter(p, (unsigned)offset) : 0xFF;
}

static void counters_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pit *p = opaque;
    (void)size;
    if (offset == PORT_CONTROL)
        write_control(p, (uint8_t)value);
    else if (offset < 3)
        write_counter(p, (unsigned)offset, (uint8_t)value);
}

/* --- gates and outputs --- */

bool pit_output(const struct pit *p, unsigned channel)
{
    return channel < 3 && output_at(&p->s.ch[channel], now_tick(p));
}

void pit_set_gate(struct pit *p, unsigned channel, bool level)
{
    if (channel >= 3)
        return;
    struct pit_channel *c = &p->s.ch[channel];
    if (c->gate == level)
        return;
    uint64_t tick = now_tick(p);
    c->gate = level;
    if (!c->loaded)
        return;
    if (waits_for_trigger(c)) {
        if (level) {                    /* a rising edge (re)triggers */
            c->triggered = 1;
            c->start_tick = tick;
        }
    } else if (!level) {
        c->paused_ticks = elapsed(c, tick);
        c->paused = 1;
    } else if (is_periodic(c)) {        /* a rising edge reloads */
        c->paused = 0;
        c->start_tick = tick;
    } else {                            /* modes 0, 4 resume where they stopped */
        c->start_tick = tick - c->paused_ticks;
        c->paused = 0;
    }
    channel_changed(p, channel, tick);
}

uint64_t pit_irq_count(const struct pit *p)
{
    return p->s.irq_count;
}

/* --- port 0x61 --- */

static uint64_t port61_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pit *p = opaque;
    (void)offset;
    (void)size;
    uint64_t now = timer_now(p->ts);
    uint8_t v = p->s.port61 & P61_WRITABLE;
    if ((now / REFRESH_HALF_PERIOD_NS) & 1)
        v |= P61_REFRESH;
    if (output_at(&p->s.ch[2], tick_at(now)))
        v |= P61_OUT2;
    return v;
}

static void port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pit *p = opaque;
    (void)offset;
    (void)size;
    p->s.port61 = (uint8_t)value & P61_WRITABLE;
    pit_set_gate(p, 2, value & P61_GATE2);
}

/* --- device lifecycle --- */

void pit_reset(void *opaque)
{
    struct pit *p = opaque;
    memset(&p->s, 0, sizeof(p->s));
    for (unsigned n = 0; n < 3; n++) {
        p->s.ch[n].access = 3;
        p->s.ch[n].reload = 65536;
        p->s.ch[n].gate = n != 2;       /* counters 0 and 1 are gated high on a PC */
    }
    p->s.irq_next_edge = NO_EDGE;
    p->s.irq_retry_ns = LOST_TICKS_RETRY_NS;
    timer_disarm(&p->irq_timer);
}

int pit_init(struct pit *p, struct bus *io, struct timer_set *ts, struct irq_line irq0,
             char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->ts = ts;
    p->irq0 = irq0;
    p->irq_timer = (struct dev_timer){ .deadline_ns = TIMER_NEVER, .fire = irq_timer_fire,
                                       .opaque = p, .name = "pit" };
    pit_reset(p);
    if (timer_add(ts, &p->irq_timer) < 0) {
        snprintf(err, errlen, "pit: no room for its timer in the timer set");
        return -1;
    }
    if (bus_register(io, 0x40, 4, "pit", p, counters_read, counters_write, err, errlen) < 0 ||
        bus_register(io, 0x61, 1, "port61", p, port61_read, port61_write, err, errlen) < 0)
        return -1;
    return 0;
}

static const uint8_t save_magic[4] = { 'P', 'I', 'T', '2' };
enum { SAVE_BYTES = 4 + sizeof(struct pit_state) };

size_t pit_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct pit *p = opaque;
    if (cap < SAVE_BYTES)
        return SAVE_BYTES;
    memcpy(buf, save_magic, 4);
    memcpy(buf + 4, &p->s, sizeof(p->s));
    return SAVE_BYTES;
}

static bool flag_ok(uint8_t v) { return v <= 1; }

static bool channel_valid(const struct pit_channel *c)
{
    return c->mode <= 5 && c->access >= 1 && c->access <= 3 && flag_ok(c->bcd) &&
           flag_ok(c->gate) && flag_ok(c->loaded) && flag_ok(c->paused) &&
           flag_ok(c->triggered) && flag_ok(c->write_msb_next) && flag_ok(c->read_msb_next) &&
           c->count_latched <= 2 && flag_ok(c->status_latched) &&
           c->reload >= 1 && c->reload <= modulus(c);
}

int pit_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct pit *p = opaque;
    struct pit_state s;
    if (len != SAVE_BYTES || memcmp(buf, save_magic, 4) != 0)
        return -1;
    memcpy(&s, buf + 4, sizeof(s));
    for (unsigned n = 0; n < 3; n++)
        if (!channel_valid(&s.ch[n]))
            return -1;
    if (s.port61 & ~P61_WRITABLE || s.irq_owed > ticks_per_second(&s.ch[0]) ||
        s.irq_retry_ns > LOST_TICKS_RETRY_MAX_NS)
        return -1;
    p->s = s;
    /* Edges count from now: the time the machine was away is not owed. */
    p->s.irq_next_edge = edge_after(&p->s.ch[0], now_tick(p));
    arm_irq_timer(p, timer_now(p->ts));
    return 0;
}

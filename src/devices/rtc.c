/* rtc.c - the MC146818 RTC/CMOS (Motorola MC146818A datasheet).
 *
 * Nothing ticks.  The divider chain started at divider_ns; second boundaries
 * fall every 1e9 ns after it and periodic interrupts on its 32768 Hz grid.
 * While the clock runs, the time registers are computed from the virtual
 * clock; while it is stopped (SET, or the divider held in reset) they are
 * plain memory the guest may write, and restarting parses them back into
 * time_offset.  Register C's flags are brought up to date lazily
 * (account_events) whenever they matter, and a dev_timer wakes us only for
 * events that would raise the interrupt line.
 */
#include "devices/rtc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
    REG_SEC = 0x00, REG_SEC_ALARM = 0x01, REG_MIN = 0x02, REG_MIN_ALARM = 0x03,
    REG_HOUR = 0x04, REG_HOUR_ALARM = 0x05, REG_WDAY = 0x06, REG_MDAY = 0x07,
    REG_MONTH = 0x08, REG_YEAR = 0x09, REG_A = 0x0A, REG_B = 0x0B, REG_C = 0x0C,
    REG_D = 0x0D, REG_CENTURY = 0x32,
};
enum { A_UIP = 0x80, A_DV = 0x70, A_DV_RESET = 0x60, A_RS = 0x0F };
enum { B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_SQWE = 0x08,
       B_DM_BINARY = 0x04, B_24H = 0x02, B_DSE = 0x01 };
enum { C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10 };
enum { D_VRT = 0x80 };

#define NS_PER_SEC 1000000000LL
#define UIP_WINDOW_NS 244000LL      /* UIP rises this long before each update */
#define DIVIDER_HZ 32768
#define SECONDS_PER_DAY 86400

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

static int64_t now_ns(const struct rtc *r)
{
    return (int64_t)timer_now(r->ts);
}

/* --- the divider chain --- */

static bool divider_running(const struct rtc *r)
{
    return (r->s.cmos[REG_A] & A_DV_RESET) != A_DV_RESET;
}

static bool clock_running(const struct rtc *r)
{
    return divider_running(r) && !(r->s.cmos[REG_B] & B_SET);
}

/* Whole seconds of the divider chain at `ns`. */
static int64_t divider_seconds(const struct rtc *r, int64_t ns)
{
    return floor_div(ns - r->s.divider_ns, NS_PER_SEC);
}

static int64_t guest_time(const struct rtc *r, int64_t ns)
{
    return r->s.time_offset + divider_seconds(r, ns);
}

/* The periodic interrupt's period in 32768 Hz ticks, 0 if off. */
static int64_t periodic_ticks(const struct rtc *r)
{
    unsigned rs = r->s.cmos[REG_A] & A_RS;
    if (rs == 0)
        return 0;
    return rs <= 2 ? 1LL << (rs + 6) : 1LL << (rs - 1);
}

static int64_t divider_tick(const struct rtc *r, int64_t ns)
{
    __int128 scaled = (__int128)(ns - r->s.divider_ns) * DIVIDER_HZ;
    __int128 q = scaled / NS_PER_SEC;
    if (scaled % NS_PER_SEC != 0 && scaled < 0)
        q--;
    return (int64_t)q;
}

static int64_t ns_of_divider_tick(const struct rtc *r, int64_t tick)
{
    __int128 scaled = (__int128)tick * NS_PER_SEC;
    return r->s.divider_ns + (int64_t)((scaled + DIVIDER_HZ - 1) / DIVIDER_HZ);
}

/* --- register formats --- */

static uint8_t encode(const struct rtc *r, int v)
{
    if (r->s.cmos[REG_B] & B_DM_BINARY)
        return (uint8_t)v;
    return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static int decode(const struct rtc *r, uint8_t v)
{
    if (r->s.cmos[REG_B] & B_DM_BINARY)
        return v;
    return (v >> 4) * 10 + (v & 15);
}

static uint8_t encode_hour(const struct rtc *r, int hour)
{
    if (r->s.cmos[REG_B] & B_24H)
        return encode(r, hour);
    int h12 = hour % 12 ? hour % 12 : 12;
    return (uint8_t)(encode(r, h12) | (hour >= 12 ? 0x80 : 0));
}

static int decode_hour(const struct rtc *r, uint8_t v)
{
    if (r->s.cmos[REG_B] & B_24H)
        return decode(r, v);
    return decode(r, v & 0x7F) % 12 + (v & 0x80 ? 12 : 0);
}

static bool is_time_register(unsigned reg)
{
    return (reg <= REG_YEAR && reg != REG_SEC_ALARM && reg != REG_MIN_ALARM &&
            reg != REG_HOUR_ALARM) || reg == REG_CENTURY;
}

/* The time register `reg` as it reads at Unix time t. */
static uint8_t time_register_at(const struct rtc *r, unsigned reg, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    int year = tm.tm_year + 1900;
    switch (reg) {
    case REG_SEC: return encode(r, tm.tm_sec);
    case REG_MIN: return encode(r, tm.tm_min);
    case REG_HOUR: return encode_hour(r, tm.tm_hour);
    case REG_WDAY: return encode(r, tm.tm_wday + 1);       /* Sunday is 1 */
    case REG_MDAY: return encode(r, tm.tm_mday);
    case REG_MONTH: return encode(r, tm.tm_mon + 1);
    case REG_YEAR: return encode(r, year % 100);
    default: return encode(r, year / 100 % 100);           /* REG_CENTURY */
    }
}

/* Copy the running clock into the time registers (the clock is stopping). */
static void freeze_time(struct rtc *r, int64_t ns)
{
    int64_t t = guest_time(r, ns);
    static const unsigned regs[] = { REG_SEC, REG_MIN, REG_HOUR, REG_WDAY, REG_MDAY,
                                     REG_MONTH, REG_YEAR, REG_CENTURY };
    for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        r->s.cmos[regs[i]] = time_register_at(r, regs[i], t);
}

/* Make the time registers the clock's time from now on (the clock starts). */
static void thaw_time(struct rtc *r, int64_t ns)
{
    const uint8_t *c = r->s.cmos;
    struct tm tm = {
        .tm_sec = decode(r, c[REG_SEC]),
        .tm_min = decode(r, c[REG_MIN]),
        .tm_hour = decode_hour(r, c[REG_HOUR]),
        .tm_mday = decode(r, c[REG_MDAY]),
        .tm_mon = decode(r, c[REG_MONTH]) - 1,
        .tm_year = decode(r, c[REG_CENTURY]) * 100 + decode(r, c[REG_YEAR]) - 1900,
    };
    int64_t t = (int64_t)timegm(&tm);
    r->s.time_offset = t - divider_seconds(r, ns);
}

/* --- flags and the interrupt line --- */

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
    return (alarm & 0xC0) == 0xC0 || alarm == now;      /* 0xC0-0xFF: don't care */
}

static bool alarm_matches(const struct rtc *r, int64_t t)
{
    int64_t sod = floor_mod(t, SECONDS_PER_DAY);
    const uint8_t *c = r->s.cmos;
    return alarm_field_matches(c[REG_SEC_ALARM], encode(r, (int)(sod % 60))) &&
           alarm_field_matches(c[REG_MIN_ALARM], encode(r, (int)(sod / 60 % 60))) &&
           alarm_field_matches(c[REG_HOUR_ALARM], encode_hour(r, (int)(sod / 3600)));
}

/* Did any second that began in (from, to] match the alarm?  The alarm
 * repeats at most daily, so only the last day of updates needs a look. */
static bool alarm_in(const struct rtc *r, int64_t first_second, int64_t last_second)
{
    if (last_second - first_second >= SECONDS_PER_DAY)
        first_second = last_second - SECONDS_PER_DAY + 1;
    for (int64_t s = first_second; s <= last_second; s++)
        if (alarm_matches(r, r->s.time_offset + s))
            return true;
    return false;
}

/* --- the lost-tick policy of the periodic interrupt --- */

static bool periodic_interrupts_on(const struct rtc *r)
{
    return divider_running(r) && periodic_ticks(r) && (r->s.cmos[REG_B] & B_PIE);
}

/* k periodic ticks happened: PF sets; under LOST_TICKS_DELIVER those beyond
 * the one PF stands for are owed, unless the guest refuses them. */
static void count_periodic(struct rtc *r, int64_t k)
{
    bool pending = r->s.cmos[REG_C] & C_PF;
    r->s.cmos[REG_C] |= C_PF;
    if (!lost_ticks_delivering(&r->lost) || !periodic_interrupts_on(r))
        return;
    struct irq_line_status line = lost_ticks_line(&r->lost);
    uint32_t cap = (uint32_t)(DIVIDER_HZ / periodic_ticks(r));     /* one second's worth */
    if (line.masked)
        r->s.periodic_owed = 0;
    else if (!lost_ticks_refused(line))
        r->s.periodic_owed = lost_ticks_add(r->s.periodic_owed, (uint64_t)(pending ? k : k - 1), cap);
}

/* When the next owed tick may be raised (the guest read C a moment ago), or
 * INT64_MAX if none is owed. */
static int64_t owed_tick_at(const struct rtc *r)
{
    if (!r->s.periodic_owed || !lost_ticks_delivering(&r->lost) || !periodic_interrupts_on(r))
        return INT64_MAX;
    return r->s.acked_ns + LOST_TICKS_RETRY_NS;
}

static void raise_owed_tick(struct rtc *r, int64_t ns)
{
    if ((r->s.cmos[REG_C] & C_PF) || ns < owed_tick_at(r))
        return;
    r->s.cmos[REG_C] |= C_PF;
    r->s.periodic_owed--;
}

/* Set PF, AF, UF for everything that happened since the last accounting. */
static void account_events(struct rtc *r, int64_t ns)
{
    int64_t from = r->s.accounted_ns;
    if (ns <= from)
        return;
    r->s.accounted_ns = ns;
    if (!divider_running(r))
        return;
    int64_t p = periodic_ticks(r);
    if (p) {
        int64_t k = floor_div(divider_tick(r, ns), p) - floor_div(divider_tick(r, from), p);
        if (k > 0)
            count_periodic(r, k);
    }
    if (!clock_running(r))
        return;
    int64_t s0 = divider_seconds(r, from), s1 = divider_seconds(r, ns);
    if (s1 > s0) {
        r->s.cmos[REG_C] |= C_UF;
        if (alarm_in(r, s0 + 1, s1))
            r->s.cmos[REG_C] |= C_AF;
    }
}

static void update_irq(struct rtc *r)
{
    uint8_t b = r->s.cmos[REG_B], c = r->s.cmos[REG_C];
    bool irqf = ((c & C_PF) && (b & B_PIE)) || ((c & C_AF) && (b & B_AIE)) ||
                ((c & C_UF) && (b & B_UIE));
    r->s.cmos[REG_C] = irqf ? (c | C_IRQF) : (c & ~C_IRQF);
    if (irqf != (bool)r->s.irq_level) {
        r->s.irq_level = irqf;
        irq_set_level(&r->irq8, irqf);
    }
}

/* Wake at the next event that could raise the line (none while it is high),
 * an owed periodic tick included. */
static void arm_timer(struct rtc *r, int64_t ns)
{
    uint8_t b = r->s.cmos[REG_B];
    int64_t next = INT64_MAX;
    if (!r->s.irq_level && divider_running(r)) {
        int64_t p = periodic_ticks(r);
        if ((b & B_PIE) && p)
            next = ns_of_divider_tick(r, (floor_div(divider_tick(r, ns), p) + 1) * p);
        if ((b & (B_UIE | B_AIE)) && clock_running(r)) {
            int64_t boundary = r->s.divider_ns + (divider_seconds(r, ns) + 1) * NS_PER_SEC;
            if (boundary < next)
                next = boundary;
        }
        int64_t owed = owed_tick_at(r);
        if (owed != INT64_MAX)
            next = owed < ns ? ns : (owed < next ? owed : next);
    }
    if (next == INT64_MAX || next < 0)
        timer_disarm(&r->timer);
    else
        timer_arm(r->ts, &r->timer, (uint64_t)next);
}

static void refresh(struct rtc *r, int64_t ns)
{
    account_events(r, ns);
    update_irq(r);
    arm_timer(r, ns);
}

static void timer_fire(void *opaque, uint64_t now)
{
    struct rtc *r = opaque;
    account_events(r, (int64_t)now);
    raise_owed_tick(r, (int64_t)now);
    refresh(r, (int64_t)now);
}

/* --- register access --- */

static bool update_in_progress(const struct rtc *r, int64_t ns)
{
    if (!clock_running(r))
        return false;
    return floor_mod(ns - r->s.divider_ns, NS_PER_SEC) >= NS_PER_SEC - UIP_WINDOW_NS;
}

static uint8_t read_register(struct rtc *r, unsigned reg)
{
    int64_t ns = now_ns(r);
    if (is_time_register(reg) && clock_running(r))
        return time_register_at(r, reg, guest_time(r, ns));
    switch (reg) {
    case REG_A:
        return (uint8_t)((r->s.cmos[REG_A] & ~A_UIP) | (update_in_progress(r, ns) ? A_UIP : 0));
    case REG_C: {
        account_events(r, ns);
        update_irq(r);
        uint8_t v = r->s.cmos[REG_C];
        r->s.cmos[REG_C] = 0;
        r->s.acked_ns = ns;
        update_irq(r);
        arm_timer(r, ns);
        return v;
    }
    case REG_D:
        return D_VRT;
    default:
        return r->s.cmos[reg];
    }
}

/* A change to A or B: account with the old settings, then stop or start the clock. */
static void write_control(struct rtc *r, unsigned reg, uint8_t v, int64_t ns)
{
    account_events(r, ns);
    bool was_running = clock_running(r), divider_was = divider_running(r);
    uint8_t old_a = r->s.cmos[REG_A];
    if (reg == REG_A) {
        r->s.cmos[REG_A] = v & ~A_UIP;
    } else {
        if (v & B_SET)
            v &= ~B_UIE;        /* SET clears UIE */
        r->s.cmos[REG_B] = v;
    }
    /* Stopping fills the time registers in the new format; starting parses
     * them in it.  A clock that keeps running just keeps its time. */
    if (was_running && !clock_running(r))
        freeze_time(r, ns);
    if (!divider_was && divider_running(r))
        r->s.divider_ns = ns - NS_PER_SEC / 2;      /* first update 500 ms later */
    if (!was_running && clock_running(r))
        thaw_time(r, ns);
    /* Ticks owed at another rate, or to a guest that turned them off, lapse. */
    if ((old_a ^ r->s.cmos[REG_A]) & (A_DV | A_RS) || !periodic_interrupts_on(r))
        r->s.periodic_owed = 0;
    update_irq(r);
    arm_timer(r, ns);
}

static void write_register(struct rtc *r, unsigned reg, uint8_t v)
{
    int64_t ns = now_ns(r);
    if (is_time_register(reg)) {
        if (!clock_running(r)) {
            r->s.cmos[reg] = v;
            return;
        }
        /* Without SET the write takes effect at once; the divider phase stays. */
        account_events(r, ns);
        freeze_time(r, ns);
        r->s.cmos[reg] = v;
        thaw_time(r, ns);
        arm_timer(r, ns);
        return;
    }
    switch (reg) {
    case REG_A:
    case REG_B:
        write_control(r, reg, v, ns);
        break;
    case REG_C:
    case REG_D:
        break;                  /* read-only */
    case REG_SEC_ALARM:
    case REG_MIN_ALARM:
    case REG_HOUR_ALARM:
        account_events(r, ns);  /* updates so far are judged by the old alarm */
        r->s.cmos[reg] = v;
        break;
    default:
        r->s.cmos[reg] = v;
        break;
    }
}

static uint64_t rtc_port_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rtc *r = opaque;
    (void)size;
    if (offset == 0)
        return 0xFF;            /* the index register is write-only */
    return read_register(r, r->s.index);
}

static void rtc_port_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct rtc *r = opaque;
    (void)size;
    if (offset == 0) {
        r->s.index = value & 0x7F;
        r->s.nmi_masked = (value >> 7) & 1;
    } else {
        write_register(r, r->s.index, (uint8_t)value);
    }
}

bool rtc_nmi_masked(const struct rtc *r)
{
    return r->s.nmi_masked;
}

/* --- CMOS memory size --- */

static void put16(struct rtc *r, unsigned reg, uint64_t v)
{
    if (v > 0xFFFF)
        v = 0xFFFF;
    r->s.cmos[reg] = (uint8_t)v;
    r->s.cmos[reg + 1] = (uint8_t)(v >> 8);
}

static void update_checksum(struct rtc *r)
{
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2D; i++)
        sum += r->s.cmos[i];
    r->s.cmos[0x2E] = (uint8_t)(sum >> 8);
    r->s.cmos[0x2F] = (uint8_t)sum;
}

void rtc_set_memory_size(struct rtc *r, uint64_t ram_bytes)
{
    const uint64_t mib = 1024 * 1024;
    uint64_t ext_kib = ram_bytes > mib ? (ram_bytes - mib) / 1024 : 0;
    uint64_t above_16m = ram_bytes > 16 * mib ? (ram_bytes - 16 * mib) / 65536 : 0;
    put16(r, 0x15, 640);                    /* base memory, KiB */
    put16(r, 0x17, ext_kib);                /* extended memory above 1 MiB, KiB */
    put16(r, 0x30, ext_kib);                /* the same, as POST found it */
    put16(r, 0x34, above_16m);              /* above 16 MiB, 64 KiB blocks */
    update_checksum(r);
}

/* --- device lifecycle --- */

void rtc_reset(void *opaque)
{
    struct rtc *r = opaque;
    int64_t ns = now_ns(r);
    account_events(r, ns);
    /* The RESET pin clears the interrupt enables and flags, not the time. */
    r->s.cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
    r->s.cmos[REG_C] = 0;
    r->s.periodic_owed = 0;
    update_irq(r);
    arm_timer(r, ns);
}

int rtc_init(struct rtc *r, struct bus *io, struct timer_set *ts, struct irq_line irq8,
             int64_t wall_epoch_at_zero, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->ts = ts;
    r->irq8 = irq8;
    r->timer = (struct dev_timer){ .deadline_ns = TIMER_NEVER, .fire = timer_fire,
                                   .opaque = r, .name = "rtc" };
    r->s.cmos[REG_A] = 0x26;                /* 32.768 kHz divider, 1024 Hz periodic rate */
    r->s.cmos[REG_B] = B_24H;               /* BCD, 24-hour */
    r->s.cmos[REG_D] = D_VRT;
    r->s.time_offset = wall_epoch_at_zero;
    r->s.divider_ns = 0;
    r->s.accounted_ns = now_ns(r);
    rtc_set_memory_size(r, 0);
    if (timer_add(ts, &r->timer) < 0) {
        snprintf(err, errlen, "rtc: no room for its timer in the timer set");
        return -1;
    }
    return bus_register(io, 0x70, 2, "rtc", r, rtc_port_read, rtc_port_write, err, errlen);
}

void rtc_set_lost_tick_policy(struct rtc *r, enum lost_tick_policy policy,
                              struct irq_probe probe)
{
    r->lost = (struct lost_ticks){ .policy = policy, .probe = probe };
    r->s.periodic_owed = 0;
    arm_timer(r, now_ns(r));
}

static const uint8_t save_magic[4] = { 'R', 'T', 'C', '2' };
enum { SAVE_BYTES = 4 + sizeof(struct rtc_state) };

size_t rtc_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct rtc *r = opaque;
    if (cap < SAVE_BYTES)
        return SAVE_BYTES;
    memcpy(buf, save_magic, 4);
    memcpy(buf + 4, &r->s, sizeof(r->s));
    return SAVE_BYTES;
}

int rtc_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct rtc *r = opaque;
    struct rtc_state s;
    if (len != SAVE_BYTES || memcmp(buf, save_magic, 4) != 0)
        return -1;
    memcpy(&s, buf + 4, sizeof(s));
    if (s.index > 0x7F || s.nmi_masked > 1 || s.irq_level > 1 || s.periodic_owed > DIVIDER_HZ)
        return -1;
    bool line = r->s.irq_level;
    r->s = s;
    /* Drive the line to the restored level if it differs from what the PIC saw. */
    if ((bool)s.irq_level != line)
        irq_set_level(&r->irq8, s.irq_level);
    arm_timer(r, now_ns(r));
    return 0;
}

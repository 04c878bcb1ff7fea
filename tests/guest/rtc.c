/* MC146818 RTC: the periodic interrupt on IRQ 8 (slave PIC) at 1024 Hz
 * measured against the PIT, and the wall-clock time printed as
 * "RTC YYYY-MM-DD HH:MM:SS" for the runner to compare with the host's UTC. */
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "printf.h"
#include "test.h"

const char test_program_name[] = "rtc";

#define NMI_OFF 0x80                      /* keep NMIs masked while indexing */

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, NMI_OFF | reg);
    return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
    outb(0x70, NMI_OFF | reg);
    outb(0x71, v);
}

static volatile uint32_t irq8_count;
static volatile uint8_t last_c;

static void irq8_handler(struct int_frame *f)
{
    (void)f;
    irq8_count++;
    last_c = cmos_read(0x0C);             /* reading C acknowledges the interrupt */
    pic_eoi(8);
}

static uint32_t count_over_ms(uint32_t ms, uint64_t *ticks)
{
    struct pit_clock c;
    pit_clock_start(&c);
    uint32_t start = irq8_count;
    sti();
    while (pit_clock_update(&c) < (uint64_t)ms * (PIT_HZ / 1000))
        ;
    cli();
    *ticks = c.ticks;
    return irq8_count - start;
}

static void test_periodic(void)
{
    idt_set_handler(IRQ_VECTOR(8), irq8_handler);
    pic_unmask(8);
    cmos_write(0x0A, 0x26);               /* 32.768 kHz base, rate 6 = 1024 Hz */
    cmos_write(0x0B, cmos_read(0x0B) | 0x40);   /* periodic interrupt enable */
    (void)cmos_read(0x0C);

    uint64_t ticks;
    uint32_t n = count_over_ms(250, &ticks);
    uint32_t expected = (uint32_t)(ticks * 1024 / PIT_HZ);
    int32_t dev = (int32_t)(((int64_t)n - expected) * 10000 / expected);
    kprintf("rtc: %u periodic interrupts in %u us (expected %u)\n", n,
            (uint32_t)(ticks * 1000000 / PIT_HZ), expected);
    check("rtc_periodic_1024hz", dev >= -500 && dev <= 500, "%u interrupts, expected %u", n, expected);
    check("rtc_reg_c_flags", (last_c & 0xC0) == 0xC0, "register C %x (want IRQF|PF)", last_c);

    cmos_write(0x0A, 0x2A);               /* rate 10 = 64 Hz */
    n = count_over_ms(250, &ticks);
    expected = (uint32_t)(ticks * 64 / PIT_HZ);
    check("rtc_periodic_64hz", n + 2 >= expected && n <= expected + 2, "%u interrupts, expected %u",
          n, expected);

    cmos_write(0x0B, cmos_read(0x0B) & ~0x40);
    (void)cmos_read(0x0C);
    n = count_over_ms(30, &ticks);
    check("rtc_periodic_disabled", n == 0, "%u interrupts after PIE cleared", n);
    cmos_write(0x0A, 0x26);
    pic_mask(8);
}

struct rtc_time {
    uint32_t year, mon, day, hour, min, sec;
};

static uint32_t from_bcd(uint8_t v, int binary)
{
    return binary ? v : (v >> 4) * 10 + (v & 0xF);
}

static void read_time_once(struct rtc_time *t)
{
    while (cmos_read(0x0A) & 0x80)        /* update in progress */
        ;
    uint8_t b = cmos_read(0x0B);
    int binary = b & 0x04, h24 = b & 0x02;
    t->sec = from_bcd(cmos_read(0x00), binary);
    t->min = from_bcd(cmos_read(0x02), binary);
    uint8_t h = cmos_read(0x04);
    t->day = from_bcd(cmos_read(0x07), binary);
    t->mon = from_bcd(cmos_read(0x08), binary);
    t->year = from_bcd(cmos_read(0x09), binary) + 100 * from_bcd(cmos_read(0x32), binary);
    t->hour = from_bcd(h & 0x7F, binary);
    if (!h24) {
        t->hour %= 12;
        if (h & 0x80)
            t->hour += 12;
    }
}

static void read_time(struct rtc_time *t)
{
    struct rtc_time u;
    read_time_once(t);
    for (int i = 0; i < 5; i++) {         /* two equal reads: no update in between */
        read_time_once(&u);
        if (u.sec == t->sec && u.min == t->min && u.hour == t->hour && u.day == t->day)
            break;
        *t = u;
    }
}

static void test_time(void)
{
    struct rtc_time t;
    read_time(&t);
    kprintf("RTC %04u-%02u-%02u %02u:%02u:%02u\n", t.year, t.mon, t.day, t.hour, t.min, t.sec);
    check("rtc_time_fields_valid",
          t.year >= 2000 && t.year < 2200 && t.mon >= 1 && t.mon <= 12 && t.day >= 1 &&
              t.day <= 31 && t.hour < 24 && t.min < 60 && t.sec < 60,
          "%u-%u-%u %u:%u:%u", t.year, t.mon, t.day, t.hour, t.min, t.sec);

    /* The clock runs: the seconds change within ~1 s. */
    struct pit_clock c;
    struct rtc_time u;
    pit_clock_start(&c);
    do {
        read_time(&u);
    } while (u.sec == t.sec && pit_clock_update(&c) < 1300 * (PIT_HZ / 1000));
    check("rtc_seconds_advance", u.sec != t.sec, "still %u after %u ms", u.sec,
          (uint32_t)(c.ticks / (PIT_HZ / 1000)));

    /* Binary mode reads the same time. */
    uint8_t b = cmos_read(0x0B);
    cmos_write(0x0B, b | 0x04);
    struct rtc_time bin;
    read_time(&bin);
    cmos_write(0x0B, b);
    check("rtc_binary_mode", bin.min == u.min || bin.min == (u.min + 1) % 60,
          "binary min %u, bcd min %u", bin.min, u.min);
}

static void test_cmos_memory(uint32_t mb_info)
{
    const uint32_t *mbi = (const uint32_t *)mb_info;
    if (!mb_info || !(mbi[0] & 1)) {
        kprintf("SKIP cmos_memory_size: no Multiboot memory info\n");
        return;
    }
    uint32_t upper_kb = mbi[2];
    uint32_t ext_kb = cmos_read(0x30) | (uint32_t)cmos_read(0x31) << 8;
    uint32_t above16_64k = cmos_read(0x34) | (uint32_t)cmos_read(0x35) << 8;
    uint32_t want_ext = upper_kb > 0xFFFF ? 0xFFFF : upper_kb;
    uint32_t total_kb = 16 * 1024 + above16_64k * 64;
    check("cmos_extended_memory_kb", ext_kb + 1024 >= want_ext && ext_kb <= want_ext + 1024,
          "CMOS 0x30 says %u KiB, Multiboot mem_upper %u KiB", ext_kb, upper_kb);
    check("cmos_memory_above_16m", total_kb + 2048 >= upper_kb + 1024 && total_kb <= upper_kb + 1024 + 2048,
          "CMOS 0x34 says %u KiB total, Multiboot %u KiB", total_kb, upper_kb + 1024);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    test_init();
    pic_init();
    test_periodic();
    test_time();
    test_cmos_memory(mb_info);
    return test_finish();
}

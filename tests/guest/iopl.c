/* IOPL and the TSS I/O permission bitmap: ring 3 with IOPL 0 reaches exactly
 * the ports its bitmap enables (every byte of a multi-byte access must be
 * enabled, string forms too), IOPL 3 reaches all, CLI/STI need IOPL >= CPL,
 * POPF silently keeps IF and IOPL when it may not change them. */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "serial.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "iopl";

#define SCR  (COM1 + UART_SCR)      /* 0x3FF: a scratch register to read back */
#define EFL_IF 0x200u
#define EFL_IOPL3 0x3000u

static struct tss_io tss __attribute__((aligned(4096)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));

/* Results of ring-3 probes, reported from ring 0. */
struct probe {
    const char *name;
    int hit;
    uint32_t vector, error, eip_ok, value;
};
static struct probe probes[40];
static int nprobes;

static void record(const char *name, uint32_t value)
{
    struct probe *p = &probes[nprobes++];
    p->name = name;
    p->hit = caught.hit;
    p->vector = caught.vector;
    p->error = caught.error;
    p->eip_ok = caught.eip == catch_insn;
    p->value = value;
    catch_reset();
}

static void sys_exit_handler(struct int_frame *f)
{
    (void)f;
    ring3_leave();
}

#define EXIT_USER() __asm__ volatile("int $0x80" : : : "memory")

/* Phase 1: IOPL 0, bitmap enables 0x3FF, 0x21 and 0xA1. */
static void user_iopl0(void)
{
    uint32_t v = 0;
    __asm__ volatile(CATCH_ASM("outb %%al, %%dx") : : "a"(0x5A), "d"(SCR) : "memory");
    record("io_allowed_outb", 0);
    __asm__ volatile(CATCH_ASM("inb %%dx, %%al") : "+a"(v) : "d"(SCR) : "memory");
    record("io_allowed_inb", v & 0xFF);
    v = 0;
    __asm__ volatile(CATCH_ASM("inb $0x21, %%al") : "+a"(v) : : "memory");
    record("io_allowed_pic_mask", v & 0xFF);
    __asm__ volatile(CATCH_ASM("inb $0x20, %%al") : "+a"(v) : : "memory");
    record("io_denied_inb_gp", 0);
    __asm__ volatile(CATCH_ASM("inb %%dx, %%al") : "+a"(v) : "d"(SCR - 1) : "memory");
    record("io_denied_neighbour_gp", 0);
    __asm__ volatile(CATCH_ASM("inw %%dx, %%ax") : "+a"(v) : "d"(SCR - 1) : "memory");
    record("io_word_low_byte_denied_gp", 0);
    __asm__ volatile(CATCH_ASM("inw %%dx, %%ax") : "+a"(v) : "d"(SCR) : "memory");
    record("io_word_high_byte_denied_gp", 0);
    __asm__ volatile(CATCH_ASM("outl %%eax, %%dx") : : "a"(0), "d"(SCR - 3) : "memory");
    record("io_dword_partly_denied_gp", 0);
    static volatile uint8_t sbuf[2] = { 0x3C, 0 };
    const volatile uint8_t *src = sbuf;
    volatile uint8_t *dst = &sbuf[1];
    __asm__ volatile(CATCH_ASM("outsb") : "+S"(src) : "d"(SCR) : "memory");
    record("io_allowed_outsb", 0);
    __asm__ volatile(CATCH_ASM("insb") : "+D"(dst) : "d"(SCR) : "memory");
    record("io_allowed_insb", sbuf[1]);
    dst = &sbuf[1];
    __asm__ volatile(CATCH_ASM("insb") : "+D"(dst) : "d"(0x20) : "memory");
    record("io_denied_insb_gp", 0);

    __asm__ volatile(CATCH_ASM("cli") : : : "memory");
    record("cli_cpl3_iopl0_gp", 0);
    __asm__ volatile(CATCH_ASM("sti") : : : "memory");
    record("sti_cpl3_iopl0_gp", 0);

    /* POPF: IF and IOPL silently unchanged. */
    uint32_t f;
    __asm__ volatile("pushfl\n\t"
                     "xorl $0x3200, (%%esp)\n\t"     /* clear IF, set IOPL 3 */
                     CATCH_ASM("popfl")
                     "pushfl\n\tpopl %0" : "=r"(f) : : "memory", "cc");
    record("popf_keeps_if_and_iopl", f);
    /* POPF still changes the arithmetic flags and DF. */
    __asm__ volatile("pushl $0x08d5\n\tpopfl\n\tpushfl\n\tpopl %0\n\tcld" : "=r"(f) : : "memory", "cc");
    record("popf_changes_status_flags", f);
    EXIT_USER();
}

/* Phase 2: the ring-0 side enabled 0x3FC-0x3FE too; no bitmap at all after. */
static void user_iopl0_more(void)
{
    uint32_t v = 0;
    __asm__ volatile(CATCH_ASM("inl %%dx, %%eax") : "+a"(v) : "d"(SCR - 3) : "memory");
    record("io_dword_all_enabled", 0);
    __asm__ volatile(CATCH_ASM("outw %%ax, %%dx") : : "a"(0x1234), "d"(SCR - 1) : "memory");
    record("io_word_all_enabled", 0);
    __asm__ volatile("int $0x81" : : : "memory");   /* kernel moves the bitmap past the limit */
    __asm__ volatile(CATCH_ASM("inb %%dx, %%al") : "+a"(v) : "d"(SCR) : "memory");
    record("io_bitmap_beyond_limit_gp", 0);
    EXIT_USER();
}

/* Phase 3: IOPL 3. */
static void user_iopl3(void)
{
    uint32_t v = 0;
    __asm__ volatile(CATCH_ASM("inb $0x20, %%al") : "+a"(v) : : "memory");
    record("iopl3_any_port", 0);
    __asm__ volatile(CATCH_ASM("outb %%al, %%dx") : : "a"(0xC3), "d"(SCR) : "memory");
    record("iopl3_outb", 0);
    __asm__ volatile(CATCH_ASM("inb %%dx, %%al") : "+a"(v) : "d"(SCR) : "memory");
    record("iopl3_inb", v & 0xFF);
    uint32_t f;
    __asm__ volatile(CATCH_ASM("cli") "pushfl\n\tpopl %0" : "=r"(f) : : "memory");
    record("iopl3_cli", f);
    __asm__ volatile(CATCH_ASM("sti") "pushfl\n\tpopl %0" : "=r"(f) : : "memory");
    record("iopl3_sti", f);
    /* POPF at CPL 3 / IOPL 3 changes IF but not IOPL. */
    __asm__ volatile("pushfl\n\t"
                     "andl $~0x3200, (%%esp)\n\t"    /* clear IF and IOPL */
                     "popfl\n\t"
                     "pushfl\n\tpopl %0\n\tsti" : "=r"(f) : : "memory", "cc");
    record("iopl3_popf_if_not_iopl", f);
    EXIT_USER();
}

static void move_bitmap_handler(struct int_frame *f)
{
    (void)f;
    tss.t.iomap_base = 0xFFFF;      /* the TSS limit is far below */
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static struct probe *find(const char *name)
{
    for (int i = 0; i < nprobes; i++)
        if (streq(probes[i].name, name))
            return &probes[i];
    return 0;
}

static void want_ok(const char *name)
{
    struct probe *p = find(name);
    if (!p)
        fail(name, "probe did not run");
    else
        check(name, p->hit == 0, "vector %u error %x raised", p->vector, p->error);
}

static void want_gp(const char *name)
{
    struct probe *p = find(name);
    if (!p)
        fail(name, "probe did not run");
    else
        check(name, p->hit == 1 && p->vector == 13 && p->error == 0 && p->eip_ok,
              "hit %d vector %u error %x eip at insn %u (want #GP(0))", p->hit, p->vector, p->error, p->eip_ok);
}

static void want_value(const char *name, uint32_t mask, uint32_t value)
{
    struct probe *p = find(name);
    if (!p)
        fail(name, "probe did not run");
    else
        check(name, p->hit == 0 && (p->value & mask) == value, "hit %d vector %u value %x (want %x under mask %x)",
              p->hit, p->vector, p->value, value, mask);
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    tss_install(&tss.t, SEL_TSS, TSS_LIMIT_IO, (uint32_t)(kstack + sizeof(kstack)));
    tss_allow_port(&tss, SCR, 1);
    tss_allow_port(&tss, 0x21, 1);
    tss_allow_port(&tss, 0xA1, 1);
    idt_set_handler(0x80, sys_exit_handler);
    idt_set_dpl(0x80, 3);
    idt_set_handler(0x81, move_bitmap_handler);
    idt_set_dpl(0x81, 3);
    uint32_t utop = (uint32_t)(ustack + sizeof(ustack));
    uint8_t pic_mask = inb(0x21);

    ring3_enter(user_iopl0, utop, 0x202);
    tss_allow_port(&tss, SCR - 1, 1);
    tss_allow_port(&tss, SCR - 2, 1);
    tss_allow_port(&tss, SCR - 3, 1);
    ring3_enter(user_iopl0_more, utop, 0x202);
    ring3_enter(user_iopl3, utop, 0x202 | EFL_IOPL3);
    cli();
    pass("back_from_user_mode");

    want_ok("io_allowed_outb");
    want_value("io_allowed_inb", 0xFF, 0x5A);
    want_value("io_allowed_pic_mask", 0xFF, pic_mask);
    want_gp("io_denied_inb_gp");
    want_gp("io_denied_neighbour_gp");
    want_gp("io_word_low_byte_denied_gp");
    want_gp("io_word_high_byte_denied_gp");
    want_gp("io_dword_partly_denied_gp");
    want_ok("io_allowed_outsb");
    want_value("io_allowed_insb", 0xFF, 0x3C);
    want_gp("io_denied_insb_gp");
    want_gp("cli_cpl3_iopl0_gp");
    want_gp("sti_cpl3_iopl0_gp");
    want_value("popf_keeps_if_and_iopl", EFL_IF | EFL_IOPL3, EFL_IF);
    want_value("popf_changes_status_flags", 0xCD5, 0x8D5);
    want_ok("io_dword_all_enabled");
    want_ok("io_word_all_enabled");
    want_gp("io_bitmap_beyond_limit_gp");
    want_ok("iopl3_any_port");
    want_ok("iopl3_outb");
    want_value("iopl3_inb", 0xFF, 0xC3);
    want_value("iopl3_cli", EFL_IF, 0);
    want_value("iopl3_sti", EFL_IF, EFL_IF);
    want_value("iopl3_popf_if_not_iopl", EFL_IF | EFL_IOPL3, EFL_IOPL3);
    check("probe_count", nprobes == 24, "%d probes ran", nprobes);
    return test_finish();
}

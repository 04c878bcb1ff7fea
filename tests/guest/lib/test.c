#include "test.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "printf.h"
#include "serial.h"

static int failures;

void test_init(void)
{
    serial_init();
    idt_init();
    /* Firmware may have left the PIC at vectors 8-15, on top of the
     * exceptions: remap it and mask every line until a test wants one. */
    pic_init();
    catch_reset();
    catch_resume = 0;
}

void pass(const char *name)
{
    kprintf("PASS %s\n", name);
}

static void vfail(const char *name, const char *fmt, va_list ap)
{
    failures++;
    kprintf("FAIL %s: ", name);
    kvprintf(fmt, ap);
    serial_putc('\n');
}

void fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(name, fmt, ap);
    va_end(ap);
}

int check(const char *name, int ok, const char *fmt, ...)
{
    if (ok) {
        pass(name);
        return 1;
    }
    va_list ap;
    va_start(ap, fmt);
    vfail(name, fmt, ap);
    va_end(ap);
    return 0;
}

int test_failures(void)
{
    return failures;
}

int test_finish(void)
{
    return failures ? 1 : 0;
}

void debug_exit(uint32_t code)
{
    /* Let the UART drain so the last line is not cut off. */
    for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_TEMT); i++)
        pause();
    outl(0xF4, code);
    /* Without the exit device: stop here. */
    for (;;) {
        cli();
        hlt();
    }
}

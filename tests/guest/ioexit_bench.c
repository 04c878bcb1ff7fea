/* Port-I/O exit benchmark: IOEXIT_COUNT writes to port 0x80 (a port morph's
 * devices handle), then exit. Built twice: with 1,000,000 writes and with 0
 * (the baseline bench/run.sh subtracts). */
#include "io.h"
#include "printf.h"
#include "test.h"

#ifndef IOEXIT_COUNT
#define IOEXIT_COUNT 1000000
#endif

const char test_program_name[] = "ioexit_bench";

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    uint32_t n = IOEXIT_COUNT;
    __asm__ volatile("test %0, %0\n\t"
                     "jz 2f\n"
                     "1:\n\t"
                     "outb %%al, $0x80\n\t"
                     "dec %0\n\t"
                     "jnz 1b\n"
                     "2:"
                     : "+r"(n) : "a"(0) : "cc");
    kprintf("ioexit_bench: %u port writes done\n", (unsigned)IOEXIT_COUNT);
    pass("ioexit_bench");
    return test_finish();
}

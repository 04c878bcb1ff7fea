/* Smallest smoke test: print over COM1 and exit through the debug-exit port. */
#include "printf.h"
#include "test.h"

const char test_program_name[] = "hello";

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_info;
    test_init();
    kprintf("hello from a morph guest\n");
    check("multiboot_magic", mb_magic == 0x2BADB002, "eax was %x", mb_magic);
    pass("hello");
    return test_finish();
}

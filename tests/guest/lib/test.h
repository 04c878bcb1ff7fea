/* Result reporting: "PASS <name>" / "FAIL <name>: <detail>" lines on COM1,
 * and the isa-debug-exit port (write 0 = success, 1 = failure). */
#ifndef GUEST_TEST_H
#define GUEST_TEST_H

#include <stdint.h>

/* Each program defines this (used in unexpected-interrupt reports). */
extern const char test_program_name[];

/* Each program defines this; entry.asm calls it with the Multiboot registers.
 * Return 0 for success. */
int guest_main(uint32_t mb_magic, uint32_t mb_info);

/* Serial, IDT and catch state ready; call first in guest_main. */
void test_init(void);
void pass(const char *name);
void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* PASS when ok, else FAIL with the formatted detail. Returns ok. */
int check(const char *name, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Number of FAIL lines so far. */
int test_failures(void);
/* 0 if no failures else 1: the value for guest_main to return. */
int test_finish(void);

void debug_exit(uint32_t code) __attribute__((noreturn));

#endif

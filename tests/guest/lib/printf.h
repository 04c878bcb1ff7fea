/* printf-lite over COM1: %c %s %d %i %u %x %X %p %%, width, '0' flag, 'l'/'ll'. */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include <stdarg.h>

void kvprintf(const char *fmt, va_list ap);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

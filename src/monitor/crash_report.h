/* crash_report.h - what morph prints when the guest cannot go on: the
 * instruction bytes at EIP (read through the guest's segmentation and page
 * tables, never outside guest memory), their disassembly and the registers.
 */
#ifndef MORPH_CRASH_REPORT_H
#define MORPH_CRASH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/engine.h"
#include "monitor/guest_ram.h"

/* Guest-linear to guest-physical with the state's paging mode (2-level,
 * 4 KiB and 4 MiB pages).  Returns 0, or -1 when not mapped or unreadable. */
int guest_linear_to_phys(const struct guest_ram *g, const struct cpu_state *s,
                         uint32_t linear, uint64_t *phys);

/* Reads up to max bytes at CS:eip; returns how many could be read. */
size_t guest_read_code(const struct guest_ram *g, const struct cpu_state *s, uint32_t eip,
                       uint8_t *buf, size_t max);

/* "f7 f1 90" and, when it decodes, "  (div ecx)". */
void crash_print_bytes(FILE *f, const struct cpu_state *s, uint32_t eip,
                       const uint8_t *bytes, size_t n);
void crash_print_registers(FILE *f, const struct cpu_state *s);

#endif

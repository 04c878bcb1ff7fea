/* mem.h - guest memory as the soft CPU's instructions see it.
 *
 * Segmented accesses apply the segment's limit and type checks (#GP, or #SS
 * for SS), then paging through the TLB (#PF with CR2), then RAM, ROM (writes
 * dropped) or MMIO (an exit, replayed, see cpu.h).  The fast path - a TLB hit
 * on a flat segment - is meant to stay a handful of host instructions, so the
 * owner (mmu.c) may turn these into static inline wrappers around slow paths
 * without changing their signatures.  Accesses that cross a page are split.
 */
#ifndef MORPH_SOFT_MEM_H
#define MORPH_SOFT_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

/* seg: enum sreg; off: effective address (already wrapped to the address size). */
uint8_t  cpu_read8(struct cpu *c, int seg, uint32_t off);
uint16_t cpu_read16(struct cpu *c, int seg, uint32_t off);
uint32_t cpu_read32(struct cpu *c, int seg, uint32_t off);
uint64_t cpu_read64(struct cpu *c, int seg, uint32_t off);
void cpu_write8(struct cpu *c, int seg, uint32_t off, uint8_t v);
void cpu_write16(struct cpu *c, int seg, uint32_t off, uint16_t v);
void cpu_write32(struct cpu *c, int seg, uint32_t off, uint32_t v);
void cpu_write64(struct cpu *c, int seg, uint32_t off, uint64_t v);
/* Size-generic forms (size 1, 2 or 4). */
uint32_t cpu_read(struct cpu *c, int seg, uint32_t off, unsigned size);
void cpu_write(struct cpu *c, int seg, uint32_t off, unsigned size, uint32_t v);
/* Fault now if [off, off+size) could not be written, writing nothing: lets a
 * read-modify-write or multi-part instruction check before it commits. */
void cpu_check_write(struct cpu *c, int seg, uint32_t off, unsigned size);

/* Linear-address accesses at the current privilege, or as the CPU's own
 * supervisor accesses (descriptor tables, TSS, IDT) when system is true. */
uint32_t cpu_lin_read(struct cpu *c, uint32_t lin, unsigned size, bool system);
void cpu_lin_write(struct cpu *c, uint32_t lin, unsigned size, uint32_t v, bool system);

/* The stack: SS with ESP or SP by SS.B.  size 2 or 4.  cpu_push writes first
 * and moves ESP only when the write succeeded; cpu_pop likewise.  For
 * instructions that must not move ESP until later accesses succeeded, read
 * with cpu_stack_peek(c, depth, size) (depth in bytes above ESP) and set ESP
 * with cpu_stack_adjust. */
void cpu_push(struct cpu *c, uint32_t v, unsigned size);
uint32_t cpu_pop(struct cpu *c, unsigned size);
uint32_t cpu_stack_peek(struct cpu *c, uint32_t depth, unsigned size);
void cpu_stack_adjust(struct cpu *c, int32_t delta);

/* Guest-physical helpers for the page walker and the engine: a host pointer
 * to len bytes of RAM/ROM at gpa, or NULL if any of it is not RAM/ROM. */
uint8_t *cpu_phys_ptr(struct cpu *c, uint64_t gpa, uint32_t len, bool write);

#endif

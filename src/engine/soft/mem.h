/* mem.h - guest memory as the soft CPU's instructions see it.
 *
 * Segmented accesses apply the segment's limit and type checks (#GP, or #SS
 * for SS), then paging through the TLB (#PF with CR2), then RAM, ROM (writes
 * dropped) or MMIO (an exit, replayed, see cpu.h).  The fast path - segment
 * check against cpu->seg_rmax/seg_wmax plus a TLB hit that does not cross a
 * page - is inline here; everything else goes to the *_slow functions of
 * mmu.c.  Accesses that cross a page are split there.
 */
#ifndef MORPH_SOFT_MEM_H
#define MORPH_SOFT_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"

/* ---- slow paths (mmu.c) ---- */
uint32_t cpu_read_slow(struct cpu *c, int seg, uint32_t off, unsigned size);
void cpu_write_slow(struct cpu *c, int seg, uint32_t off, unsigned size, uint32_t v);
uint64_t cpu_read64(struct cpu *c, int seg, uint32_t off);
void cpu_write64(struct cpu *c, int seg, uint32_t off, uint64_t v);

/* The fast paths are forced inline: they are the whole cost of most
 * memory operands, and a call (gcc otherwise outlines them in some
 * handler files) costs as much as the access. */
#define MEM_INLINE static inline __attribute__((always_inline))

/* The TLB entry for linear `lin` at the current privilege. */
MEM_INLINE const struct tlb_entry *cpu_tlb_entry(const struct cpu *c, uint32_t lin)
{
    return &c->tlb_now[(lin >> 12) & (TLB_SIZE - 1)];
}

/* Does a TLB tag vouch for `size` bytes at lin, inside one page? */
MEM_INLINE bool cpu_tlb_hit(uint32_t tag, uint32_t lin, unsigned size)
{
    return tag == (lin & ~0xfffu) && (lin & 0xfffu) <= 0x1000u - size;
}

/* Host pointer for a TLB hit of an access of `size` bytes at linear `lin`
 * that stays inside one page, or NULL. */
MEM_INLINE uint8_t *cpu_tlb_fast(struct cpu *c, uint32_t lin, unsigned size, bool write)
{
    const struct tlb_entry *e = cpu_tlb_entry(c, lin);
    uint32_t tag = write ? e->write_tag : e->read_tag;
    if (__builtin_expect(cpu_tlb_hit(tag, lin, size), 1)) {
        uint8_t *p = e->host_base + (lin & 0xfffu);
        /* A matching tag implies RAM/ROM: telling the compiler lets the
         * callers' NULL tests fold into the tag compare. */
        if (!p)
            __builtin_unreachable();
        return p;
    }
    return NULL;
}

/* The fast path of a segmented access of `size` bytes (1, 2 or 4) at
 * seg:off (off already wrapped to the address size): the host pointer when
 * the segment checks pass and the TLB vouches for the access (for writing,
 * with write), else NULL and nothing done. */
MEM_INLINE uint8_t *cpu_fast_ptr(struct cpu *c, int seg, uint32_t off, unsigned size, bool write)
{
    int64_t max = write ? c->seg_wmax[seg] : c->seg_rmax[seg];
    if (__builtin_expect((int64_t)off + (int64_t)size - 1 <= max, 1))
        return cpu_tlb_fast(c, c->s.seg[seg].base + off, size, write);
    return NULL;
}

MEM_INLINE uint32_t cpu_load(const uint8_t *p, unsigned size)
{
    if (size == 1) return *p;
    if (size == 2) { uint16_t v; memcpy(&v, p, 2); return v; }
    uint32_t v; memcpy(&v, p, 4); return v;
}

MEM_INLINE void cpu_store(uint8_t *p, unsigned size, uint32_t v)
{
    if (size == 1) *p = (uint8_t)v;
    else if (size == 2) { uint16_t w = (uint16_t)v; memcpy(p, &w, 2); }
    else memcpy(p, &v, 4);
}

MEM_INLINE uint32_t cpu_read(struct cpu *c, int seg, uint32_t off, unsigned size)
{
    const uint8_t *p = cpu_fast_ptr(c, seg, off, size, false);
    if (__builtin_expect(p != NULL, 1))
        return cpu_load(p, size);
    return cpu_read_slow(c, seg, off, size);
}

MEM_INLINE void cpu_write(struct cpu *c, int seg, uint32_t off, unsigned size, uint32_t v)
{
    uint8_t *p = cpu_fast_ptr(c, seg, off, size, true);
    if (__builtin_expect(p != NULL, 1))
        cpu_store(p, size, v);
    else
        cpu_write_slow(c, seg, off, size, v);
}

MEM_INLINE uint8_t  cpu_read8(struct cpu *c, int seg, uint32_t off)  { return (uint8_t)cpu_read(c, seg, off, 1); }
MEM_INLINE uint16_t cpu_read16(struct cpu *c, int seg, uint32_t off) { return (uint16_t)cpu_read(c, seg, off, 2); }
MEM_INLINE uint32_t cpu_read32(struct cpu *c, int seg, uint32_t off) { return cpu_read(c, seg, off, 4); }
MEM_INLINE void cpu_write8(struct cpu *c, int seg, uint32_t off, uint8_t v)   { cpu_write(c, seg, off, 1, v); }
MEM_INLINE void cpu_write16(struct cpu *c, int seg, uint32_t off, uint16_t v) { cpu_write(c, seg, off, 2, v); }
MEM_INLINE void cpu_write32(struct cpu *c, int seg, uint32_t off, uint32_t v) { cpu_write(c, seg, off, 4, v); }

/* The fast path of an access to a 32-bit stack (SS.B) at ESP + delta: the
 * host pointer, or NULL (16-bit stack, or not cpu_fast_ptr's fast path). */
MEM_INLINE uint8_t *cpu_stack_fast_ptr(struct cpu *c, int32_t delta, unsigned size, bool write)
{
    if (!c->stack32)
        return NULL;
    return cpu_fast_ptr(c, SEG_SS, c->s.gpr[REG_ESP] + (uint32_t)delta, size, write);
}

/* Fault now if [off, off+size) could not be written, writing nothing: lets a
 * read-modify-write or multi-part instruction check before it commits.
 * size may be up to 4096 (e.g. a whole stack frame). */
void cpu_check_write(struct cpu *c, int seg, uint32_t off, unsigned size);
/* The segment checks (type, limit) of a read of [off, off+size), done
 * before a multi-part read touches its first part. */
void cpu_check_read_seg(struct cpu *c, int seg, uint32_t off, unsigned size);

/* Linear-address accesses at the current privilege, or as the CPU's own
 * supervisor accesses (descriptor tables, TSS, IDT) when system is true.
 * size 1, 2 or 4. */
uint32_t cpu_lin_read(struct cpu *c, uint32_t lin, unsigned size, bool system);
void cpu_lin_write(struct cpu *c, uint32_t lin, unsigned size, uint32_t v, bool system);

/* The stack: SS with ESP or SP by SS.B.  size 2 or 4.  cpu_push writes first
 * and moves ESP only when the write succeeded; cpu_pop likewise.  For
 * instructions that must not move ESP until later accesses succeeded, read
 * with cpu_stack_peek(c, depth, size) (depth in bytes above ESP) and set ESP
 * with cpu_stack_adjust. */
static inline uint32_t cpu_sp_mask(const struct cpu *c)
{
    return c->stack32 ? 0xffffffffu : 0xffffu;
}

static inline void cpu_set_sp(struct cpu *c, uint32_t v)
{
    uint32_t m = cpu_sp_mask(c);
    c->s.gpr[REG_ESP] = (c->s.gpr[REG_ESP] & ~m) | (v & m);
}

MEM_INLINE void cpu_push(struct cpu *c, uint32_t v, unsigned size)
{
    uint32_t sp = (c->s.gpr[REG_ESP] - size) & cpu_sp_mask(c);
    cpu_write(c, SEG_SS, sp, size, v);
    cpu_set_sp(c, sp);
}

MEM_INLINE uint32_t cpu_pop(struct cpu *c, unsigned size)
{
    uint32_t sp = c->s.gpr[REG_ESP] & cpu_sp_mask(c);
    uint32_t v = cpu_read(c, SEG_SS, sp, size);
    cpu_set_sp(c, sp + size);
    return v;
}

MEM_INLINE uint32_t cpu_stack_peek(struct cpu *c, uint32_t depth, unsigned size)
{
    return cpu_read(c, SEG_SS, (c->s.gpr[REG_ESP] + depth) & cpu_sp_mask(c), size);
}

/* ESP as it would be after moving the stack pointer by delta: SP only,
 * wrapping at 64 KiB, on a 16-bit stack.  Instructions that change SS.B
 * (POP SS) or read ESP mid-way (POP [ESP+d], ENTER) take it before. */
static inline uint32_t cpu_sp_moved(const struct cpu *c, int32_t delta)
{
    uint32_t m = cpu_sp_mask(c);
    return (c->s.gpr[REG_ESP] & ~m) | ((c->s.gpr[REG_ESP] + (uint32_t)delta) & m);
}

static inline void cpu_stack_adjust(struct cpu *c, int32_t delta)
{
    c->s.gpr[REG_ESP] = cpu_sp_moved(c, delta);
}

/* Write at ESP - depth (wrapped by SS.B) without moving ESP: for multi-push
 * instructions that commit ESP at the end. */
static inline void cpu_stack_poke(struct cpu *c, uint32_t depth, unsigned size, uint32_t v)
{
    cpu_write(c, SEG_SS, (c->s.gpr[REG_ESP] - depth) & cpu_sp_mask(c), size, v);
}

/* Guest-physical helpers for the page walker and the engine: a host pointer
 * to len bytes of RAM/ROM at gpa, or NULL if any of it is not RAM/ROM
 * (or, with write, if it is ROM). */
uint8_t *cpu_phys_ptr(struct cpu *c, uint64_t gpa, uint32_t len, bool write);

#endif

/* translate.h - the translator (the source document's 502): a hot block
 * of decoded guest instructions becomes x86-64 host code.
 *
 * Guest general registers live in host registers inside the code (EAX ECX
 * EDX EBX in their own, EBP ESI EDI too, ESP in R14; R15 holds the cpu),
 * guest arithmetic flags in host EFLAGS, so most ALU, MOV and shift
 * instructions are the guest's own instruction re-encoded.  Memory
 * operands go through the software TLB inline; anything the inline path
 * does not handle (a TLB miss, MMIO, a page crossing, a segment check that
 * fails, an instruction the translator does not know) runs that one
 * instruction in the interpreter from its exact boundary state: registers
 * and flags are stored to the cpu first, so faults and exits inside a
 * block are precise.
 */
#ifndef MORPH_SOFT_TRANSLATE_H
#define MORPH_SOFT_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>

struct block;
struct cpu;
struct tcache;

/* What block->jit returns: the instructions it completed (bits 0-15) and
 * how it ended (JIT_END_*, bits 16-18).  EIP is set for the next one. */
#define JIT_DONE_MASK   0xffffu
#define JIT_END_SHIFT   16
enum jit_end {
    JIT_END_FELL = 1,      /* ran all jit_cover insns */
    JIT_END_BRANCH,        /* a direct jump, call or taken Jcc */
    JIT_END_INDIRECT,      /* RET, an indirect JMP or CALL */
    JIT_END_HELPER,        /* an interpreted insn left the line, changed code or segments */
    JIT_END_UNLINKED,      /* a linked jump arrived but the run loop must see the boundary */
    JIT_END_COUNT
};

/* Bits 19-21: a direct exit that may be linked, slot + 1 (0: none). */
#define JIT_SLOT_SHIFT  19

/* Translate block b (decoded for the current CPU mode) into tc.  false:
 * it cannot be translated (b->jit_failed is set). */
bool translate_block(struct tcache *tc, struct cpu *c, struct block *b);

/* Patch direct exit `slot` of from's translation to jump straight into
 * to's (both of tc's generation; to chains and was made for the EIP the
 * slot leaves for).  Linked code checks the guest-time deadline, a kick
 * and to's segment assumptions itself before it goes on. */
void translate_link(struct tcache *tc, struct block *from, unsigned slot, struct block *to);
/* b is going away (or being translated again): every jump linked into or
 * out of its translation goes back to its unlinked target. */
void translate_unlink(struct block *b);

#endif

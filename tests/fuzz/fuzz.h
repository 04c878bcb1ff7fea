/* fuzz.h - the differential fuzzer's shared contract: the guest layout both
 * sides use and the case/result records the 64-bit driver and the 32-bit
 * native runner exchange over a pipe.  Only fixed-width fields, so the
 * layout is the same under -m32 and -m64. */
#ifndef MORPH_FUZZ_H
#define MORPH_FUZZ_H

#include <stdint.h>

/* Linear layout, identical natively (MAP_FIXED in the 32-bit runner) and in
 * the guest (paging maps the same linear pages).  The data page sits below
 * 64 KiB so 16-bit addressing (67 prefix) can reach it; the code runs up to
 * the end of its page and the next page is unmapped, so "the sequence ended"
 * is an instruction-fetch #PF at FZ_CODE_END on both sides. */
#define FZ_PAGE        4096u
#define FZ_DATA        0x00007000u
#define FZ_CODE        0x20000000u
#define FZ_CODE_END    (FZ_CODE + FZ_PAGE)
#define FZ_STACK       0x30000000u
#define FZ_STACK_TOP0  (FZ_STACK + 0x800u)   /* initial ESP */
#define FZ_CODE_MAX    1024u

/* Linux's flat user selectors on an x86-64 host running 32-bit code. */
#define FZ_SEL_CS 0x23u
#define FZ_SEL_DS 0x2bu

/* EFLAGS bits compared at all (RF, VM, IOPL and the reserved bits never). */
#define FZ_EFL_COMPARE 0x00244fd5u

#define FZ_NO_VECTOR 0xffffffffu

struct fz_case {
    uint32_t magic;
    uint32_t regs[8];          /* EAX ECX EDX EBX ESP EBP ESI EDI */
    uint32_t eflags;
    uint32_t eip;              /* start: FZ_CODE_END - code length */
    uint32_t x87;              /* nonzero: capture x87 state */
    uint8_t code[FZ_CODE_MAX]; /* the last FZ_CODE_MAX bytes of the code page */
    uint8_t data[FZ_PAGE];
    uint8_t stack[FZ_PAGE];
};

#define FZ_MAGIC 0x7a46554du

struct fz_x87 {
    uint16_t fcw, fsw, ftw, pad;  /* ftw: full 2-bit tags, physical order */
    uint8_t st[8][10];            /* ST(0)..ST(7), stack order */
};

struct fz_result {
    uint32_t magic;
    uint32_t status;           /* FZ_OK, FZ_TIMEOUT, FZ_ERROR */
    uint32_t regs[8];
    uint32_t eip, eflags;
    uint32_t vector;           /* exception that ended the run */
    uint32_t err;              /* its error code (0 if none) */
    uint32_t cr2;              /* #PF address */
    uint32_t sreg[6];          /* ES CS SS DS FS GS */
    struct fz_x87 fpu;
    char note[256];            /* FZ_ERROR: what went wrong */
    uint8_t data[FZ_PAGE];
    uint8_t stack[FZ_PAGE];
};

enum { FZ_OK = 0, FZ_TIMEOUT = 1, FZ_ERROR = 2 };

#endif

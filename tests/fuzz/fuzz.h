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

/* Segment modes (fz_case.mode): which segments a case starts in.  0 is
 * Linux's flat 32-bit code, stack and data.  The 16-bit segments live in
 * the process's LDT (modify_ldt natively, the same descriptors in morph's
 * LDT), installed for every mode, so selectors 0x07..0x2f load the same
 * descriptors on both sides whatever the mode.
 *   CS16    CS = LDT 0: 16-bit code, base FZ_CODE, limit 0xffff; EIP is an
 *           offset in the code page (the end is the fetch at 0x1000).
 *   SS16    SS = LDT 1: 16-bit stack, base FZ_STACK, limit 0xffff, SP 0x800
 *           (same linear stack as mode 0).
 *   SS16_ED SS = LDT 2: 16-bit expand-down stack, base FZ_STACK - 0xf000,
 *           limit 0xefff: valid offsets 0xf000..0xffff are the stack page,
 *           so a push from SP 0 wraps into it.
 *   DS16    DS = ES = LDT 3: 16-bit data, base 0, limit 0xffff (the data
 *           page at 0x7000 fits; the stack page does not).
 *   DS16_ED DS = ES = LDT 4: 16-bit expand-down, base 0, limit 0x6fff:
 *           valid offsets 0x7000..0xffff.
 *   DS32_ED DS = ES = LDT 5: the same with B=1: valid 0x7000..0xffffffff. */
#define FZ_MODE_CS16     0x01u
#define FZ_MODE_SS_MASK  0x06u
#define FZ_MODE_SS16     0x02u
#define FZ_MODE_SS16_ED  0x04u
#define FZ_MODE_DS_MASK  0x18u
#define FZ_MODE_DS16     0x08u
#define FZ_MODE_DS16_ED  0x10u
#define FZ_MODE_DS32_ED  0x18u
#define FZ_MODE_MAX      0x1fu

struct fz_seg {
    uint32_t base, limit;       /* limit in bytes (byte granular) */
    uint8_t code, big, down;    /* code (readable) / data (writable); D/B; expand-down */
};

#define FZ_LDT_ENTRIES 6
#define FZ_LDT_SEL(k)  ((uint16_t)(((k) << 3) | 7))   /* TI=1, RPL 3 */

static inline struct fz_seg fz_ldt_entry(unsigned k)
{
    static const struct fz_seg ldt[FZ_LDT_ENTRIES] = {
        { FZ_CODE, 0xffff, 1, 0, 0 },
        { FZ_STACK, 0xffff, 0, 0, 0 },
        { FZ_STACK - 0xf000u, 0xefff, 0, 0, 1 },
        { 0, 0xffff, 0, 0, 0 },
        { 0, 0x6fff, 0, 0, 1 },
        { 0, 0x6fff, 0, 1, 1 },
    };
    return ldt[k];
}

/* The selectors a case starts with in each mode. */
static inline uint16_t fz_mode_cs(uint32_t mode)
{
    return (mode & FZ_MODE_CS16) ? FZ_LDT_SEL(0) : FZ_SEL_CS;
}
static inline uint16_t fz_mode_ss(uint32_t mode)
{
    switch (mode & FZ_MODE_SS_MASK) {
    case FZ_MODE_SS16: return FZ_LDT_SEL(1);
    case FZ_MODE_SS16_ED: return FZ_LDT_SEL(2);
    default: return FZ_SEL_DS;
    }
}
static inline uint16_t fz_mode_ds(uint32_t mode)
{
    switch (mode & FZ_MODE_DS_MASK) {
    case FZ_MODE_DS16: return FZ_LDT_SEL(3);
    case FZ_MODE_DS16_ED: return FZ_LDT_SEL(4);
    case FZ_MODE_DS32_ED: return FZ_LDT_SEL(5);
    default: return FZ_SEL_DS;
    }
}
/* EIP values are offsets from the CS base; stack offsets from the SS base. */
static inline uint32_t fz_cs_base(uint32_t mode) { return (mode & FZ_MODE_CS16) ? FZ_CODE : 0; }
static inline uint32_t fz_ss_base(uint32_t mode)
{
    uint16_t ss = fz_mode_ss(mode);
    return ss == FZ_SEL_DS ? 0 : fz_ldt_entry(ss >> 3).base;
}
/* The EIP at which a case has run to its end (the fetch #PF). */
static inline uint32_t fz_code_end(uint32_t mode) { return FZ_CODE_END - fz_cs_base(mode); }

struct fz_case {
    uint32_t magic;
    uint32_t regs[8];          /* EAX ECX EDX EBX ESP EBP ESI EDI */
    uint32_t eflags;
    uint32_t eip;              /* start: FZ_CODE_END - code length */
    uint32_t x87;              /* nonzero: capture x87 state */
    uint32_t mode;             /* FZ_MODE_*: the segments it starts in */
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

/* native.c - the oracle side of the differential fuzzer: a 32-bit program
 * (gcc -m32) that runs each case it reads from stdin directly on the host
 * CPU and writes the final state to stdout.
 *
 * A case is entered from an assembly stub that loads every register and
 * EFLAGS and jumps to the code.  It never returns: the code runs to the end
 * of its page and faults fetching from the unmapped page after it, or it
 * faults earlier.  Either way the signal handler copies the interrupted
 * state out of the ucontext (trap number, error code and CR2 included) and
 * siglongjmps back to the loop.  The handler runs on an alternate stack
 * because the case owns ESP, and it first restores GS, which the case may
 * have loaded (glibc keeps its TLS, and the pointer guard siglongjmp uses,
 * behind GS).
 *
 * 16-bit segments: setup() installs the LDT of fz.h with modify_ldt, and
 * the stub enters every case by loading ES/DS, then SS:ESP with LSS, and a
 * far jump to CS:EIP, so a case can start in 16-bit code, on a 16-bit
 * (possibly expand-down) stack, with 16-bit DS/ES.  After DS is loaded the
 * stub reads its own variables through FS (flat 0x2b).  A fault is
 * delivered the same way whatever the segments: the kernel switches to the
 * alternate stack and the flat selectors before the handler runs (and
 * espfix64 keeps ESP[31:16] intact when a timer interrupt returns to a
 * 16-bit stack). */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/ldt.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include "fuzz.h"

#if !defined(__i386__)
#error "native.c must be built with -m32"
#endif

/* The asm stubs need fixed addresses for what they touch, so this state is
 * file-scope; the process runs one case at a time. */
struct entry_regs {
    uint32_t regs[8];
    uint32_t eflags;
    uint32_t eip;
};
struct entry_regs fz_entry;
/* Far pointers for LSS and the far JMP (offset, then selector), and the
 * data selectors; the stub's layout offsets depend on this order. */
struct entry_segs {
    uint32_t esp;
    uint16_t ss, pad0;
    uint32_t eip;
    uint16_t cs, pad1;
    uint16_t ds, es;
} __attribute__((packed));
struct entry_segs fz_segs;
uint16_t fz_host_gs;

static sigjmp_buf fz_jmp;
static struct fz_result fz_res;
static volatile int fz_running;

void fz_enter(void);
void fz_signal_tramp(int, siginfo_t *, void *);

__asm__(
    ".text\n"
    ".globl fz_enter\n"
    "fz_enter:\n"
    "    movw $0x2b, %ax\n"
    "    movw %ax, %fs\n"
    "    movw %ax, %gs\n"
    "    fninit\n"
    "    pushl fz_entry+32\n"
    "    popfl\n"
    "    movw fz_segs+18, %es\n"
    "    movw fz_segs+16, %ds\n"
    "    lss %fs:fz_segs+0, %esp\n"
    "    movl %fs:fz_entry+0, %eax\n"
    "    movl %fs:fz_entry+4, %ecx\n"
    "    movl %fs:fz_entry+8, %edx\n"
    "    movl %fs:fz_entry+12, %ebx\n"
    "    movl %fs:fz_entry+20, %ebp\n"
    "    movl %fs:fz_entry+24, %esi\n"
    "    movl %fs:fz_entry+28, %edi\n"
    "    ljmp *%fs:fz_segs+8\n"
    ".globl fz_signal_tramp\n"
    "fz_signal_tramp:\n"
    "    movw fz_host_gs, %ax\n"
    "    movw %ax, %gs\n"
    "    jmp fz_signal\n");

void fz_signal(int sig, siginfo_t *si, void *uctx);

void fz_signal(int sig, siginfo_t *si, void *uctx)
{
    (void)si;
    if (!fz_running) {
        /* A fault in the runner itself: die loudly rather than loop. */
        signal(sig, SIG_DFL);
        return;
    }
    ucontext_t *uc = uctx;
    const greg_t *g = uc->uc_mcontext.gregs;
    fz_res.regs[0] = (uint32_t)g[REG_EAX];
    fz_res.regs[1] = (uint32_t)g[REG_ECX];
    fz_res.regs[2] = (uint32_t)g[REG_EDX];
    fz_res.regs[3] = (uint32_t)g[REG_EBX];
    fz_res.regs[4] = (uint32_t)g[REG_UESP];
    fz_res.regs[5] = (uint32_t)g[REG_EBP];
    fz_res.regs[6] = (uint32_t)g[REG_ESI];
    fz_res.regs[7] = (uint32_t)g[REG_EDI];
    fz_res.eip = (uint32_t)g[REG_EIP];
    fz_res.eflags = (uint32_t)g[REG_EFL];
    fz_res.vector = (uint32_t)g[REG_TRAPNO];
    fz_res.err = (uint32_t)g[REG_ERR];
    fz_res.cr2 = (uint32_t)uc->uc_mcontext.cr2;
    fz_res.sreg[0] = (uint32_t)g[REG_ES] & 0xffff;
    fz_res.sreg[1] = (uint32_t)g[REG_CS] & 0xffff;
    fz_res.sreg[2] = (uint32_t)g[REG_SS] & 0xffff;
    fz_res.sreg[3] = (uint32_t)g[REG_DS] & 0xffff;
    fz_res.sreg[4] = (uint32_t)g[REG_FS] & 0xffff;
    fz_res.sreg[5] = (uint32_t)g[REG_GS] & 0xffff;
    const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    if (fp) {
        fz_res.fpu.fcw = (uint16_t)fp->cw;
        fz_res.fpu.fsw = (uint16_t)fp->sw;
        fz_res.fpu.ftw = (uint16_t)fp->tag;
        for (int k = 0; k < 8; k++)
            memcpy(fz_res.fpu.st[k], &fp->_st[k], 10);
    }
    fz_running = 0;
    siglongjmp(fz_jmp, 1);
}

static void *map_fixed(uint32_t addr, int prot)
{
    void *p = mmap((void *)(uintptr_t)addr, FZ_PAGE, prot,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)(uintptr_t)addr) {
        fprintf(stderr, "fuzz-native: cannot map page 0x%08x: %s\n", addr, strerror(errno));
        exit(2);
    }
    return p;
}

/* The 16-bit segments of fz.h in this process's LDT; false (with the
 * reason on stderr) if the kernel refuses (no modify_ldt). */
static bool install_ldt(void)
{
    for (unsigned k = 0; k < FZ_LDT_ENTRIES; k++) {
        struct fz_seg d = fz_ldt_entry(k);
        struct user_desc u;
        memset(&u, 0, sizeof(u));
        u.entry_number = k;
        u.base_addr = d.base;
        u.limit = d.limit;
        u.seg_32bit = d.big;
        u.contents = d.code ? MODIFY_LDT_CONTENTS_CODE
                            : d.down ? MODIFY_LDT_CONTENTS_STACK : MODIFY_LDT_CONTENTS_DATA;
        u.read_exec_only = 0;   /* code readable, data writable */
        u.useable = 0;
        if (syscall(SYS_modify_ldt, 1, &u, sizeof(u)) != 0) {
            fprintf(stderr, "fuzz-native: modify_ldt: %s (no 16-bit segments)\n", strerror(errno));
            return false;
        }
    }
    return true;
}

static void setup(void)
{
    if (!install_ldt())
        exit(3);
    map_fixed(FZ_DATA, PROT_READ | PROT_WRITE);
    map_fixed(FZ_CODE, PROT_READ | PROT_WRITE | PROT_EXEC);
    map_fixed(FZ_STACK, PROT_READ | PROT_WRITE);
    /* Guard pages: reserved so nothing else lands there, never accessible. */
    map_fixed(FZ_DATA - FZ_PAGE, PROT_NONE);
    map_fixed(FZ_DATA + FZ_PAGE, PROT_NONE);
    map_fixed(FZ_CODE - FZ_PAGE, PROT_NONE);
    map_fixed(FZ_CODE_END, PROT_NONE);
    map_fixed(FZ_STACK - FZ_PAGE, PROT_NONE);
    map_fixed(FZ_STACK + FZ_PAGE, PROT_NONE);

    static uint8_t altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0) {
        perror("fuzz-native: sigaltstack");
        exit(2);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = fz_signal_tramp;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
    for (unsigned k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
        sigaction(sigs[k], &sa, NULL);
    __asm__ volatile("movw %%gs, %0" : "=r"(fz_host_gs));
}

static int read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void run_case(const struct fz_case *c)
{
    uint8_t *code = (uint8_t *)(uintptr_t)FZ_CODE;
    memset(code, 0, FZ_PAGE - FZ_CODE_MAX);
    memcpy(code + FZ_PAGE - FZ_CODE_MAX, c->code, FZ_CODE_MAX);
    __builtin___clear_cache((char *)code, (char *)code + FZ_PAGE);
    memcpy((void *)(uintptr_t)FZ_DATA, c->data, FZ_PAGE);
    memcpy((void *)(uintptr_t)FZ_STACK, c->stack, FZ_PAGE);
    memset(&fz_res, 0, sizeof(fz_res));
    fz_res.magic = FZ_MAGIC;
    memcpy(fz_entry.regs, c->regs, sizeof(fz_entry.regs));
    fz_entry.eflags = c->eflags;
    fz_entry.eip = c->eip;
    fz_segs.esp = c->regs[4];
    fz_segs.ss = fz_mode_ss(c->mode);
    fz_segs.eip = c->eip;
    fz_segs.cs = fz_mode_cs(c->mode);
    fz_segs.ds = fz_segs.es = fz_mode_ds(c->mode);
    if (sigsetjmp(fz_jmp, 0) == 0) {
        fz_running = 1;
        fz_enter();
    }
    memcpy(fz_res.data, (void *)(uintptr_t)FZ_DATA, FZ_PAGE);
    memcpy(fz_res.stack, (void *)(uintptr_t)FZ_STACK, FZ_PAGE);
    fz_res.status = FZ_OK;
}

int main(void)
{
    setup();
    static struct fz_case c;
    while (read_full(0, &c, sizeof(c)) == 0) {
        if (c.magic != FZ_MAGIC) {
            fprintf(stderr, "fuzz-native: bad case record (magic 0x%08x)\n", c.magic);
            return 2;
        }
        run_case(&c);
        if (write_full(1, &fz_res, sizeof(fz_res)) != 0)
            return 2;
    }
    return 0;
}

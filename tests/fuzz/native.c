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
 * behind GS). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    "    movw %ax, %ds\n"
    "    movw %ax, %es\n"
    "    movw %ax, %fs\n"
    "    movw %ax, %gs\n"
    "    fninit\n"
    "    pushl fz_entry+32\n"
    "    popfl\n"
    "    movl fz_entry+4, %ecx\n"
    "    movl fz_entry+8, %edx\n"
    "    movl fz_entry+12, %ebx\n"
    "    movl fz_entry+16, %esp\n"
    "    movl fz_entry+20, %ebp\n"
    "    movl fz_entry+24, %esi\n"
    "    movl fz_entry+28, %edi\n"
    "    movl fz_entry+0, %eax\n"
    "    jmp *fz_entry+36\n"
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

static void setup(void)
{
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

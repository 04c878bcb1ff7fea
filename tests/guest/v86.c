/* Virtual-8086 mode: entered by IRET with EFLAGS.VM through a TSS (ss0:esp0
 * for the way back), port I/O checked against the I/O bitmap (at any IOPL),
 * INT n reaching the protected-mode monitor as #GP(0) (IOPL < 3) or through
 * a DPL-3 interrupt gate (IOPL 3), reflected to a real-mode handler in the
 * v86 task's IVT, the handler's IRET (emulated by the monitor when IOPL < 3),
 * and the v86 interrupt frame: ES/DS/FS/GS saved on the ring-0 stack and
 * zeroed in the handler. */
#include "gdt.h"
#include "idt.h"
#include "io.h"
#include "printf.h"
#include "test.h"
#include "tss.h"

const char test_program_name[] = "v86";

__asm__(".section .rodata\n"
        ".globl v86_code_start, v86_code_end\n"
        "v86_code_start:\n"
        ".incbin \"build/v86_code.bin\"\n"
        "v86_code_end:\n"
        ".text\n");
extern const uint8_t v86_code_start[], v86_code_end[];

#define V86_CS   0x0200u
#define V86_SS   0x0300u
#define V86_SP   0x1000u
#define CODE_LIN (V86_CS << 4)
#define EFL_VM   0x20000u
#define EFL_IF   0x200u
#define EFL_TF   0x100u
#define PORT_OK  0x3FF
#define PORT_NO  0x3FE

struct v86_results {
    uint16_t io, io2, int_ax, ret_ip, ret_cs, ret_flags, hcs, hsp, sp_before;
    uint16_t want_ret_ip, want_exit_at, want_exit_after, want_handler, done;
} __attribute__((packed));
#define RES ((volatile struct v86_results *)(CODE_LIN + 0x10))

static struct tss_io tss __attribute__((aligned(4096)));
static uint8_t kstack[8192] __attribute__((aligned(16)));

/* What the monitor saw in one run. */
static struct monitor {
    uint32_t gp_int, gp_iret, gp_in, gp_other, gate_int, gp_error_bad, gp_gate_dpl, gp_cli_sti;
    uint32_t reflected_ip;
    int exited, exit_by_gate;
    struct int_frame exit;
    uint32_t exit_frame_end;
} mon;

/* The IVT lives at linear 0; hide that from the compiler's null checks. */
static volatile uint16_t *ivt_base(void)
{
    uintptr_t a = 0;
    __asm__("" : "+r"(a));
    return (volatile uint16_t *)a;
}

static uint32_t lin(uint32_t seg, uint32_t off)
{
    return (seg << 4) + (off & 0xFFFF);
}

static void push16(struct int_frame *f, uint16_t v)
{
    uint16_t sp = (uint16_t)(f->user_esp - 2);
    *(volatile uint16_t *)lin(f->user_ss, sp) = v;
    f->user_esp = (f->user_esp & 0xFFFF0000u) | sp;
}

static uint16_t pop16(struct int_frame *f)
{
    uint16_t sp = (uint16_t)f->user_esp;
    uint16_t v = *(volatile uint16_t *)lin(f->user_ss, sp);
    f->user_esp = (f->user_esp & 0xFFFF0000u) | (uint16_t)(sp + 2);
    return v;
}

/* Emulates a real-mode INT: FLAGS, CS, IP on the v86 stack, CS:IP from the
 * task's IVT at linear 0, IF and TF cleared. */
static void reflect(struct int_frame *f, uint8_t vector, uint16_t ret_ip)
{
    volatile uint16_t *ivt = ivt_base();
    push16(f, (uint16_t)f->eflags);
    push16(f, (uint16_t)f->cs);
    push16(f, ret_ip);
    mon.reflected_ip = ret_ip;
    f->eip = ivt[vector * 2];
    f->cs = ivt[vector * 2 + 1];
    f->eflags &= ~(EFL_IF | EFL_TF);
}

static void leave_v86(struct int_frame *f, int by_gate)
{
    mon.exited = 1;
    mon.exit_by_gate = by_gate;
    const uint32_t *from = (const uint32_t *)f;
    uint32_t *to = (uint32_t *)&mon.exit;
    for (unsigned i = 0; i < sizeof(*f) / 4; i++)
        to[i] = from[i];
    mon.exit_frame_end = (uint32_t)(&f->v86_gs + 1);
    ring3_leave();
}

static void gp_handler(struct int_frame *f)
{
    if (!(f->eflags & EFL_VM)) {
        kprintf("FAIL v86_unexpected_gp: error %x at %x:%x\n", f->error, f->cs, f->eip);
        debug_exit(1);
    }
    const volatile uint8_t *ip = (const volatile uint8_t *)lin(f->cs, f->eip);
    if (f->error == 0x44 * 8 + 2 && ip[0] == 0xCD && ip[1] == 0x44) {
        mon.gp_gate_dpl++;                          /* INT through a DPL-0 gate */
        reflect(f, 0x44, (uint16_t)(f->eip + 2));
        return;
    }
    if (f->error != 0)
        mon.gp_error_bad++;
    switch (ip[0]) {
    case 0xFA:                                      /* CLI */
    case 0xFB:                                      /* STI */
        mon.gp_cli_sti++;
        f->eip = (uint16_t)(f->eip + 1);
        break;
    case 0xCD:                                      /* INT imm8 */
        mon.gp_int++;
        if (ip[1] == 0x43)
            leave_v86(f, 0);
        reflect(f, ip[1], (uint16_t)(f->eip + 2));
        break;
    case 0xCF: {                                    /* IRET */
        mon.gp_iret++;
        uint16_t nip = pop16(f), ncs = pop16(f), nfl = pop16(f);
        f->eip = nip;
        f->cs = ncs;
        f->eflags = (f->eflags & ~0x0FD5u) | (nfl & 0x0FD5u);
        break;
    }
    case 0xEC:                                      /* IN AL, DX */
        mon.gp_in++;
        f->eax = (f->eax & ~0xFFu) | 0x77;
        f->eip = (uint16_t)(f->eip + 1);
        break;
    default:
        mon.gp_other++;
        kprintf("FAIL v86_unexpected_gp_insn: byte %x at %x:%x\n", ip[0], f->cs, f->eip);
        leave_v86(f, 0);
    }
}

static void int42_gate(struct int_frame *f)
{
    mon.gate_int++;
    if (!(f->eflags & EFL_VM)) {
        kprintf("FAIL v86_int42_not_from_v86: eflags %x\n", f->eflags);
        debug_exit(1);
    }
    reflect(f, 0x42, (uint16_t)f->eip);
}

static void int43_gate(struct int_frame *f)
{
    mon.gate_int++;
    leave_v86(f, 1);
}

static const char *cat(const char *a, const char *b)
{
    static char buf[80];
    int n = 0;
    while (*a && n < 40)
        buf[n++] = *a++;
    while (*b && n < 79)
        buf[n++] = *b++;
    buf[n] = 0;
    return buf;
}

static void run(const char *mode, uint32_t iopl)
{
    /* Fresh code, results and IVT entries each run. */
    volatile uint8_t *dst = (volatile uint8_t *)CODE_LIN;
    for (const uint8_t *p = v86_code_start; p < v86_code_end; p++)
        *dst++ = *p;
    volatile uint16_t *ivt = ivt_base();
    ivt[0x42 * 2] = RES->want_handler;
    ivt[0x42 * 2 + 1] = V86_CS;
    ivt[0x44 * 2] = RES->want_handler;
    ivt[0x44 * 2 + 1] = V86_CS;
    for (unsigned i = 0; i < sizeof(mon); i++)
        ((volatile uint8_t *)&mon)[i] = 0;

    struct v86_regs r = {
        .eip = 0, .cs = V86_CS, .eflags = EFL_VM | EFL_IF | 0x2 | iopl << 12,
        .esp = V86_SP, .ss = V86_SS, .es = 0x1111, .ds = 0x2222, .fs = 0x3333, .gs = 0x4444,
    };
    v86_enter(&r);
    cli();

#define N(s) cat(mode, s)
    volatile struct v86_results *res = RES;
    check(N("_exited_to_monitor"), mon.exited && res->done == 1, "exited %d done %u", mon.exited, res->done);
    check(N("_port_in_bitmap_works"), res->io == 0xA5, "read %x", res->io);
    check(N("_port_not_in_bitmap_gp"), mon.gp_in == 1 && res->io2 == 0x77, "#GP count %u al %x", mon.gp_in,
          res->io2);
    check(N("_int_reflected_to_ivt_handler"), res->int_ax == 0x1236 && res->hcs == V86_CS, "ax %x handler cs %x",
          res->int_ax, res->hcs);
    check(N("_real_mode_frame_on_v86_stack"),
          res->ret_ip == res->want_ret_ip && res->ret_cs == V86_CS && (res->ret_flags & EFL_IF) &&
              res->hsp == res->sp_before - 8,
          "ip %x cs %x flags %x sp %x (want ip %x, sp %x)", res->ret_ip, res->ret_cs, res->ret_flags, res->hsp,
          res->want_ret_ip, res->sp_before - 8);
    struct int_frame *x = &mon.exit;
    check(N("_exit_frame_v86_segments"),
          x->v86_es == 0x0500 && x->v86_fs == 0x0600 && x->v86_gs == 0x0700 && x->v86_ds == 0x0800,
          "es %x ds %x fs %x gs %x", x->v86_es, x->v86_ds, x->v86_fs, x->v86_gs);
    check(N("_handler_segments_zeroed"), x->ds == 0 && x->es == 0 && x->fs == 0 && x->gs == 0,
          "ds %x es %x fs %x gs %x", x->ds, x->es, x->fs, x->gs);
    check(N("_exit_frame_cs_ss_esp_eflags"),
          x->cs == V86_CS && x->user_ss == V86_SS && x->user_esp == V86_SP && (x->eflags & EFL_VM) &&
              ((x->eflags >> 12) & 3) == iopl,
          "cs %x ss %x esp %x eflags %x", x->cs, x->user_ss, x->user_esp, x->eflags);
    check(N("_frame_on_tss_esp0_stack"), mon.exit_frame_end == (uint32_t)(kstack + sizeof(kstack)),
          "frame ends at %x, esp0 %p", mon.exit_frame_end, kstack + sizeof(kstack));
    if (iopl < 3) {
        check(N("_int_and_iret_gp"), mon.gp_int == 3 && mon.gp_iret == 2 && mon.gate_int == 0 && !mon.gp_error_bad,
              "#GP for INT %u IRET %u, gates %u, bad error codes %u", mon.gp_int, mon.gp_iret, mon.gate_int,
              mon.gp_error_bad);
        check(N("_cli_sti_gp"), mon.gp_cli_sti == 2, "%u #GP for CLI/STI", mon.gp_cli_sti);
        check(N("_gp_eip_at_int"), x->eip == res->want_exit_at, "eip %x (want %x)", x->eip, res->want_exit_at);
    } else {
        check(N("_int_through_gate"), mon.gate_int == 2 && mon.gp_int == 0 && mon.gp_iret == 0,
              "gates %u, #GP for INT %u IRET %u", mon.gate_int, mon.gp_int, mon.gp_iret);
        check(N("_int_dpl0_gate_gp"), mon.gp_gate_dpl == 1 && !mon.gp_error_bad, "%u #GP(44h*8+2), bad errors %u",
              mon.gp_gate_dpl, mon.gp_error_bad);
        check(N("_cli_sti_native"), mon.gp_cli_sti == 0, "%u #GP for CLI/STI", mon.gp_cli_sti);
        check(N("_gate_eip_after_int"), x->eip == res->want_exit_after, "eip %x (want %x)", x->eip,
              res->want_exit_after);
    }
#undef N
}

int guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_init();
    tss_install(&tss.t, SEL_TSS, TSS_LIMIT_IO, (uint32_t)(kstack + sizeof(kstack)));
    tss_allow_port(&tss, PORT_OK, 1);
    idt_set_handler(13, gp_handler);
    idt_set_handler(0x42, int42_gate);
    idt_set_dpl(0x42, 3);
    idt_set_handler(0x43, int43_gate);
    idt_set_dpl(0x43, 3);

    run("v86_iopl0", 0);
    run("v86_iopl3", 3);
    return test_finish();
}

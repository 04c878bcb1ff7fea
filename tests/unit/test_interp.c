/* test_interp.c - instruction semantics on the whole soft CPU: small
 * programs (assembled with GNU as; the source is in the comments) run through
 * soft_engine_ops, then registers and memory are checked: memory-operand
 * ALU and read-modify-write forms, LOCK, XADD/CMPXCHG, bit strings, XLAT,
 * string instructions with REP (longer than one batch), stack and control
 * flow, ENTER/LEAVE, PUSHA/POPA, PUSHF/POPF/LAHF, 16-bit addressing with
 * SS for BP, #DE delivery at the faulting instruction, the one-time
 * warning for an unknown opcode, SYSENTER/SYSEXIT (and #GP in real mode),
 * ENTER with a nesting level in both operand sizes. */
#include <stdio.h>

#include "soft_test_util.h"

/*  mov dword [0x2000],5 ; add dword [0x2000],7 ; lock sub dword [0x2000],2
 *  mov ebx,0x2000 ; inc dword [ebx] ; mov eax,[ebx] ; shl dword [ebx],4
 *  neg dword [ebx+4] ; not byte [ebx+8] ; xadd [ebx],eax
 *  mov edx,0x99 ; mov eax,187 ; cmpxchg [ebx],edx ; setz cl
 *  mov esi,1 ; bts [ebx+12],esi ; mov esi,35 ; bts [ebx+12],esi
 *  mov al,3 ; mov ebx,0x2100 ; xlatb ; movzx edi,word [0x2000]
 *  mov dword [ebx+0x100],0x10 ; imul ebp,[ebx+0x100],-3 ; hlt */
static const uint8_t prog_mem_alu[] = {
    0xc7,0x05,0x00,0x20,0x00,0x00,0x05,0x00,0x00,0x00,0x83,0x05,0x00,0x20,0x00,0x00,0x07,0xf0,
    0x83,0x2d,0x00,0x20,0x00,0x00,0x02,0xbb,0x00,0x20,0x00,0x00,0xff,0x03,0x8b,0x03,0xc1,0x23,
    0x04,0xf7,0x5b,0x04,0xf6,0x53,0x08,0x0f,0xc1,0x03,0xba,0x99,0x00,0x00,0x00,0xb8,0xbb,0x00,
    0x00,0x00,0x0f,0xb1,0x13,0x0f,0x94,0xc1,0xbe,0x01,0x00,0x00,0x00,0x0f,0xab,0x73,0x0c,0xbe,
    0x23,0x00,0x00,0x00,0x0f,0xab,0x73,0x0c,0xb0,0x03,0xbb,0x00,0x21,0x00,0x00,0xd7,0x0f,0xb7,
    0x3d,0x00,0x20,0x00,0x00,0xc7,0x83,0x00,0x01,0x00,0x00,0x10,0x00,0x00,0x00,0x6b,0xab,0x00,
    0x01,0x00,0x00,0xfd,0xf4,
};

static void test_memory_alu(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_mem_alu, sizeof(prog_mem_alu));
    g->ram[0x2103] = 0x77;
    guest_flat32_at(g, 0x1000);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(get32(g, 0x2000), 0x99);        /* 5+7-2+1=11, <<4=176, xadd +11=187, cmpxchg */
    assert_int_equal(get32(g, 0x2004), 0);
    assert_int_equal(g->ram[0x2008], 0xff);
    assert_int_equal(get32(g, 0x200c), 2);           /* bit 1 */
    assert_int_equal(get32(g, 0x2010), 8);           /* bit 35 of the string: next dword, bit 3 */
    assert_int_equal(s.gpr[REG_ECX], 1);             /* setz after a matching cmpxchg */
    assert_int_equal(s.gpr[REG_EAX], 0x77);          /* xlat */
    assert_int_equal(s.gpr[REG_EDI], 0x99);
    assert_int_equal(s.gpr[REG_EBP], 0xffffffd0u);   /* 16 * -3 */
    guest_free(g);
}

/*  cld ; mov esi,0x10000 ; mov edi,0x20000 ; mov ecx,10000 ; rep movsb
 *  mov edi,0x30000 ; mov eax,0xabababab ; mov ecx,100 ; rep stosd
 *  mov esi,0x10000 ; mov edi,0x20000 ; mov ecx,10000 ; repe cmpsb ; setz bl
 *  mov edi,0x30000 ; xor eax,eax ; mov ecx,1000 ; repne scasb ; mov edx,ecx
 *  std ; mov esi,0x10007 ; lodsd ; cld ; hlt */
static const uint8_t prog_string[] = {
    0xfc,0xbe,0x00,0x00,0x01,0x00,0xbf,0x00,0x00,0x02,0x00,0xb9,0x10,0x27,0x00,0x00,0xf3,0xa4,
    0xbf,0x00,0x00,0x03,0x00,0xb8,0xab,0xab,0xab,0xab,0xb9,0x64,0x00,0x00,0x00,0xf3,0xab,0xbe,
    0x00,0x00,0x01,0x00,0xbf,0x00,0x00,0x02,0x00,0xb9,0x10,0x27,0x00,0x00,0xf3,0xa6,0x0f,0x94,
    0xc3,0xbf,0x00,0x00,0x03,0x00,0x31,0xc0,0xb9,0xe8,0x03,0x00,0x00,0xf2,0xae,0x89,0xca,0xfd,
    0xbe,0x07,0x00,0x01,0x00,0xad,0xfc,0xf4,
};

static void test_string_ops(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_string, sizeof(prog_string));
    for (unsigned k = 0; k < 10000; k++)
        g->ram[0x10000 + k] = (uint8_t)(k * 7 + 3);
    guest_flat32_at(g, 0x1000);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_memory_equal(g->ram + 0x20000, g->ram + 0x10000, 10000);   /* > one REP batch */
    assert_int_equal(get32(g, 0x30000 + 396), 0xabababab);
    assert_int_equal(get32(g, 0x30000 + 400), 0);
    assert_int_equal(s.gpr[REG_EBX] & 0xff, 1);      /* repe cmpsb: all equal */
    assert_int_equal(s.gpr[REG_EDX], 1000 - 401);    /* repne scasb found the 0 after 400 bytes */
    assert_int_equal(s.gpr[REG_EDI], 0x30000 + 401);
    assert_int_equal(s.gpr[REG_EAX], get32(g, 0x10007));
    assert_int_equal(s.gpr[REG_ESI], 0x10003);       /* DF=1: backwards */
    assert_int_equal(s.eflags & EFL_DF, 0);
    guest_free(g);
}

/*  push 0x11223344 ; pop eax ; call f ; jmp over ; f: mov ebx,0x55 ; ret
 *  over: push ebp ; mov ebp,0x7000 ; enter 16,0 ; mov dword [ebp-4],7
 *  mov esi,esp ; leave ; pop ebp ; mov ecx,5 ; xor edx,edx ; l: inc edx ; loop l
 *  pushad ; mov eax,0 ; popad ; stc ; pushfd ; pop edi ; push 0x8d5 ; popfd
 *  lahf ; hlt */
static const uint8_t prog_stack[] = {
    0x68,0x44,0x33,0x22,0x11,0x58,0xe8,0x02,0x00,0x00,0x00,0xeb,0x06,0xbb,0x55,0x00,0x00,0x00,
    0xc3,0x55,0xbd,0x00,0x70,0x00,0x00,0xc8,0x10,0x00,0x00,0xc7,0x45,0xfc,0x07,0x00,0x00,0x00,
    0x89,0xe6,0xc9,0x5d,0xb9,0x05,0x00,0x00,0x00,0x31,0xd2,0x42,0xe2,0xfd,0x60,0xb8,0x00,0x00,
    0x00,0x00,0x61,0xf9,0x9c,0x5f,0x68,0xd5,0x08,0x00,0x00,0x9d,0x9f,0xf4,
};

static void test_stack_and_control(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_stack, sizeof(prog_stack));
    guest_flat32_at(g, 0x1000);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EBX], 0x55);
    assert_int_equal(s.gpr[REG_ESI], 0x7fe8);        /* ESP after enter 16,0 */
    /* PUSHAD's image (it overwrote ENTER's frame): EAX ECX EDX EBX ESP EBP ESI EDI */
    assert_int_equal(get32(g, 0x7ffc), 0x8d5);       /* (EAX slot, reused by push 0x8d5) */
    assert_int_equal(get32(g, 0x7ff8), 0);
    assert_int_equal(get32(g, 0x7ff4), 5);
    assert_int_equal(get32(g, 0x7ff0), 0x55);
    assert_int_equal(get32(g, 0x7fec), 0x8000);      /* ESP before PUSHAD */
    assert_int_equal(get32(g, 0x7fe4), 0x7fe8);      /* ESI */
    assert_int_equal(s.gpr[REG_ESP], 0x8000);
    assert_int_equal(s.gpr[REG_EDX], 5);
    assert_int_equal(s.gpr[REG_ECX], 0);
    assert_int_equal(s.gpr[REG_EDI] & 0x3, 0x3);     /* pushfd after stc: CF and bit 1 */
    assert_int_equal(s.gpr[REG_EAX], 0x1122d744u);   /* popad restored EAX; lahf -> AH */
    assert_int_equal(s.eflags & 0x8d5, 0x8d5);
    assert_int_equal(s.eip, 0x1000 + sizeof(prog_stack));
    guest_free(g);
}

/*  (real mode, CS=0, IP=0x7c00)
 *  mov ax,0x100 ; mov ss,ax ; mov sp,0x1000 ; mov bx,0x2000 ; mov si,4
 *  mov word [bx+si+2],0x1234 ; mov bp,0x2000 ; mov word [bp+6],0x5678
 *  mov ax,[bx+si+2] ; xor cx,cx ; div cx ; hlt
 *  #DE handler at 0:0x7e00: mov di,0xdead ; hlt */
static const uint8_t prog_real16[] = {
    0xb8,0x00,0x01,0x8e,0xd0,0xbc,0x00,0x10,0xbb,0x00,0x20,0xbe,0x04,0x00,0xc7,0x40,0x02,0x34,
    0x12,0xbd,0x00,0x20,0xc7,0x46,0x06,0x78,0x56,0x8b,0x40,0x02,0x31,0xc9,0xf7,0xf1,0xf4,
};
static const uint8_t de_handler[] = { 0xbf, 0xad, 0xde, 0xf4 };

static void test_real_mode_addressing_and_de(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x7c00, prog_real16, sizeof(prog_real16));
    put_bytes(g, 0x7e00, de_handler, sizeof(de_handler));
    put32(g, 0, 0x00007e00);                         /* IVT[0] = 0000:7e00 */
    guest_real_mode_at(g, 0x7c00, 0);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(get16(g, 0x2006), 0x1234);      /* DS:[bx+si+2] */
    assert_int_equal(get16(g, 0x1000 + 0x2006), 0x5678);   /* SS:[bp+6], SS base 0x1000 */
    assert_int_equal(s.gpr[REG_EAX] & 0xffff, 0x1234);
    assert_int_equal(s.gpr[REG_EDI] & 0xffff, 0xdead);     /* #DE delivered */
    /* the pushed IP is the DIV itself (a fault), SP = 0x1000 - 6 */
    assert_int_equal(s.gpr[REG_ESP] & 0xffff, 0x1000 - 6);
    assert_int_equal(get16(g, 0x1000 + 0x1000 - 6), 0x7c00 + 32);
    guest_free(g);
}

/*  0x7c00: 0f 0f (undefined)
 *  #UD handler at 0:0x7e00: inc dx ; cmp dx,2 ; je done ; jmp 0x7c00 ; done: hlt */
static void test_unknown_opcode_warns_once(void **st)
{
    (void)st;
    static const uint8_t ud_handler[] = { 0x42, 0x83, 0xfa, 0x02, 0x74, 0x03, 0xe9, 0xf7, 0xfd, 0xf4 };
    static const uint8_t unknown[] = { 0x0f, 0x0f };
    struct guest *g = guest_new();
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    g->c->trace |= TRACE_UNKNOWN;
    g->c->trace_out = out;
    put_bytes(g, 0x7c00, unknown, sizeof(unknown));
    put_bytes(g, 0x7e00, ud_handler, sizeof(ud_handler));
    put32(g, 6 * 4, 0x00007e00);                     /* IVT[6] */
    guest_real_mode_at(g, 0x7c00, 0);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_EDX] & 0xffff, 2);    /* #UD delivered twice */
    g->c->trace_out = NULL;
    fclose(out);
    assert_non_null(strstr(buf, "0x00007c00"));
    assert_non_null(strstr(buf, "0f 0f"));
    assert_ptr_equal(strstr(buf, "\n"), buf + len - 1);   /* exactly one line */
    free(buf);
    guest_free(g);
}

/*  mov ecx,0x7000 ; mov edx,0x1200 ; sysexit          (at 0x1000, CPL 0)
 *  0x1200: mov esi,cs ; mov edi,ss ; mov ebx,esp ; sysenter   (CPL 3)
 *  0x1100: hlt                                        (CPL 0 again) */
static const uint8_t prog_sysexit[] = { 0xb9,0x00,0x70,0x00,0x00,0xba,0x00,0x12,0x00,0x00,0x0f,0x35 };
static const uint8_t prog_user[] = { 0x8c,0xce,0x8c,0xd7,0x89,0xe3,0x0f,0x34 };

static void test_sysenter_sysexit(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_sysexit, sizeof(prog_sysexit));
    put_bytes(g, 0x1200, prog_user, sizeof(prog_user));
    g->ram[0x1100] = 0xf4;
    struct cpu_state s;
    cpu_state_power_on(&s);
    flat_protected(&s, 0);
    s.eip = 0x1000;
    s.gpr[REG_ESP] = 0x8000;
    s.eflags |= EFL_IF;
    s.msr.sysenter_cs = 0x20;
    s.msr.sysenter_esp = 0x9000;
    s.msr.sysenter_eip = 0x1100;
    soft_engine_ops.set_state(g->e, &s);
    s = guest_run_to_hlt(g);
    assert_int_equal(s.gpr[REG_ESI], 0x33);          /* SYSEXIT: CS = SYSENTER_CS + 16, RPL 3 */
    assert_int_equal(s.gpr[REG_EDI], 0x3b);          /* SS = SYSENTER_CS + 24, RPL 3 */
    assert_int_equal(s.gpr[REG_EBX], 0x7000);        /* ESP from ECX */
    assert_int_equal(s.seg[SEG_CS].selector, 0x20);  /* SYSENTER: flat ring 0 */
    assert_int_equal(s.seg[SEG_SS].selector, 0x28);
    assert_int_equal(s.seg[SEG_CS].attr & SEGA_DPL_MASK, 0);
    assert_int_equal(s.seg[SEG_CS].limit, 0xffffffffu);
    assert_int_equal(s.gpr[REG_ESP], 0x9000);
    assert_int_equal(s.eip, 0x1101);
    assert_int_equal(s.eflags & EFL_IF, 0);          /* cleared on entry */
    guest_free(g);
}

/* SYSENTER in real mode: #GP(0) through the IVT (handler: hlt at 0x1500). */
static void test_sysenter_real_mode_gp(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    g->ram[0x1000] = 0x0f;
    g->ram[0x1001] = 0x34;
    g->ram[0x1500] = 0xf4;
    put32(g, EXC_GP * 4, 0x1500);
    guest_real_mode_at(g, 0x1000, 0);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(s.eip, 0x1501);
    assert_int_equal(get16(g, s.gpr[REG_ESP] & 0xffff), 0x1000);   /* IP of SYSENTER itself */
    guest_free(g);
}

/*  mov ebp,0x7000 ; enter 8,3 ; hlt   and the same with a 16-bit operand size */
static const uint8_t prog_enter32[] = { 0xbd,0x00,0x70,0x00,0x00,0xc8,0x08,0x00,0x03,0xf4 };
static const uint8_t prog_enter16[] = { 0xbd,0x00,0x70,0x00,0x00,0x66,0xc8,0x08,0x00,0x03,0xf4 };

static void test_enter_nested(void **st)
{
    (void)st;
    struct guest *g = guest_new();
    put_bytes(g, 0x1000, prog_enter32, sizeof(prog_enter32));
    put32(g, 0x6ffc, 0x111);
    put32(g, 0x6ff8, 0x222);
    guest_flat32_at(g, 0x1000);
    struct cpu_state s = guest_run_to_hlt(g);
    assert_int_equal(get32(g, 0x7ffc), 0x7000);      /* old EBP */
    assert_int_equal(get32(g, 0x7ff8), 0x111);       /* outer frame pointers copied */
    assert_int_equal(get32(g, 0x7ff4), 0x222);
    assert_int_equal(get32(g, 0x7ff0), 0x7ffc);      /* this frame */
    assert_int_equal(s.gpr[REG_EBP], 0x7ffc);
    assert_int_equal(s.gpr[REG_ESP], 0x7fe8);
    guest_free(g);

    g = guest_new();
    put_bytes(g, 0x1000, prog_enter16, sizeof(prog_enter16));
    put32(g, 0x6ffc, 0x01110000);
    put32(g, 0x6ff8, 0x02220000);
    guest_flat32_at(g, 0x1000);
    s = guest_run_to_hlt(g);
    assert_int_equal(get16(g, 0x7ffe), 0x7000);
    assert_int_equal(get16(g, 0x7ffc), 0x0111);      /* [bp-2] */
    assert_int_equal(get16(g, 0x7ffa), 0x0000);      /* [bp-4] */
    assert_int_equal(get16(g, 0x7ff8), 0x7ffe);
    assert_int_equal(s.gpr[REG_EBP], 0x7ffe);
    assert_int_equal(s.gpr[REG_ESP], 0x7ff0);
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_alu),
        cmocka_unit_test(test_string_ops),
        cmocka_unit_test(test_stack_and_control),
        cmocka_unit_test(test_real_mode_addressing_and_de),
        cmocka_unit_test(test_unknown_opcode_warns_once),
        cmocka_unit_test(test_sysenter_sysexit),
        cmocka_unit_test(test_sysenter_real_mode_gp),
        cmocka_unit_test(test_enter_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

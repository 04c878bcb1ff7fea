/* test_translate.c - the translator (translate.c) against the interpreter.
 * Each program runs once interpreted (jit_threshold 0) and once with every
 * block translated on its first run (threshold 1); most loop ~100 times so
 * that translations get linked to each other.  Registers, EFLAGS, CR2,
 * RAM (page tables included), the instruction count and the MMIO exits
 * (with the state at each) must come out the same.  The cases aim at what
 * the translator does on its own: guest flags kept in host EFLAGS or R12
 * across its TLB checks, byte registers AH-DH that cannot be encoded next
 * to a REX prefix, ESP living in R14, access groups (one TLB check for
 * several [base+d] accesses) over a page boundary, a page that is not
 * present or read-only, the end of RAM, or a base register that changes;
 * MMIO and ROM from translated code; self-modifying code and remapped
 * pages under linked jumps; exact deadlines, interrupt windows and kicks
 * inside translated loops; a cache small enough to flush; 16-bit stacks
 * and operands; segment bases and an expand-down segment; ring 3.
 *
 * Guest programs: flat 32-bit ring 0 unless said otherwise, code at
 * 0x1000, data at 0x4000, stack below 0x8000; the assembly is given above
 * each. */
#include <pthread.h>
#include <time.h>

#include "jit_test_util.h"

#define CODE 0x1000u

/* Both guests with program `code` at CODE, ready to run; the translator
 * translates a block after `threshold` runs. */
static struct jt_pair *run_program_after(const uint8_t *code, size_t n, unsigned threshold)
{
    struct jt_pair *p = jt_pair_new(threshold, 0);
    jt_put(p, CODE, code, n);
    jt_flat32_at(p, CODE);
    /* distinct starting values, so that a register mixed up shows */
    jt_set_reg(p, REG_EDX, 0x0badf00d);
    jt_set_reg(p, REG_EBP, 0x13572468);
    jt_set_reg(p, REG_EDI, 0x24681357);
    return p;
}

static struct jt_pair *run_program(const uint8_t *code, size_t n)
{
    return run_program_after(code, n, 1);
}

#define RUN_PROGRAM(prog) do {                                                 \
        struct jt_pair *p_ = run_program(prog, sizeof(prog));                  \
        jt_run_both(p_, EXIT_HLT);                                             \
        jt_expect_ran_translated(p_);                                          \
        jt_pair_free(p_);                                                      \
    } while (0)

/*      mov ecx,100 / mov esi,0x4000 / xor eax,eax / mov ebx,0x12345678
 * L:   add eax,ebx / mov [esi+ecx*4],eax / mov edx,[esi+4] / adc edx,eax
 *      mov [esi+0x400+ecx*4],edx / sbb ebx,0x1111 / pushfd / pop edi
 *      mov [esi+0x800+ecx*4],edi / rcl eax,1 / mov [esi+0xc00],eax
 *      seto dl / mov [esi+0xc04],dl / adc eax,[esi+0xc00] / jc 1f
 *      xor eax,0x5a5a
 * 1:   sub eax,[esi+ecx*4] / mov [esi+ecx*2+0x1000],ax / sbb [esi+0x1400],eax
 *      rol eax,1 / mov [esi+0xc08],ecx / setc bl / jo 2f / add ebx,ecx
 * 2:   neg edx / mov [esi+0xc0c],edx / adc dh,[esi+0xc0c] / setbe dl
 *      dec ecx / jnz L / hlt
 * Flags made by one instruction are read (ADC/SBB, SETcc, Jcc, PUSHFD)
 * after loads and stores in between; one-bit rotates only, whose OF is
 * defined. */
static const uint8_t prog_alu[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x40, 0x00, 0x00, 0x31, 0xc0,
    0xbb, 0x78, 0x56, 0x34, 0x12, 0x01, 0xd8, 0x89, 0x04, 0x8e, 0x8b, 0x56,
    0x04, 0x11, 0xc2, 0x89, 0x94, 0x8e, 0x00, 0x04, 0x00, 0x00, 0x81, 0xdb,
    0x11, 0x11, 0x00, 0x00, 0x9c, 0x5f, 0x89, 0xbc, 0x8e, 0x00, 0x08, 0x00,
    0x00, 0xd1, 0xd0, 0x89, 0x86, 0x00, 0x0c, 0x00, 0x00, 0x0f, 0x90, 0xc2,
    0x88, 0x96, 0x04, 0x0c, 0x00, 0x00, 0x13, 0x86, 0x00, 0x0c, 0x00, 0x00,
    0x72, 0x05, 0x35, 0x5a, 0x5a, 0x00, 0x00, 0x2b, 0x04, 0x8e, 0x66, 0x89,
    0x84, 0x4e, 0x00, 0x10, 0x00, 0x00, 0x19, 0x86, 0x00, 0x14, 0x00, 0x00,
    0xd1, 0xc0, 0x89, 0x8e, 0x08, 0x0c, 0x00, 0x00, 0x0f, 0x92, 0xc3, 0x70,
    0x02, 0x01, 0xcb, 0xf7, 0xda, 0x89, 0x96, 0x0c, 0x0c, 0x00, 0x00, 0x12,
    0xb6, 0x0c, 0x0c, 0x00, 0x00, 0x0f, 0x96, 0xc2, 0x49, 0x75, 0x8e, 0xf4
};

static void test_flags_live_across_memory_accesses(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_alu);
}

/*      mov ecx,100 / xor ebx,ebx
 * L:   mov eax,[0x4000] / add eax,0x7fffffff / inc dword [0x4004] / dec edx
 *      mov [0x4008],edx / jc 1f / inc ebx / jmp 2f
 * 1:   add ebx,0x100
 * 2:   mov [0x4000],eax / sub eax,0x40000000 / dec dword [0x4004] / inc edi
 *      jnc 3f / add ebx,0x10000
 * 3:   dec ecx / jnz L / hlt
 * INC/DEC (register and memory) keep CF from the ADD/SUB before them. */
static const uint8_t prog_incdec[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xa1, 0x00, 0x40, 0x00, 0x00,
    0x05, 0xff, 0xff, 0xff, 0x7f, 0xff, 0x05, 0x04, 0x40, 0x00, 0x00, 0x4a,
    0x89, 0x15, 0x08, 0x40, 0x00, 0x00, 0x72, 0x03, 0x43, 0xeb, 0x06, 0x81,
    0xc3, 0x00, 0x01, 0x00, 0x00, 0xa3, 0x00, 0x40, 0x00, 0x00, 0x2d, 0x00,
    0x00, 0x00, 0x40, 0xff, 0x0d, 0x04, 0x40, 0x00, 0x00, 0x47, 0x73, 0x06,
    0x81, 0xc3, 0x00, 0x00, 0x01, 0x00, 0x49, 0x75, 0xc2, 0xf4
};

static void test_inc_dec_keep_carry(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_incdec);
}

/*      mov ecx,100 / mov esi,0x4000
 * L:   cmp ecx,50 / mov [esi],ecx / setl al / mov [esi+4],al / cmovg edx,ecx
 *      cmp [esi],ecx / cmove ebx,[esi] / test ecx,3 / mov [esi+8],ebx
 *      setnz [esi+ecx+0x10] / cmovz ebp,[esi+8] / movzx eax,al / add edi,eax
 *      dec ecx / jnz L / hlt */
static const uint8_t prog_setcc[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x40, 0x00, 0x00, 0x83, 0xf9,
    0x32, 0x89, 0x0e, 0x0f, 0x9c, 0xc0, 0x88, 0x46, 0x04, 0x0f, 0x4f, 0xd1,
    0x39, 0x0e, 0x0f, 0x44, 0x1e, 0xf7, 0xc1, 0x03, 0x00, 0x00, 0x00, 0x89,
    0x5e, 0x08, 0x0f, 0x95, 0x44, 0x0e, 0x10, 0x0f, 0x44, 0x6e, 0x08, 0x0f,
    0xb6, 0xc0, 0x01, 0xc7, 0x49, 0x75, 0xd3, 0xf4
};

static void test_setcc_cmovcc_after_stores(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_setcc);
}

/*      mov ecx,100 / mov esi,0x4000 / mov eax,0x11223344 / mov ebx,0x55667788
 *      mov edx,0x99aabbcc
 * L:   add ah,bl / xor bh,dh / mov [esi+ecx],ah / mov dh,[esi+1]
 *      add [esi+2],bh / sub dh,ah / mov al,dh / movzx edi,ah / movsx ebp,bh
 *      xchg ah,dl / mov [esp-4],ah / add bh,[esp-4] / mov dh,[esp-3]
 *      add [esp-2],dh / cmp ah,[esi+ecx] / setz ch / and ch,0 / xor bl,ah
 *      mov [esi+0x200+ecx*4],eax / mov [esi+0x600+ecx*4],ebx
 *      mov [esi+0xa00+ecx*4],edx / dec ecx / jnz L / hlt
 * AH-DH with [esp+d] need R14 (a REX prefix) next to a high byte
 * register: those must fall back to the interpreter. */
static const uint8_t prog_bytes[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x40, 0x00, 0x00, 0xb8, 0x44,
    0x33, 0x22, 0x11, 0xbb, 0x88, 0x77, 0x66, 0x55, 0xba, 0xcc, 0xbb, 0xaa,
    0x99, 0x00, 0xdc, 0x30, 0xf7, 0x88, 0x24, 0x0e, 0x8a, 0x76, 0x01, 0x00,
    0x7e, 0x02, 0x28, 0xe6, 0x88, 0xf0, 0x0f, 0xb6, 0xfc, 0x0f, 0xbe, 0xef,
    0x86, 0xd4, 0x88, 0x64, 0x24, 0xfc, 0x02, 0x7c, 0x24, 0xfc, 0x8a, 0x74,
    0x24, 0xfd, 0x00, 0x74, 0x24, 0xfe, 0x3a, 0x24, 0x0e, 0x0f, 0x94, 0xc5,
    0x80, 0xe5, 0x00, 0x30, 0xe3, 0x89, 0x84, 0x8e, 0x00, 0x02, 0x00, 0x00,
    0x89, 0x9c, 0x8e, 0x00, 0x06, 0x00, 0x00, 0x89, 0x94, 0x8e, 0x00, 0x0a,
    0x00, 0x00, 0x49, 0x75, 0xb4, 0xf4
};

static void test_high_byte_registers(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_bytes);
}

/*      mov ecx,100
 * L:   push ebp / mov ebp,esp / sub esp,16 / mov [esp],ecx / mov [esp+4],esp
 *      lea eax,[esp+4] / mov edx,[eax] / add esp,8 / push esp / pop ebx
 *      push esp / pop esp / mov [ebp-4],ebx / call f / call 1f
 * 1:   pop eax / add esi,eax / push ecx / call g / mov esp,ebp
 *      mov [0x4000+ecx*4],esp / lea esp,[esp-8] / add esp,8 / leave
 *      dec ecx / jnz L / hlt
 * f:   mov edi,[esp] / add edi,ecx / ret
 * g:   add edx,[esp+4] / ret 4 */
static const uint8_t prog_esp[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x55, 0x89, 0xe5, 0x83, 0xec, 0x10, 0x89,
    0x0c, 0x24, 0x89, 0x64, 0x24, 0x04, 0x8d, 0x44, 0x24, 0x04, 0x8b, 0x10,
    0x83, 0xc4, 0x08, 0x54, 0x5b, 0x54, 0x5c, 0x89, 0x5d, 0xfc, 0xe8, 0x23,
    0x00, 0x00, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x58, 0x01, 0xc6, 0x51,
    0xe8, 0x1b, 0x00, 0x00, 0x00, 0x89, 0xec, 0x89, 0x24, 0x8d, 0x00, 0x40,
    0x00, 0x00, 0x8d, 0x64, 0x24, 0xf8, 0x83, 0xc4, 0x08, 0xc9, 0x49, 0x75,
    0xbc, 0xf4, 0x8b, 0x3c, 0x24, 0x01, 0xcf, 0xc3, 0x03, 0x54, 0x24, 0x04,
    0xc2, 0x04, 0x00
};

static void test_esp_operands_push_pop_call_ret_leave(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_esp);
}

/*      mov ecx,100
 * L:   sub esp,32 / mov [esp],eax / mov [esp+4],ebx / mov [esp+8],ecx
 *      mov edx,[esp+4] / add [esp+12],edx / mov eax,[esp+8] / mov [esp+28],ecx
 *      add eax,[esp+12] / add esp,32 / add eax,edx / dec ecx / jnz L / hlt
 * Eight [esp+d] accesses in one block: one access group. */
static const uint8_t prog_group[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x83, 0xec, 0x20, 0x89, 0x04, 0x24, 0x89,
    0x5c, 0x24, 0x04, 0x89, 0x4c, 0x24, 0x08, 0x8b, 0x54, 0x24, 0x04, 0x01,
    0x54, 0x24, 0x0c, 0x8b, 0x44, 0x24, 0x08, 0x89, 0x4c, 0x24, 0x1c, 0x03,
    0x44, 0x24, 0x0c, 0x83, 0xc4, 0x20, 0x01, 0xd0, 0x49, 0x75, 0xd6, 0xf4
};

static void run_group_with_esp(uint32_t esp)
{
    struct jt_pair *p = run_program(prog_group, sizeof(prog_group));
    jt_set_reg(p, REG_ESP, esp);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    jt_pair_free(p);
}

static void test_access_group_on_one_page(void **st)
{
    (void)st;
    run_group_with_esp(0x8000);     /* 0x7fe0-0x7fff */
}

static void test_access_group_across_a_page(void **st)
{
    (void)st;
    run_group_with_esp(0x8010);     /* 0x7ff0-0x800f: the group spans two pages */
    run_group_with_esp(0x8012);     /* and [esp+12] itself straddles 0x8000 */
    run_group_with_esp(0x8002);     /* [esp+28] straddles */
}

/*      mov eax,0x11111111 / mov ecx,0x22222222 / mov edx,0x33333333
 *      add eax,ecx / mov [ebx],eax / mov [ebx+4],ecx / mov esi,[ebx+8]
 *      mov [ebx+16],edx / mov [ebx+20],eax / inc edi / hlt
 * With the page at 0x6000 not present.  #PF handler at 0x1800: hlt. */
static const uint8_t prog_pf[] = {
    0xb8, 0x11, 0x11, 0x11, 0x11, 0xb9, 0x22, 0x22, 0x22, 0x22, 0xba, 0x33,
    0x33, 0x33, 0x33, 0x01, 0xc8, 0x89, 0x03, 0x89, 0x4b, 0x04, 0x8b, 0x73,
    0x08, 0x89, 0x53, 0x10, 0x89, 0x43, 0x14, 0x47, 0xf4
};

/* Run prog_pf with EBX = ebx; returns the faulting EIP the handler got. */
static uint32_t run_pf_with_ebx(uint32_t ebx)
{
    struct jt_pair *p = run_program(prog_pf, sizeof(prog_pf));
    static const uint8_t hlt = 0xf4;
    jt_put(p, 0x1800, &hlt, 1);
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        jt_with_tables(gs[k]);
        jt_put_gate(gs[k], JT_IDT, 14, 0x08, 0x1800);
        jt_with_paging(gs[k], 0x6000);
    }
    jt_set_reg(p, REG_EBX, ebx);
    jt_run_both(p, EXIT_HLT);
    /* the translation reached the access and handed it to the interpreter,
     * which faulted */
    assert_true(guest_stats(p->jit.g).jit_slow_insns > 0);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.eip, 0x1801);
    assert_true(s.cr2 >= 0x6000 && s.cr2 < 0x6004);
    assert_int_equal(get32(p->jit.g, s.gpr[REG_ESP]), 2);     /* error code: write, not present */
    uint32_t fault_eip = get32(p->jit.g, s.gpr[REG_ESP] + 4);
    jt_pair_free(p);
    return fault_eip;
}

static void test_access_group_on_a_page_not_present(void **st)
{
    (void)st;
    /* [ebx]..[ebx+8] on the present page, [ebx+16] faults */
    assert_int_equal(run_pf_with_ebx(0x5ff0), CODE + 0x19);
    /* the first access of the group faults */
    assert_int_equal(run_pf_with_ebx(0x6000), CODE + 0x11);
    /* [ebx+4] straddles into the absent page: faults before writing
     * anything of it */
    assert_int_equal(run_pf_with_ebx(0x5ffa), CODE + 0x13);
}

/*      mov esi,0x2000000 / mov ecx,10
 * L:   mov eax,[esi+8] / add [esi+0x10],eax / mov [esi+2],cx
 *      inc byte [esi+3] / mov [0x4000+ecx*4],eax / add ebx,eax
 *      movzx edx,word [esi+0x20] / add ebx,edx / dec ecx / jnz L / hlt
 * 0x2000000 is beyond the 16 MiB of RAM: every access is an MMIO exit,
 * reads answered by the test (jt_run). */
static const uint8_t prog_mmio[] = {
    0xbe, 0x00, 0x00, 0x00, 0x02, 0xb9, 0x0a, 0x00, 0x00, 0x00, 0x8b, 0x46,
    0x08, 0x01, 0x46, 0x10, 0x66, 0x89, 0x4e, 0x02, 0xfe, 0x46, 0x03, 0x89,
    0x04, 0x8d, 0x00, 0x40, 0x00, 0x00, 0x01, 0xc3, 0x0f, 0xb7, 0x56, 0x20,
    0x01, 0xd3, 0x49, 0x75, 0xe1, 0xf4
};

static void test_mmio_from_translated_code(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_mmio, sizeof(prog_mmio));
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    /* per round: read; read + write (ADD); write; read + write (INC); read */
    assert_int_equal(p->jit.n_mmio, 10 * 7);
    const struct jt_mmio *m = p->jit.mmio;
    assert_int_equal(m[0].gpa, 0x2000008);
    assert_int_equal(m[0].size, 4);
    assert_false(m[0].write);
    assert_int_equal(m[1].gpa, 0x2000010);
    assert_false(m[1].write);
    assert_int_equal(m[2].gpa, 0x2000010);
    assert_true(m[2].write);
    assert_int_equal(m[2].data, (uint32_t)(m[0].data + m[1].data));
    assert_int_equal(m[3].gpa, 0x2000002);
    assert_int_equal(m[3].size, 2);
    assert_int_equal(m[3].data, 10);
    assert_int_equal(m[5].gpa, 0x2000003);
    assert_int_equal(m[5].size, 1);
    assert_int_equal(m[5].data, (uint8_t)(m[4].data + 1));
    assert_int_equal(m[6].gpa, 0x2000020);
    assert_int_equal(m[6].size, 2);
    jt_pair_free(p);
}

/*      mov ecx,100
 * L:   patch: mov eax,0 / add ebx,eax / inc dword [patch+1] / dec ecx / jnz L
 *      hlt
 * The loop rewrites its own immediate: EBX = 0 + 1 + ... + 99. */
static const uint8_t prog_smc[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc3,
    0xff, 0x05, 0x06, 0x10, 0x00, 0x00, 0x49, 0x75, 0xf0, 0xf4
};

static void test_self_modifying_translated_loop(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_smc, sizeof(prog_smc));
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    assert_int_equal(guest_state(p->jit.g).gpr[REG_EBX], 99 * 100 / 2);
    jt_pair_free(p);
}

/* 0x1000:  mov ecx,100
 * L:       add ebx,1 / mov [t1+1],ecx / jmp t1
 * 0x1200 t1: mov eax,0 / add edx,eax / mov [t2+1],edx / jmp t2
 * 0x2100 t2: mov eax,0 / add edi,eax / dec ecx / jnz L / hlt
 * Each block rewrites the block its direct jump (linked after the first
 * round) goes to: on the same page, and on the next page. */
static const uint8_t prog_smc_next_a[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x83, 0xc3, 0x01, 0x89, 0x0d, 0x01, 0x12,
    0x00, 0x00, 0xe9, 0xed, 0x01, 0x00, 0x00
};
static const uint8_t prog_smc_next_t1[] = {
    0xb8, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc2, 0x89, 0x15, 0x01, 0x21, 0x00,
    0x00, 0xe9, 0xee, 0x0e, 0x00, 0x00
};
static const uint8_t prog_smc_next_t2[] = {
    0xb8, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc7, 0x49, 0x0f, 0x85, 0xf7, 0xee,
    0xff, 0xff, 0xf4
};

static void test_store_into_a_linked_next_block(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_smc_next_a, sizeof(prog_smc_next_a));
    jt_put(p, 0x1200, prog_smc_next_t1, sizeof(prog_smc_next_t1));
    jt_put(p, 0x2100, prog_smc_next_t2, sizeof(prog_smc_next_t2));
    jt_set_reg(p, REG_EDX, 0);
    jt_set_reg(p, REG_EDI, 0);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.gpr[REG_EDX], 100 * 101 / 2);      /* t1 saw ECX each round */
    assert_int_equal(s.gpr[REG_EBX], 100);
    jt_pair_free(p);
}

/*      mov ecx,100
 * L:   mov ebp,esp / xchg eax,esp / xchg eax,esp / inc esp / dec esp
 *      bswap esp / bswap esp / mov ebx,esp / add ebx,ecx / mov esp,ebx
 *      sub esp,ecx / lea esp,[esp+ecx*4] / neg ecx / lea esp,[esp+ecx*4]
 *      neg ecx / mov dword [esp-8],0x11223344 / add byte [esp-8],0x10
 *      shl dword [esp-8],1 / mov edx,[esp-8] / push dword [esp+4]
 *      pop dword [esp-4] / add edi,[esp-4] / mov eax,esp / mov ah,cl
 *      movzx esp,ah / mov [0x4000+ecx*4],esp / mov esp,ebp
 *      mov [esp+ecx*2-0x400],ah / mov bh,[esp+ecx*2-0x400] / cmp esp,ebp
 *      jne 1f / dec ecx / jnz L
 * 1:   hlt
 * ESP (R14 in translated code) in every register form the translator
 * handles itself, and PUSH/POP of [esp+d] (POP computes its address
 * after the increment). */
static const uint8_t prog_esp_forms[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x89, 0xe5, 0x94, 0x94, 0x44, 0x4c, 0x0f,
    0xcc, 0x0f, 0xcc, 0x89, 0xe3, 0x01, 0xcb, 0x89, 0xdc, 0x29, 0xcc, 0x8d,
    0x24, 0x8c, 0xf7, 0xd9, 0x8d, 0x24, 0x8c, 0xf7, 0xd9, 0xc7, 0x44, 0x24,
    0xf8, 0x44, 0x33, 0x22, 0x11, 0x80, 0x44, 0x24, 0xf8, 0x10, 0xd1, 0x64,
    0x24, 0xf8, 0x8b, 0x54, 0x24, 0xf8, 0xff, 0x74, 0x24, 0x04, 0x8f, 0x44,
    0x24, 0xfc, 0x03, 0x7c, 0x24, 0xfc, 0x89, 0xe0, 0x88, 0xcc, 0x0f, 0xb6,
    0xe4, 0x89, 0x24, 0x8d, 0x00, 0x40, 0x00, 0x00, 0x89, 0xec, 0x88, 0xa4,
    0x4c, 0x00, 0xfc, 0xff, 0xff, 0x8a, 0xbc, 0x4c, 0x00, 0xfc, 0xff, 0xff,
    0x39, 0xec, 0x75, 0x03, 0x49, 0x75, 0x9e, 0xf4
};

static void test_esp_in_register_forms(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_esp_forms);
}

/*      mov ecx,100 / mov esi,0x4000
 * L:   mov ebx,ecx / and ebx,1 / mov eax,0x80000000 / add eax,eax
 *      push ecx / mov cl,bl / shl edx,cl / mov [esi+0x20],edx
 *      rcr dword [esi+8],cl / setc al / seto ah / setz bh / mov [esi+0x10],eax
 *      mov [esi+0x14],bh / mov [esi+0x18],ecx / rol dword [esi+0x1c],cl
 *      pop ecx / adc edi,0 / dec ecx / jnz L / hlt
 * Shifts and rotates by CL, which is 0 (every flag kept from the ADD)
 * every other round and 1 in the others. */
static const uint8_t prog_shift_cl[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x40, 0x00, 0x00, 0x89, 0xcb,
    0x83, 0xe3, 0x01, 0xb8, 0x00, 0x00, 0x00, 0x80, 0x01, 0xc0, 0x51, 0x88,
    0xd9, 0xd3, 0xe2, 0x89, 0x56, 0x20, 0xd3, 0x5e, 0x08, 0x0f, 0x92, 0xc0,
    0x0f, 0x90, 0xc4, 0x0f, 0x94, 0xc7, 0x89, 0x46, 0x10, 0x88, 0x7e, 0x14,
    0x89, 0x4e, 0x18, 0xd3, 0x46, 0x1c, 0x59, 0x83, 0xd7, 0x00, 0x49, 0x75,
    0xcd, 0xf4
};

static void test_shift_by_cl_zero_keeps_flags(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_shift_cl);
}

/*      mov ecx,100 / mov esi,0x4000
 * L:   add ax,[esi+2] / adc word [esi+4],0x1234 / mov word [esi+6],0x8001
 *      sub word [esi+6],cx / imul dx,ax,5 / imul bx,[esi+6],-3
 *      shld [esi+8],ax,3 / shrd bx,ax,5 / xadd [esi+10],ax
 *      cmpxchg [esi+12],bx / movzx edi,word [esi+6] / movsx ebp,word [esi+4]
 *      inc word [esi+14] / xchg [esi+16],dx / mov [esi+0x100+ecx*2],ax
 *      add ax,0x7ff / sub bx,3 / dec ecx / jnz L / hlt
 * 16-bit operands: the 66 prefix and 16-bit immediates re-encoded. */
static const uint8_t prog_op16[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x40, 0x00, 0x00, 0x66, 0x03,
    0x46, 0x02, 0x66, 0x81, 0x56, 0x04, 0x34, 0x12, 0x66, 0xc7, 0x46, 0x06,
    0x01, 0x80, 0x66, 0x29, 0x4e, 0x06, 0x66, 0x6b, 0xd0, 0x05, 0x66, 0x6b,
    0x5e, 0x06, 0xfd, 0x66, 0x0f, 0xa4, 0x46, 0x08, 0x03, 0x66, 0x0f, 0xac,
    0xc3, 0x05, 0x66, 0x0f, 0xc1, 0x46, 0x0a, 0x66, 0x0f, 0xb1, 0x5e, 0x0c,
    0x0f, 0xb7, 0x7e, 0x06, 0x0f, 0xbf, 0x6e, 0x04, 0x66, 0xff, 0x46, 0x0e,
    0x66, 0x87, 0x56, 0x10, 0x66, 0x89, 0x84, 0x4e, 0x00, 0x01, 0x00, 0x00,
    0x66, 0x05, 0xff, 0x07, 0x66, 0x83, 0xeb, 0x03, 0x49, 0x75, 0xab, 0xf4
};

static void test_16bit_operands(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_op16);
}

/*      mov ecx,100
 * L:   mov eax,ecx / and eax,1 / mov edx,[tbl+eax*4] / call edx
 *      jmp [tbl2+eax*4]
 * back: mov esi,[tbl3+eax*4] / jmp esi
 * back2: dec ecx / jnz L / hlt
 * f0: add ebx,1 / ret      f1: add ebx,0x100 / ret
 * j0: add edi,3 / jmp back2   j1: add edi,0x30 / jmp back2
 * tbl: f0 f1   tbl2: back back   tbl3: j0 j1
 * Indirect CALL/JMP and RET alternate between two targets: the jump
 * cache must take each to its own translation. */
static const uint8_t prog_indirect[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x89, 0xc8, 0x83, 0xe0, 0x01, 0x8b, 0x14,
    0x85, 0x3c, 0x10, 0x00, 0x00, 0xff, 0xd2, 0xff, 0x24, 0x85, 0x44, 0x10,
    0x00, 0x00, 0x8b, 0x34, 0x85, 0x4c, 0x10, 0x00, 0x00, 0xff, 0xe6, 0x49,
    0x75, 0xdf, 0xf4, 0x83, 0xc3, 0x01, 0xc3, 0x81, 0xc3, 0x00, 0x01, 0x00,
    0x00, 0xc3, 0x83, 0xc7, 0x03, 0xeb, 0xec, 0x83, 0xc7, 0x30, 0xeb, 0xe7,
    0x27, 0x10, 0x00, 0x00, 0x2b, 0x10, 0x00, 0x00, 0x1a, 0x10, 0x00, 0x00,
    0x1a, 0x10, 0x00, 0x00, 0x32, 0x10, 0x00, 0x00, 0x37, 0x10, 0x00, 0x00
};

static void test_indirect_branches(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_indirect, sizeof(prog_indirect));
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.gpr[REG_EBX], 50 * 1 + 50 * 0x100);
    jt_pair_free(p);
}

/*      mov ecx,100
 * L:   mov eax,fs:[ecx*4] / add fs:[0x400],eax / mov gs:[ecx*4+0x800],ecx
 *      mov ebx,fs:[0x10] / mov fs:[0x14],eax (moffs) / add eax,[esp-4]
 *      mov [esp-8],eax / lea edx,[ecx+8] / dec ecx / jnz L / hlt
 * FS based at 0x4000 and GS at 0x5000: overridden segments are not flat. */
static const uint8_t prog_seg[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x64, 0x8b, 0x04, 0x8d, 0x00, 0x00, 0x00,
    0x00, 0x64, 0x01, 0x05, 0x00, 0x04, 0x00, 0x00, 0x65, 0x89, 0x0c, 0x8d,
    0x00, 0x08, 0x00, 0x00, 0x64, 0x8b, 0x1d, 0x10, 0x00, 0x00, 0x00, 0x64,
    0xa3, 0x14, 0x00, 0x00, 0x00, 0x03, 0x44, 0x24, 0xfc, 0x89, 0x44, 0x24,
    0xf8, 0x64, 0x8d, 0x51, 0x08, 0x49, 0x75, 0xcd, 0xf4
};

static void test_segment_bases(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_seg, sizeof(prog_seg));
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        struct cpu_state s = guest_state(gs[k]);
        s.seg[SEG_FS].base = 0x4000;
        s.seg[SEG_GS].base = 0x5000;
        soft_engine_ops.set_state(gs[k]->e, &s);
        for (uint32_t a = 0; a < 0x200; a += 4)
            put32(gs[k], 0x4000 + a, a * 0x01010101u);
    }
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    assert_int_equal(get32(p->jit.g, 0x5000 + 4 + 0x800), 1);
    jt_pair_free(p);
}

static void test_higher_thresholds(void **st)
{
    (void)st;
    /* blocks interpreted a few times first, then translated mid-loop */
    static const unsigned thresholds[] = { 2, 3, 50 };
    for (unsigned k = 0; k < 3; k++) {
        struct jt_pair *p = run_program_after(prog_alu, sizeof(prog_alu), thresholds[k]);
        jt_run_both(p, EXIT_HLT);
        jt_expect_ran_translated(p);
        jt_pair_free(p);
    }
}

/*      mov ecx,100 / mov esi,0x4000
 * L:   mov eax,ecx / stc / mov [esi],eax / cmc / mov edx,[esi] / adc edx,5
 *      lahf / mov [esi+ecx+0x100],ah / xor ah,0x41 / sahf / mov [esi+4],edx
 *      jz 1f / adc ebx,edx
 * 1:   jc 2f / sbb edi,7
 * 2:   clc / mov [esi+8],ebx / setnc dl / mov [esi+12],dl / dec ecx / jnz L
 *      hlt
 * STC/CMC/CLC, LAHF/SAHF around stores. */
static const uint8_t prog_flag_insns[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x40, 0x00, 0x00, 0x89, 0xc8,
    0xf9, 0x89, 0x06, 0xf5, 0x8b, 0x16, 0x83, 0xd2, 0x05, 0x9f, 0x88, 0xa4,
    0x0e, 0x00, 0x01, 0x00, 0x00, 0x80, 0xf4, 0x41, 0x9e, 0x89, 0x56, 0x04,
    0x74, 0x02, 0x11, 0xd3, 0x72, 0x03, 0x83, 0xdf, 0x07, 0xf8, 0x89, 0x5e,
    0x08, 0x0f, 0x93, 0xc2, 0x88, 0x56, 0x0c, 0x49, 0x75, 0xd0, 0xf4
};

static void test_flag_instructions(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_flag_insns);
}

/* Both guests: paging as jt_with_paging. */
static void jt_pair_paging(struct jt_pair *p, uint32_t absent)
{
    jt_with_paging(p->ref.g, absent);
    jt_with_paging(p->jit.g, absent);
}

/*      mov ecx,100
 * L:   mov eax,[0x6000+ecx*4] / mov ebx,[0x7000] / add eax,ebx / add eax,ecx
 *      cmp ecx,50 / jae 1f / mov [0x6004+ecx*4],eax
 * 1:   mov edx,[0x9000+ecx*8] / dec ecx / jnz L / hlt
 * Under paging: the page at 0x6000 is read for 50 rounds (its TLB entry
 * made by reads) before the first write, which must still set the
 * page table entry's dirty bit.  The page tables are compared with the
 * rest of RAM. */
static const uint8_t prog_dirty[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x8b, 0x04, 0x8d, 0x00, 0x60, 0x00, 0x00,
    0x8b, 0x1d, 0x00, 0x70, 0x00, 0x00, 0x01, 0xd8, 0x01, 0xc8, 0x83, 0xf9,
    0x32, 0x73, 0x07, 0x89, 0x04, 0x8d, 0x04, 0x60, 0x00, 0x00, 0x8b, 0x14,
    0xcd, 0x00, 0x90, 0x00, 0x00, 0x49, 0x75, 0xd9, 0xf4
};

static void test_accessed_and_dirty_bits(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_dirty, sizeof(prog_dirty));
    jt_pair_paging(p, 0);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    assert_int_equal(get32(p->jit.g, 0x11000 + 4 * 6) & 0x60, 0x60);    /* A and D */
    assert_int_equal(get32(p->jit.g, 0x11000 + 4 * 7) & 0x60, 0x20);    /* A only */
    jt_pair_free(p);
}

static void test_groups_under_paging(void **st)
{
    (void)st;
    static const uint32_t esps[] = { 0x8000, 0x8010, 0x8012 };
    for (unsigned k = 0; k < 3; k++) {
        struct jt_pair *p = run_program(prog_group, sizeof(prog_group));
        jt_pair_paging(p, 0);
        jt_set_reg(p, REG_ESP, esps[k]);
        jt_run_both(p, EXIT_HLT);
        jt_expect_ran_translated(p);
        jt_pair_free(p);
    }
}

/* mov eax,[ebx] / add eax,0x10 / mov edx,[ebx+8] / mov [ebx+4],eax / inc edi
 * hlt - with EBX 0x6000 on a read-only page and CR0.WP: the reads fill
 * the TLB entry, the write through it must #PF (error code 3).  #PF
 * handler at 0x1800: hlt. */
static const uint8_t prog_ro[] = {
    0x8b, 0x03, 0x83, 0xc0, 0x10, 0x8b, 0x53, 0x08, 0x89, 0x43, 0x04, 0x47, 0xf4
};

static void test_write_to_a_read_only_page(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_ro, sizeof(prog_ro));
    static const uint8_t hlt = 0xf4;
    jt_put(p, 0x1800, &hlt, 1);
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        jt_with_tables(gs[k]);
        jt_put_gate(gs[k], JT_IDT, 14, 0x08, 0x1800);
        jt_with_paging(gs[k], 0);
        put32(gs[k], 0x11000 + 4 * 6, 0x6000 | 1);       /* present, read-only */
        struct cpu_state s = guest_state(gs[k]);
        s.cr0 |= CR0_WP;
        soft_engine_ops.set_state(gs[k]->e, &s);
    }
    jt_set_reg(p, REG_EBX, 0x6000);
    jt_run_both(p, EXIT_HLT);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.eip, 0x1801);
    assert_int_equal(s.cr2, 0x6004);
    assert_int_equal(get32(p->jit.g, s.gpr[REG_ESP]), 3);          /* write, protection */
    assert_int_equal(get32(p->jit.g, s.gpr[REG_ESP] + 4), CODE + 8);
    jt_pair_free(p);
}

/*      mov ecx,3
 * L:   mov eax,[esi] / add [esi+8],eax / mov edx,[esi+0x1c] / mov [esi+0x20],ecx
 *      add ebx,[esi+0x24] / mov [esi+4],edx / dec ecx / jnz L / hlt
 * One group whose range runs off the end of RAM (16 MiB) into MMIO. */
static const uint8_t prog_mmio_group[] = {
    0xb9, 0x03, 0x00, 0x00, 0x00, 0x8b, 0x06, 0x01, 0x46, 0x08, 0x8b, 0x56,
    0x1c, 0x89, 0x4e, 0x20, 0x03, 0x5e, 0x24, 0x89, 0x56, 0x04, 0x49, 0x75,
    0xec, 0xf4
};

static void test_group_across_the_end_of_ram(void **st)
{
    (void)st;
    /* the last two accesses in MMIO; three; one straddling RAM and MMIO */
    static const uint32_t esis[] = { TEST_RAM_SIZE - 0x20, TEST_RAM_SIZE - 0x10, TEST_RAM_SIZE - 0x1e };
    for (unsigned k = 0; k < 3; k++) {
        struct jt_pair *p = run_program(prog_mmio_group, sizeof(prog_mmio_group));
        jt_set_reg(p, REG_ESI, esis[k]);
        jt_run_both(p, EXIT_HLT);
        assert_true(p->jit.n_mmio >= 3 * 2);
        jt_pair_free(p);
    }
}

/*      mov ecx,20
 * L:   mov eax,ecx / xor edx,edx / mov ebx,ecx / sub ebx,5 / div ebx
 *      add edi,eax / mov [0x4000+ecx*4],edx / dec ecx / jnz L / hlt
 * The 16th round divides by zero in a translated block: #DE handler at
 * 0x1800: mov edx,[esp] / hlt. */
static const uint8_t prog_div0[] = {
    0xb9, 0x14, 0x00, 0x00, 0x00, 0x89, 0xc8, 0x31, 0xd2, 0x89, 0xcb, 0x83,
    0xeb, 0x05, 0xf7, 0xf3, 0x01, 0xc7, 0x89, 0x14, 0x8d, 0x00, 0x40, 0x00,
    0x00, 0x49, 0x75, 0xe9, 0xf4
};

static void test_fault_in_a_translated_loop(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_div0, sizeof(prog_div0));
    static const uint8_t handler[] = { 0x8b, 0x14, 0x24, 0xf4 };
    jt_put(p, 0x1800, handler, sizeof(handler));
    jt_with_tables(p->ref.g);
    jt_with_tables(p->jit.g);
    jt_put_gate(p->ref.g, JT_IDT, 0, 0x08, 0x1800);
    jt_put_gate(p->jit.g, JT_IDT, 0, 0x08, 0x1800);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.gpr[REG_EDX], CODE + 0xe);       /* the DIV */
    assert_int_equal(s.gpr[REG_ECX], 5);
    jt_pair_free(p);
}

/* mov byte [0x1008],0x42 / mov eax,0x44332211 (its first immediate byte
 * is at 0x1008) / hlt: the store rewrites the next instruction of its own
 * translated block. */
static const uint8_t prog_smc_own[] = {
    0xc6, 0x05, 0x08, 0x10, 0x00, 0x00, 0x42,
    0xb8, 0x11, 0x22, 0x33, 0x44,
    0xf4
};

static void test_store_into_own_translated_block(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_smc_own, sizeof(prog_smc_own));
    jt_run_both(p, EXIT_HLT);
    assert_int_equal(guest_state(p->jit.g).gpr[REG_EAX], 0x44332242u);
    assert_true(guest_stats(p->jit.g).jit_blocks > 0);
    jt_pair_free(p);
}

/* ROM at 16 MiB (just past RAM), 64 KiB; the program runs from it:
 *      mov ecx,100
 * L:   mov eax,[0x1008000] / add eax,ecx / mov [0x1008000],eax
 *      mov [0x1008004+ecx*4],ecx / add [0x1008010],eax / mov ebx,[0x1008010]
 *      mov [0x4000+ecx*4],eax / add edi,ebx / mov byte [L],0x90 / dec ecx
 *      jnz L / hlt
 * Writes to ROM are dropped, also from translated code whose TLB entry
 * came from a read of the same page (and from code in that page). */
static const uint8_t prog_rom[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0xa1, 0x00, 0x80, 0x00, 0x01, 0x01, 0xc8,
    0xa3, 0x00, 0x80, 0x00, 0x01, 0x89, 0x0c, 0x8d, 0x04, 0x80, 0x00, 0x01,
    0x01, 0x05, 0x10, 0x80, 0x00, 0x01, 0x8b, 0x1d, 0x10, 0x80, 0x00, 0x01,
    0x89, 0x04, 0x8d, 0x00, 0x40, 0x00, 0x00, 0x01, 0xdf, 0xc6, 0x05, 0x05,
    0x00, 0x00, 0x01, 0x90, 0x49, 0x75, 0xce, 0xf4
};

#define ROM_GPA TEST_RAM_SIZE
#define ROM_SIZE 0x10000u

static void test_code_and_writes_in_rom(void **st)
{
    (void)st;
    static uint8_t rom[2][ROM_SIZE];
    struct jt_pair *p = jt_pair_new(1, 0);
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        memset(rom[k], 0, ROM_SIZE);
        memcpy(rom[k], prog_rom, sizeof(prog_rom));
        memcpy(rom[k] + 0x8000, "\x11\x22\x33\x44", 4);
        /* the engine keeps a pointer to the guest's memory map */
        gs[k]->mem.region[1] = (struct mem_region){ .gpa = ROM_GPA, .size = ROM_SIZE,
                                                    .host = rom[k], .readonly = true };
        gs[k]->mem.count = 2;
    }
    jt_flat32_at(p, ROM_GPA);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    for (int k = 0; k < 2; k++) {
        assert_memory_equal(rom[k], prog_rom, sizeof(prog_rom));
        assert_int_equal(rom[k][0x8000], 0x11);
        for (unsigned a = 0x8004; a < 0x8200; a++)
            assert_int_equal(rom[k][a], 0);
    }
    jt_pair_free(p);
}

/*      mov ecx,20
 * L:   mov [esp],eax / push ebx / push ecx / mov [esp+8],edx / pop edx / pop edx
 *      sub esp,8 / mov [esp],ecx / add esp,8
 *      mov [ebx],eax / add ebx,4 / mov [ebx],ecx / lea ebx,[ebx+4] / mov [ebx],edx
 *      sub ebx,8 / mov edi,0x6ff8 / mov edi,[edi] / mov [edi],eax
 *      push 0x7020 / pop esi / mov [esi],ecx / mov esi,0x6ff0 / inc dword [esi+8]
 *      xchg esi,[esi+8] / mov [esi+0xc],ecx / mov esi,0x6ff0
 *      add eax,0x01010101 / dec ecx / jnz L / hlt
 * Base registers change between accesses of one block (PUSH/POP, SUB,
 * ADD, LEA, a load into the base, POP into it, XCHG with memory) and
 * move to the next page.  Linear 0x6000 and 0x7000 are mapped to
 * physical 0x31000 and 0x30000, so an access checked against the wrong
 * page's TLB entry lands in the wrong physical page. */
static const uint8_t prog_base_changes[] = {
    0xb9, 0x14, 0x00, 0x00, 0x00, 0x89, 0x04, 0x24, 0x53, 0x51, 0x89, 0x54,
    0x24, 0x08, 0x5a, 0x5a, 0x83, 0xec, 0x08, 0x89, 0x0c, 0x24, 0x83, 0xc4,
    0x08, 0x89, 0x03, 0x83, 0xc3, 0x04, 0x89, 0x0b, 0x8d, 0x5b, 0x04, 0x89,
    0x13, 0x83, 0xeb, 0x08, 0xbf, 0xf8, 0x6f, 0x00, 0x00, 0x8b, 0x3f, 0x89,
    0x07, 0x68, 0x20, 0x70, 0x00, 0x00, 0x5e, 0x89, 0x0e, 0xbe, 0xf0, 0x6f,
    0x00, 0x00, 0xff, 0x46, 0x08, 0x87, 0x76, 0x08, 0x89, 0x4e, 0x0c, 0xbe,
    0xf0, 0x6f, 0x00, 0x00, 0x05, 0x01, 0x01, 0x01, 0x01, 0x49, 0x75, 0xb1,
    0xf4
};

static void test_base_register_changes_inside_a_block(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_base_changes, sizeof(prog_base_changes));
    jt_pair_paging(p, 0);
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        put32(gs[k], 0x11000 + 4 * 6, 0x31000 | 3);
        put32(gs[k], 0x11000 + 4 * 7, 0x30000 | 3);
        put32(gs[k], 0x31ff8, 0x7010);          /* the pointer at linear 0x6ff8 */
    }
    jt_set_reg(p, REG_ESP, 0x8004);
    jt_set_reg(p, REG_EBX, 0x6ffc);
    jt_set_reg(p, REG_EAX, 0x10203040);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    /* a sample of where things must land: linear 0x7000 is physical 0x30000 */
    assert_int_equal(get32(p->jit.g, 0x30020), 1);      /* pop esi / mov [esi],ecx, last round */
    assert_int_equal(get32(p->jit.g, 0x7020), 0);
    assert_int_equal(get32(p->jit.g, 0x30ffc), 1);      /* sub esp,8 / mov [esp],ecx */
    jt_pair_free(p);
}

/* A long straight line (no branches: blocks end at the decoder's line and
 * size limits, so guest flags pass from one translation to the next in
 * the cpu) of flag-producing and flag-consuming instructions picked by a
 * fixed pseudo-random sequence, with memory operands at [esi+d8], run 20
 * times by "dec ebp / jnz start / hlt". */
static size_t make_straight_line(uint8_t *out, unsigned n)
{
    static const struct { uint8_t len, b[6]; } forms[] = {
        { 5, { 0x05 } },                    /* add eax,imm32 */
        { 3, { 0x13, 0x5e } },              /* adc ebx,[esi+d8] */
        { 3, { 0x89, 0x46 } },              /* mov [esi+d8],eax */
        { 3, { 0x19, 0x4e } },              /* sbb [esi+d8],ecx */
        { 1, { 0x42 } },                    /* inc edx */
        { 3, { 0x0f, 0x92, 0xc0 } },        /* setc al */
        { 1, { 0xf5 } },                    /* cmc */
        { 2, { 0xd1, 0xd7 } },              /* rcl edi,1 */
        { 2, { 0x29, 0xc1 } },              /* sub ecx,eax */
        { 2, { 0x39, 0xd8 } },              /* cmp eax,ebx */
        { 2, { 0x88, 0xe0 } },              /* mov al,ah */
        { 3, { 0x12, 0x66 } },              /* adc ah,[esi+d8] */
        { 4, { 0x0f, 0x42, 0x56 } },        /* cmovb edx,[esi+d8] */
        { 4, { 0x83, 0x56 } },              /* adc dword [esi+d8],imm8 */
    };
    uint32_t rng = 12345;
    size_t k = 0;
    for (unsigned i = 0; i < n; i++) {
        rng = rng * 1103515245u + 12345u;
        unsigned f = (rng >> 16) % (sizeof(forms) / sizeof(forms[0]));
        uint8_t b[6];
        memcpy(b, forms[f].b, sizeof(b));
        uint8_t r = (uint8_t)(rng >> 8);
        switch (f) {
        case 0: b[1] = r; b[2] = (uint8_t)(rng >> 24); b[3] = 0x80; b[4] = (uint8_t)rng; break;
        case 1: case 2: case 3: case 11: b[2] = (uint8_t)(r & 0x7c); break;
        case 12: b[3] = (uint8_t)(r & 0x7c); break;
        case 13: b[2] = (uint8_t)(r & 0x7c); b[3] = r; break;
        default: break;
        }
        memcpy(out + k, b, forms[f].len);
        k += forms[f].len;
    }
    out[k++] = 0x4d;                          /* dec ebp */
    int32_t rel = -(int32_t)(k + 6);
    out[k++] = 0x0f; out[k++] = 0x85;         /* jnz start */
    memcpy(out + k, &rel, 4); k += 4;
    out[k++] = 0xf4;
    return k;
}

static void test_flags_across_a_long_straight_line(void **st)
{
    (void)st;
    static uint8_t code[700 * 5 + 16];
    size_t n = make_straight_line(code, 700);
    struct jt_pair *p = run_program(code, n);
    jt_set_reg(p, REG_EBP, 20);
    jt_set_reg(p, REG_ESI, 0x4000);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    assert_int_equal(guest_stats(p->jit.g).instructions, 20 * (700 + 2) + 1);
    jt_pair_free(p);
}

/*      mov ecx,100
 * L:   push 5 / push word 0x1234 / push word 7 / push ax / push cx / pop bx
 *      pop dx / pop si / pop di / push word [0x4000] / pop word [0x4002]
 *      push ebp / mov ebp,esp / push word 1 / leavew / add esp,2
 *      mov [0x4010+ecx*4],esp / dec ecx / jnz L / hlt
 * 16-bit pushes, pops and LEAVE (66 prefix) on a 32-bit stack. */
static const uint8_t prog_push16[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x6a, 0x05, 0x66, 0x68, 0x34, 0x12, 0x66,
    0x6a, 0x07, 0x66, 0x50, 0x66, 0x51, 0x66, 0x5b, 0x66, 0x5a, 0x66, 0x5e,
    0x66, 0x5f, 0x66, 0xff, 0x35, 0x00, 0x40, 0x00, 0x00, 0x66, 0x8f, 0x05,
    0x02, 0x40, 0x00, 0x00, 0x55, 0x89, 0xe5, 0x66, 0x6a, 0x01, 0x66, 0xc9,
    0x83, 0xc4, 0x02, 0x89, 0x24, 0x8d, 0x10, 0x40, 0x00, 0x00, 0x49, 0x75,
    0xc8, 0xf4
};

static void test_16bit_push_pop_leave(void **st)
{
    (void)st;
    RUN_PROGRAM(prog_push16);
}

/*      mov ecx,100
 * L:   push -1 / pop eax / push -128 / pop edx / push word -2 / pop bx
 *      push 0x80000000 / pop esi / add edi,eax / add edi,edx / add edi,esi
 *      dec ecx / jnz L / hlt
 * PUSH imm8 sign-extends to the operand size. */
static const uint8_t prog_push_imm[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x6a, 0xff, 0x58, 0x6a, 0x80, 0x5a, 0x66,
    0x6a, 0xfe, 0x66, 0x5b, 0x68, 0x00, 0x00, 0x00, 0x80, 0x5e, 0x01, 0xc7,
    0x01, 0xd7, 0x01, 0xf7, 0x49, 0x75, 0xe6, 0xf4
};

static void test_push_immediates(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_push_imm, sizeof(prog_push_imm));
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.gpr[REG_EAX], 0xffffffffu);
    assert_int_equal(s.gpr[REG_EDX], 0xffffff80u);
    assert_int_equal(s.gpr[REG_EBX] & 0xffff, 0xfffe);
    jt_pair_free(p);
}

/*      mov ecx,0x440
 * L:   mov eax,fs:[ecx*4-0x10] / add fs:[ecx*4-0x10],ecx / mov ebx,fs:[ecx*4]
 *      sub ecx,1 / jnz L / hlt
 * FS is an expand-down data segment (base 0x10000, limit 0xfff: offsets
 * 0x1000 and up are valid); at ECX 0x403 the first access falls to 0xffc
 * and must #GP(0) exactly there.  #GP handler at 0x1800: hlt. */
static const uint8_t prog_expand_down[] = {
    0xb9, 0x40, 0x04, 0x00, 0x00, 0x64, 0x8b, 0x04, 0x8d, 0xf0, 0xff, 0xff,
    0xff, 0x64, 0x01, 0x0c, 0x8d, 0xf0, 0xff, 0xff, 0xff, 0x64, 0x8b, 0x1c,
    0x8d, 0x00, 0x00, 0x00, 0x00, 0x83, 0xe9, 0x01, 0x75, 0xe3, 0xf4
};

static void test_expand_down_segment(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_expand_down, sizeof(prog_expand_down));
    static const uint8_t hlt = 0xf4;
    jt_put(p, 0x1800, &hlt, 1);
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        jt_with_tables(gs[k]);
        jt_put_gate(gs[k], JT_IDT, 13, 0x08, 0x1800);
        struct cpu_state s = guest_state(gs[k]);
        s.seg[SEG_FS] = (struct seg_cache){ .selector = 0x10, .base = 0x10000, .limit = 0xfff,
                                            .attr = 0x4097 };
        soft_engine_ops.set_state(gs[k]->e, &s);
    }
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.gpr[REG_ECX], 0x403);
    assert_int_equal(s.eip, 0x1801);
    assert_int_equal(get32(p->jit.g, s.gpr[REG_ESP] + 4), CODE + 5);  /* above the error code */
    jt_pair_free(p);
}

/* Ring 3 under paging, with a kernel entered by INT 0x80:
 * 0x1000 (CPL 3): mov ecx,100
 * L:   mov eax,[0x4000+ecx*4] / add eax,ecx / mov [0x4000+ecx*4],eax
 *      int 0x80 / call shared / dec ecx / jnz L / mov eax,[0x6000] / hlt
 * 0x1800 (CPL 0): mov edx,[0x6000] / add edx,ecx / mov [0x6000],edx
 *      call shared / iret
 * 0x1900: hlt (#PF)
 * 0x1c00 shared: add ebx,[0x4000] / add dword [0x4004],1 / ret
 * The page at 0x6000 is supervisor-only: the kernel uses it each round,
 * the user's read at the end must #PF (error code 5) although the
 * kernel's accesses filled a TLB entry for it.  `shared` runs at both
 * CPLs, its RET going back through the jump cache to code of either. */
static const uint8_t prog_user_main[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x8b, 0x04, 0x8d, 0x00, 0x40, 0x00, 0x00,
    0x01, 0xc8, 0x89, 0x04, 0x8d, 0x00, 0x40, 0x00, 0x00, 0xcd, 0x80, 0xe8,
    0xe4, 0x0b, 0x00, 0x00, 0x49, 0x75, 0xe6, 0xa1, 0x00, 0x60, 0x00, 0x00,
    0xf4
};
static const uint8_t prog_user_kernel[] = {
    0x8b, 0x15, 0x00, 0x60, 0x00, 0x00, 0x01, 0xca, 0x89, 0x15, 0x00, 0x60,
    0x00, 0x00, 0xe8, 0xed, 0x03, 0x00, 0x00, 0xcf
};
static const uint8_t prog_user_shared[] = {
    0x03, 0x1d, 0x00, 0x40, 0x00, 0x00, 0x83, 0x05, 0x04, 0x40, 0x00, 0x00, 0x01, 0xc3
};

/* GDT: 0x08 code0, 0x10 data0, 0x1b code3, 0x23 data3, 0x28 TSS (at
 * 0x2800, ESP0 0x9000); a DPL-3 trap gate for INT 0x80, #PF; paging with
 * every page user-accessible but 0x6000; CPL 3 at CODE. */
static void enter_ring3(struct guest *g)
{
    jt_put_desc(g, JT_GDT, 1, make_desc(0, 0xfffff, 0xc09b));
    jt_put_desc(g, JT_GDT, 2, make_desc(0, 0xfffff, 0xc093));
    jt_put_desc(g, JT_GDT, 3, make_desc(0, 0xfffff, 0xc0fb));
    jt_put_desc(g, JT_GDT, 4, make_desc(0, 0xfffff, 0xc0f3));
    jt_put_desc(g, JT_GDT, 5, make_desc(0x2800, 0x67, 0x008b));
    put32(g, 0x2800 + 4, 0x9000);
    put32(g, 0x2800 + 8, 0x10);
    uint64_t gate = 0x1800u | ((uint64_t)0x08 << 16) | ((uint64_t)0xef << 40);
    memcpy(g->ram + JT_IDT + 0x80 * 8, &gate, 8);
    jt_put_gate(g, JT_IDT, 14, 0x08, 0x1900);
    jt_with_paging(g, 0);
    for (uint32_t k = 0; k < 1024; k++)
        put32(g, 0x11000 + 4 * k, (k << 12) | (k == 6 ? 3 : 7));
    put32(g, 0x10000, 0x11000 | 7);
    struct cpu_state s = guest_state(g);
    s.gdtr = (struct dtable_reg){ JT_GDT, 47 };
    s.idtr = (struct dtable_reg){ JT_IDT, 0x7ff };
    s.tr = (struct seg_cache){ .selector = 0x28, .base = 0x2800, .limit = 0x67, .attr = 0x008b };
    for (int k = 0; k < SEG_COUNT; k++)
        s.seg[k] = (struct seg_cache){ .selector = 0x23, .base = 0, .limit = 0xffffffffu, .attr = 0xc0f3 };
    s.seg[SEG_CS] = (struct seg_cache){ .selector = 0x1b, .base = 0, .limit = 0xffffffffu, .attr = 0xc0fb };
    soft_engine_ops.set_state(g->e, &s);
}

static void test_user_and_kernel_code(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_user_main, sizeof(prog_user_main));
    jt_put(p, 0x1800, prog_user_kernel, sizeof(prog_user_kernel));
    static const uint8_t hlt = 0xf4;
    jt_put(p, 0x1900, &hlt, 1);
    jt_put(p, 0x1c00, prog_user_shared, sizeof(prog_user_shared));
    enter_ring3(p->ref.g);
    enter_ring3(p->jit.g);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.eip, 0x1901);
    assert_int_equal(s.cr2, 0x6000);
    assert_int_equal(get32(p->jit.g, s.gpr[REG_ESP]), 5);          /* user, read, present */
    assert_int_equal(get32(p->jit.g, s.gpr[REG_ESP] + 4), CODE + 0x1f);
    /* shared ran 200 times, at both CPLs; the round with ECX 1 added 1 too */
    assert_int_equal(get32(p->jit.g, 0x4004), 201);
    jt_pair_free(p);
}

/*      mov ecx,100
 * L:   inc eax / add [0x4000],eax / dec ecx / jnz L / sti
 * L2:  inc ebx / add [0x4004],ebx / jmp L2
 * With an interrupt window requested and IF clear: the run must end one
 * instruction after STI (its shadow), at the same count as interpreted. */
static const uint8_t prog_window[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x40, 0x01, 0x05, 0x00, 0x40, 0x00, 0x00,
    0x49, 0x75, 0xf6, 0xfb, 0x43, 0x01, 0x1d, 0x04, 0x40, 0x00, 0x00, 0xeb,
    0xf7
};

static void test_interrupt_window_after_sti(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_window, sizeof(prog_window));
    soft_engine_ops.request_interrupt_window(p->ref.g->e, true);
    soft_engine_ops.request_interrupt_window(p->jit.g->e, true);
    jt_run_both(p, EXIT_IRQ_WINDOW);
    jt_expect_ran_translated(p);
    assert_int_equal(guest_stats(p->jit.g).instructions, 1 + 4 * 100 + 1 + 1);
    jt_pair_free(p);
}

struct kicker {
    struct engine *e;
    volatile bool stop;
};

/* Kick the engine every 5 ms until told to stop. */
static void *kick_thread(void *arg)
{
    struct kicker *k = arg;
    while (!k->stop) {
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        soft_engine_ops.kick(k->e);
    }
    return NULL;
}

/* A translated loop that never ends by itself must notice a kick from
 * another thread and stop at a block boundary.  The deadline is only a
 * backstop against a hang: a run that ignored the kick ends there. */
static void run_until_kicked(const uint8_t *code, size_t n, uint32_t at2, const uint8_t *code2,
                             size_t n2, struct cpu_state *out, uint64_t *insns)
{
    const uint64_t backstop = 3000000000ull;
    struct guest *g = guest_new_jit(1, 0);
    put_bytes(g, CODE, code, n);
    if (code2)
        put_bytes(g, at2, code2, n2);
    guest_flat32_at(g, CODE);
    struct engine_time t = { .ps_per_insn = 1000, .idle_ns = 0 };
    soft_engine_ops.set_time(g->e, &t);
    soft_engine_ops.set_deadline(g->e, backstop);
    struct kicker k = { g->e, false };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, kick_thread, &k), 0);
    enum exit_reason r = guest_run(g);
    k.stop = true;
    pthread_join(th, NULL);
    assert_int_equal(r, EXIT_KICKED);
    *out = guest_state(g);
    *insns = guest_stats(g).instructions;
    assert_true(*insns < backstop);
    assert_true(guest_stats(g).jit_insns > 0);
    guest_free(g);
}

static void test_kick_stops_translated_loops(void **st)
{
    (void)st;
    /* L: inc eax / jmp L - one block looping on itself */
    static const uint8_t self_loop[] = { 0x40, 0xeb, 0xfd };
    struct cpu_state s;
    uint64_t n;
    run_until_kicked(self_loop, sizeof(self_loop), 0, NULL, 0, &s, &n);
    assert_int_equal(n, 2ull * s.gpr[REG_EAX]);
    assert_int_equal(s.eip, CODE);
    /* 0x1000 L: inc eax / jmp M    0x1100 M: inc ebx / jmp L - two linked blocks */
    static const uint8_t first[] = { 0x40, 0xe9, 0xfa, 0x00, 0x00, 0x00 };
    static const uint8_t second[] = { 0x43, 0xe9, 0xfa, 0xfe, 0xff, 0xff };
    uint32_t eax0 = 0, ebx0 = 0;
    run_until_kicked(first, sizeof(first), CODE + 0x100, second, sizeof(second), &s, &n);
    eax0 = s.gpr[REG_EAX];
    ebx0 = s.gpr[REG_EBX];
    assert_int_equal(n, 2ull * (eax0 + ebx0));
    assert_true(eax0 == ebx0 ? s.eip == CODE : (eax0 == ebx0 + 1 && s.eip == CODE + 0x100));
}

/* L: inc eax / add [0x4000],eax / jmp L - a block that jumps to itself. */
static const uint8_t prog_loop[] = { 0x40, 0x01, 0x05, 0x00, 0x40, 0x00, 0x00, 0xeb, 0xf7 };

/* 1 ns per instruction: a deadline in ns is an instruction count. */
static void jt_time_1ns(struct jt_pair *p)
{
    struct engine_time t = { .ps_per_insn = 1000, .idle_ns = 0 };
    soft_engine_ops.set_time(p->ref.g->e, &t);
    soft_engine_ops.set_time(p->jit.g->e, &t);
}

static void jt_deadline(struct jt_pair *p, uint64_t ns)
{
    soft_engine_ops.set_deadline(p->ref.g->e, ns);
    soft_engine_ops.set_deadline(p->jit.g->e, ns);
}

/* 0x1000:  mov ecx,100
 * L:       dec ecx / jz done / jmp far (0x5000)
 * 0x1100 back: add edi,ecx / jmp L
 * done:    hlt
 * 0x5000 far: add ebx,1 / cmp ecx,50 / jne 1f / mov dword [0x11014],0xa003
 *          invlpg [0x5000]
 * 1:       jmp back
 * Under paging, the jump from 0x1000 to 0x5000 (another page) gets
 * linked; at round 50 the code remaps linear 0x5000 to physical 0xa000,
 * which holds the same code with "add ebx,2": the linked jump must
 * reach the new mapping's code. */
static const uint8_t prog_remap_main[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x49, 0x0f, 0x84, 0xfb, 0x00, 0x00, 0x00,
    0xe9, 0xef, 0x3f, 0x00, 0x00
};
static const uint8_t prog_remap_back[] = { 0x01, 0xcf, 0xe9, 0xfe, 0xfe, 0xff, 0xff, 0xf4 };
static const uint8_t prog_remap_far[] = {
    0x83, 0xc3, 0x01, 0x83, 0xf9, 0x32, 0x75, 0x11, 0xc7, 0x05, 0x14, 0x10,
    0x01, 0x00, 0x03, 0xa0, 0x00, 0x00, 0x0f, 0x01, 0x3d, 0x00, 0x50, 0x00,
    0x00, 0xe9, 0xe2, 0xc0, 0xff, 0xff
};

static void test_linked_jump_into_a_remapped_page(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_remap_main, sizeof(prog_remap_main));
    jt_put(p, 0x1100, prog_remap_back, sizeof(prog_remap_back));
    jt_put(p, 0x5000, prog_remap_far, sizeof(prog_remap_far));
    uint8_t other[sizeof(prog_remap_far)];
    memcpy(other, prog_remap_far, sizeof(other));
    other[2] = 2;
    jt_put(p, 0xa000, other, sizeof(other));
    jt_pair_paging(p, 0);
    jt_set_reg(p, REG_EBX, 0);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    /* rounds with ECX 99..50 ran the old code, 49..1 the new */
    assert_int_equal(guest_state(p->jit.g).gpr[REG_EBX], 50 * 1 + 49 * 2);
    jt_pair_free(p);
}

/* L: inc eax / add [0x4000],eax / mov edx,[0x4100] / jmp L
 * IRQ handler at 0x1800: inc dword [0x4100] / add esi,eax / iret */
static const uint8_t prog_irq_loop[] = {
    0x40, 0x01, 0x05, 0x00, 0x40, 0x00, 0x00, 0x8b, 0x15, 0x00, 0x41, 0x00,
    0x00, 0xeb, 0xf1
};
static const uint8_t irq_handler[] = { 0xff, 0x05, 0x00, 0x41, 0x00, 0x00, 0x01, 0xc6, 0xcf };

static void test_interrupts_between_translated_runs(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_irq_loop, sizeof(prog_irq_loop));
    jt_put(p, 0x1800, irq_handler, sizeof(irq_handler));
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        jt_with_tables(gs[k]);
        jt_put_gate(gs[k], JT_IDT, 0x20, 0x08, 0x1800);
        struct cpu_state s = guest_state(gs[k]);
        s.eflags |= EFL_IF;
        soft_engine_ops.set_state(gs[k]->e, &s);
    }
    jt_time_1ns(p);
    /* stop at a deadline inside the self-linked loop, take an interrupt
     * there, go on; the interrupt lands at the same instruction */
    uint64_t deadline = 0;
    for (unsigned k = 0; k < 12; k++) {
        deadline += 997 + 13 * k;
        jt_deadline(p, deadline);
        jt_run_both(p, EXIT_KICKED);
        for (int j = 0; j < 2; j++) {
            assert_true(soft_engine_ops.interrupt_ready(gs[j]->e));
            soft_engine_ops.inject_interrupt(gs[j]->e, 0x20);
        }
    }
    jt_expect_ran_translated(p);
    assert_int_equal(get32(p->jit.g, 0x4100), 11);
    jt_pair_free(p);
}

static void test_deadline_inside_a_translated_loop(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_loop, sizeof(prog_loop));
    jt_time_1ns(p);
    /* counts that end in the middle of the loop's three instructions, at
     * its end, and far into the self-linked translation */
    static const uint64_t deadlines[] = { 7, 8, 9, 10, 100, 101, 102, 1000, 5000, 5001, 99999, 100002 };
    for (unsigned k = 0; k < sizeof(deadlines) / sizeof(deadlines[0]); k++) {
        jt_deadline(p, deadlines[k]);
        jt_run_both(p, EXIT_KICKED);
        assert_int_equal(guest_stats(p->jit.g).instructions, deadlines[k]);
    }
    jt_expect_ran_translated(p);
    jt_pair_free(p);
}

static void test_deadline_inside_linked_blocks(void **st)
{
    (void)st;
    /* prog_alu: several blocks per round, linked to each other */
    struct jt_pair *p = run_program(prog_alu, sizeof(prog_alu));
    jt_time_1ns(p);
    static const uint64_t deadlines[] = { 20, 33, 34, 35, 500, 777, 1501, 2000, 2001 };
    for (unsigned k = 0; k < sizeof(deadlines) / sizeof(deadlines[0]); k++) {
        jt_deadline(p, deadlines[k]);
        jt_run_both(p, EXIT_KICKED);
        assert_int_equal(guest_stats(p->jit.g).instructions, deadlines[k]);
    }
    jt_deadline(p, UINT64_MAX);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    jt_pair_free(p);
}

/* Blocks of "add eax,imm32 / mov [esi+disp32],eax / inc ebx / jmp $+2",
 * n of them from `at`, then "dec ecx / jnz first / hlt". */
static size_t make_many_blocks(uint8_t *out, uint32_t at, unsigned n)
{
    size_t k = 0;
    for (unsigned b = 0; b < n; b++) {
        uint32_t imm = b * 0x9e3779b9u, disp = (b % 1024) * 4;
        out[k++] = 0x05;
        memcpy(out + k, &imm, 4); k += 4;
        out[k++] = 0x89; out[k++] = 0x86;
        memcpy(out + k, &disp, 4); k += 4;
        out[k++] = 0x43;
        out[k++] = 0xeb; out[k++] = 0x00;
    }
    out[k++] = 0x49;
    int32_t rel = -(int32_t)(k + 6);
    out[k++] = 0x0f; out[k++] = 0x85;
    memcpy(out + k, &rel, 4); k += 4;
    out[k++] = 0xf4;
    (void)at;
    return k;
}

static void test_small_cache_flushes(void **st)
{
    (void)st;
    enum { N = 30000, AT = 0x100000 };
    uint8_t *code = malloc(N * 14 + 16);
    assert_non_null(code);
    size_t n = make_many_blocks(code, AT, N);
    struct jt_pair *p = jt_pair_new(1, 1u << 20);
    jt_put(p, AT, code, n);
    free(code);
    jt_flat32_at(p, AT);
    jt_set_reg(p, REG_ECX, 3);
    jt_set_reg(p, REG_ESI, 0x4000);
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    struct engine_stats s = guest_stats(p->jit.g);
    assert_true(s.jit_cache_flushes > 0);
    assert_int_equal(s.jit_cache_size, 1u << 20);
    assert_int_equal(guest_state(p->jit.g).gpr[REG_EBX], 3 * N);
    jt_pair_free(p);
}

/*      mov ecx,100
 * L:   push eax / push ecx / pop edx / pop ebx / push dword [0x4000]
 *      pop dword [0x4004] / call f / push 0x1234 / pop esi / inc eax
 *      mov [0x4008],esp / push ax / pop di / dec ecx / jnz L / hlt
 * f:   inc edi / ret
 * With SS.B = 0: pushes and pops move SP alone, wrapping at 64 KiB
 * while ESP's upper half stays. */
static const uint8_t prog_stack16[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, 0x50, 0x51, 0x5a, 0x5b, 0xff, 0x35, 0x00,
    0x40, 0x00, 0x00, 0x8f, 0x05, 0x04, 0x40, 0x00, 0x00, 0xe8, 0x15, 0x00,
    0x00, 0x00, 0x68, 0x34, 0x12, 0x00, 0x00, 0x5e, 0x40, 0x89, 0x25, 0x08,
    0x40, 0x00, 0x00, 0x66, 0x50, 0x66, 0x5f, 0x49, 0x75, 0xd7, 0xf4, 0x47,
    0xc3
};

static void test_16bit_stack(void **st)
{
    (void)st;
    struct jt_pair *p = run_program(prog_stack16, sizeof(prog_stack16));
    put32(p->ref.g, 0x4000, 0xfeedface);
    put32(p->jit.g, 0x4000, 0xfeedface);
    struct guest *gs[2] = { p->ref.g, p->jit.g };
    for (int k = 0; k < 2; k++) {
        struct cpu_state s = guest_state(gs[k]);
        s.seg[SEG_SS] = (struct seg_cache){ .selector = 0x10, .base = 0x20000, .limit = 0xffff, .attr = 0x0093 };
        s.gpr[REG_ESP] = 0x12340004;     /* the first pushes wrap SP below 0 */
        soft_engine_ops.set_state(gs[k]->e, &s);
    }
    jt_run_both(p, EXIT_HLT);
    jt_expect_ran_translated(p);
    struct cpu_state s = guest_state(p->jit.g);
    assert_int_equal(s.gpr[REG_ESP], 0x12340004);
    assert_int_equal(get32(p->jit.g, 0x4004), 0xfeedface);
    assert_int_equal(get32(p->jit.g, 0x4008), 0x12340004);
    jt_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_live_across_memory_accesses),
        cmocka_unit_test(test_inc_dec_keep_carry),
        cmocka_unit_test(test_setcc_cmovcc_after_stores),
        cmocka_unit_test(test_high_byte_registers),
        cmocka_unit_test(test_esp_operands_push_pop_call_ret_leave),
        cmocka_unit_test(test_esp_in_register_forms),
        cmocka_unit_test(test_shift_by_cl_zero_keeps_flags),
        cmocka_unit_test(test_16bit_operands),
        cmocka_unit_test(test_indirect_branches),
        cmocka_unit_test(test_segment_bases),
        cmocka_unit_test(test_higher_thresholds),
        cmocka_unit_test(test_flag_instructions),
        cmocka_unit_test(test_accessed_and_dirty_bits),
        cmocka_unit_test(test_groups_under_paging),
        cmocka_unit_test(test_write_to_a_read_only_page),
        cmocka_unit_test(test_group_across_the_end_of_ram),
        cmocka_unit_test(test_fault_in_a_translated_loop),
        cmocka_unit_test(test_store_into_own_translated_block),
        cmocka_unit_test(test_linked_jump_into_a_remapped_page),
        cmocka_unit_test(test_interrupts_between_translated_runs),
        cmocka_unit_test(test_code_and_writes_in_rom),
        cmocka_unit_test(test_base_register_changes_inside_a_block),
        cmocka_unit_test(test_flags_across_a_long_straight_line),
        cmocka_unit_test(test_16bit_push_pop_leave),
        cmocka_unit_test(test_push_immediates),
        cmocka_unit_test(test_expand_down_segment),
        cmocka_unit_test(test_user_and_kernel_code),
        cmocka_unit_test(test_interrupt_window_after_sti),
        cmocka_unit_test(test_kick_stops_translated_loops),
        cmocka_unit_test(test_access_group_on_one_page),
        cmocka_unit_test(test_access_group_across_a_page),
        cmocka_unit_test(test_access_group_on_a_page_not_present),
        cmocka_unit_test(test_mmio_from_translated_code),
        cmocka_unit_test(test_self_modifying_translated_loop),
        cmocka_unit_test(test_store_into_a_linked_next_block),
        cmocka_unit_test(test_deadline_inside_a_translated_loop),
        cmocka_unit_test(test_deadline_inside_linked_blocks),
        cmocka_unit_test(test_small_cache_flushes),
        cmocka_unit_test(test_16bit_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

; Guest code for jit.c: sequences whose exact register, flag and
; instruction-count effects the C side checks after faults, exits and
; interrupts hit them.  Written in assembly so the instructions, their
; order and their count are fixed (a compiler would choose its own).
; Every routine here is called many times so it is translated under the
; default threshold (50 runs) too.
bits 32

SEL_CODE32 equ 0x08
SEL_DATA32 equ 0x10

section .data
align 4
global pf_fix_pte, pf_fix_val, pf_count, pf_rec, test_esp, seq_esp, seq_out
global far_ptr, u_out, s16_outp
pf_fix_pte: dd 0        ; the paging entry the #PF handler writes (0: none expected)
pf_fix_val: dd 0        ; ... and its value
pf_count:   dd 0
; The #PF frame as the handler saw it: pushad order, error code, EIP, CS,
; EFLAGS, user ESP and SS (meaningful from ring 3 only), then CR2.
pf_rec:     times 15 dd 0
test_esp:   dd 0        ; ESP to restore in test_recover
seq_esp:    dd 0        ; ESP inside pf_seq just before the faulting insn
seq_out:    times 4 dd 0
far_ptr:    dd 0, 0     ; offset, selector
u_out:      times 4 dd 0
s16_outp:   dd 0

section .text
extern pf_unexpected

; ---- #PF: the IDT gate points here directly (no C on the way, so the
; handler's instruction count is fixed: PF_HANDLER_INSNS in jit.c).
; Records the frame, writes pf_fix_val to *pf_fix_pte once, flushes the
; page and retries the faulting instruction.
global pf_stub
pf_stub:
    pushad                          ; 1
    cmp dword [pf_fix_pte], 0       ; 2
    je .unexpected                  ; 3
    mov eax, [esp + 0]              ; 4..27: pushad, error code, EIP, CS, EFLAGS
    mov [pf_rec + 0], eax
    mov eax, [esp + 4]
    mov [pf_rec + 4], eax
    mov eax, [esp + 8]
    mov [pf_rec + 8], eax
    mov eax, [esp + 12]
    mov [pf_rec + 12], eax
    mov eax, [esp + 16]
    mov [pf_rec + 16], eax
    mov eax, [esp + 20]
    mov [pf_rec + 20], eax
    mov eax, [esp + 24]
    mov [pf_rec + 24], eax
    mov eax, [esp + 28]
    mov [pf_rec + 28], eax
    mov eax, [esp + 32]
    mov [pf_rec + 32], eax
    mov eax, [esp + 36]
    mov [pf_rec + 36], eax
    mov eax, [esp + 40]
    mov [pf_rec + 40], eax
    mov eax, [esp + 44]
    mov [pf_rec + 44], eax
    ; User ESP and SS are in the frame only when the fault came from ring 3
    ; (from ring 0 the words above may be on the very page that faulted).
    test byte [esp + 40], 3         ; 28
    jz .from_ring0                  ; 29
    mov eax, [esp + 48]             ; (ring 3 only: 4 more)
    mov [pf_rec + 48], eax
    mov eax, [esp + 52]
    mov [pf_rec + 52], eax
.from_ring0:
    mov eax, cr2                    ; 30
    mov [pf_rec + 56], eax          ; 31
    inc dword [pf_count]            ; 32
    mov ecx, [pf_fix_pte]           ; 33
    mov edx, [pf_fix_val]           ; 34
    mov [ecx], edx                  ; 35
    mov dword [pf_fix_pte], 0       ; 36: one fault per arming
    invlpg [eax]                    ; 37
    popad                           ; 38
    add esp, 4                      ; 39
    iret                            ; 40
.unexpected:
    mov eax, cr2
    push eax
    push dword [esp + 40]           ; EIP (pushad 32 + error 4 + the push above)
    call pf_unexpected              ; does not return

; ---- a fault in the middle of a straight-line block ----
; void pf_seq(volatile uint32_t *p): known registers and flags, then a load
; from p+8 (not present on every call), then work that uses the flags.
global pf_seq, pf_seq_fault
pf_seq:
    pushad
    mov edi, [esp + 36]
    mov eax, 0x7fffffff
    mov ebx, 1
    mov ecx, 0x100
    mov edx, 0x55
    mov esi, 0x1111
    mov ebp, 0x2222
    mov [seq_esp], esp
    add eax, ebx                    ; 0x80000000: OF SF AF PF
    inc ecx                         ; 0x101: CF kept
    cmp edx, 0x56                   ; -1: CF SF AF PF
pf_seq_fault:
    mov esi, [edi + 8]
    adc esi, 0x10                   ; + CF of the cmp
    lea ebx, [eax + ecx]
    sbb ebx, edx                    ; CF of the adc
    mov [seq_out + 0], esi
    mov [seq_out + 4], ebx
    popad
    ret

; void pf_seq_w(volatile uint32_t *p): the same with a faulting store.
global pf_seq_w, pf_seq_w_fault
pf_seq_w:
    pushad
    mov edi, [esp + 36]
    mov eax, 0x4000
    mov ebx, 0x4000
    mov ecx, 0xfffffffe
    mov edx, 0x80000000
    mov esi, 0x0f0f0f0f
    mov ebp, 0x3333
    mov [seq_esp], esp
    sub eax, ebx                    ; 0: ZF PF
    dec edx                         ; 0x7fffffff: OF AF PF, ZF off, CF kept 0
    add ecx, 1                      ; 0xffffffff: SF PF
pf_seq_w_fault:
    mov [edi + 12], esi
    setnz al                        ; ZF of the add
    sets bl                         ; SF of the add
    mov [seq_out + 0], eax
    mov [seq_out + 4], ebx
    popad
    ret

; ---- a block of the maximum length (32 insns) with a fault at its edge ----
; uint32_t long_seq(const uint32_t *p): the sum of p[0..39], one ADD each;
; the first block is PUSH, MOV, XOR and long_add0..28, the next starts at
; long_add29.  long_adds[k] = address of long_add<k>.
global long_seq, long_adds
long_seq:
    push esi
    mov esi, [esp + 8]
    xor eax, eax
%assign k 0
%rep 40
long_add%[k]:
    add eax, [esi + k * 4]
%assign k k + 1
%endrep
    pop esi
    ret

section .data
long_adds:
%assign k 0
%rep 40
    dd long_add%[k]
%assign k k + 1
%endrep
section .text

; ---- POP and LEAVE reading a stack page that is not present (ring 0:
; the #PF frame goes below ESP, onto the page before, which is present) ----
; uint32_t sf_pop_seq(uint32_t *p): ESP = p, ECX = 0x82 (PF), POP EAX;
; returns EAX, seq_out[0] = ESP after the POP.
global sf_pop_seq, sf_pop_at, sf_leave_seq, sf_leave_at
sf_pop_seq:
    pushad
    mov [test_esp], esp
    mov ebx, [esp + 36]
    mov ecx, 0x12
    mov esp, ebx
    add ecx, 0x70
sf_pop_at:
    pop eax
    mov edx, esp
    mov esp, [test_esp]
    mov [esp + 28], eax
    mov [seq_out + 0], edx
    popad
    ret

; uint32_t sf_leave_seq(uint32_t *p): EBP = p, ECX = 0x82, LEAVE; returns
; EBP after it, seq_out[0] = ESP after it.
sf_leave_seq:
    pushad
    mov [test_esp], esp
    mov [seq_esp], esp
    mov ebp, [esp + 36]
    mov ecx, 0x12
    add ecx, 0x70
sf_leave_at:
    leave
    mov edx, esp
    mov eax, ebp
    mov esp, [test_esp]
    mov [esp + 28], eax
    mov [seq_out + 0], edx
    popad
    ret

; ---- instruction count ----
; uint32_t icount_seq(volatile uint32_t *p): TSC ticks between two RDTSC
; around seven straight-line instructions, one of which reads *p.
global icount_seq
icount_seq:
    push ebx
    push esi
    push edi
    mov edi, [esp + 16]
    rdtsc
    mov esi, eax                    ; 1
    add ebx, 3                      ; 2
    inc ecx                         ; 3
    mov ecx, [edi]                  ; 4: may fault
    add ecx, ebx                    ; 5
    xor edx, edx                    ; 6
    cmp ecx, edx                    ; 7
    rdtsc
    sub eax, esi
    pop edi
    pop esi
    pop ebx
    ret

; ---- MMIO from translated code ----
; void mmio_seq(volatile uint32_t *mmio, uint32_t out[9]): stores, loads
; and a read-modify-write on an unclaimed MMIO address (reads all ones,
; writes go nowhere), then a loop adding an MMIO dword 50 times.
global mmio_seq
mmio_seq:
    pushad
    mov edi, [esp + 36]
    mov ebp, [esp + 40]
    mov eax, 0x12345678
    mov ecx, 5
    mov esi, 0x55
    cmp esi, 0x56                   ; CF SF AF PF, kept across the two exits
    mov [edi], eax                  ; dropped
    mov ebx, [edi]                  ; 0xffffffff
    lahf
    mov [ebp + 32], eax
    mov eax, 0x12345678
    add [edi], ecx                  ; 0xffffffff + 5 = 4: CF AF
    lahf                            ; AH = SF ZF AF PF CF of the add
    mov [ebp + 0], eax
    add ecx, [edi]                  ; 5 + 0xffffffff = 4
    mov [ebp + 4], ebx
    mov [ebp + 8], ecx
    movzx edx, byte [edi + 3]       ; 0xff
    mov [ebp + 12], edx
    mov byte [edi + 1], 0x77        ; dropped
    mov [ebp + 16], esi
    xor edx, edx
    mov ecx, 50
.loop:
    add edx, [edi + 8]
    dec ecx
    jnz .loop
    mov [ebp + 20], edx             ; -50
    mov [ebp + 24], edi
    mov [ebp + 28], ecx
    popad
    ret

; uint32_t scratch_loop(uint32_t n): writes the low byte of n..1 to the
; UART scratch register (port 0x3ff) and sums what reads back.
global scratch_loop
scratch_loop:
    push ebx
    mov ecx, [esp + 8]
    xor ebx, ebx
    mov dx, 0x3ff
.loop:
    mov al, cl
    out dx, al
    xor eax, eax
    in al, dx
    add ebx, eax
    dec ecx
    jnz .loop
    mov eax, ebx
    pop ebx
    ret

; ---- interrupts in tight loops ----
; uint32_t irq_spin(volatile uint32_t *flag, uint32_t *twice): with IF on,
; counts until *flag is set (by the IRQ 0 handler); *twice gets the
; second counter, which must be exactly twice the first.
global irq_spin
irq_spin:
    push ebx
    mov ebx, [esp + 8]
    xor ecx, ecx
    xor edx, edx
    sti
.loop:
    inc ecx
    add edx, 2
    cmp dword [ebx], 0
    je .loop
    cli
    mov eax, [esp + 12]
    mov [eax], edx
    mov eax, ecx
    pop ebx
    ret

; uint32_t smc_irq_loop(void): with IF on, spins until its own immediate
; (smc_irq_imm, patched by the IRQ 0 handler) is non-zero; returns the
; number of rounds.
global smc_irq_loop, smc_irq_imm
smc_irq_loop:
    xor ecx, ecx
    sti
smc_irq_spin:
    inc ecx
    db 0xb8                         ; mov eax, imm32
smc_irq_imm:
    dd 0
    test eax, eax
    jz smc_irq_spin
    cli
    mov eax, ecx
    ret

; void jmp_self(void): sti; jmp $ - the IRQ 0 handler moves the return
; EIP from jmp_self_spin to jmp_self_out.
global jmp_self, jmp_self_spin, jmp_self_out
jmp_self:
    sti
jmp_self_spin:
    jmp jmp_self_spin
jmp_self_out:
    cli
    ret

; ---- control transfers to the very next instruction (ring 3) ----
; Entered by ring3_enter on a stack page the user TLB does not hold, so
; the transfer's stack access is the page's first: translated code takes
; its slow path (the interpreter) for it.  u_out[0] = ESP difference
; across the pair (0 when right), u_out[1] = what the POP after a CALL read
; (the return address).  INT 0x80 goes back to ring 0.
global user_call_next, user_call_next_ret, user_ret_next, user_ret_next_after
global user_callr_next, user_callr_next_ret
user_call_next:
    mov edx, esp
    call user_call_next_ret
user_call_next_ret:
    pop dword [u_out + 4]
    sub edx, esp
    mov [u_out + 0], edx
    int 0x80

; ESP points at the address of user_ret_next_after, the next instruction.
user_ret_next:
    mov edx, esp
    add edx, 4
    ret
user_ret_next_after:
    sub edx, esp
    mov [u_out + 0], edx
    int 0x80
; The words above the return address point here: a RET run twice ends up
; here and reports its ESP instead of running off into the stack.
global user_ret_runaway
user_ret_runaway:
    sub edx, esp
    mov [u_out + 0], edx
    mov dword [u_out + 4], 0xbad0bad0
    int 0x80

user_callr_next:
    mov edx, esp
    mov ecx, user_callr_next_ret
    call ecx
user_callr_next_ret:
    pop dword [u_out + 4]
    sub edx, esp
    mov [u_out + 0], edx
    int 0x80

; ---- single-step over code that is translated ----
; void tf_body(void): five instructions, run hot without TF, then by
; tf_run with TF set: each must trap (#DB) with EIP at the next one.
global tf_body, tf_after_mov, tf_after_add, tf_after_inc, tf_after_mov2, tf_run, tf_ret_addr
tf_body:
    mov eax, 1
tf_after_mov:
    add eax, 2
tf_after_add:
    inc eax
tf_after_inc:
    mov ecx, eax
tf_after_mov2:
    ret

tf_run:
    pushfd
    or dword [esp], 0x100
    popfd
    call tf_body
tf_ret_addr:
    pushfd
    and dword [esp], ~0x100
    popfd
    ret

; uint32_t pop_ds_load(uint32_t sel, uint32_t off): DS = sel by POP DS
; inside a block, the dword at DS:off, DS = flat by POP DS.
global pop_ds_load
pop_ds_load:
    mov ecx, [esp + 4]
    mov edx, [esp + 8]
    push ecx
    pop ds
    mov eax, [edx]
    push dword SEL_DATA32
    pop ds
    ret

; ---- accessed and dirty bits from translated accesses ----
; void ad_rw(volatile uint32_t *p, uint32_t write): reads p[0], then
; (write != 0) stores it to p[1] - the TLB entry comes from the read.
global ad_rw
ad_rw:
    mov ecx, [esp + 4]
    mov edx, [esp + 8]
    mov eax, [ecx]
    test edx, edx
    jz .done
    mov [ecx + 4], eax
.done:
    ret

; ---- a translation made at CPL 0 and run at CPL 3 ----
; uint32_t priv_read(volatile uint32_t *p): *p + 1.
global priv_read, priv_read_load, user_priv_read
priv_read:
    mov ecx, [esp + 4]
priv_read_load:
    mov eax, [ecx]
    add eax, 1
    ret
; Ring 3: priv_read(u_out[3]) into u_out[0], INT 0x80.
user_priv_read:
    push dword [u_out + 12]
    call priv_read
    add esp, 4
    mov [u_out + 0], eax
    int 0x80

; ---- the same code through CS bases 0 and 0x1000 (both 4 GiB limits) ----
; Far-called: returns in EAX the CS-relative EIP of eip_probe_ret.
global eip_probe, eip_probe_ret
eip_probe:
    call eip_probe_pop
eip_probe_ret:
    ud2
eip_probe_pop:
    pop eax
    retf

; ---- a hot function running off the end of its page into the next one
; (fetch_page_b, alone on its page, is taken away: #PF on the fetch) ----
align 4096
fetch_page_a:
    times 0xff0 db 0xcc
global fetch_fn, fetch_page_b
; uint32_t fetch_fn(void): 0x7f + 0x81 (AF PF), then + 1 on the next page.
fetch_fn:
    mov eax, 0x7f
    add eax, 0x81
    times 0x1000 - ($ - fetch_page_a) nop
fetch_page_b:
    add eax, 1
    ret
align 4096

; ---- a hot function alone on its page (for a patch through an alias) ----
align 4096
global alias_func, alias_imm
alias_func:
    db 0xb8                         ; mov eax, imm32
alias_imm:
    dd 0x66666666
    add eax, 2
    ret
align 4096

; ---- recovery: a C handler sends faults that end a test here ----
global test_recover
test_recover:
    mov esp, [test_esp]
    mov dword [esp + 28], 0xffffffff    ; the caller's EAX after popad
    popad
    ret

; uint32_t far_call(uint32_t sel, uint32_t off): far call, returns EAX.
global far_call
far_call:
    pushad
    mov [test_esp], esp
    mov eax, [esp + 36]
    mov [far_ptr + 4], eax
    mov eax, [esp + 40]
    mov [far_ptr], eax
    call far [far_ptr]
    mov [esp + 28], eax
    popad
    ret

; void far_jump(uint32_t sel, uint32_t off): EAX = 0xffffffff,
; ECX = 0xaaaaaaaa, far jump; comes back through test_recover.
global far_jump
far_jump:
    pushad
    mov [test_esp], esp
    mov eax, [esp + 36]
    mov [far_ptr + 4], eax
    mov eax, [esp + 40]
    mov [far_ptr], eax
    mov eax, 0xffffffff
    mov ecx, 0xaaaaaaaa
    jmp far [far_ptr]

; ---- the same bytes as 32-bit and as 16-bit code ----
; 32-bit: mov eax,0x00eb1234 / mov cx,0x5678 / xor al,0x12 / inc eax / ud2
; 16-bit: mov ax,0x1234 / jmp $+2 / mov ecx,0x12345678 / inc ax / ud2
align 16
global mode_code
mode_code:
    db 0xb8, 0x34, 0x12, 0xeb, 0x00
    db 0x66, 0xb9, 0x78, 0x56, 0x34, 0x12
    db 0x40
    db 0x0f, 0x0b

; ---- segments with a base or a limit in hot loops ----
; uint32_t fs_sum(uint32_t sel, uint32_t off, uint32_t n): FS = sel, adds
; the dword at FS:off n times, FS back to flat.
global fs_sum
fs_sum:
    mov eax, [esp + 4]
    mov fs, ax
    mov edx, [esp + 8]
    mov ecx, [esp + 12]
    xor eax, eax
.loop:
    add eax, [fs:edx]
    dec ecx
    jnz .loop
    mov dx, SEL_DATA32
    mov fs, dx
    ret

; uint32_t ds_walk(uint32_t sel, uint32_t off, uint32_t n): DS = sel, adds
; the dwords at DS:off, off+4, ... (n of them); EBX counts them.  A #GP
; comes back through test_recover (the C handler restores DS).
global ds_walk, ds_walk_load
ds_walk:
    pushad
    mov [test_esp], esp
    mov eax, [esp + 36]
    mov edx, [esp + 40]
    mov ecx, [esp + 44]
    mov ds, ax
    xor eax, eax
    xor ebx, ebx
ds_walk_load:
    add eax, [edx]
    add edx, 4
    inc ebx
    dec ecx
    jnz ds_walk_load
    mov [ss:esp + 28], eax
    mov ax, SEL_DATA32
    mov ds, ax
    popad
    ret

; ---- a 16-bit stack ----
; uint32_t stack_run(uint32_t ss_sel, uint32_t esp, uint32_t n, uint32_t *esp_after):
; on SS:ESP, n rounds of PUSH/PUSH imm/CALL/POP/POP and a callee that pops
; its return address and argument and pushes them back before RET.
; Returns the sum over c = n..1 of 0x1234 + c.
global stack_run, stack_run_ret
stack_run:
    pushad
    mov [test_esp], esp
    mov eax, [esp + 48]
    mov [s16_outp], eax
    mov eax, [esp + 36]
    mov ebx, [esp + 40]
    mov ecx, [esp + 44]
    mov ss, ax
    mov esp, ebx
    xor edx, edx
stack_run_loop:
    push ecx
    push dword 0x1234
    call stack_callee
stack_run_ret:
    pop ebx
    add edx, ebx
    pop ecx
    dec ecx
    jnz stack_run_loop
    mov eax, [s16_outp]
    mov [eax], esp
    mov ax, SEL_DATA32
    mov ss, ax
    mov esp, [test_esp]
    mov [esp + 28], edx
    popad
    ret

stack_callee:
    pop eax
    pop ebx
    add ebx, ecx
    push ebx
    push eax
    ret

; ---- ring 3: a PUSH and a RET whose stack page is not present ----
; Entered by ring3_enter with ESP at the top of the test page; INT 0x80
; goes back to ring 0.
global user_push_seq, user_push_at
user_push_seq:
    mov eax, 0xa5a5a5a5
    mov ebx, 0x10
    mov ecx, 0xffffffff
    mov edx, 0x7
    mov esi, 0x3333
    mov edi, 0x4444
    mov ebp, 0x5555
    inc ecx                         ; 0: ZF PF AF
    sub edx, ebx                    ; 0xfffffff7: CF SF
user_push_at:
    push eax
    push edx
    pop ecx
    pop ebx
    mov [u_out + 0], ebx
    mov [u_out + 4], ecx
    mov [u_out + 8], esp
    int 0x80

; ESP points at a return address (user_ret_back) on the test page.
global user_ret_seq, user_ret_at, user_ret_back
user_ret_seq:
    mov eax, 0x7fffffff
    mov ebx, 0x22
    mov ecx, 0x33
    mov edx, 0x44
    mov esi, 0x55
    mov edi, 0x66
    mov ebp, 0x77
    add eax, 1                      ; 0x80000000: OF SF AF PF
user_ret_at:
    ret
    ud2                             ; not the next insn: ret_to_next_insn covers that
user_ret_back:
    mov [u_out + 0], esp
    mov [u_out + 4], eax
    int 0x80

; ---- a block ending where a translated jump target would pass CS.limit ----
; Called far through a flat CS (translated) and through a CS whose limit
; ends with this page: the JMP / Jcc to the next page must #GP.
section .text
align 4096
global cslim_jmp_fn, cslim_jmp, cslim_jcc_fn, cslim_jcc
cslim_page:
    times 0xf00 db 0xcc
cslim_jmp_fn:
    mov eax, 1
cslim_jmp:
    jmp cslim_far1
cslim_jcc_fn:
    xor eax, eax
    mov eax, 3
cslim_jcc:
    je cslim_far2
    mov eax, 4
    retf
    times 0x1040 - ($ - cslim_page) db 0xcc
cslim_far1:
    mov eax, 2
    retf
cslim_far2:
    mov eax, 5
    retf

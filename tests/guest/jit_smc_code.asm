; Guest code for jit_smc.c: code that patches code that is hot, hence
; translated.  Each patching routine takes the address to store to: most
; calls store to a data word (so the code stays hot and gets translated
; under the default threshold of 50 runs), then one stores into the code.
bits 32

section .text

; uint32_t smc_same_block(uint32_t *dst, uint32_t v): stores v to *dst,
; then, later in the same straight-line block, runs "mov ecx, imm32"
; (dst = smc_same_imm patches that immediate) and returns ECX.
global smc_same_block, smc_same_imm
smc_same_block:
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], eax
    add eax, 0
    nop
    db 0xb9                         ; mov ecx, imm32
smc_same_imm:
    dd 0x11111111
    mov eax, ecx
    ret

; uint32_t smc_next_byte(uint8_t *dst, uint32_t v): a byte store whose
; target (smc_next_imm) is the immediate of the very next instruction.
global smc_next_byte, smc_next_imm
smc_next_byte:
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], al
    db 0xb1                         ; mov cl, imm8
smc_next_imm:
    db 0x00
    movzx eax, cl
    ret

; uint32_t smc_chain_a(uint32_t *dst, uint32_t v): block A stores, then
; jumps to block B, whose immediate (smc_chain_imm) it may have patched.
; Returns B's immediate + 1.
global smc_chain_a, smc_chain_imm
smc_chain_a:
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], eax
    jmp smc_chain_b
    times 64 db 0xcc
smc_chain_b:
    db 0xb8                         ; mov eax, imm32
smc_chain_imm:
    dd 0x22222222
    add eax, 1
    ret

; uint32_t smc_rep_self(const uint8_t src[5], uint8_t *dst): REP MOVSB of
; five bytes, then, in the same block, "mov eax, imm32" at smc_rep_mov
; (dst = smc_rep_mov rewrites the whole instruction).  Returns EAX.
global smc_rep_self, smc_rep_mov
smc_rep_self:
    push esi
    push edi
    mov esi, [esp + 12]
    mov edi, [esp + 16]
    mov ecx, 5
    rep movsb
smc_rep_mov:
    mov eax, 0x33333333
    pop edi
    pop esi
    ret

; void store32(uint32_t *dst, uint32_t v): one 32-bit store (hot, so
; translated), which may cross a page boundary.
global store32
store32:
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], eax
    ret

; ---- a big block patched again and again (its translations fill the
; translated-code cache, which is then flushed) ----
; uint32_t smc_big(const uint32_t *p): imm (at smc_big_imm) + p[0..27],
; a 32-insn block of memory operands, each with its slow path.
align 64
global smc_big, smc_big_imm
smc_big:
    push esi
    mov esi, [esp + 8]
    db 0xb9                         ; mov ecx, imm32
smc_big_imm:
    dd 0
    mov eax, ecx
%assign k 0
%rep 28
    add eax, [esi + k * 4]
%assign k k + 1
%endrep
    pop esi
    ret

; ---- hot code on one page patched by code on another ----
align 4096
global smc_p1_call
; uint32_t smc_p1_call(uint32_t *dst, uint32_t v): stores v, then calls
; the function on the next page (dst = smc_p2_imm patches it).
smc_p1_call:
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], eax
    call smc_p2_func
    ret

align 4096
global smc_p2_func, smc_p2_imm
smc_p2_func:
    db 0xb8                         ; mov eax, imm32
smc_p2_imm:
    dd 0x44444444
    ret

; ---- code across page boundaries: three pages, each function placed
; so that it runs from the end of one page into the next ----
align 4096
cross_p0:
    times 0xff0 - ($ - cross_p0) db 0xcc
; uint32_t smc_cross2(void): "add al, X" ends page 0, "sub al, Y" starts
; page 1: a dword store at smc_cross2_patch (the last byte of page 0)
; rewrites X, the SUB opcode, Y and the RET.  Returns (X - Y) & 0xff.
global smc_cross2, smc_cross2_patch
smc_cross2:
    xor eax, eax
    times 0xffe - ($ - cross_p0) nop
    db 0x04                         ; add al, imm8
smc_cross2_patch:
    db 0x10
    db 0x2c, 0x01                   ; sub al, 1 (page 1)
    ret

cross_p1:
    times 0x1ff0 - ($ - cross_p0) db 0xcc
; uint32_t smc_cross_straddle(void): "mov eax, imm32" straddles pages 1
; and 2 (its immediate at smc_straddle_imm, two bytes in each page), then
; adds 7.
global smc_cross_straddle, smc_straddle_imm
smc_cross_straddle:
    mov ecx, 7
    times 0x1ffd - ($ - cross_p0) nop
    db 0xb8
smc_straddle_imm:
    dd 0x55555555
    add eax, ecx
    ret

    times 0x2ff0 - ($ - cross_p0) db 0xcc
; uint32_t loop_cross(uint32_t n): a loop whose body has "mov edx, imm32"
; straddling pages 2 and 3.  Returns n * (3 + 0x01020304).
global loop_cross
loop_cross:
    mov ecx, [esp + 4]
    xor eax, eax
.loop:
    add eax, 3
    times 0x2ffc - ($ - cross_p0) nop
    mov edx, 0x01020304
    add eax, edx
    dec ecx
    jnz .loop
    ret

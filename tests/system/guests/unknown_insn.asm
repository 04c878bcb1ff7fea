; unknown_insn.asm - runs an SSE instruction the soft CPU does not know: the
; guest must get #UD, whose handler reports through debug-exit (status 11).
%include "multiboot.inc"
_start:
    mov eax, ud_handler
    mov [idt + 6 * 8], ax
    mov word [idt + 6 * 8 + 2], 0x10    ; the boot code selector
    mov word [idt + 6 * 8 + 4], 0x8E00  ; present, DPL 0, 32-bit interrupt gate
    shr eax, 16
    mov [idt + 6 * 8 + 6], ax
    lidt [idtr]
    movaps xmm0, xmm1
    mov al, 1                           ; not reached: status 3
    out 0xf4, al
    hlt
ud_handler:
    mov al, 5                           ; status (5 << 1) | 1 = 11
    out 0xf4, al
    cli
    hlt
idtr:
    dw 32 * 8 - 1
    dd idt
align 8
idt:
    times 32 dq 0

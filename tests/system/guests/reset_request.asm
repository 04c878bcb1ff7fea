; reset_request.asm - takes an INT 0x42, a #UD (handled: the handler skips
; the UD2) and another INT 0x42, then pulses the reset line through the
; keyboard controller (command 0xFE), as Linux does to reboot after a panic.
; morph stops with status 0 and prints those three events.
%include "multiboot.inc"
_start:
    mov esp, stack_top
    mov eax, ud_handler
    mov ebx, 6
    call set_gate
    mov eax, int_handler
    mov ebx, 0x42
    call set_gate
    lidt [idtr]
    int 0x42
    ud2
    int 0x42
    mov al, 0xfe
    out 0x64, al
    mov al, 1                           ; not reached: status 3
    out 0xf4, al
    cli
    hlt
; eax: handler, ebx: vector -> a present DPL-0 32-bit interrupt gate
set_gate:
    mov [idt + ebx * 8], ax
    mov word [idt + ebx * 8 + 2], 0x10  ; the boot code selector
    mov word [idt + ebx * 8 + 4], 0x8E00
    shr eax, 16
    mov [idt + ebx * 8 + 6], ax
    ret
ud_handler:
    add dword [esp], 2                  ; resume after the UD2
    iret
int_handler:
    iret
idtr:
    dw 0x43 * 8 - 1
    dd idt
align 8
idt:
    times 0x43 dq 0
    times 1024 db 0
stack_top:

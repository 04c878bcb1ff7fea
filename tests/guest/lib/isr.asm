; 256 interrupt entry stubs. Each pushes a dummy error code when the CPU
; pushes none, then the vector, so every handler sees one frame layout
; (struct int_frame in idt.h).
bits 32
section .text
extern idt_dispatch

%macro STUB 1
isr_stub_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17)
%else
    push dword 0
%endif
    push dword %1
    jmp isr_common
%endmacro

%assign i 0
%rep 256
STUB i
%assign i i+1
%endrep

isr_common:
    pusha
    push ds
    push es
    push fs
    push gs
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    cld
    push esp                        ; struct int_frame *
    call idt_dispatch
    add esp, 4
    pop gs
    pop fs
    pop es
    pop ds
    popa
    add esp, 8                      ; vector, error code
    iret

section .rodata
global isr_stub_table
isr_stub_table:
%assign i 0
%rep 256
    dd isr_stub_ %+ i
%assign i i+1
%endrep

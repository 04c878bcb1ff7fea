; idle.asm - masks every PIC line and halts with interrupts enabled, forever:
; a CPU that only the console's escapes (or a signal) can reach.
%include "multiboot.inc"
_start:
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    sti
.sleep:
    hlt
    jmp .sleep

; halt_cli.asm - prints a line on COM1, then halts with interrupts off: the
; machine has stopped and morph ends with status 0.
%include "multiboot.inc"
_start:
    mov esi, msg
.next:
    lodsb
    test al, al
    jz .done
    mov dx, 0x3f8
    out dx, al
    jmp .next
.done:
    cli
    hlt
msg:
    db "stopping now", 10, 0

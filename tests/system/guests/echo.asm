; echo.asm - copies COM1 input to COM1 output by polling LSR, forever; a '!'
; ends the guest through debug-exit with status (2 << 1) | 1 = 5.  Interrupts
; stay enabled (with nothing unmasked) so only morph's escapes or a signal
; can stop it otherwise.  It does not touch the FIFO control register: a
; FIFO clear drops what the host already delivered, as on the chip.
%include "multiboot.inc"
_start:
.poll:
    mov dx, 0x3fd
    in al, dx
    test al, 1
    jz .poll
    mov dx, 0x3f8
    in al, dx
    cmp al, '!'
    je .bye
    out dx, al
    jmp .poll
.bye:
    mov al, 2
    out 0xf4, al
    hlt

; triple_fault.asm - divides by zero with an empty IDT: #DE cannot be
; delivered, nor can the #DF that follows, so the CPU shuts down.
%include "multiboot.inc"
_start:
    lidt [null_idtr]
    xor ecx, ecx
    div ecx
    hlt
null_idtr:
    dw 0
    dd 0

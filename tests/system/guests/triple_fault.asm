; triple_fault.asm - divides by zero with an empty IDT: #DE cannot be
; delivered, nor can the #DF that follows, so the CPU shuts down.
bits 32
section .text
align 4
    dd 0x1BADB002, 0, -0x1BADB002       ; Multiboot header, no flags
global _start
_start:
    lidt [null_idtr]
    xor ecx, ecx
    div ecx
    hlt
null_idtr:
    dw 0
    dd 0

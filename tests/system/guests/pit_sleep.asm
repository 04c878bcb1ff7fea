; pit_sleep.asm - sleeps half a second of guest time in HLT: the PIT ticks
; at 100 Hz (channel 0, mode 2) and the guest halts until it counted 50
; ticks, then ends through debug-exit with status (0 << 1) | 1 = 1.  Nearly
; all of its guest time is spent halted, so morph must let it pass in wall
; time while the CPU waits (the monitor's HLT path advancing idle time).
%include "multiboot.inc"
_start:
    lgdt [gdt_desc]
    jmp 0x08:.flat
.flat:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, stack_top
    ; IDT entry 0x20: 32-bit interrupt gate to tick
    mov eax, tick
    mov [idt + 0x20 * 8], ax
    mov word [idt + 0x20 * 8 + 2], 0x08
    mov word [idt + 0x20 * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + 0x20 * 8 + 6], ax
    lidt [idt_desc]
    ; master PIC: vectors 0x20-0x27, only IRQ 0 unmasked; slave masked
    mov al, 0x11
    out 0x20, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    ; PIT channel 0, lobyte/hibyte, mode 2, 11932 (100 Hz)
    mov al, 0x34
    out 0x43, al
    mov ax, 11932
    out 0x40, al
    mov al, ah
    out 0x40, al
    sti
.wait:
    hlt
    cmp dword [ticks], 50
    jb .wait
    cli
    mov al, 0
    out 0xf4, al
    hlt

tick:
    push eax
    inc dword [ticks]
    mov al, 0x20
    out 0x20, al
    pop eax
    iret

section .data
align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff       ; 0x08: flat 32-bit code
    dq 0x00cf92000000ffff       ; 0x10: flat data
gdt_desc:
    dw 3 * 8 - 1
    dd gdt
idt_desc:
    dw 256 * 8 - 1
    dd idt
ticks:
    dd 0

section .bss
align 8
idt:
    resb 256 * 8
    resb 4096
stack_top:

; Multiboot v1 entry for every guest program: header, our own GDT, a stack,
; then guest_main(); its return value goes to the debug-exit port.
bits 32

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00000003            ; page-align modules, want memory info
section .multiboot
align 4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .data
align 8
global gdt, gdt_end
; Selectors are fixed (see gdt.h).
gdt:
    dq 0                            ; 0x00 null
    dq 0x00CF9A000000FFFF           ; 0x08 code32 flat, ring 0
    dq 0x00CF92000000FFFF           ; 0x10 data32 flat read/write
    dq 0x00009A000000FFFF           ; 0x18 code16, base 0, limit 64K
    dq 0x000092000000FFFF           ; 0x20 data16, base 0, limit 64K
    dq 0x00CF90000000FFFF           ; 0x28 data32 flat read-only
    dq 0x00CF12000000FFFF           ; 0x30 data32 not present
    dq 0x0040920000000FFF           ; 0x38 data32 byte-granular, limit 0xFFF
    dq 0x00CFFA000000FFFF           ; 0x40 user code32 flat, DPL 3
    dq 0x00CFF2000000FFFF           ; 0x48 user data32 flat, DPL 3
    dq 0                            ; 0x50 TSS, filled in at run time
    times 16 dq 0                   ; 0x58-0xD0 spare, filled in by programs (gdt.h)
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt

section .bss
align 16
stack_bottom:
    resb 32768
global stack_top
stack_top:

section .text
global _start
extern guest_main
extern debug_exit
_start:
    cli
    mov esp, stack_top
    mov [mb_magic], eax
    mov [mb_info], ebx
    lgdt [gdtr]
    jmp 0x08:.reload
.reload:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    cld
    push dword [mb_info]
    push dword [mb_magic]
    call guest_main
    push eax
    call debug_exit
.halt:
    cli
    hlt
    jmp .halt

section .data
global mb_magic, mb_info
mb_magic: dd 0
mb_info:  dd 0

; Real-mode trampoline for realmode.elf, copied to 0x8000 and entered from
; 32-bit protected mode with a far jump to the 16-bit code segment 0x18.
; It drops to real mode, runs a software interrupt through an IVT entry it
; installs and a far call, stores the results, and returns to protected mode.
; Slots at 0x8010 are shared with realmode.c (struct tramp_slots).
bits 16
org 0x8000

SEL_CODE32 equ 0x08
SEL_DATA32 equ 0x10
SEL_DATA16 equ 0x20

    jmp entry16
    times 0x10 - ($ - $$) db 0
saved_esp:   dd 0                   ; 0x8010, written by tramp_run
ret_addr:    dd 0                   ; 0x8014, written by tramp_run
res_int:     dd 0                   ; 0x8018  AX after INT 0x40 (0x1234 in)
res_farcall: dd 0                   ; 0x801C  CS seen by the far-called routine
res_cr0:     dd 0                   ; 0x8020  CR0 in real mode
res_segread: dd 0                   ; 0x8024  word read through ES=0x0800
res_int_cs:  dd 0                   ; 0x8028  CS pushed by INT 0x40

entry16:                            ; 16-bit protected mode, CS = 0x18 (base 0)
    mov ax, SEL_DATA16              ; 64 KiB limits for the real-mode segments
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    lidt [ivt_ptr]
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    jmp 0x0000:real_entry

real_entry:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov sp, 0x7C00
    mov eax, cr0
    mov [res_cr0], eax

    mov word [0x40 * 4], int40
    mov word [0x40 * 4 + 2], 0
    mov ax, 0x1234
    int 0x40
    mov [res_int], ax

    call 0x0800:(far_func - 0x8000)
    mov [res_farcall], ax

    mov ax, 0x0800                  ; linear 0x8000 + 0x10 = saved_esp
    mov es, ax
    mov ax, [es:0x0014 + 2]         ; high word of ret_addr
    mov [res_segread], ax

    cli
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword SEL_CODE32:pm_back

int40:
    inc ax
    push bp
    mov bp, sp
    mov bx, [bp + 4]                ; pushed CS (IP at +2)
    mov [res_int_cs], bx
    pop bp
    iret

far_func:
    mov ax, cs
    retf

ivt_ptr:
    dw 0x3FF
    dd 0

bits 32
pm_back:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, [saved_esp]
    jmp [ret_addr]

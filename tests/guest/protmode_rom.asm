; Firmware ROM test for `morph run --bios`: a raw 64 KiB image. The CPU starts
; in real mode at the reset vector (CS base 0xFFFF0000, IP 0xFFF0); the ROM is
; mapped at the top of 4 GiB and also at 0xF0000-0xFFFFF. We print over COM1
; in real mode, use real-mode interrupts through the IVT, switch to 32-bit
; protected mode and check the ROM's two mappings, then exit through port 0xf4.
; Offsets in this file equal offsets in segment F000 (low alias).

ROM_LOW  equ 0x000F0000
ROM_HIGH equ 0xFFFF0000
COM1     equ 0x3F8
STACK    equ 0x7000

%macro PUTC_BODY 0                  ; al = character; polls LSR.THRE first
    push edx
    push eax
    mov dx, COM1 + 5
%%wait:
    in al, dx
    test al, 0x20
    jz %%wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
%endmacro

bits 16
section .text start=0
start16:
    cli
    xor ax, ax
    mov ss, ax
    mov sp, STACK
    mov ax, cs                      ; 0xF000 after the far jump from the reset vector
    mov ds, ax
    cld
    call uart_init16
    mov si, msg_hello
    call puts16

    ; A software interrupt through an IVT entry we install.
    xor ax, ax
    mov es, ax
    mov word [es:0x40*4], int40_handler
    mov word [es:0x40*4+2], cs
    mov ax, 0x1234
    int 0x40
    cmp ax, 0x1235
    jne .int_bad
    mov si, msg_int_ok
    jmp .int_done
.int_bad:
    mov si, msg_int_bad
    inc byte [es:fail_count]
.int_done:
    call puts16

    ; #DE in real mode: vector 0 through the IVT, pushed IP = the div.
    mov word [es:0], de_handler
    mov word [es:2], cs
    mov byte [es:de_seen], 0
    xor bl, bl
    mov ax, 100
de_insn:
    div bl                          ; 2 bytes; the handler skips it
    cmp byte [es:de_seen], 1
    jne .de_bad
    mov si, msg_de_ok
    jmp .de_done
.de_bad:
    mov si, msg_de_bad
    inc byte [es:fail_count]
.de_done:
    call puts16

    ; Into protected mode.
    o32 lgdt [cs:gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:(ROM_LOW + pm32)

int40_handler:
    inc ax
    iret

de_handler:
    push bp
    mov bp, sp
    cmp word [bp+2], de_insn
    jne .wrong
    mov byte [es:de_seen], 1
    jmp .skip
.wrong:
    mov byte [es:de_seen], 2
.skip:
    add word [bp+2], 2
    pop bp
    iret

uart_init16:
    mov dx, COM1 + 1
    xor al, al
    out dx, al                      ; IER = 0
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                      ; DLAB
    mov dx, COM1
    mov al, 1
    out dx, al                      ; divisor 1
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al                      ; 8N1
    mov dx, COM1 + 2
    mov al, 0xC7
    out dx, al                      ; FIFOs
    mov dx, COM1 + 4
    mov al, 0x0B
    out dx, al                      ; DTR RTS OUT2
    ret

putc16:
    PUTC_BODY
    ret

puts16:                             ; ds:si
    lodsb
    test al, al
    jz .done
    call putc16
    jmp puts16
.done:
    ret

; Variables in low RAM (segment 0).
fail_count equ 0x6000
de_seen    equ 0x6001

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK
    mov esi, ROM_LOW + msg_pm
    call puts32

    mov eax, cr0
    test al, 1
    mov esi, ROM_LOW + msg_pe_ok
    jnz .pe_ok
    mov esi, ROM_LOW + msg_pe_bad
    inc byte [fail_count]
.pe_ok:
    call puts32

    ; The same bytes through both mappings.
    mov eax, [ROM_LOW + signature]
    mov ebx, [ROM_HIGH + signature]
    mov esi, ROM_LOW + msg_alias_ok
    cmp eax, 0x4D524F4D             ; "MORM"
    jne .alias_bad
    cmp eax, ebx
    je .alias_done
.alias_bad:
    mov esi, ROM_LOW + msg_alias_bad
    inc byte [fail_count]
.alias_done:
    call puts32

    ; Run code from the high mapping, then come back.
    mov eax, ROM_HIGH + high_code
    jmp eax
high_code:
    call .here
.here:
    pop eax
    cmp eax, ROM_HIGH + high_code.here
    mov esi, ROM_LOW + msg_high_ok
    je .high_done
    mov esi, ROM_LOW + msg_high_bad
    inc byte [fail_count]
.high_done:
    call puts32
    mov eax, ROM_LOW + back_low
    jmp eax
back_low:

    ; ROM is read-only: a write is dropped.
    mov byte [ROM_HIGH + signature], 0x55
    mov al, [ROM_HIGH + signature]
    mov esi, ROM_LOW + msg_ro_ok
    cmp al, 'M'
    je .ro_done
    mov esi, ROM_LOW + msg_ro_bad
    inc byte [fail_count]
.ro_done:
    call puts32

    ; A data segment with a non-zero base (hidden descriptor cache).
    mov ax, 0x18
    mov ds, ax
    mov eax, [signature]            ; base 0xF0000 + offset
    mov bx, 0x10
    mov ds, bx
    mov esi, ROM_LOW + msg_base_ok
    cmp eax, 0x4D524F4D
    je .base_done
    mov esi, ROM_LOW + msg_base_bad
    inc byte [fail_count]
.base_done:
    call puts32

    ; Exit: 0 = success, 1 = failure.
    xor eax, eax
    cmp byte [fail_count], 0
    je .exit
    mov eax, 1
.exit:
    mov dx, 0xF4
    out dx, eax
.halt:
    hlt
    jmp .halt

putc32:
    PUTC_BODY
    ret

puts32:                             ; esi = linear address
    lodsb
    test al, al
    jz .done
    call putc32
    jmp puts32
.done:
    ret

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08 code32 flat
    dq 0x00CF92000000FFFF           ; 0x10 data32 flat
    dq 0x0040920F0000FFFF           ; 0x18 data32, base 0xF0000, limit 64K
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd ROM_LOW + gdt

signature: db "MORM"

msg_hello:     db "protmode_rom: hello from real mode", 13, 10, 0
msg_int_ok:    db "PASS realmode_int_through_ivt", 13, 10, 0
msg_int_bad:   db "FAIL realmode_int_through_ivt: handler result wrong", 13, 10, 0
msg_de_ok:     db "PASS realmode_divide_error_ivt", 13, 10, 0
msg_de_bad:    db "FAIL realmode_divide_error_ivt: no #DE or wrong IP", 13, 10, 0
msg_pm:        db "PASS real_to_protected_switch", 13, 10, 0
msg_pe_ok:     db "PASS cr0_pe_set", 13, 10, 0
msg_pe_bad:    db "FAIL cr0_pe_set: CR0.PE reads 0", 13, 10, 0
msg_alias_ok:  db "PASS rom_low_and_high_alias", 13, 10, 0
msg_alias_bad: db "FAIL rom_low_and_high_alias: bytes differ", 13, 10, 0
msg_high_ok:   db "PASS execute_from_high_alias", 13, 10, 0
msg_high_bad:  db "FAIL execute_from_high_alias: wrong EIP", 13, 10, 0
msg_ro_ok:     db "PASS rom_read_only", 13, 10, 0
msg_ro_bad:    db "FAIL rom_read_only: a write changed the ROM", 13, 10, 0
msg_base_ok:   db "PASS segment_with_base", 13, 10, 0
msg_base_bad:  db "FAIL segment_with_base: wrong data", 13, 10, 0

; Reset vector: F000:FFF0 (linear 0xFFFFFFF0).
    times 0xFFF0 - ($ - $$) db 0xFF
bits 16
reset:
    jmp 0xF000:start16
    times 0x10000 - ($ - $$) db 0xFF

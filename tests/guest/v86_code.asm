; Code run in virtual-8086 mode by v86.elf, copied to linear 0x2000 and
; entered at 0200:0000 with SS:SP = 0300:1000. Results go to the block at
; offset 0x10 (struct v86_results in v86.c).
bits 16
org 0
    jmp start
    align 16
results:
res_io:        dw 0            ; 0x10 read back from the enabled port 0x3FF
res_io2:       dw 0            ; 0x12 AL after IN from the denied port 0x3FE
res_int:       dw 0            ; 0x14 AX after INT 42h (handler adds 1)
res_ret_ip:    dw 0            ; 0x16 IP the handler found on its stack
res_ret_cs:    dw 0            ; 0x18 CS the handler found
res_ret_flags: dw 0            ; 0x1A FLAGS the handler found
res_hcs:       dw 0            ; 0x1C CS inside the handler
res_hsp:       dw 0            ; 0x1E SP inside the handler (after PUSH BP)
res_sp_before: dw 0            ; 0x20 SP before INT 42h
want_ret_ip:   dw after_int42  ; 0x22
want_exit_at:  dw exit_int     ; 0x24
want_exit_after: dw after_exit ; 0x26
want_handler:  dw handler42    ; 0x28
res_done:      dw 0            ; 0x2A set to 1 just before the exit INT

start:
    mov ax, cs
    mov ds, ax
    mov dx, 0x3FF
    mov al, 0xA5
    out dx, al
    xor ax, ax
    in al, dx
    mov [res_io], ax
    mov dx, 0x3FE
    xor ax, ax
    in al, dx                   ; denied: the monitor emulates it (AL = 77h)
    mov [res_io2], ax
    mov [res_sp_before], sp
    mov ax, 0x1234
    int 0x42
after_int42:
    int 0x44                    ; IOPL 3: its gate has DPL 0, so #GP(44h*8+2)
    mov [res_int], ax
    cli                         ; IOPL-sensitive: #GP unless IOPL 3
    sti
    mov word [res_done], 1
    mov ax, 0x0500
    mov es, ax
    mov ax, 0x0600
    mov fs, ax
    mov ax, 0x0700
    mov gs, ax
    mov ax, 0x0800
    mov ds, ax
exit_int:
    int 0x43                    ; to the monitor for good
after_exit:
    jmp after_exit

handler42:                      ; real-mode handler, reached through IVT[42h]
    push bp
    mov bp, sp
    cmp word [cs:res_hsp], 0
    jne .seen                   ; record the first call (INT 42h) only
    mov bx, [bp + 2]
    mov [cs:res_ret_ip], bx
    mov bx, [bp + 4]
    mov [cs:res_ret_cs], bx
    mov bx, [bp + 6]
    mov [cs:res_ret_flags], bx
    mov bx, cs
    mov [cs:res_hcs], bx
    mov [cs:res_hsp], sp
.seen:
    pop bp
    inc ax
    iret

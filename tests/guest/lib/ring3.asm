; Ring-3 and virtual-8086 entry by IRET, and the way back from a ring-0
; handler (see tss.h).
bits 32
section .text
global ring3_enter, ring3_leave, v86_enter

; void ring3_enter(void (*fn)(void), uint32_t user_esp, uint32_t eflags)
ring3_enter:
    pushad
    mov [kernel_esp], esp
    mov eax, [esp + 36]
    mov ecx, [esp + 40]
    mov edx, [esp + 44]
    push dword 0x4B                 ; SS = user data | 3
    push ecx
    push edx
    push dword 0x43                 ; CS = user code | 3
    push eax
    mov dx, 0x4B
    mov ds, dx
    mov es, dx
    mov fs, dx
    mov gs, dx
    iret

; void v86_enter(const struct v86_regs *r): the nine-dword v86 IRET frame.
v86_enter:
    pushad
    mov [kernel_esp], esp
    mov esi, [esp + 36]
    mov ecx, 9
.copy:
    push dword [esi + ecx * 4 - 4]  ; gs first, eip last
    loop .copy
    iret

ring3_leave:
    mov esp, [kernel_esp]
    mov dx, 0x10
    mov ds, dx
    mov es, dx
    mov fs, dx
    mov gs, dx
    popad
    ret

section .bss
kernel_esp: resd 1

/* IDT with one dispatcher; handlers get the full register frame and may edit it. */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#include <stdint.h>

struct int_frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags;       /* pushed by the CPU */
    uint32_t user_esp, user_ss;     /* only when coming from ring 3 */
    uint32_t v86_es, v86_ds, v86_fs, v86_gs; /* only when coming from virtual-8086 mode */
};

typedef void (*int_handler)(struct int_frame *f);

/* Installs all 256 gates (interrupt gates, DPL 0) and loads IDTR. */
void idt_init(void);
void idt_set_handler(uint8_t vector, int_handler h);
/* Marks a gate present or not present (for nested-fault tests). */
void idt_set_present(uint8_t vector, int present);
/* Sets the gate's DPL (3 lets INT n from user mode through). */
void idt_set_dpl(uint8_t vector, int dpl);
/* Makes the gate a task gate to the TSS selector (present, DPL 0);
 * idt_init turns it back into an interrupt gate. */
void idt_set_task_gate(uint8_t vector, uint16_t tss_sel);
/* Reload IDTR with a different limit (for limit tests); idt_init restores. */
void idt_load_limit(uint16_t limit);

/* Exception catching: arm, run an instruction that may fault, and the
 * default handler records the event and resumes at catch_resume.
 * Use CATCH_ASM(insn) inside an asm statement: it stores the resume and
 * fault addresses and emits the instruction. */
struct caught {
    int hit;
    uint32_t vector, error, eip, cr2;
};
extern volatile uint32_t catch_resume;   /* resume EIP, 0 when disarmed */
extern volatile uint32_t catch_insn;     /* address of the instruction under test */
extern volatile struct caught caught;
void catch_reset(void);

#define CATCH_ASM(insn) \
    "movl $8642f, catch_resume\n\t" \
    "movl $8641f, catch_insn\n\t" \
    "8641: " insn "\n\t" \
    "8642:\n\t"

#endif

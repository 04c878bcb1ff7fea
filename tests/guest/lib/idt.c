#include "idt.h"
#include "gdt.h"
#include "io.h"
#include "printf.h"
#include "test.h"

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
} __attribute__((packed));

struct idt_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

extern const uint32_t isr_stub_table[256];

static struct idt_gate idt[256] __attribute__((aligned(8)));
static int_handler handlers[256];

volatile uint32_t catch_resume;
volatile uint32_t catch_insn;
volatile struct caught caught;

void catch_reset(void)
{
    caught.hit = 0;
    caught.vector = caught.error = caught.eip = caught.cr2 = 0xFFFFFFFF;
}

static const char *const exc_names[] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
    "#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM",
};

static void unexpected(struct int_frame *f)
{
    kprintf("FAIL %s: unexpected interrupt %u (%s) error %x at eip %x cr2 %x\n",
            test_program_name, f->vector, f->vector < 20 ? exc_names[f->vector] : "irq/soft",
            f->error, f->eip, READ_CR(2));
    debug_exit(1);
    for (;;)
        hlt();
}

void idt_dispatch(struct int_frame *f)
{
    if (handlers[f->vector]) {
        handlers[f->vector](f);
        return;
    }
    if (f->vector < 32 && catch_resume) {
        caught.hit++;
        caught.vector = f->vector;
        caught.error = f->error;
        caught.eip = f->eip;
        caught.cr2 = READ_CR(2);
        f->eip = catch_resume;
        catch_resume = 0;
        return;
    }
    unexpected(f);
}

void idt_load_limit(uint16_t limit)
{
    struct idt_ptr p = { limit, (uint32_t)idt };
    __asm__ volatile("lidt %0" : : "m"(p));
}

void idt_init(void)
{
    for (int v = 0; v < 256; v++) {
        uint32_t a = isr_stub_table[v];
        idt[v].off_lo = a & 0xFFFF;
        idt[v].off_hi = a >> 16;
        idt[v].sel = SEL_CODE32;
        idt[v].zero = 0;
        idt[v].type = 0x8E;          /* present, DPL 0, 32-bit interrupt gate */
    }
    idt_load_limit(sizeof(idt) - 1);
}

void idt_set_present(uint8_t vector, int present)
{
    idt[vector].type = (uint8_t)((idt[vector].type & 0x7F) | (present ? 0x80 : 0));
}

void idt_set_dpl(uint8_t vector, int dpl)
{
    idt[vector].type = (uint8_t)((idt[vector].type & ~0x60) | (dpl & 3) << 5);
}

void idt_set_handler(uint8_t vector, int_handler h)
{
    handlers[vector] = h;
}

void idt_set_task_gate(uint8_t vector, uint16_t tss_sel)
{
    idt[vector].off_lo = 0;
    idt[vector].off_hi = 0;
    idt[vector].sel = tss_sel;
    idt[vector].type = 0x85;         /* present, DPL 0, task gate */
}

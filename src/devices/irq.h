/* irq.h - interrupt lines between devices and the interrupt controller.
 *
 * A device holds a struct irq_line and drives it; what is on the other end
 * (the 8259A pair, later an IOAPIC) is wired by the monitor.  Edge-triggered
 * devices pulse the line (raise then lower); level-triggered ones hold it.
 */
#ifndef MORPH_IRQ_H
#define MORPH_IRQ_H

typedef void (*irq_set_fn)(void *opaque, unsigned irq, int level);

struct irq_line {
    irq_set_fn set;   /* NULL: line not connected */
    void *opaque;
    unsigned irq;
};

static inline void irq_set_level(const struct irq_line *l, int level)
{
    if (l->set)
        l->set(l->opaque, l->irq, level);
}

static inline void irq_raise(const struct irq_line *l) { irq_set_level(l, 1); }
static inline void irq_lower(const struct irq_line *l) { irq_set_level(l, 0); }
static inline void irq_pulse(const struct irq_line *l)
{
    irq_set_level(l, 1);
    irq_set_level(l, 0);
}

#endif

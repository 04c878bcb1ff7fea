/* pic.c - the cascaded 8259A pair (Intel 8259A datasheet) plus the ELCR.
 *
 * Priorities: line `priority_base` has the highest priority and the others
 * follow in circular order; rotation just moves priority_base.  Edge-triggered
 * lines latch a rising edge into IRR; level-triggered lines (ICW1 LTIM or the
 * ELCR) make IRR follow the line.  The slave's INT pin drives master line 2.
 */
#include "devices/pic.h"

#include <stdio.h>
#include <string.h>

enum { MASTER = 0, SLAVE = 1, CASCADE_LINE = 2, SPURIOUS_LINE = 7 };

/* ELCR bits that may be set: IRQ 0, 1, 2, 8 and 13 are always edge on a PC. */
static const uint8_t elcr_mask[2] = { 0xF8, 0xDE };

static uint8_t level_lines(const struct pic_chip *c)
{
    return c->level_all ? 0xFF : c->elcr;
}

/* The highest-priority line among `mask`, or -1. */
static int highest_line(const struct pic_chip *c, uint8_t mask)
{
    for (unsigned n = 0; n < 8; n++) {
        unsigned line = (c->priority_base + n) & 7;
        if (mask & (1u << line))
            return (int)line;
    }
    return -1;
}

/* 0 is the highest priority. */
static unsigned priority_of(const struct pic_chip *c, unsigned line)
{
    return (line - c->priority_base) & 7;
}

/* The line this chip would interrupt the CPU for now, or -1. */
static int chip_pending_line(const struct pic_chip *c, bool is_master)
{
    uint8_t requests = c->irr & ~c->imr;
    if (c->special_mask)            /* every unmasked level not itself in service */
        return highest_line(c, requests & ~c->isr);

    int req = highest_line(c, requests);
    if (req < 0)
        return -1;
    int busy = highest_line(c, c->isr);
    if (busy < 0)
        return req;
    unsigned req_prio = priority_of(c, (unsigned)req), busy_prio = priority_of(c, (unsigned)busy);
    if (req_prio < busy_prio)
        return req;
    /* Special fully nested mode: the slave may interrupt again while its
     * cascade line is in service on the master. */
    if (is_master && c->sfnm && !c->single && req == CASCADE_LINE && busy == CASCADE_LINE)
        return req;
    return -1;
}

static void chip_set_line(struct pic_chip *c, unsigned line, bool level)
{
    uint8_t bit = (uint8_t)(1u << line);
    if (level_lines(c) & bit) {
        c->irr = level ? (c->irr | bit) : (c->irr & ~bit);
    } else if (level && !(c->line & bit)) {
        c->irr |= bit;
    }
    c->line = level ? (c->line | bit) : (c->line & ~bit);
}

/* Recompute both INT pins; the slave's feeds master line 2. */
static void pic_update(struct pic *p)
{
    struct pic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
    s->output = chip_pending_line(s, false) >= 0;
    chip_set_line(m, CASCADE_LINE, s->output);
    bool out = chip_pending_line(m, true) >= 0;
    if (out != m->output) {
        m->output = out;
        if (p->intr_changed)
            p->intr_changed(p->intr_opaque, out);
    }
}

/* The chip's part of an acknowledge: IRR to ISR (or automatic EOI). */
static void chip_acknowledge_line(struct pic_chip *c, unsigned line)
{
    uint8_t bit = (uint8_t)(1u << line);
    if (!(level_lines(c) & bit))
        c->irr &= ~bit;
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi)
            c->priority_base = (line + 1) & 7;
    } else {
        c->isr |= bit;
    }
}

uint8_t pic_acknowledge(struct pic *p)
{
    struct pic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
    uint8_t vector;
    int line = chip_pending_line(m, true);
    if (line < 0) {
        vector = m->vector_base + SPURIOUS_LINE;
    } else {
        chip_acknowledge_line(m, (unsigned)line);
        if (line == CASCADE_LINE && !m->single) {
            int sline = chip_pending_line(s, false);
            if (sline < 0) {
                vector = s->vector_base + SPURIOUS_LINE;
            } else {
                chip_acknowledge_line(s, (unsigned)sline);
                vector = s->vector_base + (uint8_t)sline;
            }
        } else {
            vector = m->vector_base + (uint8_t)line;
        }
    }
    pic_update(p);
    return vector;
}

bool pic_intr(const struct pic *p)
{
    return p->chip[MASTER].output;
}

void pic_set_irq(void *opaque, unsigned irq, int level)
{
    struct pic *p = opaque;
    if (irq >= 16)
        return;
    chip_set_line(&p->chip[irq >> 3], irq & 7, level != 0);
    pic_update(p);
}

void pic_set_intr_callback(struct pic *p, void (*fn)(void *opaque, bool level), void *opaque)
{
    p->intr_changed = fn;
    p->intr_opaque = opaque;
}

/* --- command port (A0 = 0) writes: ICW1, OCW2, OCW3 --- */

static void chip_write_icw1(struct pic_chip *c, uint8_t v)
{
    c->icw4_expected = v & 0x01;
    c->single = v & 0x02;
    c->level_all = v & 0x08;
    c->init_step = 2;
    c->imr = 0;
    c->isr = 0;
    /* The edge sense is reset: edge lines need a new rising edge. */
    c->irr = c->line & level_lines(c);
    c->priority_base = 0;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->rotate_on_aeoi = false;
    if (!c->icw4_expected) {
        c->auto_eoi = false;
        c->sfnm = false;
    }
}

static void chip_end_of_interrupt(struct pic_chip *c, int line, bool rotate)
{
    if (line < 0)
        return;
    c->isr &= (uint8_t)~(1u << line);
    if (rotate)
        c->priority_base = (unsigned)(line + 1) & 7;
}

static void chip_write_ocw2(struct pic_chip *c, uint8_t v)
{
    unsigned level = v & 7;
    /* In special mask mode a non-specific EOI leaves masked levels alone. */
    uint8_t eoi_candidates = c->special_mask ? (c->isr & ~c->imr) : c->isr;
    switch (v >> 5) {
    case 0: c->rotate_on_aeoi = false; break;                       /* clear rotate in AEOI */
    case 1: chip_end_of_interrupt(c, highest_line(c, eoi_candidates), false); break;
    case 2: break;                                                  /* no operation */
    case 3: chip_end_of_interrupt(c, (int)level, false); break;     /* specific EOI */
    case 4: c->rotate_on_aeoi = true; break;                        /* set rotate in AEOI */
    case 5: chip_end_of_interrupt(c, highest_line(c, eoi_candidates), true); break;
    case 6: c->priority_base = (level + 1) & 7; break;              /* set priority */
    case 7: chip_end_of_interrupt(c, (int)level, true); break;      /* rotate on specific EOI */
    }
}

static void chip_write_ocw3(struct pic_chip *c, uint8_t v)
{
    if (v & 0x02)
        c->read_isr = v & 0x01;
    if (v & 0x04)
        c->poll = true;
    if (v & 0x40)
        c->special_mask = v & 0x20;
}

static void chip_write_data(struct pic_chip *c, uint8_t v)
{
    switch (c->init_step) {
    case 2:
        c->vector_base = v & 0xF8;
        c->init_step = !c->single ? 3 : c->icw4_expected ? 4 : 0;
        break;
    case 3:
        c->icw3 = v;
        c->init_step = c->icw4_expected ? 4 : 0;
        break;
    case 4:
        c->auto_eoi = v & 0x02;
        c->sfnm = v & 0x10;
        c->init_step = 0;
        break;
    default:
        c->imr = v;                                                 /* OCW1 */
        break;
    }
}

static void pic_write_byte(struct pic *p, unsigned n, unsigned port, uint8_t v)
{
    struct pic_chip *c = &p->chip[n];
    if (port == 1)
        chip_write_data(c, v);
    else if (v & 0x10)
        chip_write_icw1(c, v);
    else if (v & 0x08)
        chip_write_ocw3(c, v);
    else
        chip_write_ocw2(c, v);
    pic_update(p);
}

/* A poll read acts as an acknowledge and returns 0x80 | line, or 0. */
static uint8_t pic_poll(struct pic *p, unsigned n)
{
    struct pic_chip *c = &p->chip[n];
    c->poll = false;
    int line = chip_pending_line(c, n == MASTER);
    if (line < 0)
        return 0;
    chip_acknowledge_line(c, (unsigned)line);
    pic_update(p);
    return 0x80 | (uint8_t)line;
}

static uint8_t pic_read_byte(struct pic *p, unsigned n, unsigned port)
{
    struct pic_chip *c = &p->chip[n];
    if (c->poll)
        return pic_poll(p, n);
    if (port == 1)
        return c->imr;
    return c->read_isr ? c->isr : c->irr;
}

/* --- bus handlers: a wider access touches consecutive ports --- */

static uint64_t chip_read(struct pic *p, unsigned n, uint64_t offset, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t port = offset + i;
        uint8_t b = port < 2 ? pic_read_byte(p, n, (unsigned)port) : 0xFF;
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void chip_write(struct pic *p, unsigned n, uint64_t offset, unsigned size, uint64_t value)
{
    for (unsigned i = 0; i < size && i < 8; i++)
        if (offset + i < 2)
            pic_write_byte(p, n, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
}

static uint64_t master_read(void *o, uint64_t off, unsigned size) { return chip_read(o, MASTER, off, size); }
static uint64_t slave_read(void *o, uint64_t off, unsigned size) { return chip_read(o, SLAVE, off, size); }
static void master_write(void *o, uint64_t off, unsigned size, uint64_t v) { chip_write(o, MASTER, off, size, v); }
static void slave_write(void *o, uint64_t off, unsigned size, uint64_t v) { chip_write(o, SLAVE, off, size, v); }

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pic *p = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t n = offset + i;
        v |= (uint64_t)(n < 2 ? p->chip[n].elcr : 0xFF) << (8 * i);
    }
    return v;
}

static void elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pic *p = opaque;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t n = offset + i;
        if (n >= 2)
            continue;
        struct pic_chip *c = &p->chip[n];
        c->elcr = (uint8_t)(value >> (8 * i)) & c->elcr_mask;
        /* Lines now level-triggered: IRR follows the line from here on. */
        uint8_t lv = level_lines(c);
        c->irr = (c->irr & ~lv) | (c->line & lv);
    }
    pic_update(p);
}

/* --- device lifecycle --- */

void pic_reset(void *opaque)
{
    struct pic *p = opaque;
    for (unsigned n = 0; n < 2; n++) {
        struct pic_chip *c = &p->chip[n];
        uint8_t line = c->line;         /* input levels belong to the devices */
        memset(c, 0, sizeof(*c));
        c->line = line;
        c->imr = 0xFF;                  /* nothing gets through an unprogrammed PIC */
        c->elcr_mask = elcr_mask[n];
    }
    pic_update(p);
}

int pic_init(struct pic *p, struct bus *io, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    pic_reset(p);
    if (bus_register(io, 0x20, 2, "pic-master", p, master_read, master_write, err, errlen) < 0 ||
        bus_register(io, 0xA0, 2, "pic-slave", p, slave_read, slave_write, err, errlen) < 0 ||
        bus_register(io, 0x4D0, 2, "pic-elcr", p, elcr_read, elcr_write, err, errlen) < 0)
        return -1;
    return 0;
}

/* Save format: "PIC1", then per chip 9 register bytes and 2 flag bytes. */
enum { CHIP_BYTES = 11, SAVE_BYTES = 4 + 2 * CHIP_BYTES };
static const uint8_t save_magic[4] = { 'P', 'I', 'C', '1' };

static void chip_save(const struct pic_chip *c, uint8_t *b)
{
    b[0] = c->irr; b[1] = c->isr; b[2] = c->imr; b[3] = c->line; b[4] = c->elcr;
    b[5] = c->vector_base; b[6] = c->icw3; b[7] = c->priority_base; b[8] = c->init_step;
    b[9] = (uint8_t)(c->icw4_expected | c->single << 1 | c->level_all << 2 | c->auto_eoi << 3 |
                     c->sfnm << 4 | c->rotate_on_aeoi << 5 | c->read_isr << 6 | c->poll << 7);
    b[10] = (uint8_t)(c->special_mask | c->output << 1);
}

static int chip_restore(struct pic_chip *c, const uint8_t *b, unsigned n)
{
    if (b[7] > 7 || (b[8] != 0 && (b[8] < 2 || b[8] > 4)) || (b[4] & ~elcr_mask[n]) ||
        (b[5] & 7) || (b[10] & ~3))
        return -1;
    c->irr = b[0]; c->isr = b[1]; c->imr = b[2]; c->line = b[3]; c->elcr = b[4];
    c->elcr_mask = elcr_mask[n];
    c->vector_base = b[5]; c->icw3 = b[6]; c->priority_base = b[7]; c->init_step = b[8];
    c->icw4_expected = b[9] & 1; c->single = b[9] & 2; c->level_all = b[9] & 4;
    c->auto_eoi = b[9] & 8; c->sfnm = b[9] & 16; c->rotate_on_aeoi = b[9] & 32;
    c->read_isr = b[9] & 64; c->poll = b[9] & 128;
    c->special_mask = b[10] & 1; c->output = b[10] & 2;
    return 0;
}

size_t pic_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct pic *p = opaque;
    if (cap < SAVE_BYTES)
        return SAVE_BYTES;
    memcpy(buf, save_magic, 4);
    chip_save(&p->chip[MASTER], buf + 4);
    chip_save(&p->chip[SLAVE], buf + 4 + CHIP_BYTES);
    return SAVE_BYTES;
}

int pic_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct pic *p = opaque;
    struct pic_chip chip[2];
    if (len != SAVE_BYTES || memcmp(buf, save_magic, 4) != 0 ||
        chip_restore(&chip[MASTER], buf + 4, MASTER) < 0 ||
        chip_restore(&chip[SLAVE], buf + 4 + CHIP_BYTES, SLAVE) < 0)
        return -1;
    bool was = p->chip[MASTER].output;
    memcpy(p->chip, chip, sizeof(chip));
    /* Recompute the pins; the CPU side hears of it if INT differs from what it saw. */
    p->chip[MASTER].output = was;
    pic_update(p);
    return 0;
}

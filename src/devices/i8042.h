/* i8042.h - the PS/2 keyboard controller (data port 0x60, status/command
 * port 0x64) with a keyboard behind it; IRQ 1 for keyboard data, IRQ 12 for
 * aux data.
 *
 * Behaviour choices:
 * - The controller processes a write at once, so the input buffer is never
 *   full (status bit 1 always reads 0).
 * - Bytes for the guest wait in two queues: the controller's own (command
 *   replies, 0xD2/0xD3 echoes, aux replies), which goes first, and the
 *   keyboard's, which is held back while the keyboard interface is disabled
 *   (command byte bit 4).  Reading 0x60 empties the output buffer, lowers the
 *   IRQ line and only then loads the next byte, so an edge-triggered PIC sees
 *   one rising edge per byte.  Reading 0x60 when nothing is there returns the
 *   previous byte again.
 * - IRQ 1 (IRQ 12) is high while the output buffer holds keyboard (aux) data
 *   and command byte bit 0 (bit 1) enables it.
 * - The aux port exists but no mouse is attached: 0xA9 passes, 0xA7/0xA8 and
 *   the 0xD3 loop work, and a byte sent to the mouse with 0xD4 is answered by
 *   0xFE with the timeout and aux bits set in the status register, which is
 *   what a controller reports for an absent device; Linux's psmouse then
 *   gives up at once.
 * - Reset line: command 0xFE (and any 0xF0-0xFF pulse command with bit 0
 *   clear) and an output-port write (0xD1) with bit 0 clear call
 *   reset_request.
 * - A20: the output port's bit 1.  It resets to enabled (the state firmware
 *   leaves it in).  The machine ORs it with port 0x92's bit; guest-driven
 *   changes call a20(), reset and restore do not (query i8042_a20()).
 * - The keyboard answers 0xFF reset (FA AA), 0xF2 identify (FA AB 83),
 *   0xED LEDs, 0xF0 scan code set (0 reads it back), 0xF3 typematic,
 *   0xF4/0xF5 enable/disable scanning, 0xF6 defaults, 0xEE echo (EE),
 *   0xFE resend; anything else gets FE.  Scan codes from i8042_key() are
 *   passed through untranslated: the host side produces set 1 codes, which
 *   is what a guest sees with translation on (command byte bit 6, the
 *   default).
 */
#ifndef MORPH_I8042_H
#define MORPH_I8042_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12
#define I8042_QUEUE_SIZE 16

/* Status register bits. */
#define I8042_STR_OBF 0x01
#define I8042_STR_IBF 0x02
#define I8042_STR_SYS 0x04
#define I8042_STR_CMD 0x08      /* last write went to the command port */
#define I8042_STR_UNLOCKED 0x10
#define I8042_STR_AUXDATA 0x20
#define I8042_STR_TIMEOUT 0x40

/* Command byte bits. */
#define I8042_CCB_KBDINT 0x01
#define I8042_CCB_AUXINT 0x02
#define I8042_CCB_SYS 0x04
#define I8042_CCB_KBDDIS 0x10
#define I8042_CCB_AUXDIS 0x20
#define I8042_CCB_XLATE 0x40

/* Output port bits. */
#define I8042_OUT_RESET 0x01    /* 0 asserts the CPU reset line */
#define I8042_OUT_A20 0x02

struct i8042_queue {
    uint8_t data[I8042_QUEUE_SIZE];
    uint8_t flags[I8042_QUEUE_SIZE];    /* status bits that go with the byte */
    uint8_t head, count;
};

/* Guest-visible state; plain bytes (no padding), what save/restore copies. */
struct i8042_state {
    uint8_t ram[32];            /* controller RAM; [0] is the command byte */
    uint8_t out;                /* output buffer */
    uint8_t out_flags;          /* AUXDATA / TIMEOUT of the byte in it */
    uint8_t obf;                /* output buffer full */
    uint8_t last_was_cmd;
    uint8_t outport;
    uint8_t pending_cmd;        /* controller command awaiting its data byte */
    struct i8042_queue ctrl;    /* controller-originated bytes */
    struct i8042_queue kbd;     /* keyboard-originated bytes */
    /* The keyboard. */
    uint8_t kbd_expect;         /* command awaiting its parameter, 0: none */
    uint8_t kbd_scanning;
    uint8_t kbd_leds;
    uint8_t kbd_set;            /* scan code set 1-3 */
    uint8_t kbd_typematic;
    uint8_t kbd_last;           /* last byte sent, for 0xFE resend */
};

struct i8042 {
    struct i8042_state s;
    /* Wiring and derived values (not state). */
    struct irq_line kbd_irq, aux_irq;
    bool kbd_level, aux_level;
    void (*reset_request)(void *opaque);
    void (*a20)(void *opaque, bool enabled);
    void *opaque;
};

/* Registers ports 0x60 and 0x64.  Callbacks may be NULL.  Returns 0, or -1
 * with a reason in err. */
int i8042_init(struct i8042 *k, struct bus *io, struct irq_line kbd_irq,
               struct irq_line aux_irq, void (*reset_request)(void *opaque),
               void (*a20)(void *opaque, bool enabled), void *opaque,
               char *err, size_t errlen);
void i8042_reset(void *opaque);
size_t i8042_save(void *opaque, uint8_t *buf, size_t cap);
/* Also drives both IRQ lines to the restored levels. */
int i8042_restore(void *opaque, const uint8_t *buf, size_t len);

/* A scan code from the host keyboard (dropped while scanning is disabled or
 * the keyboard's buffer is full). */
void i8042_key(struct i8042 *k, uint8_t scancode);
/* The output port's A20 gate bit. */
bool i8042_a20(const struct i8042 *k);

#endif

/* i8042.c - PS/2 keyboard controller and keyboard (see i8042.h). */
#include "devices/i8042.h"

#include <string.h>

static const uint8_t i8042_tag[4] = { 'K', 'B', 'C', '1' };
#define I8042_BLOB_SIZE (sizeof(i8042_tag) + sizeof(struct i8042_state))

_Static_assert(sizeof(struct i8042_queue) == 2 * I8042_QUEUE_SIZE + 2,
               "i8042_queue must stay plain bytes");
_Static_assert(sizeof(struct i8042_state) == 32 + 6 + 2 * sizeof(struct i8042_queue) + 6,
               "i8042_state must stay plain bytes without padding");

/* Keyboard replies. */
#define KBD_ACK 0xFA
#define KBD_RESEND 0xFE
#define KBD_BAT_OK 0xAA
#define KBD_ECHO 0xEE

/* Power-on output port: A20 on, reset line inactive, unused bits high. */
#define OUTPORT_DEFAULT 0xCF
/* Command byte as firmware leaves it: keyboard interrupt, system flag,
 * translation on. */
#define CCB_DEFAULT (I8042_CCB_KBDINT | I8042_CCB_SYS | I8042_CCB_XLATE)

/* ---- queues ---- */

static void queue_clear(struct i8042_queue *q)
{
    q->head = 0;
    q->count = 0;
}

static void queue_push(struct i8042_queue *q, uint8_t byte, uint8_t flags)
{
    if (q->count == I8042_QUEUE_SIZE)
        return;                 /* full: the byte is lost, as a keyboard would */
    unsigned at = (q->head + q->count) % I8042_QUEUE_SIZE;
    q->data[at] = byte;
    q->flags[at] = flags;
    q->count++;
}

static void queue_pop(struct i8042_queue *q, uint8_t *byte, uint8_t *flags)
{
    *byte = q->data[q->head];
    *flags = q->flags[q->head];
    q->head = (q->head + 1) % I8042_QUEUE_SIZE;
    q->count--;
}

/* ---- output buffer and interrupts ---- */

static uint8_t ccb(const struct i8042 *k)
{
    return k->s.ram[0];
}

static bool kbd_irq_wanted(const struct i8042 *k)
{
    return k->s.obf && !(k->s.out_flags & I8042_STR_AUXDATA) &&
           (ccb(k) & I8042_CCB_KBDINT);
}

static bool aux_irq_wanted(const struct i8042 *k)
{
    return k->s.obf && (k->s.out_flags & I8042_STR_AUXDATA) &&
           (ccb(k) & I8042_CCB_AUXINT);
}

static void update_irqs(struct i8042 *k)
{
    bool kbd = kbd_irq_wanted(k), aux = aux_irq_wanted(k);
    if (kbd != k->kbd_level) {
        k->kbd_level = kbd;
        irq_set_level(&k->kbd_irq, kbd);
    }
    if (aux != k->aux_level) {
        k->aux_level = aux;
        irq_set_level(&k->aux_irq, aux);
    }
}

/* Move the next waiting byte into an empty output buffer. */
static void refill(struct i8042 *k)
{
    struct i8042_state *s = &k->s;
    if (s->obf)
        return;
    if (s->ctrl.count) {
        queue_pop(&s->ctrl, &s->out, &s->out_flags);
        s->obf = 1;
    } else if (s->kbd.count && !(ccb(k) & I8042_CCB_KBDDIS)) {
        queue_pop(&s->kbd, &s->out, &s->out_flags);
        s->obf = 1;
    }
}

static void reply(struct i8042 *k, uint8_t byte)
{
    queue_push(&k->s.ctrl, byte, 0);
}

static void kbd_send(struct i8042 *k, uint8_t byte)
{
    k->s.kbd_last = byte;
    queue_push(&k->s.kbd, byte, 0);
}

/* ---- the keyboard ---- */

static void kbd_defaults(struct i8042 *k)
{
    k->s.kbd_set = 2;
    k->s.kbd_typematic = 0x2B;          /* 10.9 cps, 500 ms */
    k->s.kbd_leds = 0;
}

static bool kbd_param(struct i8042 *k, uint8_t cmd, uint8_t v)
{
    switch (cmd) {
    case 0xED:
        k->s.kbd_leds = v & 7;
        break;
    case 0xF3:
        k->s.kbd_typematic = v & 0x7F;
        break;
    case 0xF0:
        if (v > 3)
            return false;
        if (v == 0) {
            kbd_send(k, KBD_ACK);
            kbd_send(k, k->s.kbd_set);
            return true;
        }
        k->s.kbd_set = v;
        break;
    default:
        return false;
    }
    kbd_send(k, KBD_ACK);
    return true;
}

static void kbd_command(struct i8042 *k, uint8_t v)
{
    switch (v) {
    case 0xFF:                          /* reset and self-test */
        queue_clear(&k->s.kbd);
        kbd_defaults(k);
        k->s.kbd_scanning = 1;
        kbd_send(k, KBD_ACK);
        kbd_send(k, KBD_BAT_OK);
        break;
    case 0xFE:                          /* resend */
        queue_push(&k->s.kbd, k->s.kbd_last, 0);
        break;
    case 0xF6:                          /* set defaults */
        kbd_defaults(k);
        kbd_send(k, KBD_ACK);
        break;
    case 0xF5:                          /* disable scanning (and defaults) */
        kbd_defaults(k);
        k->s.kbd_scanning = 0;
        kbd_send(k, KBD_ACK);
        break;
    case 0xF4:                          /* enable scanning */
        queue_clear(&k->s.kbd);
        k->s.kbd_scanning = 1;
        kbd_send(k, KBD_ACK);
        break;
    case 0xF2:                          /* identify: MF2 keyboard */
        kbd_send(k, KBD_ACK);
        kbd_send(k, 0xAB);
        kbd_send(k, 0x83);
        break;
    case 0xED:                          /* set LEDs */
    case 0xF0:                          /* scan code set */
    case 0xF3:                          /* typematic rate/delay */
        k->s.kbd_expect = v;
        kbd_send(k, KBD_ACK);
        break;
    case 0xEE:
        kbd_send(k, KBD_ECHO);
        break;
    default:
        kbd_send(k, KBD_RESEND);
        break;
    }
}

/* A byte the guest sends to the keyboard through port 0x60. */
static void kbd_write(struct i8042 *k, uint8_t v)
{
    uint8_t expect = k->s.kbd_expect;
    k->s.kbd_expect = 0;
    /* Command bytes are >= 0xED; a parameter never is, so a command in
     * place of a parameter starts over as that command. */
    if (expect && v < 0x80) {
        if (!kbd_param(k, expect, v))
            kbd_send(k, KBD_RESEND);
        return;
    }
    kbd_command(k, v);
}

/* ---- the controller ---- */

static uint8_t outport_read(const struct i8042 *k)
{
    uint8_t v = k->s.outport & (uint8_t)~0x30;
    if (k->s.obf && !(k->s.out_flags & I8042_STR_AUXDATA))
        v |= 0x10;
    if (k->s.obf && (k->s.out_flags & I8042_STR_AUXDATA))
        v |= 0x20;
    return v;
}

static void outport_write(struct i8042 *k, uint8_t v)
{
    bool a20_was = i8042_a20(k);
    k->s.outport = v;
    if (k->a20 && i8042_a20(k) != a20_was)
        k->a20(k->opaque, i8042_a20(k));
    if (!(v & I8042_OUT_RESET) && k->reset_request)
        k->reset_request(k->opaque);
}

/* The data byte of a command that takes one (0x60-0x7F, 0xD1-0xD4). */
static void command_data(struct i8042 *k, uint8_t cmd, uint8_t v)
{
    switch (cmd) {
    case 0xD1:
        outport_write(k, v);
        break;
    case 0xD2:                          /* as if the keyboard sent it */
        queue_push(&k->s.ctrl, v, 0);
        break;
    case 0xD3:                          /* as if the mouse sent it */
        queue_push(&k->s.ctrl, v, I8042_STR_AUXDATA);
        break;
    case 0xD4:                          /* to the mouse: nobody answers */
        queue_push(&k->s.ctrl, KBD_RESEND, I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
        break;
    default:                            /* 0x60-0x7F: controller RAM */
        k->s.ram[cmd & 0x1F] = v;
        break;
    }
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
    k->s.pending_cmd = 0;
    if (cmd >= 0x20 && cmd <= 0x3F) {
        reply(k, k->s.ram[cmd & 0x1F]);
        return;
    }
    if ((cmd >= 0x60 && cmd <= 0x7F) || (cmd >= 0xD1 && cmd <= 0xD4)) {
        k->s.pending_cmd = cmd;
        return;
    }
    if (cmd >= 0xF0) {
        /* Pulse the output port bits whose mask bit is 0; bit 0 is the
         * CPU reset line. */
        if (!(cmd & I8042_OUT_RESET) && k->reset_request)
            k->reset_request(k->opaque);
        return;
    }
    switch (cmd) {
    case 0xA4: reply(k, 0xF1); break;                   /* no password */
    case 0xA7: k->s.ram[0] |= I8042_CCB_AUXDIS; break;
    case 0xA8: k->s.ram[0] &= (uint8_t)~I8042_CCB_AUXDIS; break;
    case 0xA9: reply(k, 0x00); break;                   /* aux interface ok */
    case 0xAA: reply(k, 0x55); break;                   /* self-test passed */
    case 0xAB: reply(k, 0x00); break;                   /* kbd interface ok */
    case 0xAD: k->s.ram[0] |= I8042_CCB_KBDDIS; break;
    case 0xAE: k->s.ram[0] &= (uint8_t)~I8042_CCB_KBDDIS; break;
    case 0xC0: reply(k, 0x80); break;                   /* input port: unlocked */
    case 0xD0: reply(k, outport_read(k)); break;
    case 0xE0: reply(k, 0x00); break;                   /* test inputs */
    default: break;                                     /* ignored */
    }
}

static uint8_t status_read(const struct i8042 *k)
{
    const struct i8042_state *s = &k->s;
    uint8_t v = I8042_STR_UNLOCKED;
    if (s->obf)
        v |= I8042_STR_OBF | s->out_flags;
    if (ccb(k) & I8042_CCB_SYS)
        v |= I8042_STR_SYS;
    if (s->last_was_cmd)
        v |= I8042_STR_CMD;
    return v;
}

static uint8_t data_read(struct i8042 *k)
{
    uint8_t v = k->s.out;
    k->s.obf = 0;
    k->s.out_flags = 0;
    update_irqs(k);                     /* drop the line before the next byte */
    return v;
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *k = opaque;
    (void)offset;
    (void)size;
    uint8_t v = data_read(k);
    refill(k);
    update_irqs(k);
    return v;
}

static void i8042_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct i8042 *k = opaque;
    (void)offset;
    (void)size;
    uint8_t cmd = k->s.pending_cmd;
    k->s.last_was_cmd = 0;
    k->s.pending_cmd = 0;
    if (cmd)
        command_data(k, cmd, (uint8_t)value);
    else
        kbd_write(k, (uint8_t)value);
    refill(k);
    update_irqs(k);
}

static uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)offset;
    (void)size;
    return status_read(opaque);
}

static void i8042_cmd_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct i8042 *k = opaque;
    (void)offset;
    (void)size;
    k->s.last_was_cmd = 1;
    controller_command(k, (uint8_t)value);
    refill(k);
    update_irqs(k);
}

/* ---- public ---- */

int i8042_init(struct i8042 *k, struct bus *io, struct irq_line kbd_irq,
               struct irq_line aux_irq, void (*reset_request)(void *opaque),
               void (*a20)(void *opaque, bool enabled), void *opaque,
               char *err, size_t errlen)
{
    memset(k, 0, sizeof(*k));
    k->kbd_irq = kbd_irq;
    k->aux_irq = aux_irq;
    k->reset_request = reset_request;
    k->a20 = a20;
    k->opaque = opaque;
    i8042_reset(k);
    if (bus_register(io, I8042_DATA_PORT, 1, "i8042", k, i8042_data_read,
                     i8042_data_write, err, errlen) < 0)
        return -1;
    return bus_register(io, I8042_CMD_PORT, 1, "i8042", k, i8042_status_read,
                        i8042_cmd_write, err, errlen);
}

void i8042_reset(void *opaque)
{
    struct i8042 *k = opaque;
    memset(&k->s, 0, sizeof(k->s));
    k->s.ram[0] = CCB_DEFAULT;
    k->s.outport = OUTPORT_DEFAULT;
    k->s.kbd_scanning = 1;
    kbd_defaults(k);
    update_irqs(k);
}

void i8042_key(struct i8042 *k, uint8_t scancode)
{
    if (!k->s.kbd_scanning)
        return;
    kbd_send(k, scancode);
    refill(k);
    update_irqs(k);
}

bool i8042_a20(const struct i8042 *k)
{
    return (k->s.outport & I8042_OUT_A20) != 0;
}

size_t i8042_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct i8042 *k = opaque;
    if (cap >= I8042_BLOB_SIZE) {
        memcpy(buf, i8042_tag, sizeof(i8042_tag));
        memcpy(buf + sizeof(i8042_tag), &k->s, sizeof(k->s));
    }
    return I8042_BLOB_SIZE;
}

#define I8042_BYTE_FLAGS (I8042_STR_AUXDATA | I8042_STR_TIMEOUT)

static bool queue_valid(const struct i8042_queue *q)
{
    if (q->head >= I8042_QUEUE_SIZE || q->count > I8042_QUEUE_SIZE)
        return false;
    for (unsigned i = 0; i < I8042_QUEUE_SIZE; i++)
        if (q->flags[i] & ~I8042_BYTE_FLAGS)
            return false;
    return true;
}

static bool pending_cmd_valid(uint8_t cmd)
{
    return cmd == 0 || (cmd >= 0x60 && cmd <= 0x7F) || (cmd >= 0xD1 && cmd <= 0xD4);
}

int i8042_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct i8042 *k = opaque;
    struct i8042_state s;
    if (len != I8042_BLOB_SIZE || memcmp(buf, i8042_tag, sizeof(i8042_tag)) != 0)
        return -1;
    memcpy(&s, buf + sizeof(i8042_tag), sizeof(s));
    if (!queue_valid(&s.ctrl) || !queue_valid(&s.kbd) || s.obf > 1 ||
        (s.out_flags & ~I8042_BYTE_FLAGS) || s.last_was_cmd > 1 || s.kbd_scanning > 1 ||
        !pending_cmd_valid(s.pending_cmd) || s.kbd_set < 1 || s.kbd_set > 3 ||
        (s.kbd_expect && s.kbd_expect != 0xED && s.kbd_expect != 0xF0 &&
         s.kbd_expect != 0xF3))
        return -1;
    k->s = s;
    k->kbd_level = kbd_irq_wanted(k);
    k->aux_level = aux_irq_wanted(k);
    irq_set_level(&k->kbd_irq, k->kbd_level);
    irq_set_level(&k->aux_irq, k->aux_level);
    return 0;
}

/* x87_env.c - FNSTENV/FLDENV and FNSAVE/FRSTOR images (Intel SDM vol. 1,
 * "Saving the x87 FPU's state": 16- and 32-bit, real-mode and
 * protected-mode layouts).  Reserved halves of the 32-bit layout are
 * written as ones, as the hardware does. */
#include <string.h>

#include "x87_priv.h"

static void put16(uint8_t *b, uint32_t v) { uint16_t w = (uint16_t)v; memcpy(b, &w, 2); }
static void put32(uint8_t *b, uint32_t v) { memcpy(b, &v, 4); }
static uint32_t get16(const uint8_t *b) { uint16_t w; memcpy(&w, b, 2); return w; }
static uint32_t get32(const uint8_t *b) { uint32_t v; memcpy(&v, b, 4); return v; }

static bool op32(const struct x87_op *o) { return o->i->opsize == 4; }

/* Real-address and virtual-8086 mode use the real-mode layout, where the
 * pointers are linear addresses without selectors. */
static bool real_layout(const struct x87_op *o) { return !o->c->pe || o->c->v86; }

static unsigned env_size(const struct x87_op *o) { return op32(o) ? 28 : 14; }

/* Tags of non-empty registers follow their contents. */
static uint16_t tag_word(const struct x87_state *f)
{
    uint16_t tw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned t = (f->ftw >> (2 * p)) & 3;
        if (t != X87_TAG_EMPTY)
            t = x87_tag_of(f->st[p]);
        tw |= (uint16_t)(t << (2 * p));
    }
    return tw;
}

static void env_encode(const struct x87_op *o, uint8_t *b)
{
    const struct x87_state *f = &o->f;
    uint32_t ip = f->fip, dp = f->fdp;
    if (real_layout(o)) {
        ip += (uint32_t)f->fcs << 4;
        dp += (uint32_t)f->fds << 4;
    }
    uint16_t tw = tag_word(f);
    if (op32(o)) {
        put32(b + 0, 0xffff0000u | f->fcw);
        put32(b + 4, 0xffff0000u | f->fsw);
        put32(b + 8, 0xffff0000u | tw);
        if (real_layout(o)) {
            put32(b + 12, 0xffff0000u | (ip & 0xffff));
            put32(b + 16, ((ip >> 16) << 12) | (f->fop & 0x7ffu));
            put32(b + 20, 0xffff0000u | (dp & 0xffff));
            put32(b + 24, (dp >> 16) << 12);
        } else {
            put32(b + 12, ip);
            put32(b + 16, f->fcs | (uint32_t)(f->fop & 0x7ffu) << 16);
            put32(b + 20, dp);
            put32(b + 24, 0xffff0000u | f->fds);
        }
    } else {
        put16(b + 0, f->fcw);
        put16(b + 2, f->fsw);
        put16(b + 4, tw);
        if (real_layout(o)) {
            put16(b + 6, ip);
            put16(b + 8, ((ip >> 16) & 0xf) << 12 | (f->fop & 0x7ffu));
            put16(b + 10, dp);
            put16(b + 12, ((dp >> 16) & 0xf) << 12);
        } else {
            put16(b + 6, ip);
            put16(b + 8, f->fcs);
            put16(b + 10, dp);
            put16(b + 12, f->fds);
        }
    }
}

/* Registers must already be loaded (the tags are recomputed from them). */
static void env_decode(struct x87_op *o, const uint8_t *b)
{
    struct x87_state *f = &o->f;
    unsigned w = op32(o) ? 4 : 2;
    f->fcw = (uint16_t)((get16(b) & 0x1f3f) | 0x40);
    f->fsw = (uint16_t)get16(b + w);
    f->ftw = (uint16_t)get16(b + 2 * w);
    f->ftw = tag_word(f);
    if (op32(o) && real_layout(o)) {
        f->fip = get16(b + 12) | ((get32(b + 16) >> 12) & 0xffff) << 16;
        f->fop = (uint16_t)(get32(b + 16) & 0x7ff);
        f->fdp = get16(b + 20) | ((get32(b + 24) >> 12) & 0xffff) << 16;
        f->fcs = f->fds = 0;
    } else if (op32(o)) {
        f->fip = get32(b + 12);
        f->fcs = (uint16_t)get16(b + 16);
        f->fop = (uint16_t)((get32(b + 16) >> 16) & 0x7ff);
        f->fdp = get32(b + 20);
        f->fds = (uint16_t)get16(b + 24);
    } else if (real_layout(o)) {
        f->fip = get16(b + 6) | (get16(b + 8) >> 12) << 16;
        f->fop = (uint16_t)(get16(b + 8) & 0x7ff);
        f->fdp = get16(b + 10) | (get16(b + 12) >> 12) << 16;
        f->fcs = f->fds = 0;
    } else {
        f->fip = get16(b + 6);
        f->fcs = (uint16_t)get16(b + 8);
        f->fdp = get16(b + 10);
        f->fds = (uint16_t)get16(b + 12);
    }
    x87_fsw_sync(f);
}

/* FNSTENV stores, then masks every exception. */
void x87_fnstenv(struct x87_op *o)
{
    uint8_t b[28];
    env_encode(o, b);
    x87_write_bytes(o, b, env_size(o));
    o->f.fcw |= FSW_EXC;
    x87_fsw_sync(&o->f);
}

void x87_fldenv(struct x87_op *o)
{
    uint8_t b[28];
    x87_read_bytes(o, b, env_size(o));
    env_decode(o, b);
}

/* Registers in stack order ST(0)..ST(7) after the environment. */
void x87_fnsave(struct x87_op *o)
{
    uint8_t b[108];
    unsigned n = env_size(o);
    env_encode(o, b);
    unsigned top = (o->f.fsw >> 11) & 7;
    for (unsigned k = 0; k < 8; k++)
        memcpy(b + n + 10 * k, &o->f.st[(top + k) & 7], 10);
    x87_write_bytes(o, b, n + 80);
    x87_fninit(&o->f);
}

void x87_frstor(struct x87_op *o)
{
    uint8_t b[108];
    unsigned n = env_size(o);
    x87_read_bytes(o, b, n + 80);
    unsigned top = (get16(b + (op32(o) ? 4 : 2)) >> 11) & 7;
    for (unsigned k = 0; k < 8; k++) {
        long double v = 0;
        memcpy(&v, b + n + 10 * k, 10);
        o->f.st[(top + k) & 7] = v;
    }
    env_decode(o, b);
}

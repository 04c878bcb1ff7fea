/* fpu_error.c - FERR# to IRQ 13 and the clear port 0xF0 (see fpu_error.h). */
#include "devices/fpu_error.h"

#include <string.h>

static const uint8_t fpu_error_tag[4] = { 'F', 'E', 'R', '1' };
#define FPU_ERROR_BLOB_SIZE (sizeof(fpu_error_tag) + 3)

static uint64_t fpu_error_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;   /* write-only port */
}

/* Any write clears the interrupt; FERR# must drop before it can fire again. */
static void fpu_error_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct fpu_error *f = opaque;
    (void)offset;
    (void)size;
    (void)value;
    if (f->latched) {
        f->latched = false;
        irq_lower(&f->irq);
    }
    f->ignored = f->ferr;
}

void fpu_error_set_ferr(struct fpu_error *f, bool ferr)
{
    if (ferr == f->ferr)
        return;
    f->ferr = ferr;
    if (!ferr) {
        f->ignored = false;
        if (f->latched) {
            f->latched = false;
            irq_lower(&f->irq);
        }
        return;
    }
    if (!f->ignored && !f->latched) {
        f->latched = true;
        irq_raise(&f->irq);
    }
}

int fpu_error_init(struct fpu_error *f, struct bus *io, struct irq_line irq13,
                   char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->irq = irq13;
    return bus_register(io, FPU_ERROR_PORT, 1, "fpu-error", f, fpu_error_read,
                        fpu_error_write, err, errlen);
}

void fpu_error_reset(void *opaque)
{
    struct fpu_error *f = opaque;
    if (f->latched)
        irq_lower(&f->irq);
    f->ferr = f->latched = f->ignored = false;
}

size_t fpu_error_save(void *opaque, uint8_t *buf, size_t cap)
{
    const struct fpu_error *f = opaque;
    if (cap >= FPU_ERROR_BLOB_SIZE) {
        memcpy(buf, fpu_error_tag, sizeof(fpu_error_tag));
        buf[4] = f->ferr;
        buf[5] = f->latched;
        buf[6] = f->ignored;
    }
    return FPU_ERROR_BLOB_SIZE;
}

int fpu_error_restore(void *opaque, const uint8_t *buf, size_t len)
{
    struct fpu_error *f = opaque;
    if (len != FPU_ERROR_BLOB_SIZE || memcmp(buf, fpu_error_tag, sizeof(fpu_error_tag)) != 0)
        return -1;
    for (int k = 4; k < 7; k++)
        if (buf[k] > 1)
            return -1;
    f->ferr = buf[4];
    f->latched = buf[5];
    f->ignored = buf[6];
    irq_set_level(&f->irq, f->latched);
    return 0;
}

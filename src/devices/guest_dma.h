/* guest_dma.h - a device's bounds-checked view of guest RAM (bus mastering).
 *
 * Device models that read or write guest memory on their own (virtqueues)
 * see guest-physical RAM only through this: every range is checked against
 * RAM [0, size) without overflow before a host pointer is handed out, so a
 * guest address can never make morph touch memory outside guest RAM.  ROM
 * and MMIO are not reachable by DMA (a range there is refused).
 *
 * `written` (wired by the monitor, may be NULL) hears of every range a
 * device wrote, so the soft CPU can drop instructions it decoded from there
 * (a disk read into a page that held code).  It is called on the thread
 * that publishes the write to the guest, with the device lock held.
 */
#ifndef MORPH_GUEST_DMA_H
#define MORPH_GUEST_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct guest_dma {
    uint8_t *ram;
    uint64_t size;
    void (*written)(void *opaque, uint64_t gpa, uint64_t len);
    void *opaque;
};

/* True if [gpa, gpa+len) lies inside guest RAM (len 0 included). */
static inline bool dma_range_ok(const struct guest_dma *d, uint64_t gpa, uint64_t len)
{
    return gpa <= d->size && len <= d->size - gpa;
}

/* Host pointer for [gpa, gpa+len), or NULL when any byte is outside RAM. */
static inline uint8_t *dma_ptr(const struct guest_dma *d, uint64_t gpa, uint64_t len)
{
    return d->ram && dma_range_ok(d, gpa, len) ? d->ram + gpa : NULL;
}

/* Copies guest memory out; false (nothing copied) if outside RAM. */
static inline bool dma_read(const struct guest_dma *d, uint64_t gpa, void *buf, size_t len)
{
    const uint8_t *p = dma_ptr(d, gpa, len);
    if (!p)
        return false;
    memcpy(buf, p, len);
    return true;
}

/* Tells the monitor [gpa, gpa+len) was written by the device. */
static inline void dma_note_written(const struct guest_dma *d, uint64_t gpa, uint64_t len)
{
    if (d->written && len)
        d->written(d->opaque, gpa, len);
}

/* Copies into guest memory and notes it; false (nothing written) if outside RAM. */
static inline bool dma_write(const struct guest_dma *d, uint64_t gpa, const void *buf,
                             size_t len)
{
    uint8_t *p = dma_ptr(d, gpa, len);
    if (!p)
        return false;
    memcpy(p, buf, len);
    dma_note_written(d, gpa, len);
    return true;
}

#endif

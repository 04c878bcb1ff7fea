/* device.h - what every device model offers the machine.
 *
 * Each device is one file with init (its own xxx_init that registers ranges
 * on the buses), reset, and save/restore of its state from day one so that
 * snapshots are a per-device duty.  Device state is plain data: save copies
 * it out, restore validates and copies it back.
 */
#ifndef MORPH_DEVICE_H
#define MORPH_DEVICE_H

#include <stddef.h>
#include <stdint.h>

struct device {
    const char *name;
    void *opaque;
    void (*reset)(void *opaque);
    /* Writes at most cap bytes; returns the bytes needed (call with cap 0 to size). */
    size_t (*save)(void *opaque, uint8_t *buf, size_t cap);
    /* Returns 0, or -1 if the blob is not a valid state of this device. */
    int (*restore)(void *opaque, const uint8_t *buf, size_t len);
};

#endif

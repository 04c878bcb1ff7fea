/* host_random.h - the host's entropy for the guest (virtio-rng).
 *
 * getrandom(2) without GRND_RANDOM: never blocks once the host's pool is
 * initialised (at boot), so filling a guest buffer costs a system call.
 */
#ifndef MORPH_HOST_RANDOM_H
#define MORPH_HOST_RANDOM_H

#include <stddef.h>

/* Fills buf with len random bytes; returns len, or fewer on a host error. */
size_t host_random(void *buf, size_t len);

#endif

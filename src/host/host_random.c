/* host_random.c - getrandom(2) (see host_random.h). */
#include "host/host_random.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

size_t host_random(void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom((uint8_t *)buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        done += (size_t)n;
    }
    return done;
}

/* clock.c - host clocks (see clock.h). */
#include "host/clock.h"

#include <time.h>

uint64_t host_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vclock_start(struct vclock *c)
{
    c->start_ns = host_monotonic_ns();
}

uint64_t vclock_now(void *vclock)
{
    const struct vclock *c = vclock;
    return host_monotonic_ns() - c->start_ns;
}

uint64_t vclock_to_host(const struct vclock *c, uint64_t t)
{
    return t > UINT64_MAX - c->start_ns ? UINT64_MAX : c->start_ns + t;
}

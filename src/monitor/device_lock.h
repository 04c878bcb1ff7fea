/* device_lock.h - the one lock that guards device state, with handoff.
 *
 * The vCPU thread takes and drops the lock around every exit; when a guest
 * makes exits back to back (polling a port), a plain mutex lets it re-take
 * the lock before the woken event-loop thread runs, so timers fire late and
 * interrupts are lost.  The event loop therefore announces itself, and the
 * vCPU yields until it got the lock.
 */
#ifndef MORPH_DEVICE_LOCK_H
#define MORPH_DEVICE_LOCK_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

struct device_lock {
    pthread_mutex_t mutex;
    atomic_int host_waiters;     /* non-vCPU threads waiting for the lock */
};

static inline void device_lock_init(struct device_lock *l)
{
    pthread_mutex_init(&l->mutex, NULL);
    atomic_init(&l->host_waiters, 0);
}

static inline void device_lock_destroy(struct device_lock *l)
{
    pthread_mutex_destroy(&l->mutex);
}

/* Any thread but the vCPU's. */
static inline void device_lock_host(struct device_lock *l)
{
    atomic_fetch_add(&l->host_waiters, 1);
    pthread_mutex_lock(&l->mutex);
    atomic_fetch_sub(&l->host_waiters, 1);
}

/* The vCPU thread: lets a waiting host thread go first. */
static inline void device_lock_vcpu(struct device_lock *l)
{
    while (atomic_load_explicit(&l->host_waiters, memory_order_relaxed))
        sched_yield();
    pthread_mutex_lock(&l->mutex);
}

static inline void device_unlock(struct device_lock *l)
{
    pthread_mutex_unlock(&l->mutex);
}

#endif

/* event_loop.h - the host event-loop thread.
 *
 * One thread sleeps in epoll_wait on the file descriptors the machine
 * registered (the terminal) and an eventfd other threads write to wake it.
 * After every wake-up it calls the machine's tick.  Device timers run on
 * guest time, on the vCPU thread; the loop's only notion of time is the
 * prepare hooks' sleep limit (host network stacks such as libslirp have
 * their own host-time timers).  The loop knows nothing about devices.
 */
#ifndef MORPH_HOST_EVENT_LOOP_H
#define MORPH_HOST_EVENT_LOOP_H

#include <stdbool.h>
#include <stddef.h>

/* Called on the loop thread whenever it wakes (wake-up or fd event). */
typedef void (*event_loop_tick_fn)(void *opaque);
/* An fd is readable (or hung up). */
typedef void (*event_loop_fd_fn)(void *opaque, int fd);

struct event_loop;

struct event_loop *event_loop_create(event_loop_tick_fn tick, void *opaque,
                                     char *err, size_t errlen);
void event_loop_destroy(struct event_loop *el);

/* Watch fd for input.  Returns 0, or -1 (errno EPERM: fd cannot be polled,
 * e.g. a regular file). */
int event_loop_add_fd(struct event_loop *el, int fd, event_loop_fd_fn fn, void *opaque);
/* Stop or resume watching fd (flow control); -1 on error. */
int event_loop_enable_fd(struct event_loop *el, int fd, bool enable);
int event_loop_remove_fd(struct event_loop *el, int fd);

/* Called on the loop thread before every sleep (so after every wake-up,
 * whatever woke it): does its work and returns how long the loop may sleep,
 * in ms, or -1 for no limit.  The loop sleeps for the smallest limit. */
typedef int (*event_loop_prepare_fn)(void *opaque);

/* Add or remove a prepare hook (before event_loop_start or after
 * event_loop_stop, like the fd calls).  Returns 0, or -1 (errno ENOSPC). */
int event_loop_add_prepare(struct event_loop *el, event_loop_prepare_fn fn, void *opaque);
void event_loop_remove_prepare(struct event_loop *el, event_loop_prepare_fn fn, void *opaque);

/* Thread-safe and cheap: make the loop run its tick soon. */
void event_loop_wake(struct event_loop *el);

/* Start and stop the thread.  Returns 0, or -1 with a reason. */
int event_loop_start(struct event_loop *el, char *err, size_t errlen);
void event_loop_stop(struct event_loop *el);

#endif

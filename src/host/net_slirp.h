/* net_slirp.h - user networking through libslirp (see net_backend.h).
 *
 * The guest's network is 10.0.2.0/24: the host (gateway) is 10.0.2.2 and
 * reaches the host's own loopback, DNS at 10.0.2.3 forwards to the host's
 * resolver, DHCP hands out 10.0.2.15.  Every libslirp call happens on the
 * event-loop thread: frames the guest sends (from the vCPU thread) are
 * queued and the loop woken (net_queue.h); slirp's sockets sit in a private
 * epoll set the loop watches, and a prepare hook serves slirp's timers.
 */
#ifndef MORPH_HOST_NET_SLIRP_H
#define MORPH_HOST_NET_SLIRP_H

#include "host/net_backend.h"
#include "host/net_spec.h"

/* Call before event_loop_start (it registers with the loop). */
struct net_backend *net_slirp_open(const struct net_spec *spec, struct event_loop *loop,
                                   net_rx_fn rx, void *opaque, char *err, size_t errlen);

#endif

/* net_tap.h - a host TAP interface as the guest's wire (see net_backend.h).
 *
 * Opens /dev/net/tun as IFF_TAP | IFF_NO_PI (no virtio-net header: frames
 * are plain Ethernet), nonblocking.  The interface must exist and be usable
 * by this user (e.g. `ip tuntap add tap0 mode tap user $USER`).  Frames
 * from the guest are written from the caller's thread (a full queue drops
 * them, like a wire); frames for the guest are read on the event-loop
 * thread, and a frame the device refuses is kept while the fd is switched
 * off (event_loop_enable_fd) until net_backend_rx_resume.
 */
#ifndef MORPH_HOST_NET_TAP_H
#define MORPH_HOST_NET_TAP_H

#include "host/net_backend.h"

/* Call before event_loop_start (it registers with the loop). */
struct net_backend *net_tap_open(const char *ifname, struct event_loop *loop,
                                 net_rx_fn rx, void *opaque, char *err, size_t errlen);

#endif

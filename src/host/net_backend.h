/* net_backend.h - where a virtual network card's frames go on the host.
 *
 * A backend carries Ethernet frames between a guest NIC model and the
 * host: user networking through libslirp (net_slirp.c: DHCP, DNS, NAT,
 * hostfwd on loopback) or a TAP device (net_tap.c).  Both are driven by
 * the host event loop: received frames are handed to the device's rx
 * callback on the event-loop thread; nothing polls.  The device model
 * never sees which backend it has.
 */
#ifndef MORPH_HOST_NET_BACKEND_H
#define MORPH_HOST_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct event_loop;
struct net_backend;

/* A frame for the guest (without the virtio-net header).  Called on the
 * event-loop thread.  Returns false when the device has no room: the
 * backend keeps the frame and stops reading its source until
 * net_backend_rx_resume (TAP), or drops it (slirp: TCP retransmits). */
typedef bool (*net_rx_fn)(void *opaque, const uint8_t *frame, size_t len);

/* spec: the --net value, e.g. "user", "user,hostfwd=tcp:127.0.0.1:2222-:22"
 * (hostfwd may repeat), "tap,ifname=tap0".  Returns NULL with a one-line
 * reason in err (bad option, port in use, no such TAP device). */
struct net_backend *net_backend_open(const char *spec, struct event_loop *loop,
                                     net_rx_fn rx, void *opaque,
                                     char *err, size_t errlen);
/* Send one frame from the guest (gathered from iov).  Any thread. */
void net_backend_send(struct net_backend *nb, const struct iovec *iov, int iovcnt);
/* The device has room again after refusing a frame. */
void net_backend_rx_resume(struct net_backend *nb);
void net_backend_close(struct net_backend *nb);

#endif

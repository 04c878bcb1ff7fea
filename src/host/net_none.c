/* net_none.c - TEMPORARY: net_backend.h with no backend built in.
 *
 * REMOVED AT MERGE: the slirp/TAP branch provides net_backend_open and the
 * rest (src/host/net_slirp.c, net_tap.c); delete this file then.  Until
 * then `--net` parses, and opening fails with a clear one-line error. */
#include "host/net_backend.h"

#include <stdio.h>

struct net_backend *net_backend_open(const char *spec, struct event_loop *loop,
                                     net_rx_fn rx, void *opaque, char *err, size_t errlen)
{
    (void)loop;
    (void)rx;
    (void)opaque;
    snprintf(err, errlen, "--net %s: networking backend not built", spec);
    return NULL;
}

void net_backend_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    (void)nb;
    (void)iov;
    (void)iovcnt;
}

void net_backend_rx_resume(struct net_backend *nb)
{
    (void)nb;
}

void net_backend_close(struct net_backend *nb)
{
    (void)nb;
}

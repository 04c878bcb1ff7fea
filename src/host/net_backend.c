/* net_backend.c - opens the backend a --net spec names (net_backend.h). */
#include "host/net_backend.h"

#include "host/net_backend_priv.h"
#include "host/net_slirp.h"
#include "host/net_spec.h"
#include "host/net_tap.h"

#include <stdio.h>
#include <stdlib.h>

struct net_backend *net_backend_open(const char *spec, struct event_loop *loop,
                                     net_rx_fn rx, void *opaque,
                                     char *err, size_t errlen)
{
    struct net_spec *s = malloc(sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct net_backend *nb = NULL;
    if (net_spec_parse(spec, s, err, errlen) == 0)
        nb = s->kind == NET_USER ? net_slirp_open(s, loop, rx, opaque, err, errlen)
                                 : net_tap_open(s->ifname, loop, rx, opaque, err, errlen);
    free(s);
    return nb;
}

void net_backend_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    nb->ops->send(nb, iov, iovcnt);
}

void net_backend_rx_resume(struct net_backend *nb)
{
    nb->ops->rx_resume(nb);
}

void net_backend_close(struct net_backend *nb)
{
    if (nb)
        nb->ops->close(nb);
}

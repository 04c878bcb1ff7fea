/* net_backend_priv.h - what a network backend implements (net_slirp.c,
 * net_tap.c); net_backend.c parses the spec and dispatches. */
#ifndef MORPH_HOST_NET_BACKEND_PRIV_H
#define MORPH_HOST_NET_BACKEND_PRIV_H

#include "host/net_backend.h"

struct net_backend_ops {
    void (*send)(struct net_backend *nb, const struct iovec *iov, int iovcnt);
    void (*rx_resume)(struct net_backend *nb);
    void (*close)(struct net_backend *nb);
};

/* The first member of every backend's own struct. */
struct net_backend {
    const struct net_backend_ops *ops;
};

#endif

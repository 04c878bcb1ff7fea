/* net_spec.h - the --net value, parsed.
 *
 *   user[,hostfwd=PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 *   tap,ifname=NAME
 *
 * PROTO is tcp or udp; HOSTADDR defaults to 127.0.0.1 (nothing is exposed
 * beyond this host unless asked), GUESTADDR to the guest's DHCP address
 * 10.0.2.15.
 */
#ifndef MORPH_HOST_NET_SPEC_H
#define MORPH_HOST_NET_SPEC_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define NET_SPEC_MAX_HOSTFWD 16

enum net_kind { NET_USER, NET_TAP };

struct net_hostfwd {
    bool udp;
    struct in_addr host_addr, guest_addr;
    int host_port, guest_port;
};

struct net_spec {
    enum net_kind kind;
    struct net_hostfwd hostfwd[NET_SPEC_MAX_HOSTFWD];   /* user */
    int nhostfwd;
    char ifname[IFNAMSIZ];                              /* tap */
};

/* Returns 0, or -1 with a one-line reason naming the bad part in err. */
int net_spec_parse(const char *spec, struct net_spec *out, char *err, size_t errlen);

/* "tcp 127.0.0.1:2222" for messages. */
void net_hostfwd_name(const struct net_hostfwd *f, char *buf, size_t len);

#endif

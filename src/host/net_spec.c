/* net_spec.c - parses the --net value (see net_spec.h). */
#include "host/net_spec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUEST_DEFAULT_ADDR "10.0.2.15"
#define HOSTFWD_FORM "PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"

/* A port 1..65535 written in decimal; -1 if s is anything else. */
static int parse_port(const char *s)
{
    if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
        return -1;
    int p = atoi(s);
    return p >= 1 && p <= 65535 ? p : -1;
}

/* "ADDR:PORT" or ":PORT" (ADDR empty: dflt).  0 or -1. */
static int parse_endpoint(char *s, const char *dflt, struct in_addr *addr, int *port)
{
    char *colon = strrchr(s, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    if (inet_pton(AF_INET, *s ? s : dflt, addr) != 1)
        return -1;
    *port = parse_port(colon + 1);
    return *port < 0 ? -1 : 0;
}

static int parse_hostfwd(const char *val, struct net_hostfwd *f)
{
    char buf[128];
    if (strlen(val) >= sizeof(buf))
        return -1;
    strcpy(buf, val);
    char *host = buf, *dash = strchr(buf, '-');
    if (!dash)
        return -1;
    *dash = '\0';
    if (strncmp(host, "tcp:", 4) == 0) {
        f->udp = false;
    } else if (strncmp(host, "udp:", 4) == 0) {
        f->udp = true;
    } else {
        return -1;
    }
    if (parse_endpoint(host + 4, "127.0.0.1", &f->host_addr, &f->host_port) < 0)
        return -1;
    return parse_endpoint(dash + 1, GUEST_DEFAULT_ADDR, &f->guest_addr, &f->guest_port);
}

/* One "key=value" of a user spec. */
static int user_option(const char *opt, struct net_spec *out, char *err, size_t errlen)
{
    if (strncmp(opt, "hostfwd=", 8) != 0) {
        snprintf(err, errlen, "--net user: unknown option '%s' (user takes hostfwd=%s)",
                 opt, HOSTFWD_FORM);
        return -1;
    }
    if (out->nhostfwd == NET_SPEC_MAX_HOSTFWD) {
        snprintf(err, errlen, "--net user: more than %d hostfwd rules", NET_SPEC_MAX_HOSTFWD);
        return -1;
    }
    struct net_hostfwd *f = &out->hostfwd[out->nhostfwd];
    if (parse_hostfwd(opt + 8, f) < 0) {
        snprintf(err, errlen, "--net user: bad hostfwd '%s' (want %s, PROTO tcp or udp, e.g. "
                 "tcp:127.0.0.1:2222-:22)", opt + 8, HOSTFWD_FORM);
        return -1;
    }
    for (int i = 0; i < out->nhostfwd; i++) {
        const struct net_hostfwd *o = &out->hostfwd[i];
        if (o->udp == f->udp && o->host_port == f->host_port &&
            o->host_addr.s_addr == f->host_addr.s_addr) {
            snprintf(err, errlen, "--net user: hostfwd '%s' repeats a host port", opt + 8);
            return -1;
        }
    }
    out->nhostfwd++;
    return 0;
}

static int tap_option(const char *opt, struct net_spec *out, char *err, size_t errlen)
{
    if (strncmp(opt, "ifname=", 7) != 0) {
        snprintf(err, errlen, "--net tap: unknown option '%s' (tap takes ifname=NAME)", opt);
        return -1;
    }
    const char *name = opt + 7;
    if (!*name || strlen(name) >= IFNAMSIZ || strchr(name, '/')) {
        snprintf(err, errlen, "--net tap: bad interface name '%s' (1 to %d characters, no '/')",
                 name, IFNAMSIZ - 1);
        return -1;
    }
    strcpy(out->ifname, name);
    return 0;
}

int net_spec_parse(const char *spec, struct net_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char *copy = strdup(spec), *save = NULL;
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int r = 0;
    char *kind = strtok_r(copy, ",", &save);
    if (!kind || (strcmp(kind, "user") != 0 && strcmp(kind, "tap") != 0)) {
        snprintf(err, errlen, "--net: unknown network kind '%s' (user or tap)", kind ? kind : "");
        r = -1;
    } else {
        out->kind = strcmp(kind, "user") == 0 ? NET_USER : NET_TAP;
        for (char *opt; r == 0 && (opt = strtok_r(NULL, ",", &save));)
            r = out->kind == NET_USER ? user_option(opt, out, err, errlen)
                                      : tap_option(opt, out, err, errlen);
        if (r == 0 && out->kind == NET_TAP && !out->ifname[0]) {
            snprintf(err, errlen, "--net tap: needs ifname=NAME");
            r = -1;
        }
    }
    free(copy);
    return r;
}

void net_hostfwd_name(const struct net_hostfwd *f, char *buf, size_t len)
{
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &f->host_addr, addr, sizeof(addr));
    snprintf(buf, len, "%s %s:%d", f->udp ? "udp" : "tcp", addr, f->host_port);
}

/* net_relay.c - morph's network backend on a UDP socket, for testing the
 * backend with a real guest before morph has a NIC model.
 *
 *   build/net_relay LOCALPORT PEERPORT SPEC
 *
 * Opens SPEC (a --net value, e.g. "user,hostfwd=tcp:127.0.0.1:2222-:22")
 * on morph's event loop and carries Ethernet frames between it and UDP
 * datagrams on 127.0.0.1 (one frame per datagram): what arrives on
 * LOCALPORT goes to the backend, what the backend has for the guest goes
 * to PEERPORT.  QEMU's `-netdev socket,udp=127.0.0.1:LOCALPORT,
 * localaddr=127.0.0.1:PEERPORT` is such a peer.  Prints "ready" once the
 * backend is open; SIGTERM or SIGINT ends it.  Loopback only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/event_loop.h"
#include "host/net_backend.h"

static int udp_fd = -1;
static struct net_backend *backend;

static bool to_peer(void *opaque, const uint8_t *frame, size_t len)
{
    (void)opaque;
    ssize_t r = send(udp_fd, frame, len, MSG_DONTWAIT);
    (void)r;   /* a full socket buffer drops the frame, like a wire */
    return true;
}

static void from_peer(void *opaque, int fd)
{
    (void)opaque;
    static uint8_t buf[65536];
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            return;
        struct iovec iov = { buf, (size_t)n };
        net_backend_send(backend, &iov, 1);
    }
}

static void tick_none(void *opaque)
{
    (void)opaque;
}

static int udp_socket(int local, int peer)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    a.sin_port = htons((uint16_t)local);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    a.sin_port = htons((uint16_t)peer);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: net_relay LOCALPORT PEERPORT SPEC\n");
        return 2;
    }
    char err[256];
    udp_fd = udp_socket(atoi(argv[1]), atoi(argv[2]));
    if (udp_fd < 0) {
        perror("net_relay: udp socket");
        return 1;
    }
    struct event_loop *el = event_loop_create(tick_none, NULL, err, sizeof(err));
    if (!el || !(backend = net_backend_open(argv[3], el, to_peer, NULL, err, sizeof(err)))) {
        fprintf(stderr, "net_relay: %s\n", err);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* the loop thread inherits it */
    if (event_loop_add_fd(el, udp_fd, from_peer, NULL) < 0 ||
        event_loop_start(el, err, sizeof(err)) < 0) {
        fprintf(stderr, "net_relay: cannot start the event loop\n");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    event_loop_stop(el);
    net_backend_close(backend);
    event_loop_destroy(el);
    close(udp_fd);
    return 0;
}

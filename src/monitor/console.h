/* console.h - the host terminal as COM1: guest output to stdout, stdin to
 * the UART with flow control, Ctrl-A escapes.
 *
 * Input is read on the event-loop thread into a host-side buffer and fed to
 * the UART as it has room, so pasted text is never lost: when the buffer is
 * full, stdin is no longer watched until the guest drains the UART.  EOF on
 * stdin just stops input.  All buffer state is guarded by the machine's
 * device lock (the caller holds it where noted).
 */
#ifndef MORPH_CONSOLE_H
#define MORPH_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/uart16550.h"
#include "host/event_loop.h"
#include "host/terminal.h"
#include "monitor/device_lock.h"

#define CONSOLE_INPUT_BUFFER (64 * 1024)

struct console {
    int in_fd, out_fd;
    bool in_pollable;           /* false: a regular file or /dev/null, read on each tick */
    bool in_eof;
    bool in_paused;             /* stdin not watched: the buffer is full */
    bool out_broken;            /* stdout gone (EPIPE): output dropped */
    struct terminal_input escapes;
    uint8_t buf[CONSOLE_INPUT_BUFFER];  /* input not yet accepted by the UART */
    size_t head, count;
    bool wake_on_space;         /* the loop waits for the UART to drain (device lock) */
    /* wiring */
    struct uart16550 *uart;
    struct device_lock *lock;   /* the machine's device lock */
    struct event_loop *loop;
    void (*quit)(void *opaque); /* Ctrl-A x */
    void (*dump)(void *opaque); /* Ctrl-A d */
    void *quit_opaque;          /* for both */
};

/* quit (Ctrl-A x) and dump (Ctrl-A d) are called on the event-loop thread
 * without the device lock, with quit_opaque. */
void console_init(struct console *c, int in_fd, int out_fd, struct device_lock *lock,
                  void (*quit)(void *opaque), void (*dump)(void *opaque), void *quit_opaque);
/* Connects the UART (its tx/rx_space callbacks are console_tx/console_rx_space
 * with opaque = the console) and the event loop; watches in_fd. */
void console_attach(struct console *c, struct uart16550 *uart, struct event_loop *loop);

/* UART callbacks (device lock held). */
void console_tx(void *console, uint8_t byte);
void console_rx_space(void *console);

/* On the event-loop thread, every tick: resume input if there is room,
 * read a non-pollable stdin. */
void console_tick(struct console *c);

#endif

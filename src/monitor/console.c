/* console.c - terminal <-> COM1 (see console.h). */
#include "monitor/console.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 4096

void console_init(struct console *c, int in_fd, int out_fd, struct device_lock *lock,
                  void (*quit)(void *opaque), void (*dump)(void *opaque), void *quit_opaque)
{
    memset(c, 0, sizeof(*c));
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->lock = lock;
    c->quit = quit;
    c->dump = dump;
    c->quit_opaque = quit_opaque;
}

static void write_all(struct console *c, const uint8_t *p, size_t n)
{
    while (n && !c->out_broken) {
        ssize_t w = write(c->out_fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                continue;   /* a non-blocking terminal: spin briefly rather than lose output */
            c->out_broken = true;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

void console_tx(void *console, uint8_t byte)
{
    struct console *c = console;
    write_all(c, &byte, 1);
}

/* Feeds buffered input to the UART (device lock held). */
static void push_input(struct console *c)
{
    while (c->count) {
        size_t run = c->count;
        if (c->head + run > CONSOLE_INPUT_BUFFER)
            run = CONSOLE_INPUT_BUFFER - c->head;
        size_t took = uart_receive(c->uart, c->buf + c->head, run);
        c->head = (c->head + took) % CONSOLE_INPUT_BUFFER;
        c->count -= took;
        if (took < run)
            break;
    }
}

void console_rx_space(void *console)
{
    struct console *c = console;
    size_t before = c->count;
    push_input(c);
    /* Room appeared: the loop must watch (or read) stdin again. */
    if (c->wake_on_space && c->count < before) {
        c->wake_on_space = false;
        event_loop_wake(c->loop);
    }
}

/* Appends filtered input to the buffer (device lock held); the caller made
 * sure it fits. */
static void append_input(struct console *c, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        c->buf[(c->head + c->count) % CONSOLE_INPUT_BUFFER] = p[i];
        c->count++;
    }
    push_input(c);
}

static void handle_bytes(struct console *c, const uint8_t *in, size_t n)
{
    uint8_t out[READ_CHUNK];
    while (n) {
        size_t consumed;
        enum terminal_action action;
        size_t len = terminal_filter(&c->escapes, in, n, out, &consumed, &action);
        device_lock_host(c->lock);
        append_input(c, out, len);
        device_unlock(c->lock);
        in += consumed;
        n -= consumed;
        if (action == TERMINAL_QUIT) {
            c->quit(c->quit_opaque);
            c->in_eof = true;   /* nothing more to read: morph is stopping */
            return;
        }
        if (action == TERMINAL_HELP)
            write_all(c, (const uint8_t *)terminal_help_text, strlen(terminal_help_text));
        if (action == TERMINAL_DUMP && c->dump)
            c->dump(c->quit_opaque);
    }
}

/* Reads what fits into the buffer.  Returns false when input stopped. */
static bool read_input(struct console *c)
{
    device_lock_host(c->lock);
    size_t room = CONSOLE_INPUT_BUFFER - c->count;
    device_unlock(c->lock);
    if (room == 0)
        return false;
    uint8_t tmp[READ_CHUNK];
    ssize_t r = read(c->in_fd, tmp, room < sizeof(tmp) ? room : sizeof(tmp));
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (r <= 0) {
        c->in_eof = true;
        return false;
    }
    handle_bytes(c, tmp, (size_t)r);
    return true;
}

static void stop_watching(struct console *c)
{
    if (c->in_pollable)
        event_loop_remove_fd(c->loop, c->in_fd);
    c->in_pollable = false;
}

static void on_input(void *console, int fd)
{
    struct console *c = console;
    (void)fd;
    read_input(c);
    if (c->in_eof) {
        stop_watching(c);
        return;
    }
    device_lock_host(c->lock);
    bool full = c->count == CONSOLE_INPUT_BUFFER;
    c->wake_on_space = full;
    device_unlock(c->lock);
    if (full) {
        event_loop_enable_fd(c->loop, c->in_fd, false);
        c->in_paused = true;
    }
}

void console_tick(struct console *c)
{
    if (c->in_eof || !c->uart)
        return;
    device_lock_host(c->lock);
    bool room = c->count < CONSOLE_INPUT_BUFFER;
    device_unlock(c->lock);
    if (!room)
        return;
    if (c->in_paused) {
        event_loop_enable_fd(c->loop, c->in_fd, true);
        c->in_paused = false;
    }
    if (!c->in_pollable) {
        /* A regular file: always "readable"; read it as the buffer drains. */
        while (read_input(c) && !c->in_eof) {
            device_lock_host(c->lock);
            bool more = c->count < CONSOLE_INPUT_BUFFER;
            c->wake_on_space = !more;
            device_unlock(c->lock);
            if (!more)
                break;
        }
    }
}

void console_attach(struct console *c, struct uart16550 *uart, struct event_loop *loop)
{
    c->uart = uart;
    c->loop = loop;
    if (c->in_fd < 0) {
        c->in_eof = true;
        return;
    }
    if (event_loop_add_fd(loop, c->in_fd, on_input, c) == 0) {
        c->in_pollable = true;
    } else if (errno != EPERM) {
        c->in_eof = true;       /* closed or unusable stdin: no input */
    }
}

/* terminal.c - raw mode, restore on every exit path, Ctrl-A escapes. */
#include "host/terminal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* The saved terminal settings.  This is the one piece of process-global
 * state in morph, and deliberately so: a signal handler and an atexit
 * function can reach nothing else. */
static struct {
    struct termios saved;
    int fd;
    volatile sig_atomic_t active;
} term_restore_state = { .fd = -1 };

static const int restore_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

const char terminal_help_text[] =
    "\r\nmorph escapes (Ctrl-A then):\r\n"
    "  x        quit morph\r\n"
    "  h        this help\r\n"
    "  d        dump the CPU state to stderr (the guest goes on)\r\n"
    "  a, C-a   send Ctrl-A to the guest\r\n";

void terminal_restore(void)
{
    if (!term_restore_state.active)
        return;
    term_restore_state.active = 0;
    tcsetattr(term_restore_state.fd, TCSAFLUSH, &term_restore_state.saved);
}

static void restore_and_reraise(int sig)
{
    terminal_restore();
    static const char msg[] = "\nmorph: terminated by a signal\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)r;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_restore_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = restore_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(restore_signals) / sizeof(restore_signals[0]); i++)
        sigaction(restore_signals[i], &sa, NULL);
}

int terminal_enter_raw(int fd, char *err, size_t errlen)
{
    if (!isatty(fd))
        return 0;
    struct termios t;
    if (tcgetattr(fd, &t) < 0) {
        snprintf(err, errlen, "cannot read terminal settings: %s", strerror(errno));
        return -1;
    }
    term_restore_state.saved = t;
    term_restore_state.fd = fd;
    install_restore_handlers();
    atexit(terminal_restore);

    /* Raw input; output post-processing (ONLCR) is kept on purpose. */
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    term_restore_state.active = 1;
    if (tcsetattr(fd, TCSANOW, &t) < 0) {
        term_restore_state.active = 0;
        snprintf(err, errlen, "cannot set the terminal to raw mode: %s", strerror(errno));
        return -1;
    }
    return 0;
}

size_t terminal_filter(struct terminal_input *ti, const uint8_t *in, size_t n,
                       uint8_t *out, size_t *consumed, enum terminal_action *action)
{
    size_t o = 0, i;
    *action = TERMINAL_NONE;
    for (i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (!ti->escape_pending) {
            if (c == TERMINAL_ESCAPE_CHAR)
                ti->escape_pending = true;
            else
                out[o++] = c;
            continue;
        }
        ti->escape_pending = false;
        if (c == 'x' || c == 'X') {
            *action = TERMINAL_QUIT;
            i++;
            break;
        }
        if (c == 'h' || c == 'H' || c == '?') {
            *action = TERMINAL_HELP;
            i++;
            break;
        }
        if (c == 'd' || c == 'D') {
            *action = TERMINAL_DUMP;
            i++;
            break;
        }
        if (c == 'a' || c == TERMINAL_ESCAPE_CHAR)
            out[o++] = TERMINAL_ESCAPE_CHAR;
        /* any other escape is ignored */
    }
    *consumed = i;
    return o;
}

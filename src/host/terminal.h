/* terminal.h - the host terminal as the guest's serial console.
 *
 * When stdin is a tty it is put in raw input mode (no echo, no line editing,
 * no signals from ^C: every byte goes to the guest); output processing stays
 * on so lines the guest ends with a bare "\n" still start at column 0.  The
 * original settings come back on every way out of morph: normal return
 * (terminal_restore, also registered with atexit) and SIGTERM, SIGINT,
 * SIGHUP, SIGQUIT (a handler restores and re-raises the signal).
 *
 * Escapes (whether stdin is a tty or a pipe): Ctrl-A x quits, Ctrl-A h lists
 * the escapes, Ctrl-A d dumps the CPU state to stderr, Ctrl-A Ctrl-A or
 * Ctrl-A a sends one Ctrl-A to the guest.
 */
#ifndef MORPH_HOST_TERMINAL_H
#define MORPH_HOST_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERMINAL_ESCAPE_CHAR 0x01   /* Ctrl-A */

/* Puts fd in raw mode if it is a tty and installs the restore handlers.
 * Returns 0, or -1 with a reason in err. */
int terminal_enter_raw(int fd, char *err, size_t errlen);
/* Restores the saved settings; idempotent and async-signal-safe. */
void terminal_restore(void);

enum terminal_action {
    TERMINAL_NONE,
    TERMINAL_QUIT,          /* Ctrl-A x */
    TERMINAL_HELP,          /* Ctrl-A h */
    TERMINAL_DUMP,          /* Ctrl-A d */
};

/* The escape state machine for one input stream. */
struct terminal_input {
    bool escape_pending;    /* the previous byte was Ctrl-A */
};

/* Filters n bytes of input: bytes for the guest go to out (capacity >= n).
 * Stops at the first escape that is an action and returns it in *action;
 * *consumed says how many input bytes were used.  Returns the bytes in out. */
size_t terminal_filter(struct terminal_input *ti, const uint8_t *in, size_t n,
                       uint8_t *out, size_t *consumed, enum terminal_action *action);

/* The escape list, lines ending in "\r\n" (readable in raw mode). */
extern const char terminal_help_text[];

#endif

/* event_report.c - the soft engine's last interrupts and exceptions as
 * text (engine_ops.recent_events), for reports when a guest goes wrong. */
#include <stdarg.h>
#include <stdio.h>

#include "engine/soft/cpu.h"
#include "engine/soft/soft_engine.h"

struct text {
    char *buf;
    size_t cap, len;
};

__attribute__((format(printf, 2, 3)))
static void append(struct text *t, const char *fmt, ...)
{
    if (t->len + 1 >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < t->cap - t->len ? (size_t)n : t->cap - t->len - 1;
}

size_t soft_engine_format_recent_events(struct engine *e, char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    struct soft_event_record r[SOFT_EVENT_RING];
    size_t n = soft_engine_recent_events(e, r, SOFT_EVENT_RING);
    static const char *const kinds[] = { "exception", "interrupt", "int" };
    struct text t = { .buf = buf, .cap = cap, .len = 0 };
    buf[0] = '\0';
    append(&t, "last %zu interrupts/exceptions (oldest first):\n", n);
    for (size_t k = 0; k < n; k++) {
        append(&t, "  %-9s vector 0x%02x at %04x:%08x", kinds[r[k].kind % 3], r[k].vector,
               r[k].cs, r[k].eip);
        if (r[k].has_error)
            append(&t, " error 0x%x", r[k].error);
        if (r[k].vector == EXC_PF && r[k].kind == SOFT_EVENT_EXCEPTION)
            append(&t, " cr2 0x%08x", r[k].cr2);
        append(&t, " after %llu instructions\n", (unsigned long long)r[k].instructions);
    }
    return t.len;
}


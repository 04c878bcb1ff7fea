#!/usr/bin/env python3
"""linux_shell.py - drives the default Debian guest's shell on morph's serial
console through a pseudo-terminal, like a user at a terminal would.

    linux_shell.py MORPH KERNEL INITRD WORKDIR [--only shell|paste]

Two boots:
  shell  uname, /proc/cpuinfo, /proc/interrupts, dmesg, sha256sum of a file
         written in tmpfs, then poweroff: morph must end with status 0;
  paste  4 KiB pasted into `cat > /tmp/paste` in one burst: nothing lost.
Prints PASS/FAIL per check and "N passed, N failed" last.  The console of
each boot is kept in WORKDIR/<name>.console, morph's stderr in <name>.err.

The soft CPU is an interpreter, so the timeouts are generous (MORPH_BOOT_TIMEOUT
seconds to the prompt, default 1500; MORPH_CMD_TIMEOUT per command, default
300).  MORPH_APPEND replaces the kernel command line (default console=ttyS0).
"""
import hashlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

BOOT_TIMEOUT = float(os.environ.get("MORPH_BOOT_TIMEOUT", "1500"))
CMD_TIMEOUT = float(os.environ.get("MORPH_CMD_TIMEOUT", "300"))
APPEND = os.environ.get("MORPH_APPEND", "console=ttyS0")
PROMPT = re.compile(rb"/ # (\x1b\[6n)?$")


class Result:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, why=""):
        if ok:
            print("PASS " + name, flush=True)
            self.passed += 1
        else:
            print("FAIL %s: %s" % (name, why), flush=True)
            self.failed += 1
        return ok


class Timeout(Exception):
    pass


class Guest:
    """morph on a pty; everything the console prints is kept in self.buf."""

    def __init__(self, morph, kernel, initrd, log_base, argv=None, extra=()):
        """argv replaces the whole command line (other guests, other VMMs);
        extra is added to morph's default one."""
        self.log_base = log_base
        master, slave = pty.openpty()
        self.err = open(log_base + ".err", "wb")
        self.log = open(log_base + ".console", "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            argv or [morph, "run", "--kernel", kernel, "--initrd", initrd,
                     "--append", APPEND, "--stats"] + list(extra),
            stdin=slave, stdout=slave, stderr=self.err, close_fds=True,
            start_new_session=True)
        os.close(slave)
        self.fd = master
        self.buf = b""
        self.pos = 0          # where the next expect() starts looking
        self.eof = False

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return
        try:
            data = os.read(self.fd, 65536)
        except OSError:       # EIO: morph closed the terminal (exited)
            data = b""
        if not data:
            self.eof = True
            return
        self.buf += data
        self.log.write(data)
        self.log.flush()

    def expect(self, pattern, timeout):
        """Waits for regex PATTERN (bytes) after self.pos; returns the match and
        moves self.pos past it.  Raises Timeout (or on EOF)."""
        rx = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if self.eof:
                raise Timeout("morph closed the console (exit status %s) while we waited for %r;"
                              " console ends with %r; stderr ends with %r" %
                              (self.exit_status(), rx.pattern, self.buf[-200:], self.stderr_text()[-300:]))
            if left <= 0:
                raise Timeout("waited %.0f s for %r; console ends with %r" %
                              (timeout, rx.pattern, self.buf[-200:]))
            self._read(min(left, 1.0))

    def send(self, data):
        while data:
            n = os.write(self.fd, data)
            data = data[n:]

    def wait_prompt(self, timeout=CMD_TIMEOUT):
        return self.expect(PROMPT, timeout)

    def run(self, cmd, timeout=CMD_TIMEOUT):
        """Runs CMD in the guest shell; returns its output and status (line
        ends as LF: the guest's CR LF may come through the pty as CR CR LF).
        The markers are built by the shell from two quoted halves, so the
        echo of the typed line never matches them."""
        tag = "%d" % (len(self.buf) % 100000)
        self.send(('echo "@@B""%s"; %s; echo "@@E""%s $?"\r' % (tag, cmd, tag)).encode())
        self.expect(("@@B%s\r*\n" % tag).encode(), timeout)
        start = self.pos
        m = self.expect(("@@E%s ([0-9]+)\r" % tag).encode(), timeout)   # whole number: wait for the line end
        out = re.sub(rb"\r+\n", b"\n", self.buf[start:m.start()])
        self.wait_prompt(timeout)
        return out.decode("utf-8", "replace"), int(m.group(1))

    def exit_status(self):
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.5)
        if self.proc.poll() is None:
            return None
        while not self.eof:
            self._read(0.2)
            r, _, _ = select.select([self.fd], [], [], 0)
            if not r:
                break
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def close(self):
        self.kill()
        os.close(self.fd)
        self.err.close()
        self.log.close()

    def stderr_text(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.log_base + ".err", "rb") as f:
            return f.read().decode("utf-8", "replace")


def boot(res, g, name):
    """Waits for MORPH-BOOT-OK and the first prompt; reports the time."""
    try:
        g.expect(rb"MORPH-BOOT-OK", BOOT_TIMEOUT)
        marker = time.monotonic() - g.started
        g.wait_prompt(CMD_TIMEOUT)
        # busybox's line editor asks where the cursor is (ESC [ 6 n); nothing
        # answers on a pty, which it tolerates.
        prompt = time.monotonic() - g.started
    except Timeout as e:
        res.check(name + ": boots to the shell prompt", False, str(e))
        return False
    print("info %s: MORPH-BOOT-OK after %.1f s, shell prompt after %.1f s" %
          (name, marker, prompt), flush=True)
    return res.check(name + ": boots to the shell prompt", True)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Flags Linux adds of its own (not from CPUID leaf 1).
LINUX_SYNTHETIC_FLAGS = {"cpuid", "constant_tsc", "nonstop_tsc", "tsc_known_freq", "tsc_reliable"}


def advertised_flags():
    """Linux's names of the leaf-1 features morph's CPUID table advertises:
    the FEAT_* names in CPUID_FEATURES of src/engine/soft/cpuid.c."""
    with open(os.path.join(ROOT, "src/engine/soft/cpuid.c")) as f:
        text = f.read()
    m = re.search(r"#define CPUID_FEATURES\s*\(([^)]*)\)", text)
    if not m:
        return set()
    names = {"clfsh": "clflush", "htt": "ht", "ds": "dts"}   # SDM name -> Linux's
    return {names.get(n.lower(), n.lower()) for n in re.findall(r"FEAT_(\w+)", m.group(1))}


def shell_checks(res, g):
    out, rc = g.run("uname -a")
    res.check("uname -a says Linux 6.1 on i686",
              rc == 0 and re.search(r"^Linux \S+ 6\.1\.\S+ .* i686 GNU/Linux$", out, re.M) is not None,
              repr(out))

    out, rc = g.run("cat /proc/cpuinfo")
    fam = re.search(r"^cpu family\s*:\s*(\d+)$", out, re.M)
    flags = re.search(r"^flags\s*:(.*)$", out, re.M)
    res.check("cpuinfo shows a family-6 CPU", rc == 0 and fam is not None and fam.group(1) == "6",
              repr(out[:400]))
    have = set(flags.group(1).split()) if flags else set()
    want = advertised_flags()
    missing = sorted(want - have)
    extra = sorted(have - want - LINUX_SYNTHETIC_FLAGS)
    res.check("cpuinfo flags are exactly what our CPUID advertises (%s)" % " ".join(sorted(want)),
              flags is not None and want and not missing and not extra,
              "missing %s, unexpected %s, in %r" % (missing, extra, sorted(have)))
    bogo = re.search(r"^bogomips\s*:\s*([0-9.]+)$", out, re.M)
    res.check("cpuinfo shows bogomips", bogo is not None, repr(out[:400]))

    out, rc = g.run("cat /proc/interrupts")
    def count(name):
        m = re.search(r"^\s*\d+:\s+(\d+)\s.*\b%s\b" % name, out, re.M)
        return int(m.group(1)) if m else 0
    res.check("interrupts: timer count > 0", count("timer") > 0, repr(out))
    res.check("interrupts: ttyS0 count > 0", count("ttyS0") > 0, repr(out))

    out, rc = g.run("dmesg | grep -i -e 8250 -e rtc -e pit -e tsc")
    res.check("dmesg: ttyS0 is a 16550A", re.search(r"ttyS0 at I/O 0x3f8 .* is a 16550A", out) is not None,
              repr(out))
    res.check("dmesg: the CMOS RTC is registered", re.search(r"rtc_cmos .*registered as rtc0", out) is not None,
              repr(out))
    res.check("dmesg: the PIT clocksource is registered", re.search(r"clocksource: pit", out) is not None,
              repr(out))
    res.check("dmesg: the TSC is calibrated against the PIT",
              re.search(r"tsc: Detected [0-9.]+ MHz processor", out) is not None, repr(out))
    res.check("dmesg: the TSC is never marked unstable", "Marking TSC unstable" not in out
              and "Unable to calibrate" not in out, repr(out))
    res.check("dmesg: the clocksource is the TSC", "Switched to clocksource tsc" in out, repr(out))

    # A file in tmpfs, and its hash computed by the guest and by the host.
    out, rc = g.run("mount | grep ' /tmp '")
    res.check("/tmp is a tmpfs", re.search(r"^tmpfs on /tmp type tmpfs", out, re.M) is not None, repr(out))
    g.run('seq 1 3000 | while read i; do echo "line $i of a file in tmpfs"; done > /tmp/f')
    want = hashlib.sha256("".join("line %d of a file in tmpfs\n" % i for i in range(1, 3001)).encode()).hexdigest()
    out, rc = g.run("sha256sum /tmp/f")
    res.check("sha256sum of a tmpfs file matches the host's", rc == 0 and out.split()[:1] == [want],
              "guest %r, host %s" % (out, want))
    ctrl_c_check(res, g)


def ctrl_c_check(res, g):
    """The console is the shell's controlling terminal: Ctrl-C stops a command."""
    g.send(b"sleep 1000\r")
    time.sleep(3)
    g.send(b"\x03")
    try:
        g.wait_prompt(CMD_TIMEOUT)
        g.send(b'echo "@@S""$?"\r')       # the status of the interrupted sleep
        m = g.expect(rb"@@S([0-9]+)\r", CMD_TIMEOUT)    # the serial console sends digit by digit
        g.wait_prompt(CMD_TIMEOUT)
    except Timeout as e:
        res.check("Ctrl-C interrupts a running command", False, str(e))
        raise
    res.check("Ctrl-C interrupts a running command", m.group(1) == b"130",
              "status %r, want 130 (SIGINT)" % m.group(1))


def poweroff(res, g, name):
    g.send(b"poweroff\r")
    rc = g.wait_exit(CMD_TIMEOUT)
    console = g.buf.decode("utf-8", "replace")
    res.check(name + ": poweroff ends morph with status 0", rc == 0,
              "status %s; console ends %r; stderr %r" % (rc, console[-300:], g.stderr_text()[-500:]))
    res.check(name + ": the kernel says 'reboot: System halted'", "reboot: System halted" in console,
              repr(console[-300:]))


PASTE_LINE = 63


def paste_text():
    """4096 printable bytes in lines of 64 (63 characters and a newline)."""
    lines = []
    for i in range(4096 // (PASTE_LINE + 1)):
        chars = "".join(chr(33 + (i * 7 + j * 13) % 94) for j in range(PASTE_LINE))
        lines.append(chars + "\n")
    text = "".join(lines).encode()
    assert len(text) == 4096
    return text


def paste_checks(res, g):
    text = paste_text()
    g.send(b"cat > /tmp/paste\r")
    g.expect(rb"cat > /tmp/paste\r*\n", CMD_TIMEOUT)   # the shell took the line
    time.sleep(2)                       # and started cat (input before would still queue)
    g.send(text.replace(b"\n", b"\r"))  # a terminal sends CR for Enter; the tty maps it (ICRNL)
    g.send(b"\x04")                     # Ctrl-D at the start of a line: end of file
    g.wait_prompt(CMD_TIMEOUT)
    out, rc = g.run("wc -c < /tmp/paste")
    res.check("paste: 4096 bytes arrived", out.strip() == "4096", "guest counted %r" % out.strip())
    out, rc = g.run("sha256sum /tmp/paste")
    want = hashlib.sha256(text).hexdigest()
    res.check("paste: the content is intact (sha256)", out.split()[:1] == [want],
              "guest %r, host %s" % (out, want))


def stats_line(g):
    m = re.search(r"guest instructions\s+(\d+)(\s+\(([0-9.]+) MIPS\))?", g.stderr_text())
    return "%s instructions, %s MIPS" % (m.group(1), m.group(3)) if m else "no --stats"


def session(res, args, name, body):
    morph, kernel, initrd, work = args
    g = Guest(morph, kernel, initrd, os.path.join(work, name))
    try:
        if boot(res, g, name):
            try:
                body(res, g)
                poweroff(res, g, name)
            except Timeout as e:
                res.check(name + ": the shell answers", False, str(e))
    finally:
        g.close()
    print("info %s: %s; console log %s.console" % (name, stats_line(g), g.log_base), flush=True)
    err = g.stderr_text()
    res.check(name + ": no sanitizer report", not re.search(r"Sanitizer|runtime error:", err),
              err[-500:])


def main():
    argv = sys.argv[1:]
    only = None
    if len(argv) == 6 and argv[4] == "--only":
        only = argv[5]
        argv = argv[:4]
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    res = Result()
    if only in (None, "shell"):
        session(res, argv, "shell", shell_checks)
    if only in (None, "paste"):
        session(res, argv, "paste", paste_checks)
    print("%d passed, %d failed" % (res.passed, res.failed))
    return 0 if res.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

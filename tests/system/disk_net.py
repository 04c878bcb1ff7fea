#!/usr/bin/env python3
"""disk_net.py - boots the Debian root disk (tools/guest/disk.sh) with
virtio-blk and virtio-net (user networking) and drives it on the serial
console through a pseudo-terminal.

    disk_net.py --only disk|net --morph MORPH --kernel K --initrd I
                --image IMG --key SSH_KEY --work DIR [--vmm morph|qemu]

  disk  boot 1: log in on the console, check the root file system is the
        virtio disk, write a file, sync, SIGKILL the VMM;
        boot 2: log in, the file is intact (sha256 against the host's),
        poweroff ends the VMM with status 0.
  net   one boot: DHCP gave 10.0.2.15, ping the gateway, fetch a file from a
        host HTTP server on 127.0.0.1 through 10.0.2.2 (sha256 compared),
        reach a guest TCP service and the guest's sshd through hostfwd
        rules on 127.0.0.1.

--vmm qemu runs the same checks on qemu-system-i386 -accel tcg with the
same virtio devices (a reference for the checks themselves, never part of
morph's tests); --vmm qemu-relay does too but gives QEMU's NIC morph's
network backend (build/net_relay, `make build/net_relay`: QEMU's frames
over UDP on loopback), testing net_slirp.c with a real guest. IMG is used in place: the caller gives a private copy.
Prints PASS/FAIL per check and "N passed, N failed" last; consoles are kept
in DIR/<name>.console. MORPH_BOOT_TIMEOUT (to the login prompt, default
1500 s) and MORPH_CMD_TIMEOUT (per command, default 300 s).
"""
import argparse
import hashlib
import os
import re
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_shell import Guest, Result, Timeout  # noqa: E402

BOOT_TIMEOUT = float(os.environ.get("MORPH_BOOT_TIMEOUT", "1500"))
CMD_TIMEOUT = float(os.environ.get("MORPH_CMD_TIMEOUT", "300"))
APPEND = "console=ttyS0 root=/dev/vda net.ifnames=0"
LOGIN = re.compile(rb"morph-debian login: $")
PROMPT = re.compile(rb"morph-test# $")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def vmm_argv(args, hostfwds, relay_ports=None):
    """The VMM command line: the disk and a NIC with user networking (QEMU's
    own slirp, or with relay_ports morph's backend in net_relay)."""
    net = "user" + "".join(",hostfwd=tcp:127.0.0.1:%d-:%d" % f for f in hostfwds)
    if args.vmm.startswith("qemu"):
        if relay_ports:
            netdev = "socket,id=n,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % relay_ports
        else:
            netdev = net + ",id=n"
        return ["qemu-system-i386", "-accel", "tcg", "-M", "pc", "-m", "256",
                "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
                "-kernel", args.kernel, "-initrd", args.initrd, "-append", APPEND,
                "-drive", "file=%s,format=raw,if=none,id=d" % args.image,
                "-device", "virtio-blk-pci,drive=d,disable-legacy=on",
                "-netdev", netdev,
                "-device", "virtio-net-pci,netdev=n,disable-legacy=on"]
    return [args.morph, "run", "--kernel", args.kernel, "--initrd", args.initrd,
            "--append", APPEND, "--drive", "file=%s,format=raw" % args.image,
            "--net", net, "--stats"]


class DiskGuest(Guest):
    """linux_shell's Guest with our own command line and the Debian prompt;
    with --vmm qemu-relay it also owns the net_relay process."""
    relay = None

    def wait_prompt(self, timeout=CMD_TIMEOUT):
        return self.expect(PROMPT, timeout)

    def close(self):
        super().close()
        if self.relay:
            self.relay.terminate()
            self.relay.wait()
            self.relay_err.close()

    def stderr_text(self):
        text = super().stderr_text()
        if self.relay:
            with open(self.log_base + ".relay.err", "rb") as f:
                text += f.read().decode("utf-8", "replace")
        return text


def start_relay(args, name, hostfwds):
    """net_relay carrying QEMU's frames to morph's backend; its ports."""
    relay_port, qemu_port = free_udp_port(), free_udp_port()
    net = "user" + "".join(",hostfwd=tcp:127.0.0.1:%d-:%d" % f for f in hostfwds)
    err = open(os.path.join(args.work, name + ".relay.err"), "wb")
    proc = subprocess.Popen([args.relay, str(relay_port), str(qemu_port), net],
                            stdout=subprocess.PIPE, stderr=err)
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        proc.kill()
        raise SystemExit("net_relay did not start: %r (see %s.relay.err)" % (line, name))
    return proc, err, (relay_port, qemu_port)


def start(args, name, hostfwds=()):
    relay = None
    if args.vmm == "qemu-relay":
        relay, relay_err, ports = start_relay(args, name, hostfwds)
    g = DiskGuest(None, None, None, os.path.join(args.work, name),
                  vmm_argv(args, hostfwds, ports if relay else None))
    if relay:
        g.relay, g.relay_err = relay, relay_err
    return g


def login(res, g, name):
    """Waits for the console's login prompt, logs in as root (no password),
    sets a plain prompt; reports the boot time."""
    try:
        g.expect(LOGIN, BOOT_TIMEOUT)
        at = time.monotonic() - g.started
        g.send(b"root\r")
        g.expect(rb"# $", CMD_TIMEOUT)
        # Kernel messages would land in the middle of command output.
        g.send(b"dmesg -n 1; bind 'set enable-bracketed-paste off' 2>/dev/null; PS1='morph-test''# '\r")
        g.wait_prompt()
    except Timeout as e:
        res.check(name + ": boots to the login prompt and logs in", False, str(e))
        return False
    print("info %s: login prompt after %.1f s" % (name, at), flush=True)
    return res.check(name + ": boots to the login prompt and logs in", True)


PERSIST = "".join("line %d of a file on the virtio disk\n" % i for i in range(1, 20001))


def disk_first(res, g):
    out, rc = g.run("uname -m; grep ' / ' /proc/mounts")
    res.check("root is /dev/vda (ext4, read-write)",
              re.search(r"^/dev/vda / ext4 rw", out, re.M) is not None and "i686" in out, repr(out))
    out, rc = g.run("cat /sys/block/vda/size; lsmod | grep -c virtio")
    res.check("the disk has 1.5 GiB of sectors", out.split()[:1] == [str(1536 * 2048)], repr(out))
    g.run("seq 1 20000 | while read i; do echo \"line $i of a file on the virtio disk\"; done"
          " > /root/persist.txt")
    out, rc = g.run("sync && sha256sum /root/persist.txt")
    want = hashlib.sha256(PERSIST.encode()).hexdigest()
    res.check("a file written to the disk has the host's sha256", out.split()[:1] == [want],
              "guest %r, host %s" % (out, want))


def disk_second(res, g):
    out, rc = g.run("sha256sum /root/persist.txt")
    want = hashlib.sha256(PERSIST.encode()).hexdigest()
    res.check("after SIGKILL and a new boot the file is intact", out.split()[:1] == [want],
              "guest %r, host %s" % (out, want))
    out, rc = g.run("dmesg | grep -i -e 'EXT4-fs error' -e 'I/O error' | head -n 5")
    res.check("no ext4 or I/O errors in dmesg", out.strip() == "", repr(out))


def poweroff(res, g, name):
    g.send(b"poweroff\r")
    rc = g.wait_exit(CMD_TIMEOUT)
    res.check(name + ": poweroff ends the VMM with status 0", rc == 0,
              "status %s; console ends %r" % (rc, g.buf[-300:]))


def run_disk(res, args):
    g = start(args, "disk1")
    try:
        if login(res, g, "disk1"):
            try:
                disk_first(res, g)
            except Timeout as e:
                res.check("disk1: the shell answers", False, str(e))
    finally:
        g.close()          # SIGKILL: no orderly shutdown
    check_stderr(res, g, "disk1")
    g = start(args, "disk2")
    try:
        if login(res, g, "disk2"):
            try:
                disk_second(res, g)
                poweroff(res, g, "disk2")
            except Timeout as e:
                res.check("disk2: the shell answers", False, str(e))
    finally:
        g.close()
    check_stderr(res, g, "disk2")


class HttpServer:
    """python3 -m http.server on 127.0.0.1 serving one deterministic file."""

    def __init__(self, work, size):
        self.dir = os.path.join(work, "www")
        os.makedirs(self.dir, exist_ok=True)
        h, data, block = hashlib.sha256(), bytearray(), b""
        seed = hashlib.sha256(b"morph").digest()
        while len(data) < size:
            seed = hashlib.sha256(seed).digest()
            block = seed * 64
            data += block
        data = bytes(data[:size])
        h.update(data)
        self.sha256 = h.hexdigest()
        with open(os.path.join(self.dir, "blob"), "wb") as f:
            f.write(data)
        self.port = free_port()
        self.log = open(os.path.join(work, "http.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
             "--directory", self.dir, str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.1)

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def host_reads_forward(port, timeout=60):
    """Connects to a hostfwd port and returns what the guest service sends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 10) as s:
                s.settimeout(30)
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if data:
                    return data
        except OSError:
            pass
        time.sleep(1)
    return b""


def net_checks(res, g, http, fwd_nc, fwd_ssh, key):
    out, rc = g.run("for i in $(seq 60); do ip -4 addr show eth0 | grep -q 10.0.2.15 && break; sleep 1; done;"
                    " ip -4 addr show eth0; ip route")
    res.check("DHCP gave eth0 10.0.2.15/24 and a default route via 10.0.2.2",
              "inet 10.0.2.15/24" in out and "default via 10.0.2.2" in out, repr(out))
    out, rc = g.run("ping -c 2 -W 5 10.0.2.2")
    res.check("ping 10.0.2.2 (the host) answers", rc == 0, repr(out))
    out, rc = g.run("wget -q -O /tmp/blob http://10.0.2.2:%d/blob && sha256sum /tmp/blob" % http.port)
    res.check("a file from the host's HTTP server arrives intact (sha256)",
              rc == 0 and out.split()[:1] == [http.sha256], "guest %r, host %s" % (out, http.sha256))
    g.run("(echo MORPH-FWD-OK | busybox nc -l -p 7777 >/dev/null 2>&1 &)")
    got = host_reads_forward(fwd_nc)
    res.check("hostfwd 127.0.0.1:%d reaches the guest's TCP service on :7777" % fwd_nc,
              got.strip() == b"MORPH-FWD-OK", repr(got))
    ssh = subprocess.run(
        ["ssh", "-i", key, "-p", str(fwd_ssh), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "ConnectTimeout=120", "-o", "LogLevel=ERROR", "root@127.0.0.1",
         "cat /etc/hostname"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=CMD_TIMEOUT)
    res.check("ssh through hostfwd 127.0.0.1:%d logs in with the test key" % fwd_ssh,
              ssh.returncode == 0 and ssh.stdout.strip() == b"morph-debian",
              "status %d, out %r, err %r" % (ssh.returncode, ssh.stdout, ssh.stderr[-300:]))


def run_net(res, args):
    http = HttpServer(args.work, 4 << 20)
    fwd_nc, fwd_ssh = free_port(), free_port()
    g = start(args, "net", [(fwd_nc, 7777), (fwd_ssh, 22)])
    try:
        if login(res, g, "net"):
            try:
                net_checks(res, g, http, fwd_nc, fwd_ssh, args.key)
                poweroff(res, g, "net")
            except Timeout as e:
                res.check("net: the shell answers", False, str(e))
    finally:
        g.close()
        http.close()
    check_stderr(res, g, "net")


def check_stderr(res, g, name):
    err = g.stderr_text()
    res.check(name + ": no sanitizer report", not re.search(r"Sanitizer|runtime error:", err),
              err[-500:])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["disk", "net"], required=True)
    p.add_argument("--vmm", choices=["morph", "qemu", "qemu-relay"], default="morph")
    p.add_argument("--relay", default=os.path.join(ROOT, "build", "net_relay"))
    for a in ("morph", "kernel", "initrd", "image", "key", "work"):
        p.add_argument("--" + a, required=(a != "morph"))
    args = p.parse_args()
    res = Result()
    (run_disk if args.only == "disk" else run_net)(res, args)
    print("%d passed, %d failed" % (res.passed, res.failed))
    return 0 if res.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

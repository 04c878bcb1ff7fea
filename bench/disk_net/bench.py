#!/usr/bin/env python3
"""bench.py - the disk and network benchmark's driver (bench/disk_net.sh).

    bench.py --vmm morph|qemu|qemu-relay [--morph M] [--relay R]
             --kernel K --initrd I --image IMG
             --key KEY --work DIR --mib N --port P

Boots IMG (a private copy) on one VMM with virtio-blk and virtio-net (user
networking), logs in on the console and times, from the host, each phase
as its command's end marker arrives: boot to the login prompt, dd of N MiB
to the disk (oflag=direct), dd back (iflag=direct), wget of N MiB from the
host's HTTP server on port P (through 10.0.2.2).  Prints one line per
phase: "PHASE name wall_s cpu_s detail", then "DONE".
"""
import argparse
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "system"))
import disk_net  # noqa: E402
from linux_shell import Timeout  # noqa: E402

TIMEOUT = float(os.environ.get("BENCH_PHASE_TIMEOUT", "1800"))


def cpu_seconds(pid):
    """user+system CPU time of the VMM process (all threads), seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Clock:
    def __init__(self, g):
        self.g = g
        self.wall = time.monotonic()
        self.cpu = cpu_seconds(g.proc.pid)

    def lap(self, name, detail=""):
        wall, cpu = time.monotonic(), cpu_seconds(self.g.proc.pid)
        print("PHASE %s %.2f %.2f %s" % (name, wall - self.wall, cpu - self.cpu, detail), flush=True)
        self.wall, self.cpu = wall, cpu


def dd_rate(out):
    m = re.search(r"copied, ([0-9.,]+) s, ([0-9.,]+ [kMG]?B/s)", out)
    return "guest dd: %s s, %s" % (m.group(1), m.group(2)) if m else "dd said %r" % out.strip()[-120:]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vmm", choices=["morph", "qemu", "qemu-relay"], required=True)
    p.add_argument("--morph")
    p.add_argument("--relay")
    for a in ("kernel", "initrd", "image", "key", "work"):
        p.add_argument("--" + a, required=True)
    p.add_argument("--mib", type=int, default=256)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    g = disk_net.start(args, args.vmm)
    c = Clock(g)
    c.wall, c.cpu = g.started, 0.0
    try:
        g.expect(disk_net.LOGIN, TIMEOUT)
        c.lap("boot")
        g.send(b"root\r")
        g.expect(rb"# $", TIMEOUT)
        g.send(b"dmesg -n 1; bind 'set enable-bracketed-paste off' 2>/dev/null; PS1='morph-test''# '\r")
        g.wait_prompt(TIMEOUT)
        g.run("for i in $(seq 60); do ip -4 addr show eth0 | grep -q 10.0.2.15 && break; sleep 1; done", TIMEOUT)
        c = Clock(g)
        out, rc = g.run("dd if=/dev/zero of=/root/bench bs=1M count=%d oflag=direct 2>&1" % args.mib, TIMEOUT)
        c.lap("disk_write", dd_rate(out) if rc == 0 else "FAILED %r" % out[-200:])
        g.run("sync; echo 3 > /proc/sys/vm/drop_caches", TIMEOUT)
        c = Clock(g)
        out, rc = g.run("dd if=/root/bench of=/dev/null bs=1M iflag=direct 2>&1", TIMEOUT)
        c.lap("disk_read", dd_rate(out) if rc == 0 else "FAILED %r" % out[-200:])
        g.run("rm -f /root/bench; sync", TIMEOUT)
        c = Clock(g)
        out, rc = g.run("wget -q -O - http://10.0.2.2:%d/blob | wc -c" % args.port, TIMEOUT)
        ok = rc == 0 and out.strip() == str(args.mib << 20)
        c.lap("net_download", "%s bytes" % out.strip() if ok else "FAILED %r" % out[-200:])
        g.send(b"poweroff\r")
        g.wait_exit(120)
    except Timeout as e:
        print("TIMEOUT %s" % e, flush=True)
    finally:
        g.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()

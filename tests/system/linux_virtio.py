#!/usr/bin/env python3
"""linux_virtio.py - the default Debian guest on virtio-blk, through the console.

    linux_virtio.py MORPH KERNEL INITRD WORKDIR

One boot with two drives: disk.img (read-write, a known pattern) and ro.img
(readonly=on).  Checks: the PCI scan finds 1af4:1042 at 00:01.0 and 00:02.0
and 1af4:1044 (entropy) at 00:06.0 with the IRQs of their interrupt line
registers (11, 5, 5); virtio_pci and virtio_blk load and make vda and vdb
with the images' sizes; vda reads back the image's bytes; a write to vda
reaches the image file; vdb is read-only; the disk interrupts arrive on
XT-PIC lines; poweroff ends morph with status 0.  Prints PASS/FAIL per
check and "N passed, N failed" last; the console is kept in WORKDIR.
"""
import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_shell import Guest, Result, Timeout, boot, poweroff, stats_line  # noqa: E402

DISK_MIB = 16
RO_MIB = 4
SIGNATURE = b"MORPH-VIRTIO-DISK-0\n"
WRITTEN = "written-by-the-guest-through-virtio-blk"


def make_images(work):
    disk = os.path.join(work, "disk.img")
    ro = os.path.join(work, "ro.img")
    with open(disk, "wb") as f:
        block = bytearray()
        while len(block) < (1 << 20):
            block += SIGNATURE + hashlib.sha256(bytes(len(block))).hexdigest().encode() + b"\n"
        for _ in range(DISK_MIB):
            f.write(block[:1 << 20])
    with open(ro, "wb") as f:
        f.write(b"READ-ONLY-IMAGE\n")
        f.truncate(RO_MIB << 20)
    return disk, ro


def file_sha(path, length):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(length)).hexdigest()


def checks(res, g, disk):
    out, _ = g.run("cd /sys/bus/pci/devices && for d in *; do echo $d $(cat $d/vendor $d/device $d/irq); done; cd /")
    want = {"0000:00:01.0": "0x1af4 0x1042 11", "0000:00:02.0": "0x1af4 0x1042 5",
            "0000:00:06.0": "0x1af4 0x1044 5"}
    for dev, line in want.items():
        res.check("PCI scan finds %s (%s)" % (dev, line), (dev + " " + line) in out, out)

    out, rc = g.run("modprobe virtio_pci && modprobe virtio_blk && sleep 1 && ls /dev/vda /dev/vdb")
    res.check("virtio_pci and virtio_blk load, vda and vdb appear", rc == 0, out)
    out, _ = g.run("cat /sys/block/vda/size /sys/block/vdb/size")
    res.check("capacities in sectors", out.split() == [str(DISK_MIB * 2048), str(RO_MIB * 2048)], out)

    out, _ = g.run("head -c %d /dev/vda" % len(SIGNATURE))
    res.check("vda starts with the image's bytes", out.strip() == SIGNATURE.decode().strip(), out)
    length = 4 << 20
    out, _ = g.run("dd if=/dev/vda bs=1M count=4 2>/dev/null | sha256sum")
    res.check("4 MiB of vda match the image", out.split()[:1] == [file_sha(disk, length)], out)

    out, rc = g.run("echo %s | dd of=/dev/vda bs=512 seek=2048 conv=sync,fsync 2>/dev/null" % WRITTEN)
    res.check("a write to vda completes", rc == 0, out)
    with open(disk, "rb") as f:
        f.seek(2048 * 512)
        got = f.read(len(WRITTEN))
    res.check("the write reached the image file", got == WRITTEN.encode(), repr(got))

    out, _ = g.run("blockdev --getro /dev/vdb; head -c 15 /dev/vdb")
    res.check("vdb is read-only and readable", out.split() == ["1", "READ-ONLY-IMAGE"], out)
    out, rc = g.run("echo x | dd of=/dev/vdb conv=fsync 2>/dev/null")
    res.check("a write to vdb fails", rc != 0, out)

    out, _ = g.run("grep virtio /proc/interrupts")
    counts = {m.group(2): int(m.group(1)) for m in
              re.finditer(r"^\s*\d+:\s+(\d+)\s+XT-PIC\s+(virtio\d)", out, re.M)}
    res.check("disk interrupts on XT-PIC lines", counts.get("virtio0", 0) > 0, out)


def main():
    argv = sys.argv[1:]
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    morph, kernel, initrd, work = argv
    disk, ro = make_images(work)
    res = Result()
    g = Guest(morph, kernel, initrd, os.path.join(work, "virtio"),
              extra=["--drive", "file=" + disk, "--drive", "file=%s,readonly=on,format=raw" % ro])
    try:
        if boot(res, g, "virtio"):
            try:
                checks(res, g, disk)
                poweroff(res, g, "virtio")
            except Timeout as e:
                res.check("the shell answers", False, str(e))
    finally:
        g.close()
    print("info virtio: %s; console log %s.console" % (stats_line(g), g.log_base), flush=True)
    err = g.stderr_text()
    res.check("no sanitizer report", not re.search(r"Sanitizer|runtime error:", err), err[-500:])
    print("%d passed, %d failed" % (res.passed, res.failed))
    return 0 if res.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

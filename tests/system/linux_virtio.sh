#!/usr/bin/env bash
# linux_virtio.sh - boots the default guest with two virtio-blk drives (one
# read-only) and checks through the console that Linux finds the virtio
# PCI devices with their IRQs, loads virtio_pci and virtio_blk, reads and
# writes the disk (checked against the image file on the host) and cannot
# write the read-only one.  The driver is linux_virtio.py.
#   tests/system/linux_virtio.sh [MORPH]   (default build/asan/morph)
source "$(dirname "$0")/lib.bash"

need_morph_and_guest
exec python3 "$ROOT/tests/system/linux_virtio.py" "$MORPH" "$KERNEL" "$INITRD" "$WORK"

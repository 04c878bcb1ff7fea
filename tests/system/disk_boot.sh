#!/usr/bin/env bash
# disk_boot.sh - boots the Debian root disk (tools/guest/disk.sh) from
# virtio-blk with user networking: log in on the serial console, check the
# root file system, write a file, sync, SIGKILL morph; boot again and find
# the file intact; poweroff.  Two boots; the driver is disk_net.py.
#   tests/system/disk_boot.sh [MORPH] [--vmm qemu|qemu-relay]   (default build/morph)
# Skips (0 passed, 0 failed) while `morph run --help` lists no --drive.
# The disk is a private copy in build/system-tests/disk_boot/.
# MORPH_BOOT_TIMEOUT (seconds to the login prompt, default 1500) for slow hosts.
set -- "${1:-build/morph}" "${@:2}"
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/disk_lib.bash"
disk_setup "${@:2}"
exec python3 "$ROOT/tests/system/disk_net.py" --only disk "${DISK_ARGS[@]}" "${@:2}"

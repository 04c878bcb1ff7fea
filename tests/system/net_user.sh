#!/usr/bin/env bash
# net_user.sh - boots the Debian root disk (tools/guest/disk.sh) with
# virtio-net on user networking (libslirp): DHCP 10.0.2.15, ping 10.0.2.2,
# a file from a host HTTP server on 127.0.0.1 fetched through 10.0.2.2
# (sha256 compared), a guest TCP service and the guest's sshd reached
# through hostfwd rules on 127.0.0.1.  One boot; the driver is disk_net.py.
#   tests/system/net_user.sh [MORPH] [--vmm qemu|qemu-relay]   (default build/morph)
# Skips (0 passed, 0 failed) while `morph run --help` lists no --drive.
set -- "${1:-build/morph}" "${@:2}"
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/disk_lib.bash"
disk_setup "${@:2}"
exec python3 "$ROOT/tests/system/disk_net.py" --only net "${DISK_ARGS[@]}" "${@:2}"

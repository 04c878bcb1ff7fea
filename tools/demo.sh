#!/usr/bin/env bash
# demo.sh - install what is needed, build morph, fetch the default guest
# (Debian's i386 kernel and a busybox initramfs, tools/guest/fetch.sh) and boot
# it on morph's soft CPU to an interactive shell on this terminal.
#
#   tools/demo.sh          the busybox initramfs: a shell
#   tools/demo.sh --disk   the Debian root disk (tools/guest/disk.sh) on
#                          virtio-blk, with virtio-net user networking and
#                          ssh forwarded from 127.0.0.1:2222: a login prompt
set -uo pipefail
cd "$(dirname "$0")/.."

DISK=false
case ${1:-} in
'') ;;
--disk) DISK=true ;;
*) echo "usage: tools/demo.sh [--disk]" >&2; exit 2 ;;
esac

# The Debian disk: built once into the cache (debootstrap, about 60 MB of
# packages, needs root), then booted with the virtio devices.
exec_disk_demo() {
    if ! build/morph run --help 2>&1 | grep -q -- --drive; then
        echo "demo: this morph has no --drive (the virtio devices are not merged yet)" >&2
        exit 1
    fi
    eval "$(tools/guest/disk.sh --print-paths)" || { echo "demo: tools/guest/disk.sh failed" >&2; exit 1; }
    # The demo's own copy, kept between demos (the cached image stays pristine
    # for the tests; delete demo.img to start afresh).
    local img=${IMAGE%/*}/demo.img
    [[ -f $img ]] || cp --sparse=always "$IMAGE" "$img" || { echo "demo: cannot copy $IMAGE" >&2; exit 1; }
    local append="console=ttyS0 root=/dev/vda net.ifnames=0"
    local net="user,hostfwd=tcp:127.0.0.1:2222-:22"
    cat <<TXT
morph boots Debian 12 (i386) from a raw ext4 disk image on virtio-blk, with a
virtio-net card on user networking (libslirp: the guest is 10.0.2.15, the
host 10.0.2.2). The boot takes a few minutes on the interpreter; then log in
on this console as root (no password), or from another terminal:

  ssh -i $SSH_KEY -p 2222 root@127.0.0.1

  poweroff     in the guest: stops the machine, morph exits with status 0
  Ctrl-A x     quits morph at any time (the disk then needs its journal replayed)

\$ build/morph run --kernel $KERNEL \\
      --initrd $INITRD --append "$append" \\
      --drive file=$img,format=raw --net $net

TXT
    exec build/morph run --kernel "$KERNEL" --initrd "$INITRD" --append "$append" \
        --drive "file=$img,format=raw" --net "$net"
}

tools/setup.sh || exit 1
make -s -j2 morph >/dev/null || { echo "demo: the build failed (run make morph to see why)" >&2; exit 1; }
eval "$(tools/guest/fetch.sh --print-paths)" || { echo "demo: tools/guest/fetch.sh failed" >&2; exit 1; }
$DISK && exec_disk_demo

cat <<TXT
morph boots Debian's i386 Linux kernel with a busybox initramfs on its soft
CPU (an interpreter): every port access, HLT and interrupt of the guest goes
to morph's device models (PIC, PIT, RTC, 16550A UART, i8042, PCI host bridge).
The serial console is this terminal.  The boot takes about a minute (the kernel
is interpreted instruction by instruction); then you get a shell: / #

  poweroff     in the guest: stops the machine, morph exits with status 0
  Ctrl-A x     quits morph at any time (Ctrl-A h lists the escapes)

\$ build/morph run --kernel $KERNEL \\
      --initrd $INITRD --append "console=ttyS0"

TXT
exec build/morph run --kernel "$KERNEL" --initrd "$INITRD" --append "console=ttyS0"

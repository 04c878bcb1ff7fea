#!/usr/bin/env bash
# demo.sh - install what is needed, build morph, fetch the default guest
# (Debian's i386 kernel and a busybox initramfs, tools/guest/fetch.sh) and boot
# it on morph's soft CPU to an interactive shell on this terminal.
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh || exit 1
make -s -j2 morph >/dev/null || { echo "demo: the build failed (run make morph to see why)" >&2; exit 1; }
eval "$(tools/guest/fetch.sh --print-paths)" || { echo "demo: tools/guest/fetch.sh failed" >&2; exit 1; }

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

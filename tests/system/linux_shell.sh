#!/usr/bin/env bash
# linux_shell.sh - boots the default guest (Debian's i386 kernel + busybox,
# tools/guest/fetch.sh) on the soft CPU and drives its shell on the serial
# console through a pty: uname, /proc/cpuinfo, /proc/interrupts, dmesg,
# sha256sum of a tmpfs file, poweroff (status 0); a second boot pastes 4 KiB
# of input and checks none is lost.  The driver is linux_shell.py.
#   tests/system/linux_shell.sh [MORPH] [--only shell|paste]   (default build/asan/morph)
# MORPH_BOOT_TIMEOUT (seconds to the prompt, default 1500) for slow hosts.
source "$(dirname "$0")/lib.bash"

command -v python3 >/dev/null || setup_abort "python3 not found (tools/setup.sh installs it)"
need_morph_and_guest
exec python3 "$ROOT/tests/system/linux_shell.py" "$MORPH" "$KERNEL" "$INITRD" "$WORK" "${@:2}"

#!/usr/bin/env bash
# linux_shell.sh - boots the default guest (Debian's i386 kernel + busybox,
# tools/guest/fetch.sh) on the soft CPU and drives its shell on the serial
# console through a pty: uname, /proc/cpuinfo, /proc/interrupts, dmesg,
# sha256sum of a tmpfs file, poweroff (status 0); a second boot pastes 4 KiB
# of input and checks none is lost.  The driver is linux_shell.py.
#   tests/system/linux_shell.sh [MORPH] [--only shell|paste]   (default build/asan/morph)
# MORPH_BOOT_TIMEOUT (seconds to the prompt, default 1500) for slow hosts.
source "$(dirname "$0")/lib.bash"

if [[ ! -x $MORPH ]]; then
    fail setup "morph binary $MORPH not found"
    finish
    exit 1
fi
if ! command -v python3 >/dev/null; then
    fail setup "python3 not found (tools/setup.sh installs it)"
    finish
    exit 1
fi
# The guest is normally in the cache already (tools/setup.sh fetches it).
if ! paths=$("$ROOT/tools/guest/fetch.sh" --print-paths 2>"$WORK/fetch.log"); then
    fail setup "tools/guest/fetch.sh failed: $(tail -n 1 "$WORK/fetch.log")"
    finish
    exit 1
fi
eval "$paths"
exec python3 "$ROOT/tests/system/linux_shell.py" "$MORPH" "$KERNEL" "$INITRD" "$WORK" "${@:2}"

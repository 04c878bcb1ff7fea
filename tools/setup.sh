#!/usr/bin/env bash
# setup.sh - install what morph needs to build and test (Debian 12), then
# fetch and build the default guest (tools/guest/fetch.sh: Debian's i386
# kernel and a busybox initramfs in $MORPH_CACHE, default ~/.cache/morph).
#
#   tools/setup.sh              packages, then the default guest
#   tools/setup.sh --no-guest   packages only
#
# Idempotent and fast: when every package is installed it does not touch apt,
# and a complete guest cache is reused without any download, so it also works
# offline once it has run.
set -euo pipefail
cd "$(dirname "$0")/.."

WANT_GUEST=true
WANT_DISK=false
case ${1:-} in
'') ;;
--no-guest) WANT_GUEST=false ;;
--disk) WANT_DISK=true ;;
*) echo "usage: tools/setup.sh [--no-guest | --disk]" >&2; exit 2 ;;
esac

PACKAGES=(
    build-essential gcc make gcc-multilib   # the compiler, and -m32 for guest programs
    nasm                                    # guest programs and the test ROM
    libcmocka-dev                           # unit tests
    libcapstone-dev pkg-config              # disassembly of guest bytes in error reports
    libslirp-dev libglib2.0-dev             # user networking (--net user); slirp.pc needs glib's .pc
    cpio kmod debian-archive-keyring        # the default guest: initramfs, depmod, signed index
    coreutils                               # timeout, used by every test runner
    python3                                 # the Linux system test drives the guest through a pty
    debootstrap e2fsprogs openssh-client    # the Debian root disk (tools/guest/disk.sh) and its ssh test
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=()
    if (($(id -u) != 0)); then
        command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "setup: packages installed" >&2
fi

if $WANT_GUEST; then
    # Quiet when the cache is complete; fetch.sh explains what it downloads.
    if ! tools/guest/fetch.sh --check >/dev/null 2>&1; then
        echo "setup: fetching the default guest (Debian i386 kernel + busybox, about 55 MB)" >&2
        tools/guest/fetch.sh >/dev/null ||
            { echo "setup: could not fetch the default guest (tools/guest/fetch.sh failed)" >&2; exit 1; }
    fi
fi

# The Debian root disk for the disk and network system tests (--disk):
# debootstrap into the cache once (about 60 MB), reused offline after.
if $WANT_DISK; then
    if ! tools/guest/disk.sh --check >/dev/null 2>&1; then
        echo "setup: building the Debian root disk (tools/guest/disk.sh)" >&2
        tools/guest/disk.sh >/dev/null ||
            { echo "setup: could not build the Debian root disk (tools/guest/disk.sh failed)" >&2; exit 1; }
    fi
fi

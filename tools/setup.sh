#!/usr/bin/env bash
# setup.sh - install what morph needs to build and test (Debian 12).
# Idempotent and fast: when every package is already installed it does not
# touch apt at all, so it also works offline.
set -euo pipefail

PACKAGES=(
    build-essential gcc make gcc-multilib   # the compiler, and -m32 for guest programs
    nasm                                    # guest programs and the test ROM
    libcmocka-dev                           # unit tests
    libcapstone-dev pkg-config              # disassembly of guest bytes in error reports
    cpio                                    # initrd images (the Linux guest)
    coreutils                               # timeout, used by every test runner
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=()
if (($(id -u) != 0)); then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2

#!/bin/sh
# tests/fuzz/run.sh - the differential fuzzer's fixed slice for `make check`:
# replays every regression vector in tests/fuzz/vectors/*.txt and a fixed-seed
# slice of generated sequences, comparing morph's soft CPU with the host CPU.
#   tests/fuzz/run.sh [--seed S] [--count N] [--quick] [--slots K] [--x87 MODE]
# --quick (the default) is the slice sized for check runs.  The last line is
# "N passed, N failed" (N = sequences); the exit status is 0 only if none failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seed=20250101
count=300000
slots=6
x87=auto
while [ $# -gt 0 ]; do
    case "$1" in
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    --count) count=${2:?--count needs a value}; shift 2 ;;
    --slots) slots=${2:?--slots needs a value}; shift 2 ;;
    --x87) x87=${2:?--x87 needs a value}; shift 2 ;;
    --quick) count=300000; shift ;;
    *) echo "run.sh: unknown option $1 (use --seed S --count N --quick --slots K --x87 auto|on|off|only)" >&2; exit 2 ;;
    esac
done
build=${BUILD:-$root/build}
make -s -C "$root" -j2 "$build/libmorph.a" BUILD="$build" >&2
make -s -C "$here" BUILD="$build" >&2
# The oracle is a 32-bit program: a host kernel without IA-32 emulation
# (execve gives ENOEXEC) cannot run it, and there is nothing to compare with.
if ! "$build/fuzz/fuzz-native" </dev/null >/dev/null 2>"$build/fuzz/probe.err"; then
    if grep -q 'Exec format error' "$build/fuzz/probe.err"; then
        echo "SKIP fuzz: this host cannot run 32-bit programs (no IA-32 emulation), so the host CPU cannot be the oracle"
        exit 0
    fi
fi
set --
for v in "$here"/vectors/*.txt; do
    [ -e "$v" ] && set -- "$@" --vectors "$v"
done
exec "$build/fuzz/fuzz-driver" --native "$build/fuzz/fuzz-native" --seed "$seed" \
    --count "$count" --slots "$slots" --x87 "$x87" --max-report 40 "$@"

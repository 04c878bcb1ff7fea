#!/bin/sh
# tests/fuzz/run.sh - the differential fuzzer's fixed slice for `make check`:
# replays every regression vector in tests/fuzz/vectors/*.txt and a fixed-seed
# slice of generated sequences, comparing morph's soft CPU with the host CPU,
# then a fixed-seed slice in the 16-bit segment modes (16-bit code, 16-bit
# and expand-down stacks and data segments; tests/fuzz/fuzz.h).  Every case
# runs on three columns: the host, morph's interpreter, morph with
# jit_threshold 1 (tests/fuzz/driver.c).
#   tests/fuzz/run.sh [--seed S] [--count N] [--count16 N] [--quick] [--slots K] [--x87 MODE]
# --quick (the default) is the slice sized for check runs.  The last line is
# "N passed, N failed" (N = sequences of both slices); the exit status is 0
# only if none failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seed=20250101
count=300000
count16=230000
slots=6
x87=auto
while [ $# -gt 0 ]; do
    case "$1" in
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    --count) count=${2:?--count needs a value}; shift 2 ;;
    --count16) count16=${2:?--count16 needs a value}; shift 2 ;;
    --slots) slots=${2:?--slots needs a value}; shift 2 ;;
    --x87) x87=${2:?--x87 needs a value}; shift 2 ;;
    --quick) count=300000; count16=230000; shift ;;
    *) echo "run.sh: unknown option $1 (use --seed S --count N --count16 N --quick --slots K --x87 auto|on|off|only)" >&2; exit 2 ;;
    esac
done
build=${BUILD:-$root/build}
make -s -C "$root" -j2 "$build/libmorph.a" BUILD="$build" >&2
make -s -C "$here" BUILD="$build" >&2
# The oracle is a 32-bit program: a host kernel without IA-32 emulation
# (execve gives ENOEXEC) cannot run it, and there is nothing to compare with.
# It also needs modify_ldt for its 16-bit segments (installed in every mode).
if ! "$build/fuzz/fuzz-native" </dev/null >/dev/null 2>"$build/fuzz/probe.err"; then
    if grep -q 'Exec format error' "$build/fuzz/probe.err"; then
        echo "SKIP fuzz: this host cannot run 32-bit programs (no IA-32 emulation), so the host CPU cannot be the oracle"
        exit 0
    fi
    if grep -q 'modify_ldt' "$build/fuzz/probe.err"; then
        echo "SKIP fuzz: this host's kernel refuses modify_ldt, so the oracle has no 16-bit segments: $(cat "$build/fuzz/probe.err")"
        exit 0
    fi
fi
set --
for v in "$here"/vectors/*.txt; do
    [ -e "$v" ] && set -- "$@" --vectors "$v"
done
drive() {   # drive LOG ARGS...: one driver run, its output shown and kept
    log=$1
    shift
    "$build/fuzz/fuzz-driver" --native "$build/fuzz/fuzz-native" --slots "$slots" \
        --x87 "$x87" --max-report 40 "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    return $rc
}
total() {   # total LOG: "P F" from the driver's last line
    sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$1" | tail -n 1
}
log32=$build/fuzz/slice32.log
log16=$build/fuzz/slice16.log
rc32=0
rc16=0
echo "== slice: vectors, then $count sequences in 32-bit segments (seed $seed)"
drive "$log32" --seed "$seed" --count "$count" --modes 32 "$@" || rc32=$?
echo "== slice: $count16 sequences in the 16-bit segment modes (seed $seed)"
drive "$log16" --seed "$seed" --count "$count16" --modes 16 || rc16=$?
set -- $(total "$log32") $(total "$log16")
if [ $# -ne 4 ]; then
    echo "run.sh: a driver run ended without its totals (exit status $rc32, $rc16)"
    exit 2
fi
echo "$(($1 + $3)) passed, $(($2 + $4)) failed"
[ "$rc32" -eq 0 ] && [ "$rc16" -eq 0 ]

#!/bin/sh
# tools/fuzz.sh - a longer differential-fuzzing campaign of morph's soft CPU
# against the host CPU.
#   tools/fuzz.sh [--count N] [--seed S] [--slots K] [--x87 MODE] [--modes M] [--save FILE]
# Defaults: 1000000 sequences from a random seed (printed, so a run can be
# repeated with --seed), in every segment mode (--modes all: 32-bit and the
# 16-bit code/stack/data modes of tests/fuzz/fuzz.h; 32 or 16 for one kind).  New divergences, shrunk to their shortest form, are
# appended to tests/fuzz/vectors/found.txt (two per instruction and kind);
# commit that file to keep them as regression vectors.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
count=1000000
seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
slots=8
x87=auto
modes=all
save=$root/tests/fuzz/vectors/found.txt
while [ $# -gt 0 ]; do
    case "$1" in
    --count) count=${2:?}; shift 2 ;;
    --seed) seed=${2:?}; shift 2 ;;
    --slots) slots=${2:?}; shift 2 ;;
    --x87) x87=${2:?}; shift 2 ;;
    --modes) modes=${2:?}; shift 2 ;;
    --save) save=${2:?}; shift 2 ;;
    *) echo "fuzz.sh: unknown option $1 (use --count N --seed S --slots K --x87 auto|on|off|only --modes 32|16|all --save FILE)" >&2; exit 2 ;;
    esac
done
build=${BUILD:-$root/build}
make -s -C "$root" -j2 "$build/libmorph.a" BUILD="$build" >&2
make -s -C "$root/tests/fuzz" BUILD="$build" >&2
echo "fuzz: seed $seed, $count sequences, up to $slots instructions each, segment modes $modes"
exec "$build/fuzz/fuzz-driver" --native "$build/fuzz/fuzz-native" --seed "$seed" \
    --count "$count" --slots "$slots" --x87 "$x87" --modes "$modes" --save "$save" --max-report 20

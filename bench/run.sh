#!/bin/bash
# Benchmarks (not a test): guest instructions per second of the soft CPU on
# the CPU-exercise workload, and the round trip of a port-I/O exit.
#
#   bench/run.sh [MORPH_BINARY]
#
# (a) cpu_bench.elf under morph (instructions from --stats), under
#     qemu-system-i386 -accel tcg if installed, and the same workload as a
#     native 32-bit Linux program; guest start-up (hello.elf) is subtracted.
# (b) ioexit_bench.elf (1,000,000 `out` to port 0x80) minus ioexit_base.elf
#     (the same program with none), divided by 1,000,000: ns per exit.
# Each figure is the best of BENCH_RUNS runs (default 3).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
guests="$root/tests/guest/build"
morph=${1:-$root/build/morph}
runs=${BENCH_RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make -s -C "$root" morph >/dev/null
make -s -C "$root/tests/guest" >/dev/null

have_qemu=0
command -v qemu-system-i386 >/dev/null && have_qemu=1

now_ns() { date +%s%N; }

# best_time CMD...: the smallest wall time in ns over $runs runs; the last
# run's stdout+stderr stay in $work/out. A run must exit with status 1
# (debug-exit 0) or 0 (native).
best_time() {
    local best=0 t0 t1 st
    for _ in $(seq "$runs"); do
        t0=$(now_ns)
        set +e
        "$@" </dev/null >"$work/out" 2>&1
        st=$?
        set -e
        t1=$(now_ns)
        if [ $st -ne 0 ] && [ $st -ne 1 ]; then
            echo "bench: '$*' failed with status $st:" >&2
            tail -5 "$work/out" >&2
            exit 1
        fi
        if [ $best -eq 0 ] || [ $((t1 - t0)) -lt $best ]; then
            best=$((t1 - t0))
        fi
    done
    echo $best
}

morph_run() { "$morph" run --kernel "$1" --debug-exit --stats; }
qemu_run() {
    qemu-system-i386 -accel tcg -m 256 -kernel "$1" -display none -monitor none \
        -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
}

ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }
mips() { awk -v n="$1" -v ns="$2" 'BEGIN { if (ns <= 0) print "-"; else printf "%.1f", n / (ns / 1e3) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else printf "%.2fx", a / b }'; }

echo "morph bench ($(date -u '+%F %T') UTC, $(nproc) CPUs, best of $runs)"
echo

# (a) interpreter speed
base_m=$(best_time morph_run "$guests/hello.elf")
t_m=$(best_time morph_run "$guests/cpu_bench.elf")
insns=$(awk '/guest instructions/ { print $3 }' "$work/out")
net_m=$((t_m - base_m))
t_n=$(best_time "$guests/cpu_bench_native")
if [ $have_qemu = 1 ]; then
    base_q=$(best_time qemu_run "$guests/hello.elf")
    t_q=$(best_time qemu_run "$guests/cpu_bench.elf")
    net_q=$((t_q - base_q))
fi

echo "(a) CPU exercise workload: $insns guest instructions (morph --stats)"
printf "    %-24s %10s %10s %12s\n" "runner" "wall ms" "net ms" "guest MIPS"
printf "    %-24s %10s %10s %12s\n" "morph (interpreter)" "$(ms $t_m)" "$(ms $net_m)" "$(mips "$insns" $net_m)"
if [ $have_qemu = 1 ]; then
    printf "    %-24s %10s %10s %12s\n" "qemu-system-i386 tcg" "$(ms $t_q)" "$(ms $net_q)" "$(mips "$insns" $net_q)"
fi
printf "    %-24s %10s %10s %12s\n" "native (host CPU)" "$(ms $t_n)" "$(ms $t_n)" "$(mips "$insns" $t_n)"
[ $have_qemu = 1 ] && echo "    morph vs qemu: $(ratio $net_q $net_m) the speed"
echo "    morph vs native: $(ratio $t_n $net_m) the speed"
echo

# (b) port-I/O exit round trip
t_io=$(best_time morph_run "$guests/ioexit_bench.elf")
stats_ns=$(awk '$1 == "io" && NF >= 5 { print $5 }' "$work/out")
t_io0=$(best_time morph_run "$guests/ioexit_base.elf")
per_exit=$(awk -v a=$t_io -v b=$t_io0 'BEGIN { printf "%.0f", (a - b) / 1e6 }')
echo "(b) port-I/O exit: 1,000,000 x out 0x80"
printf "    %-24s %10s %10s %12s\n" "runner" "wall ms" "base ms" "ns per exit"
printf "    %-24s %10s %10s %12s\n" "morph" "$(ms $t_io)" "$(ms $t_io0)" "$per_exit"
if [ $have_qemu = 1 ]; then
    q_io=$(best_time qemu_run "$guests/ioexit_bench.elf")
    q_io0=$(best_time qemu_run "$guests/ioexit_base.elf")
    printf "    %-24s %10s %10s %12s\n" "qemu-system-i386 tcg" "$(ms $q_io)" "$(ms $q_io0)" \
        "$(awk -v a=$q_io -v b=$q_io0 'BEGIN { printf "%.0f", (a - b) / 1e6 }')"
fi
[ -n "$stats_ns" ] && echo "    (morph --stats: $stats_ns ns per io exit inside the handler loop)"
exit 0

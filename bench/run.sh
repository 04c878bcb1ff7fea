#!/bin/bash
# Benchmarks (not a test): the soft CPU's speed with each engine, the cost of
# a port-I/O exit, and the monitor's memory with a full translation cache.
#
#   bench/run.sh [MORPH_BINARY]
#
# (a) cpu_bench.elf under morph --engine jit (the translator, the default),
#     morph --engine interp (the interpreter alone), qemu-system-i386 -accel
#     tcg if installed, and the same workload as a native 32-bit Linux
#     program; guest start-up (hello.elf) is subtracted. Guest MIPS from the
#     CPU time of the process (user+system), the steady figure on a loaded
#     host; wall time is shown too.
# (b) host instructions per guest instruction, both engines: callgrind
#     (valgrind --smc-check=all: the translated code is written through a
#     second mapping of the code cache, which valgrind would not notice)
#     on cpu_bench.elf built with BENCH_CG_ITERS iterations (default 3000,
#     a tenth of the real one, to keep callgrind's time down), minus the
#     same for hello.elf.
# (c) ioexit_bench.elf (1,000,000 `out` to port 0x80) minus ioexit_base.elf
#     (the same program with none), divided by 1,000,000: ns per exit, with
#     each engine and under QEMU.
# (d) memory: the bench/linux.sh guest (Linux, small workload sizes) with
#     -m 64M and each --jit-cache size of BENCH_MEM_CACHES (default
#     "32M 4M"); /proc/PID/smaps is sampled every 0.2 s (see the output).
# Each time in (a) and (c) is the best of BENCH_RUNS runs (default 3).
# BENCH_PARTS (default "a b c d") selects the parts to run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "bench/run.sh: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

guests=$root/tests/guest/build
morph=${1:-$root/build/morph}
runs=${BENCH_RUNS:-3}
cg_iters=${BENCH_CG_ITERS:-3000}
mem_caches=${BENCH_MEM_CACHES:-32M 4M}
parts=" ${BENCH_PARTS:-a b c d} "
part() { [[ $parts == *" $1 "* ]]; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "bad BENCH_RUNS '$runs' (1 or more)"
[[ $cg_iters =~ ^[1-9][0-9]*$ ]] || die "bad BENCH_CG_ITERS '$cg_iters'"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# need_pkg TEST-COMMAND PACKAGE: installs PACKAGE with apt when the test fails.
need_pkg() {
	local test=$1 pkg=$2
	eval "$test" >/dev/null 2>&1 && return 0
	log "installing $pkg"
	[[ $(id -u) == 0 ]] || die "$pkg is needed: run 'sudo apt-get install $pkg' (or this script as root)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
		{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2; } ||
		die "cannot install $pkg"
}
need_pkg 'command -v valgrind' valgrind

if [[ $# -eq 0 ]]; then
	make -s -C "$root" morph >/dev/null || die "'make morph' failed"
fi
[[ -x $morph ]] || die "no morph binary at $morph"
make -s -C "$root/tests/guest" >/dev/null || die "building the guest programs failed"
# The callgrind workload: cpu_bench.elf with fewer iterations, built aside.
if [[ $cg_iters == 30000 ]]; then
	cg_bench=$guests/cpu_bench.elf
else
	make -s -C "$root/tests/guest" B="$work/guest" CX_BENCH_ITERS="$cg_iters" "$work/guest/cpu_bench.elf" \
		>/dev/null || die "building cpu_bench.elf with $cg_iters iterations failed"
	cg_bench=$work/guest/cpu_bench.elf
fi

have_qemu=0
command -v qemu-system-i386 >/dev/null && have_qemu=1

# run_timed CMD...: runs CMD once, its stdout+stderr to $work/out; sets
# wall_ns and cpu_ns (user+system of CMD and its threads, ms resolution).
# CMD must exit with status 1 (debug-exit 0) or 0 (native).
run_timed() {
	local st=0 r u s TIMEFORMAT='%3R %3U %3S'
	{ time "$@" </dev/null >"$work/out" 2>&1; } 2>"$work/time" || st=$?
	if [[ $st -ne 0 && $st -ne 1 ]]; then
		echo "bench: '$*' failed with status $st:" >&2
		tail -5 "$work/out" >&2
		exit 1
	fi
	read -r r u s <"$work/time" || die "no time for '$*': $(cat "$work/time")"
	wall_ns=$(awk -v r="$r" 'BEGIN { printf "%.0f", r * 1e9 }')
	cpu_ns=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.0f", (u + s) * 1e9 }')
}
# best CMD...: $runs runs; sets best_wall and best_cpu, the smallest of each
# (the last run's output stays in $work/out).
best() {
	best_wall=0 best_cpu=0
	for _ in $(seq "$runs"); do
		run_timed "$@"
		((best_wall == 0 || wall_ns < best_wall)) && best_wall=$wall_ns
		((best_cpu == 0 || cpu_ns < best_cpu)) && best_cpu=$cpu_ns
	done
	return 0
}

# shellcheck disable=SC2317 # called through best/run_timed
morph_run() { "$morph" run --engine "$1" --kernel "$2" --debug-exit --stats; }
# shellcheck disable=SC2317
qemu_run() {
	qemu-system-i386 -accel tcg -m 256 -kernel "$1" -display none -monitor none \
		-serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
}

ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }
mips() { awk -v n="$1" -v ns="$2" 'BEGIN { if (ns <= 0) print "-"; else printf "%.1f", n / (ns / 1e3) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else printf "%.2fx", a / b }'; }
per_exit() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (a - b) / 1e6 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
guest_insns() { awk '/guest instructions/ { print $3; exit }' "$1"; }

ENGINES=(jit interp)
declare -A ename=([jit]="morph --engine jit" [interp]="morph --engine interp")

echo "morph bench ($(date -u '+%F %T') UTC, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), best of $runs)"
echo "morph: $morph ($(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'))"
echo "jit = the translator (morph's default engine), interp = the interpreter alone"
echo

# --- (a) guest MIPS -----------------------------------------------------------

if part a; then
declare -A cpu wall net_cpu net_wall
insns=''
jit_stats=''
for e in "${ENGINES[@]}"; do
	best morph_run "$e" "$guests/hello.elf"
	base_cpu=$best_cpu base_wall=$best_wall
	best morph_run "$e" "$guests/cpu_bench.elf"
	grep -q '^PASS cpu_bench' "$work/out" || die "cpu_bench.elf did not pass under $e: $(tail -3 "$work/out")"
	n=$(guest_insns "$work/out")
	[[ -z $insns || $n == "$insns" ]] || log "warning: $e ran $n guest instructions, jit $insns"
	insns=${insns:-$n}
	[[ $e == jit ]] && jit_stats=$(grep -E 'translated code:|blocks translated|code cache' "$work/out" | sed 's/^ */      /')
	cpu[$e]=$best_cpu wall[$e]=$best_wall
	net_cpu[$e]=$((best_cpu - base_cpu)) net_wall[$e]=$((best_wall - base_wall))
done
best "$guests/cpu_bench_native"
cpu[native]=$best_cpu wall[native]=$best_wall net_cpu[native]=$best_cpu net_wall[native]=$best_wall
if ((have_qemu)); then
	best qemu_run "$guests/hello.elf"
	base_cpu=$best_cpu base_wall=$best_wall
	best qemu_run "$guests/cpu_bench.elf"
	grep -q '^PASS cpu_bench' "$work/out" || die "cpu_bench.elf did not pass under QEMU"
	cpu[qemu]=$best_cpu wall[qemu]=$best_wall
	net_cpu[qemu]=$((best_cpu - base_cpu)) net_wall[qemu]=$((best_wall - base_wall))
fi

echo "(a) CPU-exercise guest (cpu_bench.elf): $insns guest instructions (morph --stats);"
echo "    net = minus the same runner on hello.elf (start-up); MIPS = guest instructions / net time"
fmt="    %-26s %9s %9s %10s   %9s %9s %10s\n"
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" "runner" "CPU ms" "net CPU" "MIPS (CPU)" "wall ms" "net wall" "MIPS(wall)"
for r in jit interp qemu native; do
	[[ -n ${cpu[$r]:-} ]] || continue
	case $r in
	qemu) name="qemu-system-i386 tcg" ;;
	native) name="native (host CPU)" ;;
	*) name=${ename[$r]} ;;
	esac
	# shellcheck disable=SC2059
	printf "$fmt" "$name" "$(ms "${cpu[$r]}")" "$(ms "${net_cpu[$r]}")" "$(mips "$insns" "${net_cpu[$r]}")" \
		"$(ms "${wall[$r]}")" "$(ms "${net_wall[$r]}")" "$(mips "$insns" "${net_wall[$r]}")"
done
echo "    speed relative to QEMU TCG (CPU time; above 1x morph is faster):"
if ((have_qemu)); then
	echo "      jit $(ratio "${net_cpu[qemu]}" "${net_cpu[jit]}"), interp $(ratio "${net_cpu[qemu]}" "${net_cpu[interp]}")"
else
	echo "      (qemu-system-i386 not installed)"
fi
echo "    jit vs interp: $(ratio "${net_cpu[interp]}" "${net_cpu[jit]}") the speed;" \
	"vs native: jit $(ratio "${cpu[native]}" "${net_cpu[jit]}"), interp $(ratio "${cpu[native]}" "${net_cpu[interp]}")"
echo "    translator counters (jit run, --stats):"
echo "$jit_stats"
echo
fi

# --- (b) host instructions per guest instruction (callgrind) -------------------

# All four callgrind runs at once: instruction counts do not depend on the
# host's load.
if part b; then
declare -A cg_pid
for e in "${ENGINES[@]}"; do
	for w in bench hello; do
		if [[ $w == bench ]]; then elf=$cg_bench; else elf=$guests/hello.elf; fi
		valgrind --tool=callgrind --smc-check=all --callgrind-out-file="$work/cg.$e.$w.out" \
			"$morph" run --engine "$e" --kernel "$elf" --debug-exit --stats \
			</dev/null >"$work/cg.$e.$w.log" 2>&1 &
		cg_pid[$e.$w]=$!
	done
done
declare -A host guest
for k in "${!cg_pid[@]}"; do
	st=0
	wait "${cg_pid[$k]}" || st=$?
	[[ $st -eq 1 ]] || { tail -5 "$work/cg.$k.log" >&2; die "callgrind run $k: status $st (expected 1)"; }
	host[$k]=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$work/cg.$k.log")
	guest[$k]=$(guest_insns "$work/cg.$k.log")
	[[ -n ${host[$k]} && -n ${guest[$k]} ]] || die "no counts in callgrind run $k (see valgrind's output)"
done
echo "(b) host instructions per guest instruction: callgrind (valgrind --smc-check=all) on"
echo "    cpu_bench.elf built with $cg_iters iterations, minus the same on hello.elf (start-up)"
fmt="    %-26s %14s %14s %10s\n"
# shellcheck disable=SC2059
printf "$fmt" "engine" "guest insns" "host insns" "host/guest"
for e in "${ENGINES[@]}"; do
	g=$((guest[$e.bench] - guest[$e.hello])) h=$((host[$e.bench] - host[$e.hello]))
	# shellcheck disable=SC2059
	printf "$fmt" "${ename[$e]}" "$g" "$h" "$(awk -v h="$h" -v g="$g" 'BEGIN { printf "%.2f", h / g }')"
done
echo
fi

# --- (c) port-I/O exit round trip ---------------------------------------------

if part c; then
echo "(c) port-I/O exit: 1,000,000 x out 0x80 (ioexit_bench.elf minus ioexit_base.elf)"
fmt="    %-26s %9s %9s %8s   %9s %9s %8s\n"
# shellcheck disable=SC2059
printf "$fmt" "runner" "CPU ms" "base CPU" "ns/exit" "wall ms" "base wall" "ns/exit"
declare -A handler_ns
io_note=''
for r in "${ENGINES[@]}" qemu; do
	if [[ $r == qemu ]]; then
		((have_qemu)) || continue
		best qemu_run "$guests/ioexit_bench.elf"
	else
		best morph_run "$r" "$guests/ioexit_bench.elf"
		handler_ns[$r]=$(awk '$1 == "io" && NF >= 5 { print $5 }' "$work/out")
		[[ $r == jit ]] && io_note=$(awk '/translated code: insns/ { print $4, "guest instructions ran as translated code", $5, $6, $7 }' "$work/out")
	fi
	b_cpu=$best_cpu b_wall=$best_wall
	if [[ $r == qemu ]]; then best qemu_run "$guests/ioexit_base.elf"; else best morph_run "$r" "$guests/ioexit_base.elf"; fi
	case $r in qemu) name="qemu-system-i386 tcg" ;; *) name=${ename[$r]} ;; esac
	# shellcheck disable=SC2059
	printf "$fmt" "$name" "$(ms "$b_cpu")" "$(ms "$best_cpu")" "$(per_exit "$b_cpu" "$best_cpu")" \
		"$(ms "$b_wall")" "$(ms "$best_wall")" "$(per_exit "$b_wall" "$best_wall")"
done
echo "    (morph --stats, ns per io exit inside the monitor's handler loop: jit ${handler_ns[jit]:-?}, interp ${handler_ns[interp]:-?})"
echo "    (jit --stats: $io_note; the loop's"
echo "     dec/jnz is translated, the 'out' itself is run by the interpreter)"
echo
fi

# --- (d) memory with a full translation cache ---------------------------------

part d || exit 0
eval "$("$root/tools/guest/fetch.sh" --print-paths)"
[[ -f ${KERNEL:-} ]] || die "tools/guest/fetch.sh gave no kernel"
initrd=$("$root/bench/linux.sh" --initramfs) || die "bench/linux.sh --initramfs failed"
cp "$initrd" "$work/initramfs.cpio.gz"
cp "$KERNEL" "$work/vmlinuz"
mem_append="console=ttyS0 quiet bench_data_mib=8 bench_gzip_mib=4 bench_sieve_n=4000000 bench_fib_n=27"
mem_append+=" bench_x87_n=200000 bench_memcpy_mib=4 bench_memcpy_rounds=4"
mem_limit=${BENCH_MEM_TIMEOUT:-300}

# mem_run CACHE: one Linux run with --jit-cache CACHE, sampled; prints a row.
mem_run() {
	local size=$1 pid st=0 t0 s g c all vmrss dropped=0 rest last_rest=0 hwm=0 pk_beyond=0 pk_rest=0 pk_cache=0 pk_guest=0 pk_at=0 used
	"$morph" run -m 64M --jit-cache "$size" --stats --kernel "$work/vmlinuz" \
		--initrd "$work/initramfs.cpio.gz" --append "$mem_append" </dev/null >"$work/mem.log" 2>&1 &
	pid=$!
	t0=$SECONDS
	while [[ -r /proc/$pid/smaps ]]; do
		((SECONDS - t0 < mem_limit)) || { kill "$pid"; break; }
		# Rss by mapping: the guest RAM memfd; the code cache memfd (mapped
		# twice, writable and executable: the larger of its two Rss); the rest.
		# smaps is copied with one large read first: awk reading it in small
		# pieces while the heap grew gave, now and then, a "rest" 30-50 MiB
		# above what VmHWM allows (most likely the heap listed twice across
		# two reads). A mapping listed twice (same start) is counted once,
		# and a sample whose total exceeds the VmRSS read just after it
		# (4 MiB of slack for growth in between) is dropped and counted.
		cat "/proc/$pid/smaps" >"$work/smaps" 2>/dev/null || :
		vmrss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || vmrss=''
		s=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); skip = (a[1] in seen); seen[a[1]] = 1; name = $6 }
			/^Rss:/ && !skip { all += $2; if (name ~ /morph-guest-ram/) g += $2
				else if (name ~ /morph-tcache/) { if ($2 > c) c = $2 }
				else o += $2 }
			END { if (NR) print g + 0, c + 0, o + 0, all + 0 }' "$work/smaps" 2>/dev/null) || s=''
		if [[ -n $s && -n $vmrss ]]; then
			read -r g c rest all <<<"$s"
			if ((all > vmrss + 4096)); then
				dropped=$((dropped + 1))
				sleep 0.2
				continue
			fi
			last_rest=$rest
			((c + rest > pk_beyond)) && pk_beyond=$((c + rest)) pk_cache=$c pk_guest=$g
			((rest > pk_rest)) && pk_rest=$rest pk_at=$((SECONDS - t0))
			s=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || s=''
			[[ -n $s ]] && hwm=$s
		fi
		sleep 0.2
	done
	wait "$pid" || st=$?
	grep -q 'BENCH-END' "$work/mem.log" ||
		{ tail -5 "$work/mem.log" >&2; die "the memory run with --jit-cache $size did not reach BENCH-END (status $st)"; }
	used=$(awk '/code cache/ { printf "%.1f MiB, %d flushes", $3 / 1048576, $7; exit }' "$work/mem.log")
	# shellcheck disable=SC2059
	printf "$mfmt" "$size" "$used" "$(mib "$hwm")" "$(mib "$pk_guest")" "$(mib "$pk_cache")" \
		"$(mib "$pk_beyond")" "$(mib "$pk_rest") @${pk_at}s" "$(mib "$last_rest")"
	((dropped == 0)) || echo "      ($dropped inconsistent samples dropped: more Rss in smaps than VmRSS)"
}
echo "(d) the monitor's memory beyond guest RAM, jit engine: the bench/linux.sh guest with -m 64M,"
echo "    boot + all six phases at small sizes (${mem_append#console=ttyS0 quiet })."
echo "    /proc/PID/smaps is read every 0.2 s; per sample: guest RAM = Rss of the guest-RAM memfd"
echo "    (the RAM the guest touched), cache = Rss of the code-cache memfd (counted once though it is"
echo "    mapped twice), rest = Rss of every other mapping (heap: decode and block tables, TLBs,"
echo "    translation metadata; binary, libraries, stacks). beyond = cache + rest, at the sample where"
echo "    it peaked (guest RAM and cache from that sample); rest peak = the largest rest (and when, in"
echo "    seconds from the start), rest end = rest in the last sample. VmHWM is the kernel's peak of"
echo "    the whole process (guest RAM included; it counts the code cache twice, once per mapping)."
mfmt="    %-10s %-24s %7s %9s %7s %8s %12s %8s\n"
# shellcheck disable=SC2059
printf "$mfmt" "--jit-cache" "cache at exit (--stats)" "VmHWM" "guest RAM" "cache" "beyond" "rest peak" "rest end"
# shellcheck disable=SC2059
printf "$mfmt" "" "" "MiB" "MiB" "MiB" "MiB" "MiB @time" "MiB"
for size in $mem_caches; do
	mem_run "$size"
done
exit 0

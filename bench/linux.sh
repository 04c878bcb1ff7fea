#!/bin/bash
# Linux workload benchmark (not a test): boots the default guest kernel with a
# benchmark initramfs on morph and on qemu-system-i386 -accel tcg, one after
# the other in the same run, and times each phase of a CPU workload from the
# host as its marker line arrives on the guest's console.
#
#   bench/linux.sh [options]
#     --morph FILE      morph binary (default: build/morph, rebuilt with make)
#     --only morph|qemu run one VMM only
#     --keep DIR        keep the consoles and event logs in DIR
#     --report DIR      run nothing: print the table from the logs in DIR
#
# Environment:
#   MORPH_CACHE                cache root (default ~/.cache/morph); the
#                              benchmark initramfs goes to $MORPH_CACHE/bench/
#   BENCH_APPEND               kernel command line (default "console=ttyS0 quiet")
#   BENCH_BOOT_TIMEOUT         seconds allowed to reach BENCH-START (default 600)
#   BENCH_PHASE_TIMEOUT        seconds allowed between two markers (default 300)
#   bench_data_mib=... etc.    workload sizes, passed to the guest's /init
#                              through the kernel command line (see
#                              bench/linux/init for the names and defaults);
#                              bench_phases=sha256,fib runs only those phases
#
# The phases (bench/linux/init): sha256sum and gzip (busybox) of deterministic
# pseudo-random data in tmpfs, then bench/linux/workload.c (gcc -m32 -static,
# x87 floating point): a prime sieve, recursive fib, an x87 loop, REP MOVSD
# copies of large buffers. Each phase's output is checked against the host
# (the same workload binary run natively) or against the other VMM.
#
# The table: seconds per phase on each VMM and the ratio qemu/morph (morph's
# speed relative to QEMU TCG: above 1 morph is faster). A VMM that crashes,
# stops or exceeds a timeout gets "did not finish" for the phases it missed.
set -euo pipefail

# The whole script is one { } block: bash reads it completely before running
# it, so editing this file during a (long) run cannot derail that run.
{

root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/bench/linux
die() { echo "bench/linux.sh: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

morph=''
only=''
keep=''
report=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--morph) [[ $# -ge 2 ]] || die "--morph needs a file"; morph=$2; shift 2 ;;
	--only) [[ $# -ge 2 && $2 =~ ^(morph|qemu)$ ]] || die "--only needs 'morph' or 'qemu'"; only=$2; shift 2 ;;
	--keep) [[ $# -ge 2 ]] || die "--keep needs a directory"; keep=$2; shift 2 ;;
	--report) [[ $# -ge 2 && -d $2 ]] || die "--report needs a directory of kept logs"; report=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done

cache=${MORPH_CACHE:-$HOME/.cache/morph}
append=${BENCH_APPEND:-console=ttyS0 quiet}
boot_timeout=${BENCH_BOOT_TIMEOUT:-600}
phase_timeout=${BENCH_PHASE_TIMEOUT:-300}
readonly PHASES=(sha256 gzip sieve fib x87 memcpy)

# The workload sizes given in the environment go to the guest's /init.
for v in $(compgen -e); do
	[[ $v == bench_* ]] || continue
	[[ ${!v} =~ ^[A-Za-z0-9_,]+$ ]] || die "bad value for $v: '${!v}' (letters, digits, _ and , only)"
	append+=" $v=${!v}"
done

# --- host tools -------------------------------------------------------------

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

need_pkg 'command -v cpio' cpio
need_pkg 'command -v gzip' gzip
need_pkg 'command -v gcc' gcc
need_pkg 'echo "int main(void){return 0;}" | gcc -m32 -static -x c - -o /dev/null' gcc-multilib
[[ $only == morph || -n $report ]] || need_pkg 'command -v qemu-system-i386' qemu-system-x86

# --- the guest: default kernel + our initramfs --------------------------------

eval "$("$root/tools/guest/fetch.sh" --print-paths)"
[[ -f ${KERNEL:-} && -f ${INITRD:-} ]] || die "tools/guest/fetch.sh gave no kernel/initrd"

bench_dir=$cache/bench
mkdir -p "$bench_dir"
bench_initrd=$bench_dir/initramfs.cpio.gz
workload=$bench_dir/workload
cflags=(-m32 -static -O2 -mfpmath=387 -mno-sse -fno-math-errno -Wall -Wextra -Werror)

# The build is redone whenever its inputs change: the recipe (this script),
# the guest's files, the compiler flags and the default initramfs (busybox).
recipe=$( {
	sha256sum "$0" "$here/init" "$here/workload.c" "$INITRD"
	echo "${cflags[*]}"
	gcc --version | head -1
} | sha256sum | cut -d' ' -f1)

build_initramfs() {
	local work
	work=$(mktemp -d "$bench_dir/build.XXXXXX")
	# shellcheck disable=SC2064 # expand now: $work is local
	trap "rm -rf '$work'" RETURN
	log "building the benchmark initramfs in $bench_dir"
	gcc "${cflags[@]}" "$here/workload.c" -o "$work/workload" || die "compiling workload.c failed"
	local r=$work/root
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root}
	# busybox from the default guest's initramfs (made by tools/guest/fetch.sh).
	(cd "$work" && gzip -dc "$INITRD" | cpio -i --quiet --to-stdout bin/busybox >busybox) ||
		die "cannot extract bin/busybox from $INITRD"
	[[ -s $work/busybox ]] || die "$INITRD has no bin/busybox"
	install -m 755 "$work/busybox" "$r/bin/busybox"
	ln -s busybox "$r/bin/sh"
	install -m 755 "$work/workload" "$r/bin/workload"
	install -m 755 "$here/init" "$r/init"
	[[ $(id -u) == 0 ]] && mknod -m 600 "$r/dev/console" c 5 1
	chmod 1777 "$r/tmp"
	find "$r" -exec touch -h -d @0 {} +
	(cd "$r" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -9 >"$work/initramfs.cpio.gz" ||
		die "building the benchmark initramfs failed"
	mv -f "$work/workload" "$workload"
	mv -f "$work/initramfs.cpio.gz" "$bench_initrd"
	echo "$recipe" >"$bench_dir/recipe"
}

if [[ ! -f $bench_initrd || ! -x $workload || $(cat "$bench_dir/recipe" 2>/dev/null) != "$recipe" ]]; then
	build_initramfs
fi

# --- morph ------------------------------------------------------------------

if [[ $only != qemu && -z $report ]]; then
	if [[ -z $morph ]]; then
		morph=$root/build/morph
		make -s -C "$root" morph >/dev/null 2>&1 ||
			log "warning: 'make morph' failed (tree being edited?); using the existing $morph"
	fi
	[[ -x $morph ]] || die "no morph binary at $morph"
fi

# --- runs -------------------------------------------------------------------

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${keep:-$work}
mkdir -p "$out"

run_vmm() {
	local name=$1
	shift
	log "running $name (boot timeout ${boot_timeout}s, ${phase_timeout}s per phase)"
	"$here/timed-console.sh" "$out/$name" "$boot_timeout" "$phase_timeout" -- "$@"
}

vmms=()
if [[ -n $report ]]; then
	out=$report
	for vmm in qemu morph; do
		[[ -f $out/$vmm.events && ( -z $only || $only == "$vmm" ) ]] && vmms+=("$vmm")
	done
	[[ ${#vmms[@]} -gt 0 ]] || die "no qemu.events or morph.events in $report"
else
	if [[ $only != morph ]]; then
		vmms+=(qemu)
		run_vmm qemu qemu-system-i386 -accel tcg -m 256 -machine pc,acpi=off -display none \
			-serial stdio -monitor none -no-reboot \
			-kernel "$KERNEL" -initrd "$bench_initrd" -append "$append"
	fi
	if [[ $only != qemu ]]; then
		vmms+=(morph)
		run_vmm morph "$morph" run -m 256M --kernel "$KERNEL" --initrd "$bench_initrd" --append "$append"
	fi
fi

# --- expected results (the workload run natively on the host) -----------------

# The sizes the guest used come from its CONFIG line (defaults in
# bench/linux/init, overridable from the environment).
declare -A size=()
for vmm in "${vmms[@]}"; do
	cfg=$(sed -n 's/^[0-9]* config //p' "$out/$vmm.events" | head -n 1)
	for kv in $cfg; do size[${kv%%=*}]=${kv#*=}; done
	[[ -n $cfg ]] && break
done
declare -A expect=()
if [[ ${#size[@]} -gt 0 ]]; then
	expect[sha256]="$("$workload" gen "${size[data_mib]}" | sha256sum | cut -d' ' -f1)  /tmp/data"
	expect[sieve]=$("$workload" sieve "${size[sieve_n]}")
	expect[fib]=$("$workload" fib "${size[fib_n]}")
	expect[x87]=$("$workload" x87 "${size[x87_n]}")
	expect[memcpy]=$("$workload" memcpy "${size[memcpy_mib]}" "${size[memcpy_rounds]}")
fi

# --- the table ----------------------------------------------------------------

# ev VMM KIND [NAME]: "USEC CPU" of the first such event (CPU may be -), or
# nothing.
ev() {
	awk -v k="$2" -v n="${3:-}" '$2 == k && k == "start" { print $1, ($3 == "" ? "-" : $3); exit }
		$2 == k && $3 == n { print $1, ($4 == "" ? "-" : $4); exit }' "$out/$1.events"
}
result() { sed -n "s/^[0-9]* result $2 //p" "$out/$1.events" | head -n 1; }
secs() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1e6 }'; }

# t[VMM,KEY] wall and c[VMM,KEY] CPU time in usec; KEY is boot, gen, a phase,
# or total (the six phases, only when every one finished).
declare -A t c
for vmm in "${vmms[@]}"; do
	read -r tw tc <<<"$(ev "$vmm" start)"
	[[ -n ${tw:-} ]] && t[$vmm,boot]=$tw && [[ $tc != - ]] && c[$vmm,boot]=$tc
	sw=0 sc=0
	for p in gen "${PHASES[@]}"; do
		read -r bw bc <<<"$(ev "$vmm" begin "$p")"
		read -r ew ec <<<"$(ev "$vmm" end "$p")"
		if [[ -z ${bw:-} || -z ${ew:-} ]]; then
			[[ $p == gen ]] || sw=-1 sc=-1
			continue
		fi
		t[$vmm,$p]=$((ew - bw))
		if [[ $bc != - && $ec != - ]]; then c[$vmm,$p]=$((ec - bc)); else [[ $p == gen ]] || sc=-1; fi
		[[ $p == gen ]] && continue
		((sw < 0)) || sw=$((sw + ew - bw))
		((sc < 0)) || [[ -z ${c[$vmm,$p]:-} ]] || sc=$((sc + ${c[$vmm,$p]}))
	done
	((sw > 0)) && t[$vmm,total]=$sw
	((sc > 0)) && c[$vmm,total]=$sc
done

# check VMM PHASE: ok, WRONG, FAILED (the guest says so) or - (no result).
check() {
	local got want
	got=$(result "$1" "$2")
	grep -q "^[0-9]* failed $2 " "$out/$1.events" && { echo "FAILED"; return; }
	[[ -z $got ]] && { echo "-"; return; }
	want=${expect[$2]:-}
	if [[ -z $want ]]; then
		# No host figure (gzip: busybox's output differs from the host's
		# gzip): morph's result is checked against QEMU's.
		[[ $1 == qemu ]] && { echo "ok"; return; }
		want=$(result qemu "$2" 2>/dev/null || true)
		[[ -z $want ]] && { echo "?"; return; }
	fi
	[[ $got == "$want" ]] && echo "ok" || echo "WRONG"
}

ran() { [[ " ${vmms[*]} " == *" $1 "* ]]; }
# cell ARRAY VMM KEY: seconds, "did not finish", or - (VMM not run / unknown).
cell() {
	local -n a=$1
	ran "$2" || { echo "-"; return; }
	if [[ -n ${a[$2,$3]:-} ]]; then secs "${a[$2,$3]}"
	elif [[ $1 == t ]]; then echo "did not finish"
	else echo "-"; fi
}
# ratio ARRAY KEY: QEMU time / morph time (morph's relative speed).
ratio() {
	local -n a=$1
	[[ -n ${a[morph,$2]:-} && -n ${a[qemu,$2]:-} && ${a[morph,$2]} -gt 0 ]] || { echo "-"; return; }
	awk -v q="${a[qemu,$2]}" -v m="${a[morph,$2]}" 'BEGIN { printf "%.2f", q / m }'
}

echo
echo "morph Linux benchmark ($(date -u '+%F %T') UTC, $(nproc) CPUs, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "kernel:  $KERNEL"
echo "initrd:  $bench_initrd"
echo "append:  $append"
echo "sizes:   ${cfg:-unknown (no guest reached BENCH-START)}"
ran qemu && echo "qemu:    $(qemu-system-i386 --version | head -1)"
echo
echo "seconds of wall time (and of CPU time used by the VMM process); q/m = qemu / morph"
fmt="%-20s %14s %14s %6s   %8s %8s %6s   %s\n"
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" "phase" "morph" "qemu tcg" "q/m" "morph" "qemu" "q/m" "check"
# shellcheck disable=SC2059
printf "$fmt" "" "wall s" "wall s" "wall" "cpu s" "cpu s" "cpu" "(morph, qemu)"
row() {
	local name=$1 key=$2 chk=''
	[[ $key == boot || $key == gen || $key == total ]] ||
		chk="$(ran morph && check morph "$key" || echo -), $(ran qemu && check qemu "$key" || echo -)"
	# shellcheck disable=SC2059
	printf "$fmt" "$name" "$(cell t morph "$key")" "$(cell t qemu "$key")" "$(ratio t "$key")" \
		"$(cell c morph "$key")" "$(cell c qemu "$key")" "$(ratio c "$key")" "$chk"
}
row "boot to BENCH-START" boot
row "(data generation)" gen
for p in "${PHASES[@]}"; do row "$p" "$p"; done
row "all six phases" total

# How each run ended.
echo
for vmm in "${vmms[@]}"; do
	how=$(awk '$2 == "timeout" { print "timed out (no marker in time; stopped)"; exit }
		$2 == "eof" && !e { print "exited before BENCH-END"; exit }
		$2 == "end" { e = 1 }
		$2 == "eof" && e { print "finished, exited by itself"; exit }
		$2 == "killed" && e { print "finished, stopped by the bench (halted guest)"; exit }' "$out/$vmm.events")
	st=$(awk '$2 == "exit" { print $3 }' "$out/$vmm.events")
	echo "$vmm: ${how:-?}, exit status ${st:-?}"
	if ! grep -q ' end$' "$out/$vmm.events"; then
		echo "  last console lines:"
		tail -n 8 "$out/$vmm.console" | sed 's/^/    /'
	fi
done
[[ -n $keep ]] && echo "consoles and events kept in $keep"
[[ -n $report ]] && echo "(from the logs in $report)"
exit 0
}

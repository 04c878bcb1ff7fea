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

root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/bench/linux
die() { echo "bench/linux.sh: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

morph=''
only=''
keep=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--morph) [[ $# -ge 2 ]] || die "--morph needs a file"; morph=$2; shift 2 ;;
	--only) [[ $# -ge 2 && $2 =~ ^(morph|qemu)$ ]] || die "--only needs 'morph' or 'qemu'"; only=$2; shift 2 ;;
	--keep) [[ $# -ge 2 ]] || die "--keep needs a directory"; keep=$2; shift 2 ;;
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
[[ $only == morph ]] || need_pkg 'command -v qemu-system-i386' qemu-system-x86

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

if [[ $only != qemu ]]; then
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
if [[ $only != qemu ]]; then
	vmms+=(morph)
	run_vmm morph "$morph" run -m 256M --kernel "$KERNEL" --initrd "$bench_initrd" --append "$append"
fi
if [[ $only != morph ]]; then
	vmms+=(qemu)
	run_vmm qemu qemu-system-i386 -accel tcg -m 256 -machine pc,acpi=off -display none \
		-serial stdio -monitor none -no-reboot \
		-kernel "$KERNEL" -initrd "$bench_initrd" -append "$append"
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

# ev VMM KIND [NAME]: the time (usec) of the first such event, or nothing.
ev() { awk -v k="$2" -v n="${3:-}" '$2 == k && (n == "" || $3 == n) { print $1; exit }' "$out/$1.events"; }
result() { sed -n "s/^[0-9]* result $2 //p" "$out/$1.events" | head -n 1; }
secs() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1e6 }'; }

declare -A t
for vmm in "${vmms[@]}"; do
	s=$(ev "$vmm" start)
	[[ -n $s ]] && t[$vmm,boot]=$s
	for p in gen "${PHASES[@]}"; do
		b=$(ev "$vmm" begin "$p")
		e=$(ev "$vmm" end "$p")
		[[ -n $b && -n $e ]] && t[$vmm,$p]=$((e - b))
	done
done

# check VMM PHASE: ok, WRONG (with the difference) or - when not known.
check() {
	local got want
	got=$(result "$1" "$2")
	[[ -z $got ]] && { echo "-"; return; }
	grep -q "^[0-9]* failed $2\b" "$out/$1.events" && { echo "FAILED"; return; }
	want=${expect[$2]:-}
	if [[ -z $want ]]; then
		# No host figure (gzip: busybox's output differs from the host's
		# gzip): morph's result is checked against QEMU's.
		local other=qemu
		[[ $1 == qemu ]] && { echo "ok"; return; }
		want=$(result "$other" "$2" 2>/dev/null || true)
		[[ -z $want ]] && { echo "?"; return; }
	fi
	[[ $got == "$want" ]] && echo "ok" || echo "WRONG"
}

cell() { [[ -n ${t[$1,$2]:-} ]] && secs "${t[$1,$2]}" || echo "did not finish"; }
ratio() {
	[[ -n ${t[morph,$1]:-} && -n ${t[qemu,$1]:-} && ${t[morph,$1]} -gt 0 ]] || { echo "-"; return; }
	awk -v q="${t[qemu,$1]}" -v m="${t[morph,$1]}" 'BEGIN { printf "%.2f", q / m }'
}

echo
echo "morph Linux benchmark ($(date -u '+%F %T') UTC, $(nproc) CPUs, $(uname -m))"
echo "kernel:  $KERNEL"
echo "initrd:  $bench_initrd"
echo "append:  $append"
echo "sizes:   ${cfg:-unknown (no guest reached BENCH-START)}"
[[ " ${vmms[*]} " == *" qemu "* ]] && echo "qemu:    $(qemu-system-i386 --version | head -1)"
echo
printf "%-22s %16s %16s %8s   %s\n" "phase" "morph s" "qemu tcg s" "q/m" "check (morph, qemu)"
row() {
	local name=$1 key=$2 m=- q=- cm=- cq=-
	[[ " ${vmms[*]} " == *" morph "* ]] && { m=$(cell morph "$key"); cm=$(check morph "$key"); }
	[[ " ${vmms[*]} " == *" qemu "* ]] && { q=$(cell qemu "$key"); cq=$(check qemu "$key"); }
	[[ $key == boot || $key == gen ]] && cm='' cq=''
	printf "%-22s %16s %16s %8s   %s\n" "$name" "$m" "$q" "$(ratio "$key")" "${cm:+$cm, $cq}"
}
row "boot to BENCH-START" boot
row "(data generation)" gen
for p in "${PHASES[@]}"; do row "$p" "$p"; done

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
exit 0

#!/bin/bash
# Linux workload benchmark (not a test): boots the default guest kernel with a
# benchmark initramfs on morph (its default engine, the translator), on morph
# --engine interp (the interpreter alone) and on qemu-system-i386 -accel tcg,
# one after the other in the same run, and times each phase of a CPU workload
# from the host as its marker line arrives on the guest's console.
#
#   bench/linux.sh [options]
#     --morph FILE      morph binary (default: build/morph, rebuilt with make)
#     --rev REV         build morph from git revision REV (e.g. HEAD) in a
#                       temporary tree: committed code only, whatever the
#                       working tree holds
#     --only LIST       run only these VMMs: a comma-separated list of
#                       morph (the translator, morph's default engine),
#                       morph-interp (the same binary with --engine interp)
#                       and qemu; e.g. --only morph,qemu
#     --morph-args ARGS extra options for both morph runs, split on spaces
#                       (e.g. "--jit-cache 8M"; "--engine jit,threshold=10"
#                       changes the morph run only: morph-interp's
#                       --engine interp comes last and wins)
#     --runs N          run each VMM N times (alternating) and report medians
#                       (default 1; BENCH_RUNS)
#     --keep DIR        keep the consoles and event logs in DIR
#     --report DIR      run nothing: print the table from the logs in DIR
#     --initramfs       build the benchmark initramfs if needed, print its
#                       path and exit (bench/run.sh uses it)
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
# The table: seconds per phase on each VMM and the ratios q/m = qemu/morph
# and q/mi = qemu/morph-interp (morph's speed relative to QEMU TCG: above 1
# morph is faster), in wall time and in CPU time of the VMM process (the
# steadier figure on a loaded host), then the geometric mean of the six CPU
# phases' ratios. A VMM that crashes, stops or exceeds a timeout gets "did not
# finish" for the phases it missed, and its last console lines are shown.
# shellcheck disable=SC2034 # the time tables are read through namerefs
set -euo pipefail

# The whole script is one { } block: bash reads it completely before running
# it, so editing this file during a (long) run cannot derail that run.
{

root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/bench/linux
die() { echo "bench/linux.sh: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

morph=''
morph_desc=''
morph_args=''
only=''
initramfs_only=0
keep=''
report=''
rev=''
nruns=${BENCH_RUNS:-1}
while [[ $# -gt 0 ]]; do
	case $1 in
	--morph) [[ $# -ge 2 ]] || die "--morph needs a file"; morph=$2; shift 2 ;;
	--only)
		[[ $# -ge 2 && $2 =~ ^(morph|morph-interp|qemu)(,(morph|morph-interp|qemu))*$ ]] ||
			die "--only needs a comma-separated list of morph, morph-interp and qemu"
		only=$2
		shift 2
		;;
	--morph-args) [[ $# -ge 2 ]] || die "--morph-args needs a string"; morph_args=$2; shift 2 ;;
	--initramfs) initramfs_only=1; shift ;;
	--rev) [[ $# -ge 2 ]] || die "--rev needs a git revision"; rev=$2; shift 2 ;;
	--runs) [[ $# -ge 2 ]] || die "--runs needs a number"; nruns=$2; shift 2 ;;
	--keep) [[ $# -ge 2 ]] || die "--keep needs a directory"; keep=$2; shift 2 ;;
	--report) [[ $# -ge 2 && -d $2 ]] || die "--report needs a directory of kept logs"; report=$2; shift 2 ;;
	-h | --help) sed -n '2,/^# shellcheck/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done

[[ $nruns =~ ^[1-9][0-9]*$ ]] || die "bad number of runs '$nruns' (1 or more)"
# The VMMs of this invocation, in the order of their runs and columns.
readonly ALL_VMMS=(qemu morph morph-interp)
declare -A want=()
for vmm in "${ALL_VMMS[@]}"; do
	[[ -z $only || ,$only, == *,$vmm,* ]] && want[$vmm]=1
done
wants() { [[ -n ${want[$1]:-} ]]; }
wants_morph() { wants morph || wants morph-interp; }
# shellcheck disable=SC2206 # split on purpose: options for morph
morph_extra=($morph_args)
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
probe=$(mktemp)
# shellcheck disable=SC2016 # expanded by the eval in need_pkg
need_pkg 'echo "int main(void){return 0;}" | gcc -m32 -static -x c - -o "$probe"' gcc-multilib
rm -f "$probe"
[[ -n $report || $initramfs_only == 1 ]] || ! wants qemu || need_pkg 'command -v qemu-system-i386' qemu-system-x86

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

if [[ ! -f $bench_initrd || ! -x $workload ]] ||
	[[ -z $report && $(cat "$bench_dir/recipe" 2>/dev/null) != "$recipe" ]]; then
	build_initramfs
fi
if [[ $initramfs_only == 1 ]]; then
	echo "$bench_initrd"
	exit 0
fi

# --- morph ------------------------------------------------------------------

[[ -z $rev || -z $morph ]] || die "--rev and --morph exclude each other"
if [[ -n $rev ]] && wants_morph && [[ -z $report ]]; then
	git -C "$root" rev-parse --verify -q "$rev^{commit}" >/dev/null || die "unknown git revision '$rev'"
	rev_tree=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$rev_tree'" EXIT
	log "building morph from $rev ($(git -C "$root" rev-parse --short "$rev"))"
	git -C "$root" archive "$rev" | tar -x -C "$rev_tree" || die "git archive $rev failed"
	make -s -C "$rev_tree" -j"$(nproc)" morph >"$rev_tree/make.log" 2>&1 ||
		{ tail -n 20 "$rev_tree/make.log" >&2; die "building morph from $rev failed"; }
	morph=$rev_tree/build/morph
	morph_desc="built from $rev ($(git -C "$root" rev-parse --short "$rev"))"
fi
if wants_morph && [[ -z $report ]]; then
	morph_desc=${morph_desc:-$morph}
	if [[ -z $morph ]]; then
		morph=$root/build/morph
		morph_desc="build/morph of the working tree ($(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'))"
		make -s -C "$root" morph >/dev/null 2>&1 ||
			log "warning: 'make morph' failed (tree being edited?); using the existing $morph"
	fi
	[[ -x $morph ]] || die "no morph binary at $morph"
fi

# --- runs -------------------------------------------------------------------

work=$(mktemp -d)
trap 'rm -rf "$work" ${rev_tree:+"$rev_tree"}' EXIT
out=${keep:-$work}
mkdir -p "$out"

# Private copies: every run of this invocation boots the same files even if
# another one rebuilds the cache or someone rebuilds build/morph meanwhile.
# (The kernel too: worktrees with different versions of tools/guest/fetch.sh
# sharing one cache rebuild it in turn.)
cp "$bench_initrd" "$work/initramfs.cpio.gz"
cp "$workload" "$work/workload"
kernel_path=$KERNEL
if [[ -z $report ]]; then
	cp "$KERNEL" "$work/vmlinuz"
	KERNEL=$work/vmlinuz
fi
bench_initrd=$work/initramfs.cpio.gz workload=$work/workload
if [[ -n $morph ]]; then
	cp "$morph" "$work/morph"
	morph=$work/morph
fi

# Every run leaves OUT/VMM.N.console and OUT/VMM.N.events; a "run" below is
# the VMM.N name.
run_vmm() {
	local run=$1
	shift
	log "run $run (boot timeout ${boot_timeout}s, ${phase_timeout}s per phase)"
	"$here/timed-console.sh" "$out/$run" "$boot_timeout" "$phase_timeout" -- "$@"
}

vmms=()
for vmm in "${ALL_VMMS[@]}"; do
	wants "$vmm" && vmms+=("$vmm")
done
declare -A runs=() # runs[VMM]: its run names, in order
if [[ -n $report ]]; then
	out=$report
	for vmm in "${vmms[@]}"; do
		# (numeric order: morph.10 after morph.9)
		while read -r f; do
			[[ -n $f ]] && runs[$vmm]+=" $f"
		done < <(for f in "$out/$vmm".*.events; do
			[[ -f $f ]] || continue
			f=${f##*/}
			echo "${f%.events}"
		done | sort -t. -k2,2n)
	done
	# What the kept run wrote about itself (see below).
	if [[ -f $out/bench.info ]]; then
		morph_desc=$(sed -n 's/^morph: //p' "$out/bench.info")
		morph_args=$(sed -n 's/^morph-args: //p' "$out/bench.info")
		a=$(sed -n 's/^append: //p' "$out/bench.info")
		[[ -z $a ]] || append=$a
	fi
else
	if [[ -n $keep ]]; then
		printf 'morph: %s\nmorph-args: %s\nappend: %s\n' "$morph_desc" "$morph_args" "$append" >"$out/bench.info"
	fi
	# Alternating the VMMs spreads a change in the host's load over all.
	for ((i = 1; i <= nruns; i++)); do
		if wants qemu; then
			run_vmm "qemu.$i" qemu-system-i386 -accel tcg -m 256 -machine pc,acpi=off -display none \
				-serial stdio -monitor none -no-reboot \
				-kernel "$KERNEL" -initrd "$bench_initrd" -append "$append"
			runs[qemu]+=" qemu.$i"
		fi
		if wants morph; then
			run_vmm "morph.$i" "$morph" run -m 256M "${morph_extra[@]}" \
				--kernel "$KERNEL" --initrd "$bench_initrd" --append "$append"
			runs[morph]+=" morph.$i"
		fi
		if wants morph-interp; then
			run_vmm "morph-interp.$i" "$morph" run -m 256M "${morph_extra[@]}" --engine interp \
				--kernel "$KERNEL" --initrd "$bench_initrd" --append "$append"
			runs[morph-interp]+=" morph-interp.$i"
		fi
	done
fi
ran() { [[ -n ${runs[$1]:-} ]]; }
first_run() { local r; for r in ${runs[$1]:-}; do echo "$r"; return; done; }
all_runs=()
for vmm in "${vmms[@]}"; do
	# shellcheck disable=SC2206 # run names have no spaces
	ran "$vmm" && all_runs+=(${runs[$vmm]})
done
[[ ${#all_runs[@]} -gt 0 ]] || die "no runs${report:+ in $report (expected qemu.N.events, morph.N.events, morph-interp.N.events)}"

# --- expected results (the workload run natively on the host) -----------------

# The sizes the guest used come from its CONFIG line (defaults in
# bench/linux/init, overridable from the environment).
declare -A size=()
cfg=''
for run in "${all_runs[@]}"; do
	cfg=$(sed -n 's/^[0-9]* config //p' "$out/$run.events" | head -n 1)
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

# ev RUN KIND [NAME]: "USEC CPU" of the first such event (CPU may be -), or
# nothing.
ev() {
	awk -v k="$2" -v n="${3:-}" '$2 == k && (k == "bench-start" || k == "first-line") { print $1, ($3 == "" ? "-" : $3); exit }
		$2 == k && $3 == n { print $1, ($4 == "" ? "-" : $4); exit }' "$out/$1.events"
}
result() { sed -n "s/^[0-9]* result $2 //p" "$out/$1.events" | head -n 1; }
secs() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1e6 }'; }

# tr[RUN,KEY] wall and cr[RUN,KEY] CPU time in usec; KEY is boot, gen, a
# phase, or total (the six phases, only when every one finished).
declare -A tr cr
for run in "${all_runs[@]}"; do
	read -r tw tc <<<"$(ev "$run" bench-start)"
	[[ -n ${tw:-} ]] && tr[$run,boot]=$tw && [[ $tc != - ]] && cr[$run,boot]=$tc
	read -r tw tc <<<"$(ev "$run" first-line)"
	[[ -n ${tw:-} ]] && tr[$run,first]=$tw && [[ $tc != - ]] && cr[$run,first]=$tc
	sw=0 sc=0
	for p in gen "${PHASES[@]}"; do
		read -r bw bc <<<"$(ev "$run" begin "$p")"
		read -r ew ec <<<"$(ev "$run" end "$p")"
		if [[ -z ${bw:-} || -z ${ew:-} ]]; then
			[[ $p == gen ]] || sw=-1 sc=-1
			continue
		fi
		tr[$run,$p]=$((ew - bw))
		if [[ $bc != - && $ec != - ]]; then cr[$run,$p]=$((ec - bc)); else [[ $p == gen ]] || sc=-1; fi
		[[ $p == gen ]] && continue
		((sw < 0)) || sw=$((sw + ew - bw))
		((sc < 0)) || [[ -z ${cr[$run,$p]:-} ]] || sc=$((sc + ${cr[$run,$p]}))
	done
	((sw > 0)) && tr[$run,total]=$sw
	((sc > 0)) && cr[$run,total]=$sc
done

# A marker that reaches the host late (the guest's console output held up
# somewhere) makes a phase look shorter than the guest's own clock says; the
# guest's clock never runs faster than the host's, so such a phase is noted.
# Not for morph: its guest clock counts executed instructions (--ips), so a
# busy guest's clock legitimately runs ahead of the wall clock.
stalls=()
for run in "${all_runs[@]}"; do
	[[ $run == morph* ]] && continue
	while read -r p w g; do
		stalls+=("$run $p: the console delivered its markers $(secs "$w") s apart, the guest's clock says ${g} s")
	done < <(awk '$2 == "begin" { b[$3] = $1; gb[$3] = $5 }
		$2 == "end" && ($3 in b) && $5 != "-" && gb[$3] != "-" && $5 != "" {
			w = $1 - b[$3]; g = $5 - gb[$3]
			if (g * 1e6 > 1.25 * w + 200000) printf "%s %d %.2f\n", $3, w, g }' "$out/$run.events")
done

# t[VMM,KEY], c[VMM,KEY]: the median over that VMM's runs that got there
# (one odd stall of the console, or of the host, does not move it).
declare -A t c
for vmm in "${vmms[@]}"; do
	ran "$vmm" || continue
	for key in first boot gen "${PHASES[@]}" total; do
		for arr in tr cr; do
			declare -n src=$arr
			vals=()
			for run in ${runs[$vmm]}; do
				[[ -n ${src[$run,$key]:-} ]] && vals+=("${src[$run,$key]}")
			done
			unset -n src
			[[ ${#vals[@]} -gt 0 ]] || continue
			med=$(printf '%s\n' "${vals[@]}" | sort -n | awk '{ v[NR] = $1 }
				END { print NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
			if [[ $arr == tr ]]; then t[$vmm,$key]=$med; else c[$vmm,$key]=$med; fi
		done
	done
done

# check RUN PHASE: ok, WRONG, FAILED (the guest says so) or - (no result).
check() {
	local got want ref
	got=$(result "$1" "$2")
	grep -q "^[0-9]* failed $2 " "$out/$1.events" && { echo "FAILED"; return; }
	[[ -z $got ]] && { echo "-"; return; }
	want=${expect[$2]:-}
	if [[ -z $want ]]; then
		# No host figure (gzip: busybox's output differs from the host's
		# gzip): morph's result is checked against QEMU's first one (or,
		# without QEMU, morph-interp's against morph's).
		[[ $1 == qemu.* ]] && { echo "ok"; return; }
		if ran qemu; then ref=$(first_run qemu)
		elif [[ $1 == morph-interp.* ]] && ran morph; then ref=$(first_run morph)
		else echo "?"; return; fi
		want=$(result "$ref" "$2")
		[[ -z $want ]] && { echo "?"; return; }
	fi
	[[ $got == "$want" ]] && echo "ok" || echo "WRONG"
}
# check_vmm VMM PHASE: ok if every run that produced a result was right.
check_vmm() {
	ran "$1" || { echo "-"; return; }
	local r all=''
	for run in ${runs[$1]}; do
		r=$(check "$run" "$2")
		[[ $r == - ]] || all+=" $r"
	done
	# shellcheck disable=SC2086 # split on purpose
	all=$(printf '%s\n' $all | sort -u | paste -sd+)
	echo "${all:--}"
}

# cell ARRAY VMM KEY: seconds, dnf (did not finish), or - (VMM not run / unknown).
cell() {
	local -n a=$1
	ran "$2" || { echo "-"; return; }
	if [[ -n ${a[$2,$3]:-} ]]; then secs "${a[$2,$3]}"
	elif [[ $1 == t ]]; then echo "dnf"
	else echo "-"; fi
}
# ratio ARRAY VMM KEY: QEMU time / VMM's time (that morph's relative speed).
ratio() {
	local -n a=$1
	[[ -n ${a[$2,$3]:-} && -n ${a[qemu,$3]:-} && ${a[$2,$3]} -gt 0 ]] || { echo "-"; return; }
	awk -v q="${a[qemu,$3]}" -v m="${a[$2,$3]}" 'BEGIN { printf "%.2f", q / m }'
}
# geomean ARRAY VMM: "MEAN over N phases (NAMES)" of the six phases' ratios
# that exist, or -.
geomean() {
	local p r rs=() names=()
	for p in "${PHASES[@]}"; do
		r=$(ratio "$1" "$2" "$p")
		[[ $r == - || $r == 0.00 ]] && continue
		rs+=("$r") names+=("$p")
	done
	[[ ${#rs[@]} -gt 0 ]] || { echo "-"; return; }
	printf '%s over %d phases (%s)' \
		"$(printf '%s\n' "${rs[@]}" | awk '{ s += log($1) } END { printf "%.2f", exp(s / NR) }')" \
		"${#rs[@]}" "${names[*]}"
}
nruns_of() { echo "${runs[$1]:-}" | wc -w; }

echo
echo "morph Linux benchmark ($(date -u '+%F %T') UTC, $(nproc) CPUs, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "kernel:  $kernel_path"
echo "initrd:  $cache/bench/initramfs.cpio.gz"
echo "append:  $append"
echo "sizes:   ${cfg:-unknown (no guest reached BENCH-START)}"
ran qemu && echo "qemu:    $(qemu-system-i386 --version | head -1)"
if ran morph || ran morph-interp; then
	[[ -n ${morph_desc:-} ]] && echo "morph:   $morph_desc"
	echo "         morph = its default engine (the translator, --engine jit);" \
		"morph-interp = the same binary with --engine interp"
	[[ -n $morph_args ]] && echo "         extra options of both morph runs: $morph_args"
fi
echo
echo "runs:    qemu $(nruns_of qemu), morph $(nruns_of morph), morph-interp $(nruns_of morph-interp)" \
	"(figures are the median over the runs that got there)"
echo
echo "seconds of wall time and of CPU time used by the VMM process (user+system, all threads);"
echo "q/m = qemu / morph, q/mi = qemu / morph-interp (above 1: morph is faster); dnf = did not finish"
fmt="%-20s %7s %7s %7s %5s %5s  %7s %7s %7s %5s %5s  %s\n"
printf "%-20s %-37s  %-37s  %s\n" "" "------------ wall s ------------" "------------ CPU s -------------" "check"
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" "phase" "morph" "interp" "qemu" "q/m" "q/mi" "morph" "interp" "qemu" "q/m" "q/mi" "(morph, interp, qemu)"
row() {
	local name=$1 key=$2 chk=''
	[[ $key == first || $key == boot || $key == gen || $key == total ]] ||
		chk="$(check_vmm morph "$key"), $(check_vmm morph-interp "$key"), $(check_vmm qemu "$key")"
	# shellcheck disable=SC2059
	printf "$fmt" "$name" \
		"$(cell t morph "$key")" "$(cell t morph-interp "$key")" "$(cell t qemu "$key")" \
		"$(ratio t morph "$key")" "$(ratio t morph-interp "$key")" \
		"$(cell c morph "$key")" "$(cell c morph-interp "$key")" "$(cell c qemu "$key")" \
		"$(ratio c morph "$key")" "$(ratio c morph-interp "$key")" "$chk"
}
row "boot: first line" first
row "boot to BENCH-START" boot
row "(data generation)" gen
for p in "${PHASES[@]}"; do row "$p" "$p"; done
row "all six phases" total
echo
echo "geometric mean of the phases' CPU-time ratios (the six phases: ${PHASES[*]}):"
echo "  q/m  (translator):  $(geomean c morph)"
echo "  q/mi (interpreter): $(geomean c morph-interp)"
echo "the same of the wall-time ratios:"
echo "  q/m  (translator):  $(geomean t morph)"
echo "  q/mi (interpreter): $(geomean t morph-interp)"

if [[ ${#stalls[@]} -gt 0 ]]; then
	echo
	echo "warning: markers that arrived late (that phase's time is wrong in that run; --runs 3 gives medians):"
	printf '  %s\n' "${stalls[@]}"
fi

# How each run ended.
echo
for run in "${all_runs[@]}"; do
	how=$(awk '$2 == "timeout" { print "timed out (no marker in time; stopped)"; exit }
		$2 == "eof" && !e { print "exited before BENCH-END"; exit }
		$2 == "bench-end" { e = 1 }
		$2 == "eof" && e { print "finished, exited by itself"; exit }
		$2 == "killed" && e { print "finished, stopped by the bench (halted guest)"; exit }' "$out/$run.events")
	st=$(awk '$2 == "exit" { print $3 }' "$out/$run.events")
	echo "$run: ${how:-?}, exit status ${st:-?}"
	if ! grep -q ' bench-end$' "$out/$run.events"; then
		if [[ -s $out/$run.console ]]; then
			echo "  last console lines:"
			tail -n 8 "$out/$run.console" | sed 's/^/    /'
		else
			echo "  (no console output at all)"
		fi
	fi
done
[[ -n $keep ]] && echo "consoles and events kept in $keep"
[[ -n $report ]] && echo "(from the logs in $report)"
exit 0
}

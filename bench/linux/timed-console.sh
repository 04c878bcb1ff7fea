#!/bin/bash
# Runs one VMM and timestamps the benchmark's marker lines as they arrive on
# its console (the guest does no timing of its own).
#
#   timed-console.sh OUT BOOT_TIMEOUT PHASE_TIMEOUT -- CMD [ARGS...]
#
# CMD's stdout+stderr (the guest's serial console) is read line by line. Each
# line goes to OUT.console as "SECONDS LINE"; the events go to OUT.events, one
# a line, times in microseconds since CMD was started:
#
#   USEC first-line CPU             the first console line (with "quiet": the
#                                   kernel has been decompressed and started)
#   USEC bench-start CPU            BENCH-START seen
#   USEC begin NAME CPU UP | end NAME CPU UP   a phase marker (UP: the
#                                   guest's uptime in it, or -)
#   USEC result NAME VALUE...       RESULT line
#   USEC failed NAME WHY...         FAILED line (the guest says a phase failed)
#   USEC config ...                 CONFIG line
#   USEC bench-end                  BENCH-END seen
#   USEC timeout                    no marker within the allowed time; CMD killed
#   USEC eof                        CMD closed its output before BENCH-END
#   USEC eof                        (after end) CMD exited by itself
#   USEC killed                     (after end) CMD was still running: stopped
#   USEC exit STATUS                CMD's exit status (after a kill: 124 or 128+n)
#
# CPU is the processor time (user+system, all threads) the VMM process has
# used so far, in microseconds (clock-tick resolution), or - if unknown: on a
# loaded host it is a steadier figure than the wall time.
#
# BOOT_TIMEOUT bounds the time to BENCH-START, PHASE_TIMEOUT the time between
# two markers after it. After BENCH-END, CMD gets a few seconds to exit by
# itself (morph does when the guest powers off; QEMU without ACPI keeps
# running halted) and is then killed. Everything is bounded: this never hangs.
set -u

# One { } block: bash reads all of it before running it (safe to edit during a run).
{

[[ $# -ge 5 && $4 == -- ]] || {
	echo "usage: timed-console.sh OUT BOOT_TIMEOUT PHASE_TIMEOUT -- CMD [ARGS...]" >&2
	exit 2
}
out=$1 boot_timeout=$2 phase_timeout=$3
shift 4
for t in "$boot_timeout" "$phase_timeout"; do
	[[ $t =~ ^[0-9]+$ && $t -gt 0 ]] || {
		echo "timed-console.sh: bad timeout '$t' (whole seconds > 0)" >&2
		exit 2
	}
done
readonly EXIT_GRACE=10 # seconds CMD gets to exit after BENCH-END

usec() { local t=$EPOCHREALTIME; echo $((${t/./} - t0)); }
# The VMM's pid: the child of `timeout`, looked up once.
vmm_pid=''
find_vmm_pid() {
	local c=''
	[[ -n $vmm_pid ]] && return
	# The file has no final newline: read then fails but has set c.
	read -r c _ 2>/dev/null <"/proc/$pid/task/$pid/children"
	vmm_pid=$c
}

# sample_cpu: sets cpu to the VMM's user+system time so far in usec, or -.
cpu=-
sample_cpu() {
	find_vmm_pid
	local stat f
	cpu=-
	[[ -n $vmm_pid ]] && read -r stat 2>/dev/null <"/proc/$vmm_pid/stat" || return 0
	# The fields after "(comm) ": state first, utime 12th, stime 13th.
	read -r -a f <<<"${stat##*) }"
	cpu=$(((f[11] + f[12]) * 1000000 / clk_tck))
}
clk_tck=$(getconf CLK_TCK)

# event WHAT...: appends to OUT.events and shows progress on stderr.
event() {
	local u
	u=$(usec)
	printf '%s %s\n' "$u" "$*" >>"$out.events"
	[[ $1 == result || $1 == config ]] ||
		printf '  %s %7.2fs %s\n' "${out##*/}" "$((u / 1000))e-3" "$*" >&2
}

: >"$out.console"
: >"$out.events"
dir=$(mktemp -d)
fifo=$dir/console
mkfifo "$fifo"

t0=${EPOCHREALTIME/./}
# The hard limit for the whole run; the marker deadlines below normally act
# long before it. `timeout` passes our kill on to CMD.
hard_limit=$((boot_timeout + 20 * phase_timeout))
timeout -k 5 "$hard_limit" "$@" </dev/null >"$fifo" 2>&1 &
pid=$!
# timeout puts CMD in a process group of its own, out of reach of the
# terminal's Ctrl-C: when we are stopped, stop it too.
trap 'kill -TERM "$pid" 2>/dev/null; exit 130' INT TERM HUP
exec 3<"$fifo"
rm -rf "$dir"

deadline=$((t0 + boot_timeout * 1000000))
finished=0
first_line=1
while :; do
	now=${EPOCHREALTIME/./}
	left=$((deadline - now))
	if ((left <= 0)); then
		event timeout
		break
	fi
	if IFS= read -r -t "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))" line <&3; then
		t=$(usec)
		line=${line//$'\r'/}
		printf '%d.%06d %s\n' $((t / 1000000)) $((t % 1000000)) "$line" >>"$out.console"
		if ((first_line)); then
			first_line=0
			sample_cpu
			event first-line "$cpu"
		fi
		# Markers are matched anywhere in the line: a kernel message may
		# share the line with one.
		marker=1
		if [[ $line =~ BENCH-START ]]; then
			sample_cpu
			event bench-start "$cpu"
		elif [[ $line =~ PHASE\ ([A-Za-z0-9_]+)\ (begin|end)(\ ([0-9]+\.[0-9]+))? ]]; then
			sample_cpu
			event "${BASH_REMATCH[2]}" "${BASH_REMATCH[1]}" "$cpu" "${BASH_REMATCH[4]:--}"
		elif [[ $line =~ RESULT\ ([A-Za-z0-9_]+)\ ?(.*) ]]; then
			event result "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
		elif [[ $line =~ FAILED\ (.*) ]]; then
			event failed "${BASH_REMATCH[1]}"
		elif [[ $line =~ CONFIG\ (.*) ]]; then
			event config "${BASH_REMATCH[1]}"
		elif [[ $line =~ BENCH-END ]]; then
			event bench-end
			finished=1
			break
		else
			marker=0
		fi
		((marker)) && deadline=$((${EPOCHREALTIME/./} + phase_timeout * 1000000))
	else
		if (($? > 128)); then
			event timeout
		else
			event eof
		fi
		break
	fi
done

# After BENCH-END, CMD may exit by itself (morph does when the guest powers
# off); QEMU without ACPI stays up with the CPU halted, so once the kernel's
# "reboot:" line is seen CMD gets two more seconds. Then it is stopped; only
# our own child is signalled.
if ((finished)); then
	deadline=$((${EPOCHREALTIME/./} + EXIT_GRACE * 1000000))
	while :; do
		left=$((deadline - ${EPOCHREALTIME/./}))
		((left > 0)) || { event killed; break; }
		IFS= read -r -t "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))" line <&3 || {
			if (($? > 128)); then event killed; else event eof; fi
			break
		}
		t=$(usec)
		printf '%d.%06d %s\n' $((t / 1000000)) $((t % 1000000)) "${line//$'\r'/}" >>"$out.console"
		if [[ $line =~ reboot:\  ]]; then
			deadline=$((${EPOCHREALTIME/./} + 2000000))
		fi
	done
fi
kill -TERM "$pid" 2>/dev/null
exec 3<&-
wait "$pid"
event exit $?
exit 0
}

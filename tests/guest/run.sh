#!/bin/bash
# Runs every guest test program and checks its result.
#
#   tests/guest/run.sh [MORPH_BINARY]     (default: build/morph of this repo)
#   tests/guest/run.sh --list             the guests' names (tests/system/lockstep.sh)
#
# Environment:
#   GUEST_RUNNER=morph|qemu   what runs the guests (default morph; qemu is a
#                             development reference: qemu-system-i386 -accel tcg)
#   GUEST_TIMEOUT=30          seconds per guest
#   GUEST_ONLY="pit rtc"      run only these guests
#   GUEST_ENGINE=interp       morph's --engine (e.g. interp, jit,threshold=1;
#                             default: morph's own, jit with threshold 50)
#
# A guest passes when it exits with status 1 (it wrote 0 to the debug-exit
# port), printed at least one PASS line and no FAIL line, and its extra check
# (RTC time vs the host's, CPU exercise vs the native run) holds.
# Prints "PASS guest/<name>" or "FAIL guest/<name>: <reason>" per guest and
# finally "N passed, N failed"; exits non-zero if any failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$here/build"
logs="$build/logs"
runner=${GUEST_RUNNER:-morph}
timeout_s=${GUEST_TIMEOUT:-30}
morph=${1:-$root/build/morph}
engine_args=()
[ -n "${GUEST_ENGINE:-}" ] && engine_args=(--engine "$GUEST_ENGINE")

guests="hello protmode_rom realmode paging exceptions usermode pit rtc uart cpuid smc cpu_exercise
  insn686 sysenter iopl callgate paging2 x87 x87_ferr taskgate v86 a20 stack16 jit jit_smc"
[ -n "${GUEST_ONLY:-}" ] && guests=$GUEST_ONLY
if [ "${1:-}" = --list ]; then
    echo $guests
    exit 0
fi

# FAIL lines QEMU's TCG is known to produce where it deviates from real
# hardware (morph must not): "guest:test-name".  The jit ones besides the
# limit checks are machine differences: under -icount shift=4 QEMU's TSC
# counts 16 per instruction (morph: 10 at --ips 100M; the instruction
# counts agree), and its unassigned MMIO reads 0 (morph's: all ones).
qemu_known="cpuid:unknown_msr_gp cpuid:unknown_msr_write_gp
  cpuid:msr_tsc_write_read cpuid:rdtsc_follows_tsc_msr exceptions:gp_write_readonly_segment
  exceptions:readonly_segment_readable_and_unchanged exceptions:gp_segment_limit
  x87:mf_at_next_waiting_insn x87:mf_faulting_insn_not_executed x87:fnstenv_fip_is_faulting_insn
  stack16:pop_m_esp_based_after_wrap stack16:pop_m_esp_based_keeps_esp_high stack16:popw_m_esp_based
  stack16:enter_level0_16bit_stack
  jit:cs_limit_jmp_target_gp jit:cs_limit_jcc_target_gp jit:ds_limit_gp_in_hot_loop
  jit:icount_straight_line_exact jit:icount_across_page_fault_exact jit:icount_across_mmio_exit_exact
  jit:mmio_rmw_flags_lahf jit:mmio_load_all_ones jit:mmio_add_reg_mem jit:mmio_movzx_byte
  jit:mmio_hot_loop_sum"

# Guests QEMU cannot run at all: "guest:reason".
qemu_skip="x87_ferr:QEMU_7.2_TCG_aborts_(BQL_assertion)_when_the_guest_raises_FERR#"

mkdir -p "$logs"
if ! make -s -C "$here" >"$logs/make.log" 2>&1; then
    cat "$logs/make.log" >&2
    echo "FAIL guest/build: make -C tests/guest failed"
    echo "0 passed, 1 failed"
    exit 1
fi

case "$runner" in
morph)
    if [ ! -x "$morph" ]; then
        echo "FAIL guest/setup: morph binary $morph not found (build it with make)"
        echo "0 passed, 1 failed"
        exit 1
    fi ;;
qemu)
    if ! command -v qemu-system-i386 >/dev/null; then
        echo "FAIL guest/setup: qemu-system-i386 not installed"
        echo "0 passed, 1 failed"
        exit 1
    fi ;;
*)
    echo "run.sh: unknown GUEST_RUNNER '$runner' (morph or qemu)" >&2
    exit 2 ;;
esac

# run_guest NAME: runs it, output in $logs/NAME.out, returns the exit status.
run_guest() {
    local name=$1 image kind
    if [ "$name" = protmode_rom ]; then
        image="$build/protmode_rom.bin"; kind=bios
    else
        image="$build/$name.elf"; kind=kernel
    fi
    if [ "$runner" = qemu ]; then
        local opt=-kernel
        [ $kind = bios ] && opt=-bios
        timeout "$timeout_s" qemu-system-i386 -accel tcg -icount shift=4,sleep=off -rtc base=utc,clock=vm -m 256 $opt "$image" \
            -serial stdio -display none -monitor none -no-reboot \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
            </dev/null >"$logs/$name.out" 2>"$logs/$name.err"
    else
        timeout "$timeout_s" "$morph" run ${engine_args[@]+"${engine_args[@]}"} --$kind "$image" --debug-exit \
            </dev/null >"$logs/$name.out" 2>"$logs/$name.err"
    fi
}

# Extra checks; print a reason and return 1 on mismatch.
check_rtc() {
    local line t_guest
    line=$(tr -d '\r' <"$logs/rtc.out" | grep -m1 '^RTC ')
    [ -n "$line" ] || { echo "no 'RTC YYYY-MM-DD HH:MM:SS' line"; return 1; }
    t_guest=$(date -u -d "${line#RTC } UTC" +%s 2>/dev/null) ||
        { echo "unparsable time in '$line'"; return 1; }
    if [ "$t_guest" -lt $((t_start - 3)) ] || [ "$t_guest" -gt $((t_end + 3)) ]; then
        echo "guest time '${line#RTC }' is not within 3 s of host UTC" \
             "$(date -u -d @"$t_start" '+%F %T')..$(date -u -d @"$t_end" '+%T')"
        return 1
    fi
}

check_cpu_exercise() {
    local native="$logs/cpu_exercise.native" diffs rc
    "$build/cpu_exercise_native" >"$native" 2>"$native.err"
    rc=$?
    if [ $rc -eq 126 ] && grep -q 'Exec format error' "$native.err"; then
        # A host kernel without IA-32 emulation cannot be the oracle.
        echo "SKIP guest/cpu_exercise native comparison: this host cannot run 32-bit programs" >&2
        return 0
    fi
    [ $rc -eq 0 ] || { echo "native run failed"; return 1; }
    diffs=$(diff <(grep '^CX ' "$native") <(tr -d '\r' <"$logs/cpu_exercise.out" | grep '^CX '))
    if [ -n "$diffs" ]; then
        echo "differs from the native run:" \
             "$(echo "$diffs" | grep '^[<>]' | head -6 | tr '\n' ';')"
        return 1
    fi
    [ "$(grep -c '^CX ' "$native")" -gt 0 ] || { echo "native run printed no CX lines"; return 1; }
}

passed=0
failed=0
for name in $guests; do
    if [ "$runner" = qemu ]; then
        skip=""
        for k in $qemu_skip; do
            [ "${k%%:*}" = "$name" ] && skip=${k#*:}
        done
        if [ -n "$skip" ]; then
            echo "SKIP guest/$name under qemu: $(echo "$skip" | tr _ ' ')"
            continue
        fi
    fi
    t_start=$(date +%s)
    run_guest "$name"
    status=$?
    t_end=$(date +%s)
    out=$(tr -d '\r' <"$logs/$name.out")
    fails=$(echo "$out" | grep '^FAIL ' || true)
    if [ "$runner" = qemu ] && [ -n "$fails" ]; then
        for k in $qemu_known; do
            [ "${k%%:*}" = "$name" ] || continue
            if echo "$fails" | grep -q "^FAIL ${k#*:}:"; then
                echo "note: guest/$name: tolerated QEMU deviation: ${k#*:}" >&2
            fi
            fails=$(echo "$fails" | grep -v "^FAIL ${k#*:}:" || true)
            # A tolerated FAIL line also makes the guest exit with 3.
            [ -z "$fails" ] && [ $status -eq 3 ] && status=1
        done
    fi
    reason=""
    if [ $status -eq 124 ]; then
        reason="timed out after ${timeout_s}s"
    elif [ -n "$fails" ]; then
        reason=$(echo "$fails" | head -3 | sed 's/^FAIL //' | tr '\n' ';' | sed 's/;$//')
    elif [ $status -ne 1 ]; then
        reason="exit status $status (want 1)"
        err=$(head -c 300 "$logs/$name.err" | tr '\n' ' ')
        [ -n "$err" ] && reason="$reason; stderr: $err"
    elif ! echo "$out" | grep -q '^PASS '; then
        reason="no PASS line"
    elif [ "$name" = rtc ]; then
        reason=$(check_rtc)
    elif [ "$name" = cpu_exercise ]; then
        reason=$(check_cpu_exercise)
    fi
    if [ -z "$reason" ]; then
        echo "PASS guest/$name"
        passed=$((passed + 1))
    else
        echo "FAIL guest/$name: $reason (log: ${logs#$root/}/$name.out)"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# check.sh - build everything and run every test; the last line is
# "N passed, N failed".  Exits non-zero if a test failed or a suite could
# not run (a build failure counts as a failed test).
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh --disk || { echo "check: tools/setup.sh failed"; echo "0 passed, 1 failed"; exit 1; }

LOGS=build/check-logs
mkdir -p "$LOGS"
passed=0
failed=0

fail_suite() {   # a suite that could not run or crashed counts as one failure
    echo "FAIL  $1"
    failed=$((failed + 1))
}

step() {         # step NAME COMMAND... : a build step; its log goes to $LOGS
    local name=$1; shift
    if "$@" >"$LOGS/$name.log" 2>&1; then
        echo "ok    $name"
        return 0
    fi
    tail -n 30 "$LOGS/$name.log"
    fail_suite "$name (log: $LOGS/$name.log)"
    return 1
}

# Adds the "N passed, N failed" totals from the last such line of a log.
add_summary() {  # add_summary NAME LOG RC
    local name=$1 log=$2 rc=$3 line p f
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [[ -z $line ]]; then
        tail -n 20 "$log"
        fail_suite "$name: no \"N passed, N failed\" line (exit status $rc)"
        return
    fi
    p=${line%% passed*}
    f=${line#*, }; f=${f%% failed}
    passed=$((passed + p))
    failed=$((failed + f))
    grep -E '^FAIL' "$log" | head -n 40
    grep -E '^info ' "$log" | head -n 10 | sed 's/^/      /'   # e.g. boot times
    if ((f == 0 && rc != 0)); then
        fail_suite "$name: exit status $rc"
    fi
    echo "      $name: $line"
}

echo "== build"
step build-morph make -j2 morph
step build-asan make -j2 asan
step build-guests make guests

echo "== unit tests (ASan + UBSan)"
shopt -s nullglob
for t in build/asan/tests/test_*; do
    [[ -x $t ]] || continue
    name=$(basename "$t")
    log=$LOGS/$name.log
    CMOCKA_MESSAGE_OUTPUT=stdout timeout 300 "$t" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$log" | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    passed=$((passed + p))
    failed=$((failed + f))
    if ((f > 0)); then
        grep -E '^\[  (FAILED|ERROR) +\]|Failure|error:' "$log" | head -n 20
    fi
    if ((rc != 0 && f == 0)) || grep -qE 'AddressSanitizer|runtime error:' "$log"; then
        tail -n 20 "$log"
        fail_suite "$name crashed or exited $rc (log: $log)"
    fi
    printf '      %-24s %s passed, %s failed\n' "$name" "$p" "$f"
done

echo "== guest programs"
# Each on the default engine (the translator after 50 runs of a block),
# with every block translated on its first run, and on the interpreter.
if [[ -x tests/guest/run.sh && -x build/morph ]]; then
    for engine in jit jit,threshold=1 interp; do
        log=$LOGS/guest-${engine//[,=]/-}.log
        GUEST_ENGINE=$engine tests/guest/run.sh build/morph >"$log" 2>&1
        add_summary "guest programs ($engine)" "$log" $?
    done
else
    fail_suite "guest programs: tests/guest/run.sh or build/morph missing"
fi

echo "== differential fuzzer (host CPU as the oracle)"
# Regression vectors plus a fixed-seed slice; counted as one test, since a
# sequence count would drown every other figure.
tests/fuzz/run.sh >"$LOGS/fuzz.log" 2>&1
rc=$?
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOGS/fuzz.log" | tail -n 1)
# Per slice: the slice, its vectors/generated totals, the three columns'
# failed comparisons (host/interp, host/jit, interp/jit).
grep -E '^(== slice|vectors:|columns:)' "$LOGS/fuzz.log" | sed 's/^/      /'
if ((rc == 0)) && grep -q '^SKIP fuzz' "$LOGS/fuzz.log"; then
    grep '^SKIP fuzz' "$LOGS/fuzz.log" | sed 's/^/      /'
elif ((rc == 0)) && [[ $line == *", 0 failed" ]]; then
    passed=$((passed + 1))
    echo "      fuzz: $line"
else
    grep -E '^(FAIL|DIVERGE)' "$LOGS/fuzz.log" | head -n 20
    fail_suite "fuzz: ${line:-no summary} (exit status $rc, log: $LOGS/fuzz.log)"
fi

echo "== system tests"
for s in tests/system/*.sh; do
    name=$(basename "$s" .sh)
    # The sanitized build, except for booting Linux: ASan slows the
    # interpreter about 3x and a boot is ~6.5 G guest instructions.
    morph=build/asan/morph
    [[ $name == linux_* || $name == disk_boot || $name == net_user ]] && morph=build/morph
    bash "$s" "$morph" >"$LOGS/system-$name.log" 2>&1
    add_summary "system/$name" "$LOGS/system-$name.log" $?
done

echo "$passed passed, $failed failed"
((failed == 0))

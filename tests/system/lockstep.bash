# lockstep.bash - helpers of the lockstep checks (sourced after lib.bash):
# the same guest runs on the interpreter (--engine interp) and on the
# translator (--engine jit) with --deterministic --trace lockstep, and the
# two exit traces (tests/system/lockstep.sh, linux_lockstep.sh) must be
# identical: every exit's number, instruction count, reason, port/address,
# size, data, CS:EIP, EFLAGS, GPRs, CR0/CR3, and morph's own messages and
# exit status.  Traces are kept gzipped in $WORK (a guest can exit a
# million times).

# lockstep_run ENGINE NAME TIMEOUT MORPH-ARGS...: the trace of one run in
# $WORK/NAME.ENGINE.gz, its exit status in $WORK/NAME.ENGINE.rc.
lockstep_run() {
    local engine=$1 name=$2 limit=$3
    shift 3
    { timeout -k 5 "$limit" "$MORPH" run "$@" --engine "$engine" --deterministic \
          --trace lockstep </dev/null 2>&1 >/dev/null
      echo "status $?" >"$WORK/$name.$engine.rc"
    } | gzip -1 >"$WORK/$name.$engine.gz"
}

# lockstep_compare NAME: PASS when both traces and statuses are the same;
# otherwise FAIL naming the first differing exit and both engines' lines.
lockstep_compare() {
    local name=$1 a=$WORK/$1.interp b=$WORK/$1.jit rc n exits
    rc=$(cat "$a.rc")
    if [[ $rc == "status 124" || $rc == "status 137" ]]; then
        fail "lockstep $name" "the interpreter's run timed out"
        return
    fi
    exits=$(zcat "$a.gz" | grep -c '^lockstep ')
    if ((exits == 0)); then
        fail "lockstep $name" "no exit traced ($rc: $(zcat "$a.gz" | head -c 300))"
        return
    fi
    n=$(cmp <(zcat "$a.gz") <(zcat "$b.gz") 2>/dev/null | sed -n 's/.* line \([0-9]*\)$/\1/p')
    if [[ -z $n ]] && ! cmp -s <(zcat "$a.gz") <(zcat "$b.gz"); then
        n=$(($(zcat "$a.gz" | wc -l) + 1))   # one trace is a prefix of the other
    fi
    if [[ -n $n ]]; then
        local la lb
        la=$(zcat "$a.gz" | sed -n "${n}p")
        lb=$(zcat "$b.gz" | sed -n "${n}p")
        fail "lockstep $name" "first difference at trace line $n, after $(zcat "$a.gz" |
            head -n $((n - 1)) | grep -c '^lockstep ') identical exits (CS:EIP: where the guest was)
      interp: ${la:-(end of trace)}
      jit:    ${lb:-(end of trace)}"
        return
    fi
    if [[ $rc != "$(cat "$b.rc")" ]]; then
        fail "lockstep $name" "same exits, but interp ended with $rc and jit with $(cat "$b.rc")"
        return
    fi
    pass "lockstep $name ($exits exits, $rc)"
}

#!/usr/bin/env bash
# lockstep.sh - every guest program of tests/guest (tests/guest/run.sh
# --list) runs on the interpreter and on the translator, deterministically,
# and their exit traces must be identical (lockstep.bash).  Until the
# translator lands, --engine jit runs the interpreter too, so this checks
# that a run is reproducible.  The Linux boot is linux_lockstep.sh.
#   tests/system/lockstep.sh [MORPH]     (default build/asan/morph)
# LOCKSTEP_GUESTS="pit rtc" runs only those.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/lockstep.bash"

[[ -x $MORPH ]] || setup_abort "morph binary $MORPH not found"
make -s -C "$ROOT/tests/guest" >"$WORK/make.log" 2>&1 ||
    setup_abort "make -C tests/guest failed: $(tail -n 3 "$WORK/make.log")"
build=$ROOT/tests/guest/build
for name in ${LOCKSTEP_GUESTS:-$("$ROOT/tests/guest/run.sh" --list)}; do
    args=(--kernel "$build/$name.elf" --debug-exit)
    [[ $name == protmode_rom ]] && args=(--bios "$build/protmode_rom.bin" --debug-exit)
    for engine in interp jit; do
        lockstep_run "$engine" "$name" 120 "${args[@]}"
    done
    lockstep_compare "$name"
done
finish

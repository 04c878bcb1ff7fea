#!/usr/bin/env bash
# linux_lockstep.sh - the default Linux guest boots on the interpreter and on
# the translator, deterministically, for its first LOCKSTEP_LINUX_EXITS
# exits (default 300000: past the shell prompt), and the two exit traces
# must be identical (lockstep.bash).
#   tests/system/linux_lockstep.sh [MORPH]     (default build/asan/morph;
#                                               tools/check.sh passes build/morph)
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/lockstep.bash"

exits=${LOCKSTEP_LINUX_EXITS:-300000}
need_morph_and_guest
# Both runs boot the same bytes even if the shared cache is rebuilt meanwhile.
cp "$KERNEL" "$WORK/vmlinuz" && cp "$INITRD" "$WORK/initrd" ||
    setup_abort "cannot copy the guest from the cache"
KERNEL=$WORK/vmlinuz
INITRD=$WORK/initrd
for engine in interp jit; do
    lockstep_run "$engine" linux "${MORPH_BOOT_TIMEOUT:-1500}" --kernel "$KERNEL" \
        --initrd "$INITRD" --append console=ttyS0 --exit-limit "$exits"
done
lockstep_compare linux
finish

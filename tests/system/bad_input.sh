#!/usr/bin/env bash
# bad_input.sh - every bad input gets a one-line error naming the thing that
# is wrong and a non-zero exit, never a crash.
#   tests/system/bad_input.sh [MORPH]     (default build/asan/morph)
source "$(dirname "$0")/lib.bash"

[[ -x $MORPH ]] || setup_abort "morph binary $MORPH not found"

good=$WORK/good.elf
mb_elf "$good" 4096 4096

# ---- command line ----
run_morph
expect_error "no command" 2 "no command"
run_morph fly
expect_error "unknown command" 2 "unknown command 'fly'"
run_morph run --kernel "$good" --foo
expect_error "unknown option" 2 "unknown option '--foo'"
run_morph run
expect_error "neither --kernel nor --bios" 2 "--kernel" "--bios"
run_morph run --kernel
expect_error "option without its value" 2 "--kernel" "needs a value"
run_morph run --kernel "$good" -m abc
expect_error "-m garbage" 2 "invalid memory size 'abc'"
run_morph run --kernel "$good" -m 8M
expect_error "-m too small" 2 "invalid memory size '8M'" "16M"
run_morph run --kernel "$good" -m 4G
expect_error "-m too large" 2 "invalid memory size '4G'" "3G"
run_morph run --kernel "$good" --memory 256X
expect_error "-m bad suffix" 2 "invalid memory size '256X'" "suffix"
run_morph run --kernel "$good" --trace bogus
expect_error "--trace unknown item" 2 "'bogus'"

# ---- kernel files ----
run_morph run --kernel "$WORK/missing.elf"
expect_error "missing kernel" any "$WORK/missing.elf"
run_morph run --kernel "$WORK/no/such/dir/k.elf"
expect_error "kernel in a missing directory" any "$WORK/no/such/dir/k.elf"
run_morph run --kernel "$WORK"
expect_error "directory as kernel" any "$WORK"
: >"$WORK/empty.bin"
run_morph run --kernel "$WORK/empty.bin"
expect_error "empty kernel" any "$WORK/empty.bin"
head -c 65536 /dev/urandom >"$WORK/random.bin"
run_morph run --kernel "$WORK/random.bin"
expect_error "random bytes as kernel" any "$WORK/random.bin"
mb_elf "$WORK/truncated.elf" 65536 65536 200
run_morph run --kernel "$WORK/truncated.elf"
expect_error "truncated ELF" any "$WORK/truncated.elf"
head -c 100 "$good" >"$WORK/short.elf"
run_morph run --kernel "$WORK/short.elf"
expect_error "ELF cut inside its headers" any "$WORK/short.elf"

# A bzImage with boot protocol 2.00 (morph needs 2.06+): 4 setup sectors.
{
    head -c $((0x1f1)) /dev/zero
    printf '\x04'                                   # setup_sects
    head -c $((0x1fe - 0x1f2)) /dev/zero
    printf '\x55\xaa'                               # boot_flag
    printf '\xeb\x00HdrS\x00\x02'                   # jump, "HdrS", version 2.00
    head -c $((5 * 512 + 8192 - 0x208)) /dev/zero
} >"$WORK/old.bzImage"
run_morph run --kernel "$WORK/old.bzImage"
expect_error "bzImage with an old boot protocol" any "$WORK/old.bzImage"

mb_elf "$WORK/huge.elf" 4096 $((32 * 1024 * 1024))
run_morph run --kernel "$WORK/huge.elf" -m 16M
expect_error "kernel larger than memory" any "$WORK/huge.elf"

# ---- initrd ----
run_morph run --kernel "$good" --initrd "$WORK/missing.img"
expect_error "missing initrd" any "$WORK/missing.img"
run_morph run --kernel "$good" --initrd "$WORK"
expect_error "directory as initrd" any "$WORK"
truncate -s 20M "$WORK/big.img"
run_morph run --kernel "$good" --initrd "$WORK/big.img" -m 16M
expect_error "initrd larger than memory" any "big.img"

# ---- firmware ROM ----
run_morph run --bios "$WORK/missing.rom"
expect_error "missing ROM" any "$WORK/missing.rom"
head -c 1000 /dev/zero >"$WORK/small.rom"
run_morph run --bios "$WORK/small.rom"
expect_error "ROM too small" any "$WORK/small.rom"
head -c $((2 * 1024 * 1024)) /dev/zero >"$WORK/large.rom"
run_morph run --bios "$WORK/large.rom"
expect_error "ROM too large" any "$WORK/large.rom"
head -c $((65536 + 100)) /dev/zero >"$WORK/odd.rom"
run_morph run --bios "$WORK/odd.rom"
expect_error "ROM of an odd size" any "$WORK/odd.rom"

# ---- drives and network ----
run_morph run --kernel "$good" --drive "$WORK/disk.img"
expect_error "--drive without file=" 2 "--drive" "file=PATH"
run_morph run --kernel "$good" --drive "file=$WORK/disk.img,format=qcow2"
expect_error "--drive format=qcow2" 2 "qcow2" "raw"
run_morph run --kernel "$good" --drive "file=$WORK/disk.img,cache=none"
expect_error "--drive unknown item" 2 "cache=none"
run_morph run --kernel "$good" --drive "file=$WORK/missing.img"
expect_error "missing drive image" 1 "$WORK/missing.img" "No such file"
run_morph run --kernel "$good" --drive "file=$WORK"
expect_error "directory as drive" 1 "$WORK" "directory"
head -c 1048576 /dev/zero >"$WORK/disk.img"
chmod 0444 "$WORK/disk.img"
if [[ $(id -u) != 0 ]]; then
    run_morph run --kernel "$good" --drive "file=$WORK/disk.img"
    expect_error "read-only file as a writable drive" 1 "$WORK/disk.img" "denied"
fi
chmod 0644 "$WORK/disk.img"
flock -x "$WORK/disk.img" sleep 60 &
locker=$!
sleep 0.5
run_morph run --kernel "$good" --drive "file=$WORK/disk.img"
expect_error "drive locked by another process" 1 "$WORK/disk.img" "locked"
run_morph run --kernel "$good" --drive "file=$WORK/disk.img,readonly=on"
expect_error "drive locked, even read-only" 1 "$WORK/disk.img" "locked"
kill "$locker"
wait "$locker" 2>/dev/null
run_morph run --kernel "$good" --drive "file=$WORK/disk.img" --drive "file=$WORK/disk.img"
expect_error "one image as two drives" 1 "$WORK/disk.img" "locked"
run_morph run --kernel "$good" --net bridge
expect_error "--net bridge" 2 "--net" "user" "tap"
run_morph run --kernel "$good" --net user,mac=01:00:00:00:00:01
expect_error "--net multicast mac" 2 "mac" "multicast"
run_morph run --kernel "$good" --net user,mac=52:54:00:12:34
expect_error "--net short mac" 2 "mac"
run_morph run --kernel "$good" --net user --net user
expect_error "two --net" 2 "--net"

# ---- help and version are not errors ----
for args in "--help" "run --help" "--version"; do
    # shellcheck disable=SC2086
    run_morph $args
    if ((RC == 0)) && [[ -n $OUT ]]; then pass "morph $args"; else fail "morph $args" "status $RC, output '$OUT'"; fi
done

finish

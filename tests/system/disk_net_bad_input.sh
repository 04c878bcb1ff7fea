#!/usr/bin/env bash
# disk_net_bad_input.sh - bad --drive and --net input: a one-line error
# naming the bad part and a non-zero exit, never a crash (bad_input.sh's
# style).  No guest runs: every case fails while the machine is set up.
#   tests/system/disk_net_bad_input.sh [MORPH]     (default build/asan/morph)
# Skips (0 passed, 0 failed) while `morph run --help` lists no --drive.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/disk_lib.bash"

[[ -x $MORPH ]] || setup_abort "morph binary $MORPH not found"
if ! { morph_has_option --drive && morph_has_option --net; }; then
    echo "SKIP disk_net_bad_input: $MORPH run --help lists no --drive/--net (the virtio devices are not merged yet)"
    finish
    exit 0
fi

good=$WORK/good.elf
mb_elf "$good" 4096 4096
img=$WORK/disk.img
truncate -s 64M "$img"

# ---- --drive ----
run_morph run --kernel "$good" --drive "file=$WORK/missing.img,format=raw"
expect_error "missing disk image" any "$WORK/missing.img"
run_morph run --kernel "$good" --drive "file=$WORK,format=raw"
expect_error "directory as disk image" any "$WORK"
run_morph run --kernel "$good" --drive "file=$img,format=qcow2"
expect_error "--drive unknown format" any "qcow2"
run_morph run --kernel "$good" --drive "file=$img,format=raw,cache=bogus"
expect_error "--drive unknown option" any "cache=bogus"
run_morph run --kernel "$good" --drive "format=raw"
expect_error "--drive without file=" any "file="

# ---- --net ----
run_morph run --kernel "$good" --net bridge
expect_error "--net unknown kind" any "'bridge'"
run_morph run --kernel "$good" --net "user,dns=10.0.2.9"
expect_error "--net user unknown option" any "'dns=10.0.2.9'"
run_morph run --kernel "$good" --net "user,hostfwd=tcp::99999-:22"
expect_error "--net bad hostfwd port" any "'tcp::99999-:22'"
run_morph run --kernel "$good" --net "user,hostfwd=tcp:127.0.0.1:2222"
expect_error "--net hostfwd without the guest side" any "'tcp:127.0.0.1:2222'"
run_morph run --kernel "$good" --net tap
expect_error "--net tap without ifname" any "ifname"

# A hostfwd port someone else listens on (loopback).
python3 - "$WORK/port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(60)
PY
holder=$!
for _ in $(seq 50); do [[ -s $WORK/port ]] && break; sleep 0.1; done
port=$(cat "$WORK/port" 2>/dev/null)
run_morph run --kernel "$good" --net "user,hostfwd=tcp:127.0.0.1:$port-:22"
expect_error "--net hostfwd port in use" any "127.0.0.1:$port" "in use"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

finish

#!/usr/bin/env bash
# guest_exits.sh - how a guest run ends: triple fault, unknown instruction,
# halt with interrupts off, a reset request, debug-exit, Ctrl-A x, Ctrl-A d,
# SIGTERM, console input (pasted text is not lost, EOF on stdin does not end
# or hang morph).
#   tests/system/guest_exits.sh [MORPH]     (default build/asan/morph)
source "$(dirname "$0")/lib.bash"

[[ -x $MORPH ]] || setup_abort "morph binary $MORPH not found"

# Build the little guests: nasm + ld, loaded at 1 MiB.
for g in triple_fault unknown_insn halt_cli echo pit_sleep reset_request idle; do
    if ! nasm -f elf32 -I "$ROOT/tests/system/guests/" -o "$WORK/$g.o" "$ROOT/tests/system/guests/$g.asm" ||
       ! ld -m elf_i386 -Ttext-segment=0x100000 -e _start -o "$WORK/$g.elf" "$WORK/$g.o"; then
        fail "build $g" "nasm/ld failed"
    fi
done

run_morph run --kernel "$WORK/triple_fault.elf"
if ((RC == 1)) && [[ $ERR == *"triple fault at EIP=0x"* && $ERR == *"bytes at EIP: f7 f1"* ]] &&
   ! grep -qE 'Sanitizer|runtime error:' "$WORK/err"; then
    pass "triple fault is reported with EIP and bytes"
else
    fail "triple fault is reported with EIP and bytes" "status $RC, stderr: $ERR"
fi

run_morph run --kernel "$WORK/unknown_insn.elf" --debug-exit --trace unknown
if ((RC == 11)) && ! grep -qE 'Sanitizer|runtime error:' "$WORK/err"; then
    pass "unknown instruction raises #UD in the guest"
else
    fail "unknown instruction raises #UD in the guest" "status $RC, stderr: $ERR"
fi

run_morph run --kernel "$WORK/halt_cli.elf"
if ((RC == 0)) && [[ $OUT == "stopping now" && $ERR == *"halted with interrupts disabled"* ]]; then
    pass "halt with interrupts off ends morph with status 0"
else
    fail "halt with interrupts off ends morph with status 0" "status $RC, out '$OUT', stderr: $ERR"
fi

run_morph run --kernel "$WORK/halt_cli.elf" --stats --trace exits
if ((RC == 0)) && [[ $ERR == *"guest instructions"* && $ERR == *"exit io   out   port 0x03f8 size 1 data 0x73"* &&
      $ERR == *"uart16550"* ]]; then
    pass "--stats and --trace exits"
else
    fail "--stats and --trace exits" "status $RC, stderr: $ERR"
fi

# A reset request (how Linux ends after a panic with panic=N) stops morph
# with status 0 and prints the last interrupts and exceptions, oldest first.
run_morph run --kernel "$WORK/reset_request.elf"
if ((RC == 0)) && [[ $ERR == *"requested a reset"* && $ERR == *"last 3 interrupts/exceptions"* &&
      $ERR =~ int\ +vector\ 0x42.*exception\ vector\ 0x06.*int\ +vector\ 0x42 ]] &&
   ! grep -qE 'Sanitizer|runtime error:' "$WORK/err"; then
    pass "a reset request stops morph and prints the last events"
else
    fail "a reset request stops morph and prints the last events" "status $RC, stderr: $ERR"
fi

# Guest time while halted: 50 PIT ticks at 100 Hz slept in HLT take half a
# second of guest time, nearly all of it idle, and as much wall time.
t0=$(date +%s%N)
run_morph run --kernel "$WORK/pit_sleep.elf" --debug-exit --stats
wall_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [[ $ERR =~ guest\ time\ ([0-9.]+)\ s\ \(([0-9.]+)\ s\ of\ it\ halted ]]; then
    guest=${BASH_REMATCH[1]} idle=${BASH_REMATCH[2]}
else
    guest=none idle=none
fi
if ((RC == 1)) && [[ $guest == 0.5* && ( $idle == 0.4[5-9]* || $idle == 0.5* ) ]] && ((wall_ms >= 450)); then
    pass "a halted guest's time follows the wall clock (guest $guest s, idle $idle s, wall $wall_ms ms)"
else
    fail "a halted guest's time follows the wall clock" \
        "status $RC, guest $guest s, idle $idle s, wall $wall_ms ms, stderr: $ERR"
fi

# Console input: text, then '!' to end through debug-exit.
printf 'hello, guest!' >"$WORK/in.txt"
STDIN=$WORK/in.txt run_morph run --kernel "$WORK/echo.elf" --debug-exit
if ((RC == 5)) && [[ $OUT == "hello, guest" ]]; then
    pass "console input from a file reaches the guest"
else
    fail "console input from a file reaches the guest" "status $RC, out '$OUT', stderr: $ERR"
fi

# A long paste through a pipe: every byte must arrive, in order.
seq 1 20000 >"$WORK/paste.txt"
{ cat "$WORK/paste.txt"; printf '!'; } | timeout -k 5 60 "$MORPH" run --kernel "$WORK/echo.elf" --debug-exit \
    >"$WORK/paste.out" 2>"$WORK/err"
RC=$?
if ((RC == 5)) && cmp -s "$WORK/paste.txt" "$WORK/paste.out"; then
    pass "a long paste is not lost"
else
    fail "a long paste is not lost" "status $RC, got $(wc -c <"$WORK/paste.out") of $(wc -c <"$WORK/paste.txt") bytes"
fi

# Ctrl-A a and Ctrl-A Ctrl-A send one Ctrl-A each; other escapes vanish.
printf 'ab\001a\001\001c\001zd!' >"$WORK/esc.txt"
STDIN=$WORK/esc.txt run_morph run --kernel "$WORK/echo.elf" --debug-exit
if ((RC == 5)) && [[ $OUT == $'ab\001\001cd' ]]; then
    pass "Ctrl-A a and Ctrl-A Ctrl-A send Ctrl-A"
else
    fail "Ctrl-A a and Ctrl-A Ctrl-A send Ctrl-A" "status $RC, out '$(od -c <"$WORK/out")', stderr: $ERR"
fi

# Ctrl-A x quits with status 0, Ctrl-A h prints the escapes.
printf '\001h\001x' >"$WORK/quit.txt"
STDIN=$WORK/quit.txt run_morph run --kernel "$WORK/echo.elf" --debug-exit
if ((RC == 0)) && [[ $ERR == *"Ctrl-A x"* && $OUT == *"quit morph"* ]]; then
    pass "Ctrl-A h lists the escapes, Ctrl-A x quits"
else
    fail "Ctrl-A h lists the escapes, Ctrl-A x quits" "status $RC, out '$OUT', stderr: $ERR"
fi

# Ctrl-A d dumps the CPU state to stderr and the guest goes on.
printf 'ab\001dcd!' >"$WORK/dump.txt"
STDIN=$WORK/dump.txt run_morph run --kernel "$WORK/echo.elf" --debug-exit
if ((RC == 5)) && [[ $OUT == "abcd" && $ERR == *"CPU state (Ctrl-A d)"* && $ERR == *"EIP="* &&
      $ERR == *"CS=0010"* && $ERR == *"CR0="* && $ERR == *"bytes at EIP: "* &&
      $ERR == *"interrupts/exceptions"* ]]; then
    pass "Ctrl-A d dumps the CPU state, the guest goes on"
else
    fail "Ctrl-A d dumps the CPU state, the guest goes on" "status $RC, out '$OUT', stderr: $ERR"
fi

# Ctrl-A d reaches a halted CPU at once (nothing else would wake it).
rm -f "$WORK/keys"
mkfifo "$WORK/keys"
timeout -k 5 30 "$MORPH" run --kernel "$WORK/idle.elf" <"$WORK/keys" >"$WORK/out" 2>"$WORK/err" &
pid=$!
exec 3>"$WORK/keys"
sleep 1
printf '\001d' >&3
sleep 1
dumps=$(grep -c 'CPU state (Ctrl-A d).*halted' "$WORK/err")
printf '\001x' >&3
exec 3>&-
wait $pid
RC=$?
ERR=$(cat "$WORK/err")
if ((RC == 0 && dumps == 1)) && [[ $ERR == *"quit (Ctrl-A x)"* ]]; then
    pass "Ctrl-A d while the CPU is halted"
else
    fail "Ctrl-A d while the CPU is halted" "status $RC, dumps before quitting $dumps, stderr: $ERR"
fi

# EOF on stdin neither ends nor hangs morph: it runs until SIGTERM ends it.
timeout --preserve-status -s TERM 3 "$MORPH" run --kernel "$WORK/echo.elf" </dev/null >"$WORK/out" 2>"$WORK/err"
RC=$?
if ((RC == 143)) && ! grep -qE 'Sanitizer|runtime error:' "$WORK/err"; then
    pass "EOF on stdin does not end morph; SIGTERM does"
else
    fail "EOF on stdin does not end morph; SIGTERM does" "status $RC, stderr: $(cat "$WORK/err")"
fi

# On a terminal (a pty from script(1)): raw mode while running, the original
# settings back after SIGTERM, after Ctrl-A x and after a guest exit.
if command -v script >/dev/null; then
    for how in sigterm quit guest-exit; do
        # Keys reach the pty through script's stdin; SIGTERM comes from inside.
        kill_cmd=":"; keys=""
        case $how in
        sigterm)    kill_cmd="kill -TERM \$pid" ;;
        quit)       keys='\001x' ;;
        guest-exit) keys='!' ;;
        esac
        cat >"$WORK/tty.sh" <<SH
stty -g >'$WORK/before'
'$MORPH' run --kernel '$WORK/echo.elf' --debug-exit </dev/tty &
pid=\$!
sleep 2
stty -g >'$WORK/during'
$kill_cmd
wait \$pid
echo "rc=\$?" >'$WORK/rc'
stty -g >'$WORK/after'
SH
        rm -f "$WORK/before" "$WORK/during" "$WORK/after" "$WORK/rc"
        { sleep 3; printf "$keys"; sleep 3; } |
            timeout -k 5 30 script -qec "bash '$WORK/tty.sh'" /dev/null >"$WORK/script.out" 2>&1
        if [[ -s $WORK/after ]] && cmp -s "$WORK/before" "$WORK/after" &&
           ! cmp -s "$WORK/before" "$WORK/during"; then
            pass "terminal restored after $how ($(cat "$WORK/rc"))"
        else
            fail "terminal restored after $how" "before/during/after: $(cat "$WORK/before" "$WORK/during" "$WORK/after" 2>&1 | tr '\n' ' ')"
        fi
    done
else
    fail "terminal restore" "script(1) not installed"
fi

finish

#!/usr/bin/env bash
# demo.sh - install what is needed, build, and run the default guests: for
# now the guest test programs (the Debian guest comes with the next issue).
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
make -s -j2 morph guests >/dev/null || { echo "demo: the build failed (run make morph guests to see why)" >&2; exit 1; }

show() {   # show GUEST EXPLANATION
    echo
    echo "=== $2"
    echo "\$ build/morph run --kernel tests/guest/build/$1.elf --debug-exit"
    build/morph run --kernel "tests/guest/build/$1.elf" --debug-exit </dev/null
    local rc=$?
    echo "(morph exited with status $rc: the guest wrote $(((rc - 1) / 2)) to the debug-exit port;"
    echo " status 1 means the guest reported success)"
}

cat <<'TXT'
morph runs x86 guests on its own soft CPU: every port access, HLT and
interrupt of the guest is handled by morph's device models (PIC, PIT, RTC,
UART...).  These guests are Multiboot kernels built from tests/guest/; they
print PASS/FAIL lines on the serial console (COM1 -> your terminal) and end
through the debug-exit port.
TXT
show hello "hello: a Multiboot kernel saying hello over COM1"
show pit "pit: timer interrupts from the 8254 PIT through the 8259A PIC, measured against the host clock"
show rtc "rtc: the MC146818 real-time clock's periodic interrupt and the host's time"
echo
echo "Try: build/morph run --kernel tests/guest/build/pit.elf --debug-exit --stats"

# lib.bash - shared helpers for the system tests (sourced).
#   MORPH     the binary under test ($1 of the test script; default build/asan/morph)
#   WORK      a scratch directory under build/, removed at the end
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MORPH=${1:-$ROOT/build/asan/morph}
[[ $MORPH == /* ]] || MORPH=$ROOT/$MORPH
WORK=$ROOT/build/system-tests/$(basename "$0" .sh)
rm -rf "$WORK"
mkdir -p "$WORK"
PASSED=0
FAILED=0
# ASan must report, not hang, and exit codes must stay below 128.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }

finish() {
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

# A set-up step failed: one failure, the totals, and stop.
setup_abort() {
    fail setup "$1"
    finish
    exit 1
}

# The Linux tests' start: the morph binary must exist and the default guest
# be in the cache (tools/guest/fetch.sh; tools/setup.sh normally fetched it);
# sets KERNEL and INITRD.
need_morph_and_guest() {
    [[ -x $MORPH ]] || setup_abort "morph binary $MORPH not found"
    local paths
    paths=$("$ROOT/tools/guest/fetch.sh" --print-paths 2>"$WORK/fetch.log") ||
        setup_abort "tools/guest/fetch.sh failed: $(tail -n 1 "$WORK/fetch.log")"
    eval "$paths"
}

# run_morph ARGS... : runs morph with stdin from /dev/null (unless STDIN is
# set to a file) and a timeout; sets RC, OUT (stdout) and ERR (stderr).
run_morph() {
    local in=${STDIN:-/dev/null}
    timeout -k 5 "${TIMEOUT:-30}" "$MORPH" "$@" <"$in" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    OUT=$(cat "$WORK/out")
    ERR=$(cat "$WORK/err")
}

# Common checks for an error exit: non-zero status below 128 (no signal, no
# timeout), no sanitizer report, and a one-line "morph: ..." message
# containing every given word.  expect_error NAME WANT_RC WORD...
# (WANT_RC "any" accepts any status 1..127).
expect_error() {
    local name=$1 want=$2; shift 2
    if ((RC == 124 || RC == 137)); then fail "$name" "timed out"; return; fi
    if ((RC == 0)); then fail "$name" "exit status 0 (stderr: $ERR)"; return; fi
    if ((RC >= 128)); then fail "$name" "killed by signal $((RC - 128))"; return; fi
    if [[ $want != any ]] && ((RC != want)); then
        fail "$name" "exit status $RC, want $want (stderr: $ERR)"; return
    fi
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK/err"; then
        fail "$name" "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$WORK/err")"; return
    fi
    local lines
    lines=$(grep -c '' "$WORK/err")
    if ((lines != 1)); then fail "$name" "want one line on stderr, got $lines: $ERR"; return; fi
    if [[ $ERR != morph:* ]]; then fail "$name" "message does not start with 'morph:': $ERR"; return; fi
    local w
    for w in "$@"; do
        if [[ $ERR != *"$w"* ]]; then fail "$name" "message lacks '$w': $ERR"; return; fi
    done
    pass "$name"
}

# Little-endian binary writers for fabricated images.
le16() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))"; }
le32() { le16 $(($1 & 65535)); le16 $((($1 >> 16) & 65535)); }

# mb_elf FILE FILESZ MEMSZ [TRUNCATE_TO]: an ELF32 i386 Multiboot kernel
# with one segment (file offset 0, loaded at 1 MiB) of FILESZ bytes in the
# file and MEMSZ in memory; its code is never run by the bad-input tests.
mb_elf() {
    local file=$1 filesz=$2 memsz=$3
    {
        printf '\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00'
        le16 2; le16 3; le32 1          # ET_EXEC, EM_386, EV_CURRENT
        le32 $((0x100000 + 96))          # e_entry
        le32 52; le32 0; le32 0          # e_phoff, e_shoff, e_flags
        le16 52; le16 32; le16 1         # e_ehsize, e_phentsize, e_phnum
        le16 40; le16 0; le16 0          # e_shentsize, e_shnum, e_shstrndx
        le32 1; le32 0                   # PT_LOAD, p_offset
        le32 0x100000; le32 0x100000     # p_vaddr, p_paddr
        le32 "$filesz"; le32 "$memsz"; le32 5; le32 0x1000
        le32 0x1BADB002; le32 0; le32 $(((-0x1BADB002) & 0xffffffff))  # Multiboot header at 84
        printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'          # pad to 108
    } >"$file"
    local have
    have=$(stat -c %s "$file")
    if ((filesz > have)); then
        head -c $((filesz - have)) /dev/zero >>"$file"
    fi
    if (($# > 3)); then
        truncate -s "$4" "$file"
    fi
}

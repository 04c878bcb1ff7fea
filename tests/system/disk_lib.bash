# disk_lib.bash - set-up shared by the Debian-disk system tests (sourced
# after lib.bash).  disk_setup checks morph has --drive and --net (else a
# SKIP line, "0 passed, 0 failed" and exit 0), fetches or builds the disk
# (tools/guest/disk.sh), copies it into $WORK and sets DISK_ARGS for
# disk_net.py.

# True if morph's `run --help` lists OPTION.
morph_has_option() {
    "$MORPH" run --help 2>&1 | grep -q -- "$1"
}

disk_setup() {
    local name
    name=$(basename "$0" .sh)
    if [[ ! -x $MORPH ]]; then
        fail setup "morph binary $MORPH not found"
        finish
        exit 1
    fi
    if [[ " $* " != *" qemu"* ]] && ! { morph_has_option --drive && morph_has_option --net; }; then
        echo "SKIP $name: $MORPH run --help lists no --drive/--net (the virtio devices are not merged yet)"
        finish
        exit 0
    fi
    for tool in python3 ssh; do
        if ! command -v "$tool" >/dev/null; then
            fail setup "$tool not found"
            finish
            exit 1
        fi
    done
    local paths
    if ! paths=$("$ROOT/tools/guest/disk.sh" --print-paths 2>"$WORK/disk.log"); then
        fail setup "tools/guest/disk.sh failed: $(tail -n 1 "$WORK/disk.log")"
        finish
        exit 1
    fi
    eval "$paths"
    cp --sparse=always "$IMAGE" "$WORK/disk.img"
    DISK_ARGS=(--morph "$MORPH" --kernel "$KERNEL" --initrd "$INITRD" --image "$WORK/disk.img"
               --key "$SSH_KEY" --work "$WORK")
}

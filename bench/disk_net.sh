#!/bin/bash
# Disk and network benchmark (not a test): boots the Debian root disk
# (tools/guest/disk.sh) on morph and on qemu-system-i386 -accel tcg with the
# same virtio devices (virtio-blk-pci and virtio-net-pci, modern, user
# networking), one after the other in the same run, and times from the host:
# boot to the login prompt, dd of 256 MiB to the disk (oflag=direct) and back
# (iflag=direct, after dropping the page cache), and a 256 MiB download from
# an HTTP server on the host's loopback (python3 -m http.server, reached by
# the guest as 10.0.2.2).
#
#   bench/disk_net.sh [options]
#     --morph FILE      morph binary (default: build/morph, rebuilt with make)
#     --only morph|qemu run one VMM only
#     --mib N           size of the disk file and the download (default 256)
#     --keep DIR        keep the consoles in DIR
#     --relay           also QEMU with morph's network backend in place of its
#                       own slirp (build/net_relay: QEMU's frames over UDP on
#                       loopback), column "relay": the backend's own cost
#
# Each VMM boots a private copy of the image. Times are wall seconds and the
# VMM process's CPU seconds (user+system, all threads); q/m = QEMU time /
# morph time (above 1 morph is faster). morph is skipped with a note while
# its `run --help` lists no --drive (the virtio devices are not merged yet).
# Environment: MORPH_CACHE (default ~/.cache/morph), BENCH_PHASE_TIMEOUT
# (seconds per phase, default 1800).
set -euo pipefail
{

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "bench/disk_net.sh: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

morph='' only='' mib=256 keep='' relay=false
while [[ $# -gt 0 ]]; do
	case $1 in
	--morph) [[ $# -ge 2 ]] || die "--morph needs a file"; morph=$2; shift 2 ;;
	--only) [[ $# -ge 2 && $2 =~ ^(morph|qemu)$ ]] || die "--only needs 'morph' or 'qemu'"; only=$2; shift 2 ;;
	--mib) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || die "--mib needs a number"; mib=$2; shift 2 ;;
	--keep) [[ $# -ge 2 ]] || die "--keep needs a directory"; keep=$2; shift 2 ;;
	--relay) relay=true; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done
((mib <= 1024)) || die "--mib: at most 1024 (the disk has 1.5 GiB)"

if [[ $only != morph ]] && ! command -v qemu-system-i386 >/dev/null; then
	[[ $(id -u) == 0 ]] || die "qemu-system-x86 is needed: run 'sudo apt-get install qemu-system-x86'"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-x86 >&2 || die "cannot install qemu-system-x86"
fi

eval "$("$root/tools/guest/disk.sh" --print-paths)"
[[ -f ${IMAGE:-} && -f ${KERNEL:-} ]] || die "tools/guest/disk.sh gave no image"

vmms=()
if [[ $only != qemu ]]; then
	if [[ -z $morph ]]; then
		morph=$root/build/morph
		make -s -C "$root" morph >/dev/null 2>&1 || log "warning: 'make morph' failed; using the existing $morph"
	fi
	[[ -x $morph ]] || die "no morph binary at $morph"
	if "$morph" run --help 2>&1 | grep -q -- --drive; then
		vmms+=(morph)
	else
		log "morph: skipped: $morph run --help lists no --drive (the virtio devices are not merged yet)"
	fi
fi
[[ $only == morph ]] || vmms+=(qemu)
if $relay; then
	make -s -C "$root" build/net_relay >/dev/null 2>&1 || die "'make build/net_relay' failed"
	vmms+=(qemu-relay)
fi
((${#vmms[@]} > 0)) || die "nothing to run"

work=$(mktemp -d)
http_pid=''
cleanup() {
	[[ -z $http_pid ]] || kill "$http_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
out=${keep:-$work/out}
mkdir -p "$out" "$work/www"

# The file to download: N MiB of zeros (sparse on the host; the bytes still
# cross the guest's network).
truncate -s "${mib}M" "$work/www/blob"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$port" >"$work/http.log" 2>&1 &
http_pid=$!

declare -A wall cpu detail
for vmm in "${vmms[@]}"; do
	log "$vmm: booting a copy of $IMAGE"
	cp --sparse=always "$IMAGE" "$work/disk.img"
	mkdir -p "$out/$vmm"
	python3 "$root/bench/disk_net/bench.py" --vmm "$vmm" ${morph:+--morph "$morph"} --relay "$root/build/net_relay" \
		--kernel "$KERNEL" --initrd "$INITRD" --image "$work/disk.img" --key "$SSH_KEY" \
		--work "$out/$vmm" --mib "$mib" --port "$port" >"$out/$vmm/phases" ||
		log "$vmm: the driver failed"
	while read -r tag name w c rest; do
		[[ $tag == PHASE ]] || continue
		wall[$vmm.$name]=$w cpu[$vmm.$name]=$c detail[$vmm.$name]=$rest
		log "$vmm: $name ${w} s wall, ${c} s CPU ($rest)"
	done <"$out/$vmm/phases"
	grep '^TIMEOUT' "$out/$vmm/phases" >&2 || true
	rm -f "$work/disk.img"
done

ratio() { [[ -n ${1:-} && -n ${2:-} ]] && awk -v q="$1" -v m="$2" 'BEGIN { if (m > 0) printf "%.2f", q / m; else print "-" }' || echo -; }
echo
echo "disk and network, ${mib} MiB (seconds; q/m = QEMU / morph; relay = QEMU with morph's net backend)"
for kind in wall cpu; do
	printf '%-14s' "$kind"
	for vmm in morph qemu qemu-relay; do printf ' %10s' "${vmm/qemu-relay/relay}"; done
	printf ' %6s\n' q/m
	for ph in boot disk_write disk_read net_download; do
		printf '%-14s' "$ph"
		for vmm in morph qemu qemu-relay; do
			if [[ $kind == wall ]]; then v=${wall[$vmm.$ph]:-}; else v=${cpu[$vmm.$ph]:-}; fi
			printf ' %10s' "${v:--}"
		done
		if [[ $kind == wall ]]; then
			printf ' %6s\n' "$(ratio "${wall[qemu.$ph]:-}" "${wall[morph.$ph]:-}")"
		else
			printf ' %6s\n' "$(ratio "${cpu[qemu.$ph]:-}" "${cpu[morph.$ph]:-}")"
		fi
	done
done
for vmm in "${vmms[@]}"; do
	for ph in disk_write disk_read net_download; do
		[[ -z ${detail[$vmm.$ph]:-} ]] || echo "  $vmm $ph: ${detail[$vmm.$ph]}"
	done
done
}

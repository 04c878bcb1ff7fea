#!/usr/bin/env bash
# Builds morph's Debian root disk: a raw ext4 image of a small Debian 12 i386
# system (debootstrap minbase + sysvinit, openssh-server, ifupdown with
# isc-dhcp-client, busybox, wget) in $MORPH_CACHE/disk. See
# tools/guest/README.md ("The Debian root disk") for what is in it.
#
# Usage: tools/guest/disk.sh [--print-paths] [--check] [--verify] [--rebuild] [--help]
#
# Two cached stages: the debootstrapped tree (rootfs.tar, needs the Debian
# mirror once) and the configured image (offline from rootfs.tar, the kernel
# modules of the default guest and this script). No loop mounts: the image is
# made by `mke2fs -d`. Needs root to build (debootstrap, chroot); a complete
# cache is reused without network or root.
set -euo pipefail

readonly PROG=disk.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly HERE

# The same suite and mirror as fetch.sh (and the same variables to override them).
readonly SUITE=${MORPH_DEBIAN_SUITE:-bookworm}
readonly MIRROR=${MORPH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# minbase has no init: sysvinit boots faster than systemd on an interpreter.
readonly PACKAGES=(
	sysvinit-core openssh-server ifupdown isc-dhcp-client busybox wget
	kmod iproute2 iputils-ping netbase procps
)
readonly IMAGE_SIZE=${MORPH_DISK_SIZE:-1536M}
readonly HOSTNAME_=morph-debian

log() { echo "$PROG: $*" >&2; }
die() { echo "$PROG: error: $*" >&2; exit 1; }
trap 'echo "$PROG: error: line $LINENO: command failed: $BASH_COMMAND" >&2' ERR

usage() {
	cat <<-EOF
	usage: $PROG [--print-paths] [--check] [--verify] [--rebuild]
	  Builds the Debian i386 root disk in \$MORPH_CACHE/disk (default
	  ~/.cache/morph/disk). Reuses a complete cache.
	  --print-paths  print only IMAGE=..., SSH_KEY=..., KERNEL=..., INITRD=... (for eval)
	  --check        exit 0 if the cache is complete and verifies, 1 if not; never builds
	  --verify       also compare the image's SHA256 (slow), not only its size and time
	  --rebuild      debootstrap again (fresh packages) and rebuild the image
	EOF
}

PRINT_PATHS=false
CHECK_ONLY=false
REBUILD=false
VERIFY=false
for arg in "$@"; do
	case $arg in
	--print-paths) PRINT_PATHS=true ;;
	--check) CHECK_ONLY=true ;;
	--rebuild) REBUILD=true ;;
	--verify) VERIFY=true ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $arg" ;;
	esac
done

[[ -n ${MORPH_CACHE:-} || -n ${HOME:-} ]] || die "neither MORPH_CACHE nor HOME is set: no place for the cache"
mkdir -p "${MORPH_CACHE:-$HOME/.cache/morph}" || die "cannot create the cache directory"
CACHE=$(cd "${MORPH_CACHE:-$HOME/.cache/morph}" && pwd -P)
readonly CACHE
readonly OUT_DIR=$CACHE/disk
readonly IMAGE=$OUT_DIR/debian-i386.img
readonly ROOT_TAR=$OUT_DIR/rootfs.tar
readonly DEB_CACHE=$OUT_DIR/debs
readonly SSH_KEY=$OUT_DIR/id_ed25519
readonly MANIFEST=$OUT_DIR/manifest
export PATH=$PATH:/usr/sbin:/sbin

sha256() { sha256sum "$1" | cut -d' ' -f1; }
manifest_get() { sed -n "s/^$1=//p" "$MANIFEST" 2>/dev/null | head -n1; }

# What decides the debootstrapped tree.
base_recipe() { echo "$SUITE $MIRROR ${PACKAGES[*]}" | sha256sum | cut -d' ' -f1; }
# What decides the image: the tree, this script, the default guest's modules.
image_recipe() {
	{ cat "$HERE/disk.sh"; manifest_get base_sha256; sha256 "$INITRD"; echo "$IMAGE_SIZE"; } |
		sha256sum | cut -d' ' -f1
}

# Size and modification time of the image: hashing 1.5 GiB takes half a
# minute on a busy host, so the check compares these (a boot of the cached
# image itself changes them); --verify compares the SHA256 too.
image_stamp() { stat -c '%s %.9Y' "$IMAGE"; }

cache_is_complete() {
	[[ -f $MANIFEST && -f $IMAGE && -f $SSH_KEY && -f $SSH_KEY.pub ]] || return 1
	[[ $(manifest_get recipe) == "$(image_recipe)" ]] || return 1
	[[ $(manifest_get image_stamp) == "$(image_stamp)" ]] || return 1
	! $VERIFY || [[ $(manifest_get image_sha256) == "$(sha256 "$IMAGE")" ]]
}

print_result() {
	if $PRINT_PATHS; then
		printf 'IMAGE=%q\nSSH_KEY=%q\nKERNEL=%q\nINITRD=%q\n' "$IMAGE" "$SSH_KEY" "$KERNEL" "$INITRD"
	else
		echo "image:   $IMAGE (raw ext4, root=/dev/vda; root login without password)"
		echo "ssh key: $SSH_KEY (authorized for root in the image)"
		echo "kernel:  $KERNEL"
		echo "initrd:  $INITRD (append: console=ttyS0 root=/dev/vda net.ifnames=0)"
	fi
}

# ---------------------------------------------------------------- build

ensure_host_tools() {
	local missing=()
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	command -v mke2fs >/dev/null || missing+=(e2fsprogs)
	command -v ssh-keygen >/dev/null || missing+=(openssh-client)
	[[ -f $KEYRING ]] || missing+=(debian-archive-keyring)
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || die "missing host packages: ${missing[*]} - install them or run as root"
	log "installing host packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$OUT_DIR/host-install.log" 2>&1 ||
		die "apt-get install ${missing[*]} failed (log: $OUT_DIR/host-install.log)"
}

WORK=''
cleanup() { [[ -z $WORK ]] || rm -rf "$WORK"; }

# Stage 1: debootstrap (both stages; the host runs i386 binaries) into a tar.
build_base() {
	local root=$WORK/base
	log "debootstrap $SUITE i386 minbase + ${PACKAGES[*]} from $MIRROR (log: $OUT_DIR/debootstrap.log)"
	mkdir -p "$DEB_CACHE"
	if ! debootstrap --arch=i386 --variant=minbase --keyring="$KEYRING" \
		--cache-dir="$DEB_CACHE" --include="$(IFS=,; echo "${PACKAGES[*]}")" \
		"$SUITE" "$root" "$MIRROR" >"$OUT_DIR/debootstrap.log" 2>&1; then
		die "debootstrap failed: $(grep -m1 -E '^[EW]:' "$OUT_DIR/debootstrap.log" || tail -n1 "$OUT_DIR/debootstrap.log")"
	fi
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
	tar -C "$root" --numeric-owner -cf "$ROOT_TAR.tmp" . || die "cannot archive the debootstrapped tree"
	mv -f "$ROOT_TAR.tmp" "$ROOT_TAR"
	rm -rf "$root"
	local base_sha
	base_sha=$(sha256 "$ROOT_TAR")
	printf 'base_recipe=%s\nbase_sha256=%s\n' "$(base_recipe)" "$base_sha" >"$MANIFEST"
}

base_is_complete() {
	[[ -f $ROOT_TAR && $(manifest_get base_recipe) == "$(base_recipe)" ]] || return 1
	[[ $(manifest_get base_sha256) == "$(sha256 "$ROOT_TAR")" ]]
}

ensure_ssh_key() {
	[[ -f $SSH_KEY && -f $SSH_KEY.pub ]] && return 0
	rm -f "$SSH_KEY" "$SSH_KEY.pub"
	ssh-keygen -q -t ed25519 -N '' -C morph-test -f "$SSH_KEY" || die "ssh-keygen failed"
}

# Copies the default guest's modules (the initramfs's /lib/modules: virtio,
# ext4 and what they need, indexed by depmod) into ROOT.
install_modules() {
	local root=$1 tmp=$WORK/initrd
	mkdir -p "$tmp"
	(cd "$tmp" && gzip -dc "$INITRD" | cpio -id --quiet 'lib/modules/*') || die "cannot unpack the modules of $INITRD"
	[[ -d $tmp/lib/modules ]] || die "$INITRD holds no /lib/modules"
	mkdir -p "$root/lib/modules"
	cp -a "$tmp/lib/modules/." "$root/lib/modules/"
}

# The configuration on top of debootstrap.
configure_root() {
	local root=$1
	echo "$HOSTNAME_" >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$HOSTNAME_" >"$root/etc/hosts"
	cat >"$root/etc/fstab" <<-EOF
	# <file system> <mount point> <type> <options> <dump> <pass>
	/dev/vda / ext4 defaults,errors=remount-ro 0 1
	tmpfs /tmp tmpfs defaults,mode=1777 0 0
	EOF
	# A getty on the serial console; the virtual terminals do not exist.
	sed -i -e 's/^\([1-6]:[0-9]*:respawn:.*tty[1-6]\)$/#\1/' "$root/etc/inittab"
	echo 'T0:2345:respawn:/sbin/getty -L 115200 ttyS0 vt100' >>"$root/etc/inittab"
	# Root logs in without a password (console only: sshd wants the key).
	sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
	# The virtio NIC: without udev the kernel's name stays eth0.
	cat >"$root/etc/network/interfaces" <<-EOF
	auto lo
	iface lo inet loopback

	auto eth0
	iface eth0 inet dhcp
	EOF
	mkdir -p "$root/etc/dhcp"
	# dhclient: try for 60 s (a slow guest), no hooks that need systemd.
	echo 'timeout 60;' >>"$root/etc/dhcp/dhclient.conf"
	install -d -m 700 "$root/root/.ssh"
	install -m 600 "$SSH_KEY.pub" "$root/root/.ssh/authorized_keys"
	# A short motd-free login and a marker the tests can wait for.
	: >"$root/etc/motd"
	echo 'Debian GNU/Linux 12 on morph \n \l' >"$root/etc/issue"
	install_modules "$root"
	# Host keys exist from openssh-server's configuration; make sure.
	[[ -n $(find "$root/etc/ssh" -name 'ssh_host_*_key' -print -quit) ]] ||
		chroot "$root" /usr/bin/ssh-keygen -A >/dev/null || die "cannot generate ssh host keys"
}

build_image() {
	local root=$WORK/root
	mkdir -p "$root"
	tar -C "$root" --numeric-owner -xf "$ROOT_TAR" || die "cannot unpack $ROOT_TAR"
	ensure_ssh_key
	configure_root "$root"
	log "making the ext4 image ($IMAGE_SIZE)"
	rm -f "$IMAGE.tmp"
	mke2fs -q -t ext4 -L morph-root -d "$root" "$IMAGE.tmp" "$IMAGE_SIZE" >"$OUT_DIR/mke2fs.log" 2>&1 ||
		die "mke2fs failed: $(tail -n1 "$OUT_DIR/mke2fs.log")"
	mv -f "$IMAGE.tmp" "$IMAGE"
	sed -i -e '/^recipe=/d' -e '/^image_/d' "$MANIFEST"
	printf 'recipe=%s\nimage_sha256=%s\nimage_stamp=%s\n' "$(image_recipe)" "$(sha256 "$IMAGE")" \
		"$(image_stamp)" >>"$MANIFEST"
}

main() {
	mkdir -p "$OUT_DIR"
	exec 9>"$OUT_DIR/.lock"
	if ! flock -n 9; then
		log "waiting for another $PROG using $OUT_DIR"
		flock 9
	fi
	local paths
	if $CHECK_ONLY; then
		paths=$("$HERE/fetch.sh" --print-paths --check 2>/dev/null) || { log "the default guest is not built (tools/guest/fetch.sh)"; exit 1; }
	else
		paths=$("$HERE/fetch.sh" --print-paths) || die "tools/guest/fetch.sh failed"
	fi
	eval "$paths"
	if ! $REBUILD && cache_is_complete; then
		$PRINT_PATHS || log "cache complete: nothing to do"
		print_result
		return 0
	fi
	if $CHECK_ONLY; then
		log "cache $OUT_DIR is missing, incomplete or stale"
		exit 1
	fi
	[[ $(id -u) == 0 ]] || die "building the disk needs root (debootstrap, chroot)"
	ensure_host_tools
	WORK=$(mktemp -d "$OUT_DIR/build.XXXXXX")
	trap cleanup EXIT
	if $REBUILD || ! base_is_complete; then
		build_base
	fi
	build_image
	cache_is_complete || die "the freshly built image does not verify"
	log "built $IMAGE"
	print_result
}

main

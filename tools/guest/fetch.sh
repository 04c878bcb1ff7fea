#!/usr/bin/env bash
# Fetches and builds morph's default guest: Debian's i386 kernel and a busybox
# initramfs. See tools/guest/README.md for the layout of the cache and the
# guest's behaviour.
#
# Usage: tools/guest/fetch.sh [--print-paths] [--check] [--refresh] [--help]
#
# The packages come from a private i386 apt state inside the cache, so the
# host's dpkg architectures and apt lists are never touched. When the cache is
# complete and verifies, nothing is downloaded and nothing needs root.
set -euo pipefail

readonly PROG=fetch.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly HERE
readonly ROOTFS_OVERLAY=$HERE/rootfs

# Debian 12 is the last release with an i386 kernel, so the guest is pinned to
# it whatever the host runs. The mirrors can be overridden for local mirrors.
readonly SUITE=${MORPH_DEBIAN_SUITE:-bookworm}
readonly MIRROR=${MORPH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly SECURITY_MIRROR=${MORPH_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

readonly KERNEL_META=linux-image-686
readonly BUSYBOX_PKG=busybox-static

# Modules the initramfs carries (virtio and ATA disks, virtio network, console
# and RNG, ext4 for a root disk). A trailing '?' marks a module that some
# kernels do not have or build in; the others must exist as a module or be
# built in. Their dependencies are added from modules.dep.
readonly WANTED_MODULES=(
	virtio virtio_ring virtio_pci virtio_pci_legacy_dev? virtio_pci_modern_dev?
	virtio_blk virtio_net virtio_console? virtio_rng?
	scsi_mod sd_mod libata ata_piix ata_generic? pata_legacy?
	ext4 crc32c
)

log() { echo "$PROG: $*" >&2; }
die() { echo "$PROG: error: $*" >&2; exit 1; }
# Catch-all for a command that fails without its own message.
trap 'echo "$PROG: error: line $LINENO: command failed: $BASH_COMMAND" >&2' ERR

usage() {
	cat <<-EOF
	usage: $PROG [--print-paths] [--check] [--refresh]
	  Fetches Debian's i386 kernel and busybox and builds the default guest in
	  \$MORPH_CACHE/guest (default ~/.cache/morph/guest). Reuses a complete cache.
	  --print-paths  print only KERNEL=... and INITRD=... lines (for eval)
	  --check        exit 0 if the cache is complete and verifies, 1 if not; never fetches
	  --refresh      re-resolve which kernel $KERNEL_META depends on now (apt-get update)
	EOF
}

# ---------------------------------------------------------------- arguments

PRINT_PATHS=false
CHECK_ONLY=false
REFRESH=false
for arg in "$@"; do
	case $arg in
	--print-paths) PRINT_PATHS=true ;;
	--check) CHECK_ONLY=true ;;
	--refresh) REFRESH=true ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $arg" ;;
	esac
done

[[ -n ${MORPH_CACHE:-} || -n ${HOME:-} ]] || die "neither MORPH_CACHE nor HOME is set: no place for the cache"
mkdir -p "${MORPH_CACHE:-$HOME/.cache/morph}" || die "cannot create the cache directory ${MORPH_CACHE:-$HOME/.cache/morph}"
CACHE=$(cd "${MORPH_CACHE:-$HOME/.cache/morph}" && pwd -P)
readonly CACHE
readonly APT_DIR=$CACHE/apt
readonly DEB_DIR=$CACHE/debs
readonly OUT_DIR=$CACHE/guest
readonly MANIFEST=$OUT_DIR/manifest
readonly KERNEL_OUT=$OUT_DIR/vmlinuz
readonly INITRD_OUT=$OUT_DIR/initramfs.cpio.gz

# depmod lives in /usr/sbin, which a non-root PATH may lack.
export PATH=$PATH:/usr/sbin:/sbin

# ---------------------------------------------------------------- helpers

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# The value of KEY in the manifest (empty if absent).
manifest_get() { sed -n "s/^$1=//p" "$MANIFEST" 2>/dev/null | head -n1; }

# A hash of everything that decides the output besides the packages: this
# script and the files copied into the initramfs. A change rebuilds from the
# cached packages without downloading anything.
recipe_hash() {
	(
		cd "$HERE"
		cat fetch.sh
		find rootfs -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
			# Only the executable bit: the rest of a mode depends on the umask.
			if [[ -x $f ]]; then echo "$f x"; else echo "$f -"; fi
			if [[ -L $f ]]; then readlink "$f"; elif [[ -f $f ]]; then cat "$f"; fi
		done
	) | sha256sum | cut -d' ' -f1
}

# True if the manifest names outputs and packages that all exist and match
# their recorded checksums, built by the current recipe.
cache_is_complete() {
	[[ -f $MANIFEST ]] || return 1
	[[ $(manifest_get recipe) == "$(recipe_hash)" ]] || return 1
	local key file sum
	for key in vmlinuz initramfs kernel_deb busybox_deb; do
		file=$(manifest_get "$key")
		sum=$(manifest_get "${key}_sha256")
		[[ -n $file && -n $sum && -f $CACHE/$file ]] || return 1
		[[ $(sha256 "$CACHE/$file") == "$sum" ]] || return 1
	done
}

print_result() {
	if $PRINT_PATHS; then
		printf 'KERNEL=%q\nINITRD=%q\n' "$KERNEL_OUT" "$INITRD_OUT"
	else
		echo "kernel:    $KERNEL_OUT ($(manifest_get kernel_release))"
		echo "initramfs: $INITRD_OUT"
		echo "manifest:  $MANIFEST"
	fi
}

# ---------------------------------------------------------------- host tools

# Installs the Debian packages that provide missing host commands. Only runs
# apt-get install when something is missing; needs root then.
ensure_host_tools() {
	local -A pkg_of=(
		[apt-get]=apt [apt-cache]=apt [dpkg-deb]=dpkg [cpio]=cpio [gzip]=gzip
		[depmod]=kmod [sha256sum]=coreutils [flock]=util-linux [find]=findutils
		[od]=coreutils [stat]=coreutils
	)
	local missing=() cmd
	for cmd in "${!pkg_of[@]}"; do
		command -v "$cmd" >/dev/null || missing+=("${pkg_of[$cmd]}")
	done
	[[ -f $KEYRING ]] || missing+=(debian-archive-keyring)
	install_host_packages "${missing[@]}"
}

install_host_packages() {
	(($# > 0)) || return 0
	local pkgs
	pkgs=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
	command -v apt-get >/dev/null || die "missing host packages: $pkgs(and no apt-get to install them)"
	[[ $(id -u) == 0 ]] || die "missing host packages: $pkgs- install them (apt-get install $pkgs) or run as root"
	log "installing host packages: $pkgs"
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >"$CACHE/host-install.log" 2>&1; then
		# A fresh machine may have no package lists yet.
		DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$CACHE/host-install.log" 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >>"$CACHE/host-install.log" 2>&1 ||
			die "apt-get install $pkgs failed (log: $CACHE/host-install.log)"
	fi
}

# Makes COMMAND available, installing PACKAGE if needed (for tools only some
# kernels need, such as module decompressors).
require_tool() { command -v "$1" >/dev/null || install_host_packages "$2"; }

# ---------------------------------------------------------------- private apt

APT_OPTS=()

setup_private_apt() {
	mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/state" "$APT_DIR/sources.list.d" "$DEB_DIR"
	: >"$APT_DIR/status"
	cat >"$APT_DIR/sources.list" <<-EOF
	deb [signed-by=$KEYRING] $MIRROR $SUITE main
	deb [signed-by=$KEYRING] $MIRROR $SUITE-updates main
	deb [signed-by=$KEYRING] $SECURITY_MIRROR $SUITE-security main
	EOF
	# Everything apt reads or writes is redirected into the cache: the
	# architecture, sources, lists, package cache and (empty) dpkg status. As
	# root, apt would drop to the _apt user, who cannot enter a cache under
	# /root; the downloads are verified against the signed index either way.
	APT_OPTS=(
		-o "APT::Architecture=i386" -o "APT::Architectures=i386"
		-o "Dir::State=$APT_DIR/state" -o "Dir::State::Lists=$APT_DIR/lists"
		-o "Dir::State::status=$APT_DIR/status"
		-o "Dir::Cache=$APT_DIR/cache"
		-o "Dir::Etc::sourcelist=$APT_DIR/sources.list"
		-o "Dir::Etc::sourceparts=$APT_DIR/sources.list.d"
		-o "Dir::Etc::preferences=/dev/null" -o "Dir::Etc::preferencesparts=$APT_DIR/sources.list.d"
		-o "APT::Sandbox::User=root"
	)
}

UPDATED=false

# The first error or warning line of an apt log in APT_DIR, or where to look.
first_apt_error() {
	local f=$APT_DIR/$1
	grep -m1 '^E:' "$f" 2>/dev/null || grep -m1 '^W:' "$f" 2>/dev/null || echo "see $f"
}

apt_update() {
	log "updating the private i386 package list ($SUITE)"
	UPDATED=true
	if ! apt-get "${APT_OPTS[@]}" -q update >"$APT_DIR/update.log" 2>&1; then
		# A suite that fails (e.g. a mirror in mid-sync) is not fatal as long
		# as the packages resolve from what was fetched; resolution checks.
		log "warning: apt-get update reported errors, continuing with what it fetched: $(first_apt_error update.log)"
	fi
}

# Prints FIELD of the candidate version of PACKAGE[=VERSION] in the private index.
apt_field() {
	apt-cache "${APT_OPTS[@]}" show --no-all-versions "$1" 2>/dev/null | sed -n "s/^$2: //p" | head -n1
}

KERNEL_PKG='' KERNEL_VER='' BUSYBOX_VER=''

# Resolves which kernel package the meta-package depends on, and the versions.
resolve_packages() {
	local depends
	depends=$(apt_field "$KERNEL_META" Depends)
	KERNEL_PKG=$(tr ',' '\n' <<<"$depends" | sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' | head -n1)
	[[ -n $KERNEL_PKG ]] || return 1
	KERNEL_VER=$(apt_field "$KERNEL_PKG" Version)
	BUSYBOX_VER=$(apt_field "$BUSYBOX_PKG" Version)
	[[ -n $KERNEL_VER && -n $BUSYBOX_VER ]]
}

# The file name apt-get download gives PACKAGE at VERSION (':' is escaped).
deb_name() { echo "${1}_${2//:/%3a}_i386.deb"; }

# Makes sure DEB_DIR holds PACKAGE at VERSION with the checksum the signed
# index gives; reuses a good file, replaces a missing, truncated or corrupt one.
fetch_deb() {
	local pkg=$1 ver=$2 file want
	file=$DEB_DIR/$(deb_name "$pkg" "$ver")
	want=$(apt_field "$pkg=$ver" SHA256)
	[[ -n $want ]] || return 1
	if [[ -f $file && $(sha256 "$file") == "$want" ]]; then
		return 0
	fi
	rm -f "$file"
	log "downloading $pkg $ver"
	(cd "$DEB_DIR" && apt-get "${APT_OPTS[@]}" -q download "$pkg=$ver") >"$APT_DIR/download.log" 2>&1 || return 1
	[[ -f $file ]] || die "apt-get download $pkg=$ver did not produce $file"
	[[ $(sha256 "$file") == "$want" ]] || die "$file does not match the index's SHA256 after download"
}

# Resolves and fetches both packages; the first failure (no index yet, or an
# index naming a version the mirror no longer has) triggers one apt-get update.
fetch_packages() {
	if $REFRESH || [[ ! -d $APT_DIR/lists ]] || ! compgen -G "$APT_DIR/lists/*_Packages*" >/dev/null; then
		apt_update
	fi
	while :; do
		if resolve_packages && fetch_deb "$KERNEL_PKG" "$KERNEL_VER" && fetch_deb "$BUSYBOX_PKG" "$BUSYBOX_VER"; then
			return 0
		fi
		$UPDATED && break
		apt_update
	done
	[[ -n $KERNEL_PKG ]] || die "cannot resolve $KERNEL_META from the i386 index of $MIRROR ($SUITE): $(first_apt_error update.log)"
	[[ -n $BUSYBOX_VER ]] || die "cannot resolve $BUSYBOX_PKG from the i386 index of $MIRROR ($SUITE)"
	die "cannot download $KERNEL_PKG $KERNEL_VER or $BUSYBOX_PKG $BUSYBOX_VER: $(first_apt_error download.log)"
}

# ---------------------------------------------------------------- build

# Reads LEN bytes at OFFSET of FILE as one hex string (little-endian values
# are assembled by the caller).
hex_at() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

# Checks FILE is a Linux bzImage (boot protocol >= 2.02, loaded high) and
# prints its boot protocol version.
check_bzimage() {
	local f=$1 ver
	[[ $(hex_at "$f" 0x1fe 2) == 55aa ]] || die "$f: no boot sector signature 0xAA55: not a Linux kernel image"
	[[ $(hex_at "$f" 0x202 4) == 48647253 ]] || die "$f: no \"HdrS\" at 0x202: not a Linux boot-protocol image"
	ver=$(hex_at "$f" 0x206 2)
	ver=$((16#${ver:2:2}${ver:0:2}))
	((ver >= 0x202)) || die "$f: boot protocol $((ver >> 8)).$((ver & 0xff)) is older than 2.02"
	(($((16#$(hex_at "$f" 0x211 1))) & 1)) || die "$f: not a bzImage (LOADED_HIGH clear in loadflags)"
	echo "$((ver >> 8)).$((ver & 0xff))"
}

# Checks FILE is a 32-bit x86 ELF executable.
check_elf_i386() {
	[[ $(hex_at "$1" 0 5) == 7f454c4601 && $(hex_at "$1" 18 2) == 0300 ]] ||
		die "$1: not a 32-bit i386 ELF executable"
}

# Decompresses a module if the kernel package ships it compressed, printing the
# path of the plain .ko.
plain_module() {
	local f=$1
	case $f in
	*.ko) ;;
	*.ko.xz) require_tool xz xz-utils; xz -dq "$f" ;;
	*.ko.zst) require_tool zstd zstd; zstd -dq --rm "$f" ;;
	*.ko.gz) gzip -dq "$f" ;;
	*) die "unexpected module file $f" ;;
	esac
	echo "${f%.ko*}.ko"
}

# Module name of a path in modules.dep ('-' and '_' are the same to modprobe).
module_name() {
	local n=${1##*/}
	n=${n%%.ko*}
	echo "${n//-/_}"
}

# Copies the wanted modules and everything they need from the kernel tree
# KROOT into the initramfs tree IROOT, then indexes them with depmod so that
# modprobe works in the guest. "Everything they need" is the closure over hard
# dependencies (modules.dep) and soft ones (modules.softdep, whose names may be
# aliases such as a crypto algorithm's: crc_t10dif wants "crct10dif").
install_modules() {
	local kroot=$1 iroot=$2 rel=$3 kmods=$1/lib/modules/$3 imods=$2/lib/modules/$3
	depmod -b "$kroot" "$rel" || die "depmod failed on the kernel package's modules ($rel)"
	[[ -s $kmods/modules.dep ]] || die "depmod produced no modules.dep for $rel"

	local -A dep_line=() softdeps=() alias_to=()
	local line name word
	while IFS= read -r line; do
		dep_line[$(module_name "${line%%:*}")]=$line
	done <"$kmods/modules.dep"
	while read -r word name line; do
		[[ $word == softdep ]] || continue
		line=${line//pre:/}
		softdeps[${name//-/_}]=${line//post:/}
	done <"$kmods/modules.softdep"
	while read -r word name line; do
		# Plain aliases only: wildcard ones name devices, not algorithms.
		[[ $word == alias && $name != *[*?[]* ]] || continue
		alias_to[$name]+=" ${line//-/_}"
	done <"$kmods/modules.alias"

	# Worklist of requested names; ITEM? is optional.
	local -A taken=() seen=()
	local queue=("${WANTED_MODULES[@]}") builtin=() absent=() soft=() item optional mods m dep
	while ((${#queue[@]} > 0)); do
		item=${queue[0]}
		queue=("${queue[@]:1}")
		optional=false
		[[ $item == *\? ]] && optional=true && item=${item%\?}
		item=${item//-/_}
		[[ -z ${seen[$item]:-} ]] || continue
		seen[$item]=1
		if [[ -n ${dep_line[$item]:-} ]]; then
			mods=$item
		elif [[ -n ${alias_to[$item]:-} ]]; then
			mods=${alias_to[$item]}
		elif grep -qE "/${item//_/[-_]}\.ko$" "$kmods/modules.builtin"; then
			builtin+=("$item")
			continue
		elif $optional; then
			absent+=("$item")
			continue
		else
			die "kernel $rel has no module $item, built in or loadable"
		fi
		for m in $mods; do
			[[ -n ${dep_line[$m]:-} ]] || continue
			line=${dep_line[$m]}
			# modules.dep lists a module, then all it needs (transitively).
			for dep in ${line%%:*} ${line#*:}; do
				taken[$dep]=1
				name=$(module_name "$dep")
				read -ra soft <<<"${softdeps[$name]:-}"
				for word in "${soft[@]}"; do queue+=("$word?"); done
			done
		done
	done

	local f plain
	mkdir -p "$imods"
	for f in "${!taken[@]}"; do
		mkdir -p "$imods/$(dirname "$f")"
		cp "$kmods/$f" "$imods/$f"
		plain=$(plain_module "$imods/$f")
		[[ -f $plain ]] || die "module $f: decompression produced nothing"
	done
	cp "$kmods/modules.builtin" "$kmods/modules.order" "$imods/"
	[[ -f $kmods/modules.builtin.modinfo ]] && cp "$kmods/modules.builtin.modinfo" "$imods/"
	depmod -b "$iroot" "$rel" || die "depmod failed on the initramfs modules ($rel)"
	log "modules: ${#taken[@]} loadable${builtin:+, built in: ${builtin[*]}}${absent:+, absent: ${absent[*]}}"
}

# Builds the newc cpio (gzip) of tree ROOT into OUT, reproducibly: sorted
# names, owner root, fixed times.
make_cpio() {
	local root=$1 out=$2
	find "$root" -exec touch -h -d @0 {} +
	(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -9 >"$out" ||
		die "building the initramfs archive failed"
}

WORK=''
cleanup() { [[ -z $WORK ]] || rm -rf "$WORK"; }

build_guest() {
	WORK=$(mktemp -d "$CACHE/build.XXXXXX")
	trap cleanup EXIT
	local kdeb bdeb
	kdeb=$DEB_DIR/$(deb_name "$KERNEL_PKG" "$KERNEL_VER")
	bdeb=$DEB_DIR/$(deb_name "$BUSYBOX_PKG" "$BUSYBOX_VER")
	local kroot=$WORK/kernel broot=$WORK/busybox iroot=$WORK/initramfs out=$WORK/out
	mkdir -p "$kroot" "$broot" "$iroot" "$out"

	log "extracting $KERNEL_PKG $KERNEL_VER and $BUSYBOX_PKG $BUSYBOX_VER"
	dpkg-deb -x "$kdeb" "$kroot" || die "cannot extract $kdeb"
	dpkg-deb -x "$bdeb" "$broot" || die "cannot extract $bdeb"

	local images=("$kroot"/boot/vmlinuz-*)
	[[ ${#images[@]} == 1 && -f ${images[0]} ]] || die "$kdeb: expected one /boot/vmlinuz-*, found ${#images[@]}"
	local rel=${images[0]##*/vmlinuz-}
	[[ -d $kroot/lib/modules/$rel ]] || die "$kdeb: no /lib/modules/$rel"
	local proto
	proto=$(check_bzimage "${images[0]}")
	cp "${images[0]}" "$out/vmlinuz"
	[[ -f $kroot/boot/config-$rel ]] && cp "$kroot/boot/config-$rel" "$out/config"

	[[ -f $broot/bin/busybox ]] || die "$bdeb: no /bin/busybox"
	check_elf_i386 "$broot/bin/busybox"

	# The initramfs: busybox (applet links are made at boot by /init),
	# the overlay from tools/guest/rootfs and the modules.
	mkdir -p "$iroot"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,lib/modules}
	cp "$broot/bin/busybox" "$iroot/bin/busybox"
	chmod 755 "$iroot/bin/busybox"
	ln -s busybox "$iroot/bin/sh"
	cp -R "$ROOTFS_OVERLAY/." "$iroot/"
	chmod 755 "$iroot/init"
	# The kernel opens /dev/console for /init before anything is mounted. Its
	# built-in initramfs already provides the node; ours adds it when we may.
	if [[ $(id -u) == 0 ]]; then
		mknod -m 600 "$iroot/dev/console" c 5 1
	fi
	install_modules "$kroot" "$iroot" "$rel"
	chmod -R go-w "$iroot" # the same archive whatever the umask
	chmod 1777 "$iroot/tmp"
	make_cpio "$iroot" "$out/initramfs.cpio.gz"
	gzip -t "$out/initramfs.cpio.gz" || die "the built initramfs does not verify"

	# Outputs first, the manifest last: a manifest only exists for a finished build.
	mkdir -p "$OUT_DIR"
	rm -f "$MANIFEST"
	mv -f "$out/vmlinuz" "$KERNEL_OUT"
	mv -f "$out/initramfs.cpio.gz" "$INITRD_OUT"
	[[ -f $out/config ]] && mv -f "$out/config" "$OUT_DIR/config"
	local rel_deb_k=${kdeb#"$CACHE"/} rel_deb_b=${bdeb#"$CACHE"/}
	cat >"$MANIFEST.tmp" <<-EOF
	# morph default guest, built by tools/guest/fetch.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ).
	# Paths are relative to the cache ($CACHE).
	suite=$SUITE
	kernel_package=$KERNEL_PKG
	kernel_version=$KERNEL_VER
	kernel_release=$rel
	boot_protocol=$proto
	busybox_version=$BUSYBOX_VER
	recipe=$(recipe_hash)
	vmlinuz=${KERNEL_OUT#"$CACHE"/}
	vmlinuz_sha256=$(sha256 "$KERNEL_OUT")
	initramfs=${INITRD_OUT#"$CACHE"/}
	initramfs_sha256=$(sha256 "$INITRD_OUT")
	kernel_deb=$rel_deb_k
	kernel_deb_sha256=$(sha256 "$kdeb")
	busybox_deb=$rel_deb_b
	busybox_deb_sha256=$(sha256 "$bdeb")
	EOF
	mv -f "$MANIFEST.tmp" "$MANIFEST"

	# Packages of earlier kernels are no longer needed.
	local f
	for f in "$DEB_DIR"/*.deb; do
		[[ $f == "$kdeb" || $f == "$bdeb" || ! -e $f ]] || rm -f "$f"
	done
	log "built the guest: kernel $rel ($KERNEL_PKG $KERNEL_VER, boot protocol $proto), busybox $BUSYBOX_VER"
}

# ---------------------------------------------------------------- main

main() {
	command -v flock >/dev/null || install_host_packages util-linux
	# One fetch.sh at a time per cache: a second one waits, then finds the
	# cache complete.
	exec 9>"$CACHE/.lock"
	if ! flock -n 9; then
		log "waiting for another $PROG using $CACHE"
		flock 9
	fi

	if ! $REFRESH && cache_is_complete; then
		$PRINT_PATHS || log "cache complete: nothing to do"
		print_result
		return 0
	fi
	if $CHECK_ONLY; then
		log "cache $OUT_DIR is missing, incomplete or stale"
		exit 1
	fi

	[[ -f $MANIFEST ]] && log "cache incomplete, stale or corrupt: rebuilding"
	ensure_host_tools
	setup_private_apt
	fetch_packages
	build_guest
	cache_is_complete || die "the freshly built cache does not verify"
	print_result
}

main

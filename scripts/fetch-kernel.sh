#!/bin/sh
# Fetch Debian's kernel for booting test EIFs under QEMU: the vmlinuz, its
# config and the vsock modules of the linux-image package, and the test
# app's busybox from busybox-static, unpacked with dpkg-deb (never
# installed). Cached: a folder that is complete is kept.
#
# usage: scripts/fetch-kernel.sh [OUTDIR] [ARCH...]   (ARCH: amd64 arm64;
#        default: this machine's)
#
# Result, per arch, in OUTDIR/ARCH/ (OUTDIR defaults to build/kernels):
#   vmlinuz   the kernel (arm64: gzip'd Image, which QEMU unpacks itself)
#   config    its .config
#   release   the uname -r string, e.g. 6.1.0-56-amd64
#   package   the .deb's name and version
#   modules/  vsock.ko, vmw_vsock_virtio_transport_common.ko, vsock_loopback.ko
#   busybox   static busybox of that arch (busybox-static)
#
# For an arch other than this machine's, dpkg's architecture is added once
# (as root, announced: make check-init needs arm64 on an x86_64 host) so that
# apt-get can download the package. Set KERNEL_PKG_amd64 / KERNEL_PKG_arm64
# to a package name to pin one (e.g. linux-image-6.1.0-56-amd64).
set -eu
out=${1:-build/kernels}
[ $# -gt 0 ] && shift
arches=${*:-$(dpkg --print-architecture)}
MODULES="vsock vmw_vsock_virtio_transport_common vsock_loopback"

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo "$@"
	else
		echo "fetch-kernel: needs root for: $*" >&2
		exit 1
	fi
}

have_arch() {
	[ "$1" = "$(dpkg --print-architecture)" ] ||
		dpkg --print-foreign-architectures | grep -qx "$1"
}

# The concrete linux-image-X.Y.Z-N-ARCH package the meta-package points at.
resolve() {
	arch=$1
	eval "pin=\${KERNEL_PKG_$arch:-}"
	if [ -n "$pin" ]; then
		echo "$pin"
		return
	fi
	apt-cache depends "linux-image-$arch:$arch" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ :]*\).*/\1/p' | head -n 1
}

fetch() {
	arch=$1
	dir=$out/$arch
	if [ -s "$dir/vmlinuz" ] && [ -s "$dir/release" ] && [ -s "$dir/package" ] &&
		[ -s "$dir/busybox" ]; then
		return 0
	fi
	if ! have_arch "$arch"; then
		echo "fetch-kernel: adding dpkg's $arch architecture, to download Debian's $arch kernel" >&2
		as_root dpkg --add-architecture "$arch"
		as_root apt-get update -qq
	fi
	pkg=$(resolve "$arch")
	if [ -z "$pkg" ]; then
		as_root apt-get update -qq
		pkg=$(resolve "$arch")
	fi
	[ -n "$pkg" ] || { echo "fetch-kernel: no linux-image-$arch package in apt's lists" >&2; exit 1; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/eifkit-kernel.XXXXXX")
	chmod 0755 "$tmp" # apt's _apt user downloads into it
	trap 'rm -rf "$tmp"' EXIT INT TERM
	echo "fetch-kernel: downloading $pkg:$arch busybox-static:$arch" >&2
	if ! (cd "$tmp" && apt-get download -qq $sandbox "$pkg:$arch" "busybox-static:$arch"); then
		# stale lists name versions the mirror no longer has
		as_root apt-get update -qq
		pkg=$(resolve "$arch")
		(cd "$tmp" && apt-get download -qq $sandbox "$pkg:$arch" "busybox-static:$arch")
	fi
	deb=$(ls "$tmp"/linux-image-*.deb)
	dpkg-deb -x "$deb" "$tmp/x"
	dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/bb"
	release=$(ls "$tmp/x/lib/modules")
	rm -rf "$dir.new"
	mkdir -p "$dir.new/modules"
	cp "$tmp/x/boot/vmlinuz-$release" "$dir.new/vmlinuz"
	cp "$tmp/x/boot/config-$release" "$dir.new/config"
	for m in $MODULES; do
		f=$(find "$tmp/x/lib/modules/$release" -name "$m.ko*" | head -n 1)
		[ -n "$f" ] || { echo "fetch-kernel: $m.ko not in $pkg" >&2; exit 1; }
		case $f in
		*.ko.xz) xz -dc "$f" >"$dir.new/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$dir.new/modules/$m.ko" ;;
		*.ko.gz) gzip -dc "$f" >"$dir.new/modules/$m.ko" ;;
		*) cp "$f" "$dir.new/modules/$m.ko" ;;
		esac
	done
	cp "$tmp/bb/bin/busybox" "$dir.new/busybox"
	echo "$release" >"$dir.new/release"
	dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >"$dir.new/package"
	rm -rf "$dir"
	mv "$dir.new" "$dir"
	rm -rf "$tmp"
	trap - EXIT INT TERM
	echo "fetch-kernel: $dir: $(cat "$dir/package")" >&2
}

# As root, apt downloads as its _apt user, which cannot write our folder.
sandbox=""
[ "$(id -u)" = 0 ] && sandbox="-o APT::Sandbox::User=root"
mkdir -p "$out"
for a in $arches; do
	fetch "$a"
done

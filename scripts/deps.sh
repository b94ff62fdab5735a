#!/bin/sh
# Install the Debian/Ubuntu packages eifkit needs to build and test, if any
# are missing. As root it runs apt-get; otherwise through sudo when that
# works without a password; otherwise it prints the one command to run.
set -e
PKGS="gcc make pkg-config musl-tools qemu-system-x86 qemu-system-arm busybox-static gcc-aarch64-linux-gnu libssl-dev zlib1g-dev libarchive-dev libjson-c-dev umoci skopeo clang
libclang-rt-14-dev python3 python3-pytest openssl cpio time bc zstd strace xz-utils bzip2 reprotest disorderfs faketime diffoscope-minimal"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "eifkit: missing packages:$missing (no apt-get here; install them with your package manager)" >&2
	exit 1
fi
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
	sh -c "$cmd"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo sh -c "$cmd"
else
	echo "eifkit: missing packages; run as root:" >&2
	echo "  sudo sh -c '$cmd'" >&2
	exit 1
fi

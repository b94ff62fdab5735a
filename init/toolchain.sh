#!/bin/sh
# usage: init/toolchain.sh [x86_64] [aarch64]   (default: both)
# Install the compilers the init is built with (mk/init.mk), if missing:
# musl-tools (x86_64-linux-musl-gcc) and musl-dev:arm64, whose
# aarch64-linux-musl-gcc wraps gcc-aarch64-linux-gnu. The latter needs
# dpkg's arm64 architecture, which this adds. As root, or through sudo
# when that needs no password; otherwise it prints what to run.
set -e
pkgs=""
for arch in ${*:-x86_64 aarch64}; do
	case $arch in
	x86_64) command -v x86_64-linux-musl-gcc >/dev/null 2>&1 ||
		pkgs="$pkgs musl-tools" ;;
	aarch64) command -v aarch64-linux-musl-gcc >/dev/null 2>&1 ||
		pkgs="$pkgs musl-dev:arm64" ;;
	*) echo "toolchain.sh: no init toolchain for $arch" >&2; exit 1 ;;
	esac
done
[ -z "$pkgs" ] && exit 0

cmd="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$pkgs"
case $pkgs in
*:arm64*)
	if ! dpkg --print-foreign-architectures | grep -qx arm64 &&
		[ "$(dpkg --print-architecture)" != arm64 ]; then
		echo "eifkit: adding dpkg's arm64 architecture, for the aarch64 init's compiler (musl-dev:arm64)" >&2
		cmd="dpkg --add-architecture arm64 && apt-get update -qq && $cmd"
	fi ;;
esac
if [ "$(id -u)" = 0 ]; then
	sh -c "$cmd"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo sh -c "$cmd"
else
	echo "eifkit: the init's compilers are missing; as root, run: sudo sh -c '$cmd'" >&2
	exit 1
fi

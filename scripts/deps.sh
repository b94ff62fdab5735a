#!/bin/sh
# Install the Debian/Ubuntu packages a make target needs, if any are
# missing: scripts/deps/*.list, one package per line.
#
# usage: scripts/deps.sh [--list] build|demo|check|bench
#   build  build.list                  (make)
#   demo   build.list demo.list        (make demo)
#   check  build.list demo.list check*.list   (make check)
#   bench  build.list bench.list       (make bench)
#   --list prints the target's packages and installs nothing
#
# A line "package [amd64]" is for that dpkg architecture only (this
# machine's, dpkg --print-architecture).
#
# As root it runs apt-get; otherwise through sudo when that works without
# a password; otherwise it prints the one command to run.
set -e
dir=$(dirname "$0")/deps
list_only=""
[ "${1:-}" = --list ] && { list_only=1; shift; }
case ${1:-check} in
build) lists="build" ;;
demo) lists="build demo" ;;
check) lists="build demo $(cd "$dir" && ls check*.list | sed 's/\.list$//')" ;;
bench) lists="build bench" ;;
*) echo "usage: scripts/deps.sh build|demo|check|bench" >&2; exit 2 ;;
esac
arch=$(dpkg --print-architecture 2>/dev/null || echo unknown)
PKGS=$(for l in $lists; do sed 's/#.*//' "$dir/$l.list"; done |
	awk -v a="[$arch]" 'NF == 1 || (NF == 2 && $2 == a) { print $1 }' | sort -u)
if [ -n "$list_only" ]; then
	echo $PKGS
	exit 0
fi

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
echo "eifkit: installing for make ${1:-check}:$missing" >&2
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
	sh -c "$cmd"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo sh -c "$cmd"
else
	echo "eifkit: make ${1:-check} needs packages; as root, run: sudo sh -c '$cmd'" >&2
	exit 1
fi

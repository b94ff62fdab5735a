#!/bin/sh
# usage: scripts/check-repro-bin.sh BUILT WORKDIR CFLAGS EXTRA_CFLAGS
# Build eifkit again from copies of its sources in two other folders
# (other names and depths, copied now: other mtimes), with another umask,
# time zone and locale, and compare each binary with BUILT byte for byte:
# the build folder is mapped away (-ffile-prefix-map in the Makefile) and
# the build id is a hash of the rest, so nothing else may differ.
set -e
built=$1 work=$2 cflags=$3 extra=$4
# the copies are built by another make: nothing of this one reaches them
unset MAKEFLAGS MFLAGS MAKELEVEL
top=$(pwd)
rm -rf "$work"
for d in "$work/a" "$work/second/longer-folder-name"; do
	mkdir -p "$d"
	cp -R Makefile src "$d/"
	(cd "$d" && umask 077 && TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 \
		make -s B=build CFLAGS="$cflags" EXTRA_CFLAGS="$extra" build/eifkit) >/dev/null
	if ! cmp -s "$built" "$d/build/eifkit"; then
		echo "repro-bin: $d/build/eifkit differs from $built" >&2
		exit 1
	fi
done
echo "repro-bin: eifkit: same bytes from 3 folders ($(wc -c <"$built") bytes, sha256 $(sha256sum "$built" | cut -c1-16)...)"
cd "$top"
rm -rf "$work"

#!/bin/sh
# usage: check-repro.sh BUILT WORKDIR CC CFLAGS SRC...
# Build the init again from copies of its sources in two other folders
# (other names and depths), with another umask, time zone and locale, and
# compare each result with BUILT byte for byte.
set -e
built=$1 work=$2 cc=$3 cflags=$4
shift 4
top=$(pwd)
rm -rf "$work"
for d in "$work/a" "$work/second/longer-folder-name"; do
	mkdir -p "$d/init"
	cp init/*.c init/*.h "$d/init/"
	(cd "$d" && umask 077 && TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 \
		$cc $cflags -ffile-prefix-map="$(pwd)/=" -o init.out "$@")
	if ! cmp -s "$built" "$d/init.out"; then
		echo "init-repro: $d/init.out differs from $built" >&2
		exit 1
	fi
done
echo "init-repro: $(basename "$built"): same bytes from 3 folders ($(wc -c <"$built") bytes, sha256 $(sha256sum "$built" | cut -c1-16)...)"
cd "$top"
rm -rf "$work"

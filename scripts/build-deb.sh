#!/bin/sh
# usage: scripts/build-deb.sh OUTDIR [COMPARE_DIR]
# Build the Debian package from a copy of this tree in
# OUTDIR/src/eifkit-VERSION (dpkg-buildpackage writes its files next to
# the source folder: never beside the user's checkout) and move the
# packages to OUTDIR.
#
# With COMPARE_DIR, this is the reproducibility check: the copy is made
# with the files' mtimes set to now, in another folder of another depth,
# built with another umask, time zone and locale and the clock three days
# ahead (faketime), and every package must have the
# same bytes as the one of the same name in COMPARE_DIR. SOURCE_DATE_EPOCH
# comes from debian/changelog, as dpkg-buildpackage sets it.
set -e
out=$1 compare=$2
top=$(pwd)
# the package is built by its own make: nothing of the calling one
# (make check's -Werror, B=...) reaches it
unset MAKEFLAGS MFLAGS MAKELEVEL
version=$(dpkg-parsechangelog -l debian/changelog -SVersion)
src="$out/src/eifkit-$version"

rm -rf "$out"
mkdir -p "$src"
tar -C "$top" --exclude=./.git --exclude=./build --exclude='./build-*' \
	--exclude=./debian/eifkit --exclude=./debian/.debhelper \
	--exclude=./debian/files --exclude='./debian/*.substvars' \
	--exclude='./debian/*debhelper*' -cf - . |
	if [ -n "$compare" ]; then
		tar -C "$src" -m -xf - # the files' mtimes: now
	else
		tar -C "$src" -xf -
	fi
clock=""
if [ -n "$compare" ]; then
	umask 077
	export TZ=Pacific/Kiritimati LC_ALL=C.UTF-8
	# and the clock three days ahead (faketime is in check.list)
	clock="faketime +3days"
else
	umask 022
	export TZ=UTC LC_ALL=C
fi
log="$out/build.log"
if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" \
	$clock dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "build-deb: dpkg-buildpackage failed; the log is $log" >&2
	exit 1
fi
mv "$out"/src/*.deb "$out"/src/*.buildinfo "$out"/src/*.changes "$out"/
for f in "$out"/src/*.ddeb; do
	[ -e "$f" ] && mv "$f" "$out"/
done
rm -rf "$out/src"

if [ -z "$compare" ]; then
	for f in "$out"/*.deb; do
		echo "build-deb: $f ($(wc -c <"$f") bytes, sha256 $(sha256sum "$f" | cut -c1-16)...)"
	done
	exit 0
fi
n=0
for f in "$out"/*.deb "$out"/*.ddeb; do
	[ -e "$f" ] || continue
	other="$compare/$(basename "$f")"
	if ! cmp -s "$f" "$other"; then
		echo "build-deb: $f differs from $other (diffoscope shows how)" >&2
		exit 1
	fi
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "build-deb: no package built in $out" >&2; exit 1; }
echo "build-deb: $n package(s) built again in another folder, three days later: same bytes"
rm -rf "$out"

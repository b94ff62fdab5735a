#!/bin/sh
# make bench: eifkit's speed and memory as ratios to a floor measured in
# the same run. Not a test: it prints figures, it does not pass or fail.
#
#   assemble: an EIF with a 1 GiB ramdisk vs sha384sum over the same 1 GiB
#
# Each command runs 3 times on warm page cache; the best wall time counts.
# Peak RSS comes from GNU time (%M, KiB).
set -eu
eifkit=$(realpath "${1:-build/eifkit}")
dir=${BENCH_DIR:-build/bench}
size_mib=${BENCH_MIB:-1024}
mkdir -p "$dir"
cd "$dir"

if [ ! -f ramdisk.bin ] || [ "$(stat -c %s ramdisk.bin)" != $((size_mib * 1048576)) ]; then
	echo "bench: making a ${size_mib} MiB ramdisk of random bytes" >&2
	head -c $((size_mib * 1048576)) /dev/urandom >ramdisk.bin
fi
head -c 1000000 /dev/urandom >kernel.bin
cat ramdisk.bin kernel.bin >/dev/null

# best_of CMD...: prints "seconds peak_kib" of the fastest of 3 runs
best_of() {
	best=""
	for i in 1 2 3; do
		# start each run alike: no output file to replace, no dirty pages
		# from the previous run still being written back
		rm -f out.eif
		sync
		/usr/bin/time -f "%e %M" -o time.out "$@" >/dev/null
		t=$(cut -d' ' -f1 time.out)
		m=$(cut -d' ' -f2 time.out)
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then
			best=$t
			mem=$m
		fi
	done
	echo "$best $mem"
}

floor=$(best_of sha384sum ramdisk.bin)
asm=$(best_of "$eifkit" assemble --kernel kernel.bin --cmdline "console=ttyS0" \
	--ramdisk ramdisk.bin -o out.eif)
rm -f out.eif

ft=${floor% *} fm=${floor#* }
at=${asm% *} am=${asm#* }
ratio=$(echo "scale=2; $at / $ft" | bc)
printf '%-44s %8s %10s %7s\n' "command (${size_mib} MiB ramdisk)" "seconds" "peak RSS" "ratio"
printf '%-44s %8s %7s MiB %7s\n' "sha384sum (floor)" "$ft" "$((fm / 1024))" "1.00"
printf '%-44s %8s %7s MiB %7s\n' "eifkit assemble" "$at" "$((am / 1024))" "$ratio"
